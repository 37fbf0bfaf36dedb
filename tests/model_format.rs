//! The model file format: version 3 (a kind tag per layer, then the provenance) round-trips;
//! version 1 files written by the code before the tag (revision 9616074: `sdae train` / `sdae
//! pretrain` on rectangles, widths 4,3 tied and 3 untied, `tests/fixtures/model-v1-*.sdae`) and
//! version 2 files written before the provenance (revision 4c6a6de: `sdae train --task rectangles
//! --widths 4,3 --epochs 1`, `tests/fixtures/model-v2-tied.sdae`) still load with exactly the
//! parameters they hold.

use sdae::model::{Layer, LayerKind, Model, Provenance, MODEL_VERSION};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Parse a version 1 file by hand, from docs/model-format.md: (d, h, tied, params) per layer
/// and the output layer's (v, bv).
#[allow(clippy::type_complexity)]
fn parse_v1(
    b: &[u8],
) -> (
    Vec<(usize, usize, bool, Vec<Vec<f32>>)>,
    Option<(Vec<f32>, Vec<f32>)>,
) {
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    assert_eq!(&b[..8], b"SDAEMDL\0");
    assert_eq!(u32_at(8), 1, "a version 1 fixture");
    let (nl, k) = (u32_at(12), u32_at(16));
    let mut at = 20;
    let floats = |n: usize, at: &mut usize| -> Vec<f32> {
        let v = b[*at..*at + 4 * n]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        *at += 4 * n;
        v
    };
    let mut layers = Vec::new();
    let mut top = 0;
    for _ in 0..nl {
        let (d, h, tied) = (u32_at(at), u32_at(at + 4), u32_at(at + 8) != 0);
        at += 12;
        let mut p = vec![
            floats(d * h, &mut at),
            floats(h, &mut at),
            floats(d, &mut at),
        ];
        if !tied {
            p.push(floats(h * d, &mut at));
        }
        layers.push((d, h, tied, p));
        top = h;
    }
    let out = (k > 0).then(|| (floats(top * k, &mut at), floats(k, &mut at)));
    assert_eq!(at + 8, b.len(), "checksum last");
    (layers, out)
}

#[test]
fn version_1_files_load_with_their_exact_parameters() {
    for (name, widths, classes) in [
        ("model-v1-tied.sdae", vec![784, 4, 3], 2),
        ("model-v1-untied.sdae", vec![784, 3], 0),
    ] {
        let path = std::path::Path::new(FIX).join(name);
        let bytes = std::fs::read(&path).unwrap();
        let m = Model::load(&path).unwrap();
        assert_eq!(m.widths(), widths, "{name}");
        assert_eq!(m.output.as_ref().map_or(0, |o| o.k), classes, "{name}");
        let (layers, out) = parse_v1(&bytes);
        assert_eq!(m.layers.len(), layers.len());
        for (l, (d, h, tied, p)) in m.layers.iter().zip(&layers) {
            assert_eq!(l.kind(), LayerKind::Dae);
            assert_eq!((l.d(), l.h()), (*d, *h));
            assert_eq!(l.as_dae().unwrap().tied(), *tied);
            let got: Vec<Vec<f32>> = l.params().iter().map(|s| s.to_vec()).collect();
            // Bit for bit: compare the representations, so -0.0 / NaN would count too.
            let bits = |v: &[Vec<f32>]| -> Vec<Vec<u32>> {
                v.iter()
                    .map(|s| s.iter().map(|x| x.to_bits()).collect())
                    .collect()
            };
            assert_eq!(bits(&got), bits(p), "{name}");
            assert!(p[0].iter().any(|&v| v != 0.0), "{name}: a trained layer");
        }
        if let (Some(o), Some((v, bv))) = (&m.output, &out) {
            assert_eq!(&o.v, v);
            assert_eq!(&o.bv, bv);
        }
        // Written again, it is a version 3 file that reads back to the same model: a kind tag
        // per layer and an empty provenance section (its length word, 0).
        let v3 = m.to_bytes();
        assert_eq!(
            u32::from_le_bytes(v3[8..12].try_into().unwrap()),
            MODEL_VERSION
        );
        assert_eq!(MODEL_VERSION, 3);
        assert_eq!(
            u32::from_le_bytes(v3[20..24].try_into().unwrap()),
            LayerKind::Dae.tag(),
            "the first layer's kind tag"
        );
        assert_eq!(
            v3.len(),
            bytes.len() + 4 * layers.len() + 4,
            "one tag word per layer, one provenance length word"
        );
        assert_eq!(Model::from_bytes(&v3, "v3").unwrap(), m);
    }
}

#[test]
fn version_2_files_load_and_the_provenance_round_trips() {
    let path = std::path::Path::new(FIX).join("model-v2-tied.sdae");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 2);
    let mut m = Model::load(&path).unwrap();
    assert_eq!(m.widths(), vec![784, 4, 3]);
    assert_eq!(m.output.as_ref().map(|o| o.k), Some(2));
    assert_eq!(m.provenance, None, "version 2 has no provenance");
    // The same parameters, bit for bit: a version 3 file without provenance is the version 2
    // bytes with the version word changed and a zero length word before the checksum.
    let v3 = m.to_bytes();
    let n = bytes.len() - 8;
    assert_eq!(&v3[12..n], &bytes[12..n]);
    assert_eq!(&v3[n..n + 4], &0u32.to_le_bytes());
    m.provenance = Some(Provenance {
        isa: "avx512".into(),
        plan: "avx512_8x48 KC 128".into(),
        plan_hash: "0123456789abcdef".into(),
    });
    let again = Model::from_bytes(&m.to_bytes(), "p.sdae").unwrap();
    assert_eq!(again, m);
    // A damaged section is refused by name; an absurd length before reading it.
    let mut b = m.to_bytes();
    let at = b.len() - 10;
    b[at] = b'{';
    refused(b, "p.sdae", "provenance section");
    let mut b = v3.clone();
    b[n..n + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    refused(b, "big.sdae", "provenance section of 4294967295 bytes");
}

/// `bytes`, resealed, are refused as `name` with an error naming the file and `what`.
#[track_caller]
fn refused(bytes: Vec<u8>, name: &str, what: &str) {
    let e = Model::from_bytes(&reseal(bytes), name)
        .unwrap_err()
        .to_string();
    assert!(e.contains(name) && e.contains(what), "{e}");
}

fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len() - 8;
    let sum = sdae::util::fnv1a64(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum.to_le_bytes());
    bytes
}

#[test]
fn unknown_kinds_and_versions_are_refused_by_name() {
    let m = Model::load(&std::path::Path::new(FIX).join("model-v1-tied.sdae")).unwrap();
    // (byte offset of the field, the value written there, the file's name, what the error says)
    let cases = [
        (
            20,
            77u32,
            "odd.sdae",
            &["odd.sdae", "unknown layer kind 77", "1 = dae"][..],
        ),
        (8, 4, "new.sdae", &["format version 4", "1 to 3"]),
    ];
    for (at, value, name, wants) in cases {
        let mut b = m.to_bytes();
        b[at..at + 4].copy_from_slice(&value.to_le_bytes());
        let e = Model::from_bytes(&reseal(b), name).unwrap_err().to_string();
        for w in wants {
            assert!(e.contains(w), "{e} should say {w:?}");
        }
    }
    // Every kind's tag reads back as that kind.
    for k in LayerKind::ALL {
        assert_eq!(LayerKind::from_tag(k.tag()), Some(k));
    }
    assert!(matches!(m.layers[0], Layer::Dae(_)));
}
