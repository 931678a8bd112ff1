//! Where the model files are: [`Models`] names the four files a run needs, and
//! [`search_dirs`] says where they are looked for, so that `spacescribe` run from
//! any folder (or installed with `cargo install`) finds the models it fetched.
//!
//! Order: the folder the caller names (`--models-dir`), `$SPACESCRIBE_MODELS`, the
//! user's data folder (`$XDG_DATA_HOME/spacescribe/models`, by default
//! `~/.local/share/spacescribe/models`), then `models/` of the checkout the binary
//! was built from. A folder named by the caller or the environment is taken as it
//! is (a typo should fail, not fall back to other models); the other two are
//! searched for the first that holds models.

use super::{EMBEDDING_FILE, SEGMENTATION_FILE, VAD_FILE, WHISPER_FILE};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The model files a run uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Models {
    /// A whisper.cpp ggml Whisper model.
    pub whisper: PathBuf,
    /// The Silero VAD in whisper.cpp's ggml format.
    pub vad: PathBuf,
    /// pyannote segmentation-3.0 (PyTorch checkpoint).
    pub segmentation: PathBuf,
    /// CAM++ speaker embedding (PyTorch state dict).
    pub embedding: PathBuf,
}

impl Models {
    /// The pinned models' files in `dir` (whether or not they exist yet).
    pub fn from_dir(dir: &Path) -> Self {
        Models {
            whisper: dir.join(WHISPER_FILE),
            vad: dir.join(VAD_FILE),
            segmentation: dir.join(SEGMENTATION_FILE),
            embedding: dir.join(EMBEDDING_FILE),
        }
    }

    /// The models of the first folder in [`search_dirs`] that holds any of them.
    /// With nothing found, the error lists every folder looked in.
    pub fn locate(models_dir: Option<&Path>) -> Result<Self> {
        let dirs = search_dirs(models_dir);
        let chosen = match dirs.first() {
            Some(named) if named.authoritative => Some(named),
            _ => dirs.iter().find(|d| Models::from_dir(&d.path).any_exists()),
        };
        match chosen {
            Some(dir) => Ok(Models::from_dir(&dir.path)),
            None => Err(Error::model(
                Path::new(WHISPER_FILE),
                format!(
                    "not found in {} (run `spacescribe models fetch`)",
                    dirs.iter()
                        .map(|d| d.path.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Another Whisper model in place of the pinned one (`--model`).
    pub fn with_whisper(mut self, path: impl Into<PathBuf>) -> Self {
        self.whisper = path.into();
        self
    }

    /// Another VAD model in place of the pinned one (`--vad-model`).
    pub fn with_vad(mut self, path: impl Into<PathBuf>) -> Self {
        self.vad = path.into();
        self
    }

    fn any_exists(&self) -> bool {
        [
            &self.whisper,
            &self.vad,
            &self.segmentation,
            &self.embedding,
        ]
        .iter()
        .any(|p| p.is_file())
    }
}

/// A folder models may be in, and whether it was named (so it is used as it is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelDir {
    pub path: PathBuf,
    /// Named by the caller or `$SPACESCRIBE_MODELS`: used even when empty.
    pub authoritative: bool,
}

/// The folders models are looked for in, in order (see the module's header).
pub fn search_dirs(models_dir: Option<&Path>) -> Vec<ModelDir> {
    let named = models_dir.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("SPACESCRIBE_MODELS")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = named {
        return vec![ModelDir {
            path,
            authoritative: true,
        }];
    }
    let searched = |path| ModelDir {
        path,
        authoritative: false,
    };
    user_data_dir()
        .into_iter()
        .chain([Path::new(env!("CARGO_MANIFEST_DIR")).join("models")])
        .map(searched)
        .collect()
}

/// Where `models fetch` puts the models: the first folder in [`search_dirs`] that
/// exists and is writable or can be created.
pub fn fetch_dir(models_dir: Option<&Path>) -> Result<PathBuf> {
    let dirs = search_dirs(models_dir);
    dirs.iter()
        .map(|d| &d.path)
        .find(|path| is_writable(path))
        .cloned()
        .ok_or_else(|| {
            let tried: Vec<String> = dirs.iter().map(|d| d.path.display().to_string()).collect();
            Error::io(
                Path::new(&tried.join(", ")),
                std::io::Error::other("no writable folder for the models"),
            )
        })
}

/// `$XDG_DATA_HOME/spacescribe/models`, else `$HOME/.local/share/spacescribe/models`.
fn user_data_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let data = std::env::var_os("XDG_DATA_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".local/share"))
        })?;
    Some(data.join("spacescribe").join("models"))
}

/// Creates `dir` if needed and checks a file can be made in it.
fn is_writable(dir: &Path) -> bool {
    std::fs::create_dir_all(dir).is_ok() && tempfile::tempfile_in(dir).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_folder_is_used_even_when_empty() {
        let empty = tempfile::tempdir().unwrap();
        let models = Models::locate(Some(empty.path())).unwrap();
        assert_eq!(models.whisper, empty.path().join(WHISPER_FILE));
        assert_eq!(fetch_dir(Some(empty.path())).unwrap(), empty.path());
    }

    #[test]
    fn unnamed_search_ends_at_the_checkout() {
        let dirs = search_dirs(None);
        // Under `cargo test` the environment may name a folder; otherwise the
        // checkout's models/ is the last resort.
        if !dirs[0].authoritative {
            assert_eq!(
                dirs.last().unwrap().path,
                Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
            );
        }
    }

    #[test]
    fn overrides_replace_one_file() {
        let models = Models::from_dir(Path::new("m")).with_whisper("/x/base.en.bin");
        assert_eq!(models.whisper, Path::new("/x/base.en.bin"));
        assert_eq!(models.vad, Path::new("m").join(VAD_FILE));
    }
}
