//! The one error type of the data module: it names the file, where in it (byte offset or line)
//! and what was expected, so a user can find and fix the problem.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file an error was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// Nowhere in particular (the file as a whole, or a missing file).
    None,
    /// A byte offset from the start of the (decompressed) file.
    Offset(u64),
    /// A 1-based line number of a text file.
    Line(u64),
    /// A 1-based line and 1-based column (token) number of a text file.
    LineToken(u64, u64),
}

/// An error reading, writing or validating data. `Display` gives
/// `<file>: <offset N | line N>: <what was found and what was expected>`.
#[derive(Clone, Debug)]
pub struct DataError {
    pub path: PathBuf,
    pub location: Location,
    pub message: String,
}

impl DataError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        DataError {
            path: path.to_path_buf(),
            location: Location::None,
            message: message.into(),
        }
    }
    pub fn at_offset(path: &Path, offset: u64, message: impl Into<String>) -> Self {
        DataError {
            path: path.to_path_buf(),
            location: Location::Offset(offset),
            message: message.into(),
        }
    }
    pub fn at_line(path: &Path, line: u64, message: impl Into<String>) -> Self {
        DataError {
            path: path.to_path_buf(),
            location: Location::Line(line),
            message: message.into(),
        }
    }
    pub fn at_token(path: &Path, line: u64, token: u64, message: impl Into<String>) -> Self {
        DataError {
            path: path.to_path_buf(),
            location: Location::LineToken(line, token),
            message: message.into(),
        }
    }
    pub fn io(path: &Path, what: &str, e: std::io::Error) -> Self {
        DataError::new(path, format!("{what}: {e}"))
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        match self.location {
            Location::None => {}
            Location::Offset(o) => write!(f, ": byte offset {o}")?,
            Location::Line(l) => write!(f, ": line {l}")?,
            Location::LineToken(l, t) => write!(f, ": line {l}, value {t}")?,
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DataError {}
