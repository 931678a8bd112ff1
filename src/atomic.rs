//! Atomic file output: write beside the target, flush, then rename over it,
//! so a crash never leaves a half-written transcript or model.

use crate::error::{Error, Result};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `path` through `fill`; readers see either the old file or the complete new one.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    write_file_atomic(path, |file| {
        let mut out = BufWriter::new(file);
        fill(&mut out).map_err(|e| Error::io(path, e))?;
        out.flush().map_err(|e| Error::io(path, e))
    })
}

/// Like [`write_atomic`], with the temporary file itself handed to `fill`, for writers
/// that seek back (a WAV header's lengths are patched at the end).
pub fn write_file_atomic<T>(
    path: &Path,
    fill: impl FnOnce(&std::fs::File) -> Result<T>,
) -> Result<T> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    let done = fill(tmp.as_file())?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    make_readable(tmp.as_file(), path)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(done)
}

/// Temporary files are created private (0600); outputs are meant to be shared.
#[cfg(unix)]
fn make_readable(file: &std::fs::File, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(|e| Error::io(path, e))
}

#[cfg(not(unix))]
fn make_readable(_file: &std::fs::File, _path: &Path) -> Result<()> {
    Ok(())
}

/// Atomically writes bytes to `path`.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        write_bytes_atomic(&target, b"first").unwrap();
        write_bytes_atomic(&target, b"second").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failed_fill_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        write_bytes_atomic(&target, b"old").unwrap();
        let err = write_atomic(&target, |_| Err(std::io::Error::other("boom")));
        assert!(err.is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
    }
}
