//! The library's error type: every failure names the file it concerns and why, in one line.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input cannot be read as audio at all (missing, empty, not audio, absurd header).
    #[error("{}: {reason}", path.display())]
    Input { path: PathBuf, reason: String },
    /// The input is audio, but in a codec or profile we do not decode.
    #[error("{}: unsupported codec: {codec}", path.display())]
    UnsupportedCodec { path: PathBuf, codec: String },
    /// A model file is missing, partial, corrupt or of the wrong kind.
    #[error("model {}: {reason}", path.display())]
    Model { path: PathBuf, reason: String },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Whisper or the speech detector failed while running.
    #[error("{}: {stage} failed: {reason}", path.display())]
    Stage {
        path: PathBuf,
        stage: &'static str,
        reason: String,
    },
    /// The user asked for something that cannot be done (bad flag value, bad speaker map).
    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(path: &Path, reason: impl Into<String>) -> Self {
        Error::Input {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub fn model(path: &Path, reason: impl Into<String>) -> Self {
        Error::Model {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn stage(path: &Path, stage: &'static str, reason: impl Into<String>) -> Self {
        Error::Stage {
            path: path.to_path_buf(),
            stage,
            reason: reason.into(),
        }
    }

    /// Process exit code for this error: 2 usage, 3 model, 1 everything about inputs.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Model { .. } => 3,
            _ => 1,
        }
    }
}
