//! Reader for CTranslate2 `model.bin` files (binary version 6): indexes every variable
//! (name, shape, dtype, where its data sits) and aliases without loading the weights,
//! then reads single variables on demand as f32, dequantising int8/int16 weights with
//! their `*_scale` companions.
//!
//! Layout: `u32 version, str spec, u32 revision, u32 n_vars`, then per variable
//! `str name, u8 rank, u32 dims[rank], u8 dtype, u32 nbytes, data`, then `u32 n_aliases`
//! and `(str alias, str target)` pairs. A `str` is a `u16` length that counts a trailing NUL.

use super::binread::LeReader;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The only binary version this reader understands (current CTranslate2 writes it).
pub(crate) const BINARY_VERSION: u32 = 6;

/// Element types of CTranslate2 variables, by their on-disk code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    pub(crate) fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }

    /// Decodes one little-endian element to f32 (integers by value).
    fn to_f32(self, b: &[u8]) -> f32 {
        match self {
            DType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            DType::I8 => b[0] as i8 as f32,
            DType::I16 => i16::from_le_bytes([b[0], b[1]]) as f32,
            DType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
            DType::F16 => half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
            DType::BF16 => half::bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        }
    }

    fn is_integer(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32)
    }
}

/// One variable's metadata; the data stays on disk until read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Variable {
    pub(crate) dims: Vec<usize>,
    pub(crate) dtype: DType,
    offset: u64,
}

impl Variable {
    pub(crate) fn n_elements(&self) -> usize {
        self.dims.iter().product()
    }
}

/// An opened CTranslate2 model file.
#[derive(Debug)]
pub(crate) struct Ct2Model {
    path: PathBuf,
    pub(crate) spec: String,
    /// The spec's revision: read past (the tensors say all the converter needs),
    /// kept for the tests that check the header is parsed in step.
    #[cfg_attr(not(test), expect(dead_code, reason = "only the tests read it"))]
    pub(crate) revision: u32,
    vars: BTreeMap<String, Variable>,
    aliases: BTreeMap<String, String>,
}

impl Ct2Model {
    /// Parses the index of `path`; a truncated or foreign file is an `Error::Model`.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let mut r = LeReader::open(path)?;
        let version = r.u32("binary version")?;
        if version != BINARY_VERSION {
            return Err(Error::model(
                path,
                format!(
                    "not a CTranslate2 binary version {BINARY_VERSION} model (version field is {version})"
                ),
            ));
        }
        let spec = read_string(&mut r, path, "spec name")?;
        let revision = r.u32("spec revision")?;
        let n_vars = r.u32("variable count")?;
        let mut vars = BTreeMap::new();
        for _ in 0..n_vars {
            let (name, var) = read_variable(&mut r, path)?;
            vars.insert(name, var);
        }
        let n_aliases = r.u32("alias count")?;
        let mut aliases = BTreeMap::new();
        for _ in 0..n_aliases {
            let alias = read_string(&mut r, path, "alias name")?;
            let target = read_string(&mut r, path, "alias target")?;
            aliases.insert(alias, target);
        }
        Ok(Ct2Model {
            path: path.to_path_buf(),
            spec,
            revision,
            vars,
            aliases,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// All stored variable names (aliases excluded), sorted.
    #[cfg(test)]
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// Looks a variable up by name or alias.
    pub(crate) fn variable(&self, name: &str) -> Option<&Variable> {
        let name = self.aliases.get(name).map_or(name, String::as_str);
        self.vars.get(name)
    }

    /// Looks a variable up, or says which one is missing.
    pub(crate) fn require(&self, name: &str) -> Result<&Variable> {
        self.variable(name)
            .ok_or_else(|| Error::model(&self.path, format!("missing variable '{name}'")))
    }

    /// Reads a variable as f32. Integer weights that come with a `{name}_scale` variable
    /// are quantised as `q = round(w * scale)` (scale per row, or one for the whole
    /// matrix), so they are divided back by it here.
    pub(crate) fn read_f32(&self, name: &str) -> Result<Vec<f32>> {
        let var = self.require(name)?;
        let mut values = self.read_raw(name, var)?;
        let scale_name = format!("{name}_scale");
        if var.dtype.is_integer()
            && let Some(scale_var) = self.variable(&scale_name)
        {
            let scales = self.read_raw(&scale_name, scale_var)?;
            self.unscale(name, &mut values, &scales)?;
        }
        Ok(values)
    }

    /// Reads a scalar (rank 0 or a single element) such as `encoder/num_heads`.
    pub(crate) fn read_scalar(&self, name: &str) -> Result<Option<f32>> {
        match self.variable(name) {
            Some(var) if var.n_elements() == 1 => Ok(Some(self.read_raw(name, var)?[0])),
            Some(_) => Err(Error::model(
                &self.path,
                format!("'{name}' is not a scalar"),
            )),
            None => Ok(None),
        }
    }

    fn read_raw(&self, name: &str, var: &Variable) -> Result<Vec<f32>> {
        let size = var.dtype.size();
        let mut bytes = vec![0u8; var.n_elements() * size];
        let mut file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        file.seek(SeekFrom::Start(var.offset))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| Error::model(&self.path, format!("cannot read data of '{name}': {e}")))?;
        Ok(bytes
            .chunks_exact(size)
            .map(|b| var.dtype.to_f32(b))
            .collect())
    }

    fn unscale(&self, name: &str, values: &mut [f32], scales: &[f32]) -> Result<()> {
        if scales.is_empty() || !values.len().is_multiple_of(scales.len()) {
            return Err(Error::model(
                &self.path,
                format!(
                    "'{name}_scale' has {} values for {} weights",
                    scales.len(),
                    values.len()
                ),
            ));
        }
        let row_len = values.len() / scales.len();
        for (row, &scale) in values.chunks_mut(row_len).zip(scales) {
            row.iter_mut().for_each(|v| *v /= scale);
        }
        Ok(())
    }
}

/// A CTranslate2 string: `u16` length counting the trailing NUL, then the bytes.
fn read_string(r: &mut LeReader, path: &Path, what: &str) -> Result<String> {
    let len = r.u16(what)?;
    let mut buf = r.bytes(len as u64, what)?;
    if buf.pop() != Some(0) {
        return Err(Error::model(path, format!("{what} is not NUL-terminated")));
    }
    String::from_utf8(buf).map_err(|_| Error::model(path, format!("{what} is not UTF-8")))
}

/// One variable's header; its data is skipped and only its offset remembered.
fn read_variable(r: &mut LeReader, path: &Path) -> Result<(String, Variable)> {
    let name = read_string(r, path, "a variable name")?;
    let what = format!("variable '{name}'");
    let rank = r.u8(&what)?;
    let dims = (0..rank)
        .map(|_| r.u32(&what).map(|d| d as usize))
        .collect::<Result<Vec<_>>>()?;
    let code = r.u8(&what)?;
    let dtype = DType::from_code(code)
        .ok_or_else(|| Error::model(path, format!("'{name}' has unknown dtype {code}")))?;
    let nbytes = r.u32(&what)? as u64;
    let expected = dims.iter().map(|&d| d as u64).product::<u64>() * dtype.size() as u64;
    if nbytes != expected {
        return Err(Error::model(
            path,
            format!("'{name}' declares {nbytes} bytes, but {dims:?} {dtype:?} needs {expected}"),
        ));
    }
    let offset = r.pos();
    r.skip(nbytes, &format!("the data of '{name}'"))?;
    Ok((
        name,
        Variable {
            dims,
            dtype,
            offset,
        },
    ))
}

/// Builds `model.bin` bytes for tests (here and in the converter's tests).
#[cfg(test)]
pub(crate) mod testing {
    use super::BINARY_VERSION;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend(((s.len() + 1) as u16).to_le_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    }

    /// `(name, dims, dtype code, raw little-endian data)` per variable, plus aliases.
    pub(crate) fn model_bin(
        vars: &[(String, Vec<u32>, u8, Vec<u8>)],
        aliases: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(BINARY_VERSION.to_le_bytes());
        string(&mut out, "WhisperSpec");
        out.extend(3u32.to_le_bytes());
        out.extend((vars.len() as u32).to_le_bytes());
        for (name, dims, dtype, data) in vars {
            string(&mut out, name);
            out.push(dims.len() as u8);
            dims.iter().for_each(|d| out.extend(d.to_le_bytes()));
            out.push(*dtype);
            out.extend((data.len() as u32).to_le_bytes());
            out.extend(data);
        }
        out.extend((aliases.len() as u32).to_le_bytes());
        for (alias, target) in aliases {
            string(&mut out, alias);
            string(&mut out, target);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testing::model_bin;
    use super::*;

    fn var(name: &str, dims: &[u32], dtype: u8, data: Vec<u8>) -> (String, Vec<u32>, u8, Vec<u8>) {
        (name.to_owned(), dims.to_vec(), dtype, data)
    }

    fn fixture() -> Vec<u8> {
        let f32s: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let f16s: Vec<u8> = [0.5f32, 3.0, -1.0]
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        let bf16s: Vec<u8> = [2.0f32, -0.25]
            .iter()
            .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
            .collect();
        let scales: Vec<u8> = [2.0f32, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        model_bin(
            &[
                var("a/f32", &[2], 0, f32s),
                var("a/i8", &[2, 2], 1, vec![2u8, 0xFE, 8, 4]),
                var("a/i8_scale", &[2], 0, scales),
                var("a/i16", &[], 2, 6i16.to_le_bytes().to_vec()),
                var("a/i32", &[1], 3, (-7i32).to_le_bytes().to_vec()),
                var("a/f16", &[3, 1], 4, f16s),
                var("a/bf16", &[2], 5, bf16s),
            ],
            &[("b/tied", "a/f16")],
        )
    }

    fn open(bytes: &[u8]) -> (tempfile::TempDir, Result<Ct2Model>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, bytes).unwrap();
        let model = Ct2Model::open(&path);
        (dir, model)
    }

    #[test]
    fn reads_every_dtype_and_alias() {
        let (_dir, model) = open(&fixture());
        let m = model.unwrap();
        assert_eq!(m.spec, "WhisperSpec");
        assert_eq!(m.revision, 3);
        assert_eq!(m.names().count(), 7);
        assert_eq!(m.read_f32("a/f32").unwrap(), [1.5, -2.0]);
        // int8 rows divided by their per-row scales 2 and 4.
        assert_eq!(m.read_f32("a/i8").unwrap(), [1.0, -1.0, 2.0, 1.0]);
        assert_eq!(m.read_scalar("a/i16").unwrap(), Some(6.0));
        assert_eq!(m.read_scalar("a/i32").unwrap(), Some(-7.0));
        assert_eq!(m.read_f32("a/f16").unwrap(), [0.5, 3.0, -1.0]);
        assert_eq!(m.read_f32("a/bf16").unwrap(), [2.0, -0.25]);
        assert_eq!(m.read_f32("b/tied").unwrap(), [0.5, 3.0, -1.0]);
        assert_eq!(m.variable("b/tied").unwrap().dims, [3, 1]);
        assert_eq!(m.read_scalar("missing").unwrap(), None);
        assert!(
            m.read_f32("missing")
                .unwrap_err()
                .to_string()
                .contains("missing variable")
        );
    }

    #[test]
    fn every_truncation_is_a_model_error() {
        let bytes = fixture();
        for cut in [0, 3, 10, 40, bytes.len() / 2, bytes.len() - 1] {
            let (_dir, model) = open(&bytes[..cut]);
            let err = model.unwrap_err();
            assert!(matches!(err, Error::Model { .. }), "{err}");
            assert!(err.to_string().contains("truncated"), "cut {cut}: {err}");
        }
    }

    #[test]
    fn foreign_file_is_rejected() {
        let (_dir, model) = open(b"PK\x03\x04 not a model at all");
        assert!(model.unwrap_err().to_string().contains("binary version 6"));
    }
}
