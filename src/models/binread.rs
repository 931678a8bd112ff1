//! Little-endian reading of model-file headers for the CTranslate2 and ggml readers:
//! knows the file length, so every short read or oversized skip becomes an
//! `Error::Model` that names the field being read, never a panic or a huge allocation.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

pub(crate) struct LeReader<'a> {
    inner: BufReader<File>,
    pos: u64,
    len: u64,
    path: &'a Path,
}

impl<'a> LeReader<'a> {
    pub(crate) fn open(path: &'a Path) -> Result<Self> {
        // A model that cannot be opened is a model problem (exit 3), not an input one.
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::model(path, "not found (run `spacescribe models fetch`)")
            }
            _ => Error::model(path, format!("cannot open: {e}")),
        })?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        Ok(LeReader {
            inner: BufReader::with_capacity(1 << 16, file),
            pos: 0,
            len,
            path,
        })
    }

    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    pub(crate) fn remaining(&self) -> u64 {
        self.len - self.pos
    }

    /// The error for a file that ends inside `what`.
    pub(crate) fn truncated(&self, what: &str) -> Error {
        Error::model(
            self.path,
            format!(
                "truncated: the file ends in {what} (byte {} of {})",
                self.pos, self.len
            ),
        )
    }

    /// Fails with a truncation error unless `n` more bytes exist.
    pub(crate) fn ensure(&self, n: u64, what: &str) -> Result<()> {
        if n > self.remaining() {
            return Err(Error::model(
                self.path,
                format!(
                    "truncated at {what}: needs {n} bytes, only {} left (byte {} of {})",
                    self.remaining(),
                    self.pos,
                    self.len
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.ensure(N as u64, what)?;
        self.inner
            .read_exact(&mut buf)
            .map_err(|_| self.truncated(what))?;
        self.pos += N as u64;
        Ok(buf)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i32(&mut self, what: &str) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    /// Reads `n` bytes, checking the length first so a corrupt count cannot allocate gigabytes.
    pub(crate) fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>> {
        self.ensure(n, what)?;
        let mut buf = vec![0u8; n as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|_| self.truncated(what))?;
        self.pos += n;
        Ok(buf)
    }

    pub(crate) fn f32s(&mut self, n: u64, what: &str) -> Result<Vec<f32>> {
        let bytes = self.bytes(n * 4, what)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// Skips `n` bytes of data without reading them.
    pub(crate) fn skip(&mut self, n: u64, what: &str) -> Result<()> {
        self.ensure(n, what)?;
        let step = i64::try_from(n).map_err(|_| self.truncated(what))?;
        self.inner
            .seek_relative(step)
            .map_err(|e| Error::io(self.path, e))?;
        self.pos += n;
        Ok(())
    }
}
