//! Small helpers every layer of the driver uses, with no knowledge of autoencoders: atomic file
//! writes ([`fs`]), checksums ([`hash`], [`xxh64`]) and a little-endian byte reader/writer
//! ([`bytes`]). Nothing here imports another module of the crate.

pub mod bytes;
pub mod fs;
pub mod hash;
pub mod xxh64;

pub use fs::{write_atomic, write_atomic_with, WriteError};
pub use hash::fnv1a64;
