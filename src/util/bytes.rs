//! Little-endian encoding of the binary file formats (model, checkpoint): writers append to a
//! `Vec<u8>`, [`Reader`] walks a byte slice and says where it ran short.

/// Append `v` as 4 little-endian bytes.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Append `v` as 8 little-endian bytes.
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Append every value as 4 little-endian bytes.
pub fn put_f32s(out: &mut Vec<u8>, v: &[f32]) {
    out.reserve(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// A cursor over a byte slice; errors name the byte offset where the input ended.
pub struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// Read `b` from byte `at` on (e.g. after a magic already checked).
    pub fn new(b: &'a [u8], at: usize) -> Reader<'a> {
        Reader {
            b,
            at: at.min(b.len()),
        }
    }

    /// The offset of the next byte.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.b.len() - self.at
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.remaining() < n {
            return Err(format!(
                "truncated at byte {} (wanted {n} more bytes)",
                self.at
            ));
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    pub fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    pub fn f32s(&mut self, n: usize) -> Result<Vec<f32>, String> {
        let bytes = n
            .checked_mul(4)
            .ok_or_else(|| format!("size {n} overflows"))?;
        let s = self.take(bytes)?;
        Ok(s.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut v = Vec::new();
        put_u32(&mut v, 7);
        put_u64(&mut v, 1 << 40);
        put_f32s(&mut v, &[1.5, -2.0]);
        let mut r = Reader::new(&v, 0);
        assert_eq!(r.u32().unwrap(), 7);
        assert_eq!(r.u64().unwrap(), 1 << 40);
        assert_eq!(r.f32s(2).unwrap(), vec![1.5, -2.0]);
        assert_eq!(r.remaining(), 0);
        let e = r.u32().unwrap_err();
        assert!(e.contains("truncated at byte 20"), "{e}");
        assert!(Reader::new(&v, 0).f32s(usize::MAX).is_err());
    }
}
