//! The library's error type: every failure has a kind from a fixed set, and its
//! message names the file it concerns and why, in one line.
//!
//! Callers decide what a kind means to them (the CLI maps kinds to exit codes in
//! `main.rs`); nothing here knows about processes or exit codes.

use std::path::{Path, PathBuf};

/// What went wrong, as a fixed set a caller can match on (new kinds may be added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input cannot be read as audio at all (missing, empty, not audio, absurd
    /// header), or a transcript or names file is not what it should be.
    InputUnreadable,
    /// The input is audio, but in a codec or profile spacescribe does not decode.
    UnsupportedCodec,
    /// A model file is missing, partial, corrupt or of the wrong kind.
    Model,
    /// Reading or writing a file failed (disk full, permissions, vanished folder).
    Io,
    /// The caller asked for something that cannot be done (bad value, bad speaker map).
    Usage,
    /// spacescribe itself failed: a worker crashed, an engine refused to run.
    Internal,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// [`ErrorKind::InputUnreadable`].
    #[error("{}: {reason}", path.display())]
    Input { path: PathBuf, reason: String },
    /// [`ErrorKind::UnsupportedCodec`].
    #[error("{}: unsupported codec: {codec}", path.display())]
    UnsupportedCodec { path: PathBuf, codec: String },
    /// [`ErrorKind::Model`].
    #[error("model {}: {reason}", path.display())]
    Model { path: PathBuf, reason: String },
    /// [`ErrorKind::Io`].
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// [`ErrorKind::Usage`].
    #[error("{0}")]
    Usage(String),
    /// [`ErrorKind::Internal`]: `stage` says which part of spacescribe failed.
    #[error("{}: {stage} failed: {reason}", path.display())]
    Internal {
        path: PathBuf,
        stage: &'static str,
        reason: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// This error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Input { .. } => ErrorKind::InputUnreadable,
            Error::UnsupportedCodec { .. } => ErrorKind::UnsupportedCodec,
            Error::Model { .. } => ErrorKind::Model,
            Error::Io { .. } => ErrorKind::Io,
            Error::Usage(_) => ErrorKind::Usage,
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    pub(crate) fn input(path: &Path, reason: impl Into<String>) -> Self {
        Error::Input {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn model(path: &Path, reason: impl Into<String>) -> Self {
        Error::Model {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An internal failure of one stage while working on `path` (an engine that
    /// refused to run, a worker thread that crashed).
    pub(crate) fn stage(path: &Path, stage: &'static str, reason: impl Into<String>) -> Self {
        Error::Internal {
            path: path.to_path_buf(),
            stage,
            reason: reason.into(),
        }
    }

    /// A worker thread of `stage` crashed while working on `path`.
    pub(crate) fn crashed(path: &Path, stage: &'static str) -> Self {
        Self::stage(path, stage, "a worker thread crashed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crashed_worker_is_internal_not_an_input_failure() {
        let e = Error::crashed(Path::new("x.m4a"), "decoding");
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(
            e.to_string(),
            "x.m4a: decoding failed: a worker thread crashed"
        );
    }

    #[test]
    fn every_kind_is_one_line() {
        let errors = [
            Error::input(Path::new("a"), "empty"),
            Error::model(Path::new("m"), "not found"),
            Error::io(Path::new("o"), std::io::Error::other("disk full")),
            Error::Usage("bad".into()),
        ];
        for e in errors {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }
}
