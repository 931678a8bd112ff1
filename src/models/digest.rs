//! SHA-256 of model files: hashing existing files, and writing a file atomically while
//! hashing it so a result that does not match its pinned hash is never put in place.

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// Lower-case hex SHA-256 of a file's contents.
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// True when `path` exists and hashes to `sha256`.
pub(crate) fn has_sha256(path: &Path, sha256: &str) -> Result<bool> {
    if !path.is_file() {
        return Ok(false);
    }
    Ok(sha256_file(path)? == sha256)
}

/// Passes bytes through to `inner` and hashes them on the way.
struct HashingWriter<'a> {
    inner: &'a mut dyn Write,
    hasher: Sha256,
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `path` atomically through `fill` and returns the SHA-256 of what was written.
/// When `expect` is given and differs, or `fill` fails, the old file (if any) stays and
/// the error is `fill`'s own (not a generic I/O error).
pub(crate) fn write_hashed(
    path: &Path,
    expect: Option<&str>,
    fill: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<String> {
    let mut failure = None;
    let mut digest = String::new();
    let written = write_atomic(path, |w| {
        let mut hw = HashingWriter {
            inner: w,
            hasher: Sha256::new(),
        };
        let outcome = fill(&mut hw).and_then(|()| {
            let got = hex::encode(hw.hasher.finalize());
            match expect {
                Some(want) if want != got => Err(Error::model(
                    path,
                    format!("SHA-256 of the result is {got}, expected the pinned {want}"),
                )),
                _ => Ok(got),
            }
        });
        match outcome {
            Ok(got) => {
                digest = got;
                Ok(())
            }
            Err(e) => {
                failure = Some(e);
                Err(std::io::Error::other("aborted"))
            }
        }
    });
    match (failure, written) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(e),
        (None, Ok(())) => Ok(digest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn hashes_while_writing_and_refuses_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let got = write_hashed(&path, Some(ABC), |w| {
            w.write_all(b"abc")
                .map_err(|e| Error::io(Path::new("f"), e))
        })
        .unwrap();
        assert_eq!(got, ABC);
        assert_eq!(sha256_file(&path).unwrap(), ABC);
        assert!(has_sha256(&path, ABC).unwrap());
        let err = write_hashed(&path, Some(ABC), |w| {
            w.write_all(b"abd")
                .map_err(|e| Error::io(Path::new("f"), e))
        })
        .unwrap_err();
        assert!(err.to_string().contains("expected the pinned"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        assert!(!has_sha256(&dir.path().join("none"), ABC).unwrap());
    }
}
