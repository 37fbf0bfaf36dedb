//! The error of a command, by kind: what `sdae` prints as `sdae: <message>` and turns into its
//! exit status (1 for every failure, 3 when training diverged, so a script can tell a run that
//! needs a smaller learning rate from a missing file; clap's usage errors exit with 2).

use std::fmt;

use crate::config::ConfigError;
use crate::data::DataError;
use crate::model::ModelError;
use crate::train::TrainError;
use crate::util::WriteError;

/// The exit status of a run whose loss or parameters became NaN/infinite.
pub const EXIT_DIVERGED: i32 = 3;

#[derive(Debug)]
pub enum Error {
    /// A flag, or a combination of flags, that cannot work; the message names the flag.
    Usage(String),
    Config(ConfigError),
    Data(DataError),
    Model(ModelError),
    Train(TrainError),
    Write(WriteError),
    /// The modules that still report plain messages (experiment, viz, bench).
    Other(String),
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Train(e) if e.is_divergence() => EXIT_DIVERGED,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Other(m) => f.write_str(m),
            Error::Config(e) => e.fmt(f),
            Error::Data(e) => e.fmt(f),
            Error::Model(e) => e.fmt(f),
            Error::Train(e) => e.fmt(f),
            Error::Write(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

macro_rules! from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::$v(e)
            }
        }
    )*};
}
from!(ConfigError => Config, DataError => Data, ModelError => Model, TrainError => Train,
      WriteError => Write, String => Other);

/// Modules that still speak `Result<_, String>` can `?` an atomic write.
impl From<WriteError> for String {
    fn from(e: WriteError) -> String {
        e.to_string()
    }
}
