//! whisper.cpp's legacy ggml model format (as loaded by `whisper_model_load` in
//! whisper.cpp 1.8.3): the hyper-parameters, the tensor layout the loader insists on,
//! a writer for f32/f16/q8_0 tensors, and a checker that walks a whole file the way the
//! loader does, so bad files get a clear error instead of a whisper.cpp abort.
//!
//! File: `u32 magic`, 11 `i32` hparams, `i32 n_mel, i32 n_fft`, `n_mel*n_fft` f32 filters,
//! `i32 n_tokens` then `u32 len` + bytes per token, then tensors until EOF, each
//! `i32 n_dims, i32 name_len, i32 type, i32 ne[n_dims]` (fastest-varying first), name, data.

use super::binread::LeReader;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

pub(crate) const MAGIC: u32 = 0x6767_6d6c;
/// whisper.cpp keeps `ftype % 1000` and treats the quotient as the quantisation version.
pub(crate) const QNT_VERSION_FACTOR: i32 = 1000;
/// What whisper.cpp's `quantize` tool stamps on quantised files (`GGML_QNT_VERSION`).
pub(crate) const QNT_VERSION: i32 = 2;
/// `n_fft` of the stored filters: bins of whisper's 400-sample FFT.
pub(crate) const FILTER_BINS: i32 = 201;
/// Elements per q8_0 block.
pub(crate) const Q8_0_BLOCK: usize = 32;

/// A ggml element type: its code, and how many bytes a block of `block` elements takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GgmlType {
    pub(crate) code: i32,
    pub(crate) name: &'static str,
    pub(crate) block: usize,
    pub(crate) block_bytes: usize,
}

const fn ty(code: i32, name: &'static str, block: usize, block_bytes: usize) -> GgmlType {
    GgmlType {
        code,
        name,
        block,
        block_bytes,
    }
}

pub(crate) const F32: GgmlType = ty(0, "f32", 1, 4);
pub(crate) const F16: GgmlType = ty(1, "f16", 1, 2);
pub(crate) const Q8_0: GgmlType = ty(8, "q8_0", Q8_0_BLOCK, 34);

/// The weight types a whisper file can declare through its ftype (ggml's type traits).
const TYPES: &[GgmlType] = &[
    F32,
    F16,
    ty(2, "q4_0", 32, 18),
    ty(3, "q4_1", 32, 20),
    ty(6, "q5_0", 32, 22),
    ty(7, "q5_1", 32, 24),
    Q8_0,
    ty(10, "q2_K", 256, 84),
    ty(11, "q3_K", 256, 110),
    ty(12, "q4_K", 256, 144),
    ty(13, "q5_K", 256, 176),
    ty(14, "q6_K", 256, 210),
    ty(16, "iq2_xxs", 256, 66),
    ty(17, "iq2_xs", 256, 74),
    ty(18, "iq3_xxs", 256, 98),
    ty(19, "iq1_s", 256, 50),
    ty(20, "iq4_nl", 32, 18),
    ty(21, "iq3_s", 256, 110),
    ty(22, "iq2_s", 256, 82),
    ty(23, "iq4_xs", 256, 136),
    ty(29, "iq1_m", 256, 56),
    ty(30, "bf16", 1, 2),
    ty(39, "mxfp4", 32, 17),
];

impl GgmlType {
    pub(crate) fn from_code(code: i32) -> Option<Self> {
        TYPES.iter().copied().find(|t| t.code == code)
    }

    /// Bytes of `n` elements, or `None` when `n` does not fill whole blocks.
    pub(crate) fn nbytes(self, n: u64) -> Option<u64> {
        n.is_multiple_of(self.block as u64)
            .then(|| n / self.block as u64 * self.block_bytes as u64)
    }
}

/// `ggml_ftype_to_ggml_type`: the type of the big matrices for a file ftype
/// (after `% QNT_VERSION_FACTOR`). Unknown values abort whisper.cpp, so they are `None` here.
pub(crate) fn weight_type(ftype: i32) -> Option<GgmlType> {
    let code = match ftype.rem_euclid(QNT_VERSION_FACTOR) {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        7 => 8,
        8 => 6,
        9 => 7,
        10..=14 => ftype.rem_euclid(QNT_VERSION_FACTOR),
        15 => 16,
        16 => 17,
        17 => 18,
        18 => 19,
        19 => 20,
        20 => 21,
        21 => 22,
        22 => 23,
        23 => 29,
        24 => 30,
        25 => 39,
        _ => return None,
    };
    GgmlType::from_code(code)
}

/// The 11 hyper-parameters in file order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hparams {
    pub(crate) n_vocab: i32,
    pub(crate) n_audio_ctx: i32,
    pub(crate) n_audio_state: i32,
    pub(crate) n_audio_head: i32,
    pub(crate) n_audio_layer: i32,
    pub(crate) n_text_ctx: i32,
    pub(crate) n_text_state: i32,
    pub(crate) n_text_head: i32,
    pub(crate) n_text_layer: i32,
    pub(crate) n_mels: i32,
    pub(crate) ftype: i32,
}

impl Hparams {
    fn to_array(self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    fn from_array(a: [i32; 11]) -> Self {
        let [
            n_vocab,
            n_audio_ctx,
            n_audio_state,
            n_audio_head,
            n_audio_layer,
            n_text_ctx,
            n_text_state,
            n_text_head,
            n_text_layer,
            n_mels,
            ftype,
        ] = a;
        Hparams {
            n_vocab,
            n_audio_ctx,
            n_audio_state,
            n_audio_head,
            n_audio_layer,
            n_text_ctx,
            n_text_state,
            n_text_head,
            n_text_layer,
            n_mels,
            ftype,
        }
    }

    /// Why whisper.cpp would misbehave on these values (it asserts or indexes blindly).
    pub(crate) fn problem(&self) -> Option<String> {
        let a = self.to_array();
        if a[..10].iter().any(|&v| !(1..=1 << 20).contains(&v)) {
            return Some(format!("hyper-parameters out of range: {self:?}"));
        }
        if self.n_text_state != self.n_audio_state {
            return Some(format!(
                "n_text_state {} != n_audio_state {} (whisper.cpp asserts they are equal)",
                self.n_text_state, self.n_audio_state
            ));
        }
        if self.n_audio_state % self.n_audio_head != 0 || self.n_text_state % self.n_text_head != 0
        {
            return Some("attention heads do not divide the state size".into());
        }
        if self.n_vocab <= 50257 {
            return Some(format!("n_vocab {} is too small for Whisper", self.n_vocab));
        }
        if self.n_audio_layer > 256 || self.n_text_layer > 256 {
            return Some("more than 256 layers".into());
        }
        if weight_type(self.ftype).is_none() {
            return Some(format!("unknown ftype {}", self.ftype));
        }
        None
    }

    pub(crate) fn weight_type(&self) -> GgmlType {
        weight_type(self.ftype).unwrap_or(F32)
    }

    /// The type the loader expects for a tensor of this role.
    pub(crate) fn type_of(&self, role: Role) -> GgmlType {
        let wtype = self.weight_type();
        match role {
            Role::F32 => F32,
            // Convolutions stay f16 in quantised files (only an all-f32 file has f32 ones).
            Role::Conv if wtype == F32 => F32,
            Role::Conv => F16,
            Role::Matrix => wtype,
        }
    }
}

/// How a tensor is stored: always f32, f16 convolution kernel, or a weight matrix of the
/// file's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    F32,
    Conv,
    Matrix,
}

/// One tensor the loader creates: name, ggml dims (fastest-varying first), role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TensorSpec {
    pub(crate) name: String,
    pub(crate) ne: Vec<usize>,
    pub(crate) role: Role,
}

impl TensorSpec {
    pub(crate) fn n_elements(&self) -> usize {
        self.ne.iter().product()
    }

    /// Dims padded to ggml's 4, for comparing files that write trailing 1s or not.
    fn ne4(&self) -> [u64; 4] {
        let mut out = [1u64; 4];
        self.ne
            .iter()
            .zip(&mut out)
            .for_each(|(&d, o)| *o = d as u64);
        out
    }
}

/// Every tensor `whisper_model_load` creates, in PyTorch state-dict order
/// (which is the order OpenAI's converter writes).
pub(crate) fn tensor_specs(hp: &Hparams) -> Vec<TensorSpec> {
    let d = |v: i32| v as usize;
    let (s, mels) = (d(hp.n_audio_state), d(hp.n_mels));
    let mut t = TensorList(Vec::new());
    t.push(
        "encoder.positional_embedding",
        &[s, d(hp.n_audio_ctx)],
        Role::F32,
    );
    for (conv, n_in) in [("encoder.conv1", mels), ("encoder.conv2", s)] {
        t.push(&format!("{conv}.weight"), &[3, n_in, s], Role::Conv);
        t.push(&format!("{conv}.bias"), &[1, s], Role::F32);
    }
    for i in 0..hp.n_audio_layer {
        t.block(&format!("encoder.blocks.{i}"), s, false);
    }
    t.norm("encoder.ln_post", s);
    let s = d(hp.n_text_state);
    t.push(
        "decoder.positional_embedding",
        &[s, d(hp.n_text_ctx)],
        Role::F32,
    );
    t.push(
        "decoder.token_embedding.weight",
        &[s, d(hp.n_vocab)],
        Role::Matrix,
    );
    for i in 0..hp.n_text_layer {
        t.block(&format!("decoder.blocks.{i}"), s, true);
    }
    t.norm("decoder.ln", s);
    t.0
}

/// The tensor specs of a model, built in file order.
struct TensorList(Vec<TensorSpec>);

impl TensorList {
    fn push(&mut self, name: &str, ne: &[usize], role: Role) {
        self.0.push(TensorSpec {
            name: name.to_owned(),
            ne: ne.to_vec(),
            role,
        });
    }

    /// A residual attention block: self-attention, optional cross-attention, MLP.
    fn block(&mut self, prefix: &str, s: usize, cross: bool) {
        self.attention(&format!("{prefix}.attn"), s);
        self.norm(&format!("{prefix}.attn_ln"), s);
        if cross {
            self.attention(&format!("{prefix}.cross_attn"), s);
            self.norm(&format!("{prefix}.cross_attn_ln"), s);
        }
        self.linear(&format!("{prefix}.mlp.0"), s, 4 * s, true);
        self.linear(&format!("{prefix}.mlp.2"), 4 * s, s, true);
        self.norm(&format!("{prefix}.mlp_ln"), s);
    }

    /// Whisper's key projection has no bias.
    fn attention(&mut self, prefix: &str, s: usize) {
        for (part, bias) in [
            ("query", true),
            ("key", false),
            ("value", true),
            ("out", true),
        ] {
            self.linear(&format!("{prefix}.{part}"), s, s, bias);
        }
    }

    fn linear(&mut self, prefix: &str, n_in: usize, n_out: usize, bias: bool) {
        self.push(&format!("{prefix}.weight"), &[n_in, n_out], Role::Matrix);
        if bias {
            self.push(&format!("{prefix}.bias"), &[n_out], Role::F32);
        }
    }

    fn norm(&mut self, prefix: &str, s: usize) {
        self.push(&format!("{prefix}.weight"), &[s], Role::F32);
        self.push(&format!("{prefix}.bias"), &[s], Role::F32);
    }
}

// ---------------------------------------------------------------------------------------
// Writing

/// Writes a complete model: header, filters, vocabulary, then every tensor of
/// [`tensor_specs`] with the values `values` returns for it. `out` names the file in errors.
pub(crate) fn write_model(
    w: &mut dyn Write,
    out: &Path,
    hp: &Hparams,
    filters: &[f32],
    vocab: &[Vec<u8>],
    mut values: impl FnMut(&TensorSpec) -> Result<Vec<f32>>,
) -> Result<()> {
    let io = |e| Error::io(out, e);
    write_header(w, hp, filters, vocab).map_err(io)?;
    for spec in tensor_specs(hp) {
        let data = values(&spec)?;
        if data.len() != spec.n_elements() {
            return Err(Error::model(
                out,
                format!(
                    "tensor '{}' got {} values, needs {}",
                    spec.name,
                    data.len(),
                    spec.n_elements()
                ),
            ));
        }
        let ty = hp.type_of(spec.role);
        let bytes = encode(ty, &spec, &data).ok_or_else(|| {
            Error::model(
                out,
                format!(
                    "cannot store tensor '{}' {:?} as {}",
                    spec.name, spec.ne, ty.name
                ),
            )
        })?;
        write_tensor_header(w, &spec, ty).map_err(io)?;
        w.write_all(&bytes).map_err(io)?;
    }
    Ok(())
}

fn write_header(
    w: &mut dyn Write,
    hp: &Hparams,
    filters: &[f32],
    vocab: &[Vec<u8>],
) -> std::io::Result<()> {
    w.write_all(&MAGIC.to_le_bytes())?;
    for v in hp.to_array() {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(&hp.n_mels.to_le_bytes())?;
    w.write_all(&FILTER_BINS.to_le_bytes())?;
    for v in filters {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(&(vocab.len() as i32).to_le_bytes())?;
    for token in vocab {
        w.write_all(&(token.len() as u32).to_le_bytes())?;
        w.write_all(token)?;
    }
    Ok(())
}

fn write_tensor_header(w: &mut dyn Write, spec: &TensorSpec, ty: GgmlType) -> std::io::Result<()> {
    for v in [spec.ne.len() as i32, spec.name.len() as i32, ty.code] {
        w.write_all(&v.to_le_bytes())?;
    }
    for &d in &spec.ne {
        w.write_all(&(d as i32).to_le_bytes())?;
    }
    w.write_all(spec.name.as_bytes())
}

/// Encodes values as `ty`; `None` for types this writer does not produce, or q8_0 rows
/// that are not whole blocks.
fn encode(ty: GgmlType, spec: &TensorSpec, data: &[f32]) -> Option<Vec<u8>> {
    match ty {
        F32 => Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        F16 => Some(
            data.iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
        ),
        Q8_0 if spec.ne[0].is_multiple_of(Q8_0_BLOCK) => Some(quantize_q8_0(data)),
        _ => None,
    }
}

/// ggml's reference q8_0 (`quantize_row_q8_0_ref`): per block of 32, an f16 scale
/// `d = amax / 127` and 32 signed bytes `round(x * (1/d))`. `data.len()` must be a
/// multiple of 32.
pub(crate) fn quantize_q8_0(data: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / Q8_0_BLOCK * Q8_0.block_bytes);
    for block in data.chunks_exact(Q8_0_BLOCK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend(half::f16::from_f32(d).to_le_bytes());
        // `as i8` saturates, and |x * id| <= 127 up to rounding, so nothing wraps.
        out.extend(block.iter().map(|&x| (x * id).round() as i8 as u8));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Checking

/// What [`check`] learned about a valid whisper ggml file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GgmlSummary {
    pub n_vocab: u32,
    pub n_audio_layer: u32,
    pub n_text_layer: u32,
    pub n_text_state: u32,
    pub n_mels: u32,
    /// The ftype with the quantisation version removed (1 = f16, 7 = q8_0, …).
    pub ftype: u32,
    pub n_tensors: usize,
    /// Best guess of the release, e.g. "tiny.en", "base", "large-v3".
    pub name: String,
    pub(crate) hparams: Hparams,
}

/// Walks the whole file like `whisper_model_load` does, without loading tensor data:
/// magic, sane hparams, filters, vocabulary, then every tensor header (known name,
/// shape and type the loader expects, data present), and finally the tensor count.
pub(crate) fn check(path: &Path) -> Result<GgmlSummary> {
    let mut r = LeReader::open(path)?;
    let magic = r.array::<4>("the magic number")?;
    check_magic(path, magic)?;
    let raw = r.array::<44>("the hyper-parameters")?;
    if let Some(kind) = named_model_kind(&raw) {
        return Err(Error::model(
            path,
            format!("a ggml '{kind}' model (such as the VAD), not a Whisper model"),
        ));
    }
    let mut fields = [0i32; 11];
    for (f, b) in fields.iter_mut().zip(raw.chunks_exact(4)) {
        *f = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    let hp = Hparams::from_array(fields);
    if let Some(problem) = hp.problem() {
        return Err(Error::model(
            path,
            format!("not a Whisper model: {problem}"),
        ));
    }
    check_filters(&mut r, path, &hp)?;
    check_vocab(&mut r, path, &hp)?;
    let n_tensors = check_tensors(&mut r, path, &hp)?;
    // `problem()` has checked every field is positive.
    let u = |v: i32| v.unsigned_abs();
    Ok(GgmlSummary {
        n_vocab: u(hp.n_vocab),
        n_audio_layer: u(hp.n_audio_layer),
        n_text_layer: u(hp.n_text_layer),
        n_text_state: u(hp.n_text_state),
        n_mels: u(hp.n_mels),
        ftype: u(hp.ftype.rem_euclid(QNT_VERSION_FACTOR)),
        n_tensors,
        name: guess_name(&hp),
        hparams: hp,
    })
}

fn check_magic(path: &Path, magic: [u8; 4]) -> Result<()> {
    let value = u32::from_le_bytes(magic);
    if value == MAGIC {
        return Ok(());
    }
    let why = match &magic {
        b"GGUF" => "a GGUF file; whisper.cpp needs the legacy ggml format".to_owned(),
        b"PK\x03\x04" => "a zip archive (a PyTorch checkpoint or wheel?), not a ggml model".into(),
        _ => format!("not a whisper.cpp ggml model (magic {value:#010x}, expected {MAGIC:#010x})"),
    };
    Err(Error::model(path, why))
}

/// Other whisper.cpp ggml files (the Silero VAD) follow the magic with a length-prefixed
/// model-type string where Whisper has `n_vocab`.
fn named_model_kind(raw: &[u8; 44]) -> Option<String> {
    let len = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
    let name = raw.get(4..4 + len).filter(|_| (1..=40).contains(&len))?;
    let printable = name.iter().all(|b| b.is_ascii_graphic());
    printable.then(|| String::from_utf8_lossy(name).into_owned())
}

fn check_filters(r: &mut LeReader, path: &Path, hp: &Hparams) -> Result<()> {
    let n_mel = r.i32("the mel filter header")?;
    let n_fft = r.i32("the mel filter header")?;
    if n_mel != hp.n_mels || n_fft != FILTER_BINS {
        return Err(Error::model(
            path,
            format!(
                "mel filters are {n_mel}x{n_fft}, expected {}x{FILTER_BINS}",
                hp.n_mels
            ),
        ));
    }
    let filters = r.f32s(n_mel as u64 * n_fft as u64, "the mel filters")?;
    if filters.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::model(
            path,
            "mel filters hold negative or non-finite values",
        ));
    }
    Ok(())
}

fn check_vocab(r: &mut LeReader, path: &Path, hp: &Hparams) -> Result<()> {
    let n = r.i32("the vocabulary size")?;
    if !(1..=hp.n_vocab).contains(&n) {
        return Err(Error::model(
            path,
            format!("vocabulary has {n} tokens, expected 1..={}", hp.n_vocab),
        ));
    }
    for i in 0..n {
        let what = format!("vocabulary token {i}");
        let len = r.u32(&what)?;
        if len > 1024 {
            return Err(Error::model(path, format!("{what} claims {len} bytes")));
        }
        r.skip(len as u64, &what)?;
    }
    Ok(())
}

/// Returns the number of tensors; every expected tensor must appear exactly once.
fn check_tensors(r: &mut LeReader, path: &Path, hp: &Hparams) -> Result<usize> {
    let mut expected: BTreeMap<String, TensorSpec> = tensor_specs(hp)
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();
    let total = expected.len();
    let mut last = String::from("(none)");
    while r.remaining() > 0 {
        let spec = check_tensor(r, path, hp, &expected, &last)?;
        last = spec.name.clone();
        expected.remove(&spec.name);
    }
    if let Some(missing) = expected.keys().next() {
        return Err(Error::model(
            path,
            format!(
                "truncated or incomplete: tensor '{missing}' is missing ({} of {total} tensors present, last '{last}')",
                total - expected.len()
            ),
        ));
    }
    Ok(total)
}

fn check_tensor(
    r: &mut LeReader,
    path: &Path,
    hp: &Hparams,
    expected: &BTreeMap<String, TensorSpec>,
    last: &str,
) -> Result<TensorSpec> {
    let what = format!("the tensor header after '{last}'");
    let n_dims = r.i32(&what)?;
    let name_len = r.i32(&what)?;
    let code = r.i32(&what)?;
    if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
        return Err(Error::model(
            path,
            format!(
                "corrupt tensor header after '{last}': n_dims {n_dims}, name length {name_len}"
            ),
        ));
    }
    let mut ne = [1u64; 4];
    for d in ne.iter_mut().take(n_dims as usize) {
        *d = u64::try_from(r.i32(&what)?).unwrap_or(0);
    }
    let name = String::from_utf8_lossy(&r.bytes(name_len as u64, &what)?).into_owned();
    let bad = |why: String| Error::model(path, format!("tensor '{name}': {why}"));
    let spec = match expected.get(&name) {
        Some(spec) => spec.clone(),
        None if tensor_specs(hp).iter().any(|t| t.name == name) => {
            return Err(bad("appears twice".into()));
        }
        None => return Err(bad("unknown to whisper.cpp (not a Whisper model?)".into())),
    };
    if ne != spec.ne4() {
        return Err(bad(format!("shape {ne:?}, expected {:?}", spec.ne4())));
    }
    let ty = GgmlType::from_code(code).ok_or_else(|| bad(format!("unknown type {code}")))?;
    let want = hp.type_of(spec.role);
    if ty != want {
        return Err(bad(format!(
            "stored as {}, whisper.cpp expects {}",
            ty.name, want.name
        )));
    }
    let nbytes = ty
        .nbytes(ne.iter().product())
        .ok_or_else(|| bad(format!("{:?} is not whole {} blocks", ne, ty.name)))?;
    r.skip(nbytes, &format!("tensor '{name}'"))?;
    Ok(spec)
}

/// Names the release from its shape: width and depth give the size, the vocabulary
/// tells English-only (51864) from multilingual and large-v3 (51866).
pub(crate) fn guess_name(hp: &Hparams) -> String {
    let size = match (hp.n_audio_state, hp.n_audio_layer) {
        (384, 4) => "tiny",
        (512, 6) => "base",
        (768, 12) => "small",
        (1024, 24) => "medium",
        (1280, 32) => "large",
        _ => "",
    };
    if size.is_empty() {
        return format!("custom-{}x{}", hp.n_audio_state, hp.n_audio_layer);
    }
    let mut name = size.to_owned();
    if size == "large" {
        name += if hp.n_vocab >= 51866 { "-v3" } else { "-v2" };
        if hp.n_text_layer == 4 {
            name += "-turbo";
        } else if hp.n_text_layer < hp.n_audio_layer {
            name = format!("distil-{name}");
        }
    }
    if hp.n_vocab == 51864 {
        name += ".en";
    }
    name
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A tiny but structurally complete whisper model: 2 encoder + 1 decoder layers,
    /// state 64, the real vocabulary size (which whisper.cpp's token ids require).
    pub(crate) fn tiny_hparams(ftype: i32) -> Hparams {
        Hparams {
            n_vocab: 51864,
            n_audio_ctx: 8,
            n_audio_state: 64,
            n_audio_head: 2,
            n_audio_layer: 2,
            n_text_ctx: 4,
            n_text_state: 64,
            n_text_head: 2,
            n_text_layer: 1,
            n_mels: 80,
            ftype,
        }
    }

    /// Writes a synthetic model whose values are a deterministic ramp per tensor.
    pub(crate) fn synthetic_model(hp: &Hparams) -> Vec<u8> {
        let filters = crate::models::mel::mel_filters(16_000, hp.n_mels as usize);
        let vocab = vec![b"a".to_vec(), b" the".to_vec(), vec![0xE2, 0x80]];
        let mut out = Vec::new();
        write_model(&mut out, Path::new("mem"), hp, &filters, &vocab, |spec| {
            Ok((0..spec.n_elements())
                .map(|i| ((i % 97) as f32 - 48.0) / 64.0)
                .collect())
        })
        .unwrap();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    fn check_bytes(bytes: &[u8]) -> Result<GgmlSummary> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, bytes).unwrap();
        check(&path)
    }

    fn err_text(bytes: &[u8]) -> String {
        let err = check_bytes(bytes).unwrap_err();
        assert!(matches!(err, Error::Model { .. }), "{err}");
        err.to_string()
    }

    #[test]
    fn tensor_specs_have_whisper_cpp_tensor_count() {
        let hp = tiny_hparams(1);
        assert_eq!(tensor_specs(&hp).len(), 7 + 15 * 2 + 4 + 24);
        let real = Hparams {
            n_audio_layer: 4,
            n_text_layer: 4,
            ..hp
        };
        assert_eq!(tensor_specs(&real).len(), 167);
    }

    #[test]
    fn f16_round_trip_through_checker() {
        let hp = tiny_hparams(1);
        let s = check_bytes(&synthetic_model(&hp)).unwrap();
        assert_eq!(s.n_tensors, 7 + 30 + 4 + 24);
        assert_eq!((s.n_vocab, s.n_audio_layer, s.n_text_layer), (51864, 2, 1));
        assert_eq!((s.n_text_state, s.ftype, s.n_mels), (64, 1, 80));
        assert_eq!(s.name, "custom-64x2");
        assert_eq!(s.hparams, hp);
    }

    #[test]
    fn q8_0_round_trip_keeps_quantisation_version_out_of_ftype() {
        let hp = tiny_hparams(QNT_VERSION * QNT_VERSION_FACTOR + 7);
        let bytes = synthetic_model(&hp);
        assert!(bytes.len() < synthetic_model(&tiny_hparams(1)).len());
        assert_eq!(check_bytes(&bytes).unwrap().ftype, 7);
    }

    #[test]
    fn truncation_names_the_tensor() {
        let bytes = synthetic_model(&tiny_hparams(1));
        let err = err_text(&bytes[..bytes.len() - 10]);
        assert!(
            err.contains("truncated at tensor 'decoder.ln.bias'"),
            "{err}"
        );
        // Cut inside a header, inside the vocabulary and right after the tensors of one layer.
        assert!(err_text(&bytes[..bytes.len() - 270]).contains("truncated"));
        assert!(err_text(&bytes[..64_390]).contains("vocabulary token 1"));
        assert!(err_text(&bytes[..20]).contains("truncated"));
    }

    #[test]
    fn missing_tensor_is_reported() {
        let hp = tiny_hparams(1);
        let bytes = synthetic_model(&hp);
        // Drop the final tensor exactly: header (12 + 4 + 15 name) and 64 f32 values.
        let last = 12 + 4 + "decoder.ln.bias".len() + 64 * 4;
        let err = err_text(&bytes[..bytes.len() - last]);
        assert!(err.contains("'decoder.ln.bias' is missing"), "{err}");
        assert!(err.contains("64 of 65"), "{err}");
    }

    #[test]
    fn wrong_magic_and_foreign_files_are_rejected() {
        let mut bytes = synthetic_model(&tiny_hparams(1));
        bytes[0] ^= 0xFF;
        assert!(err_text(&bytes).contains("magic"));
        assert!(err_text(b"GGUF\x03\x00\x00\x00").contains("GGUF"));
        assert!(err_text(b"PK\x03\x04....").contains("zip"));
        assert!(err_text(b"").contains("truncated"));
        let mut vad = MAGIC.to_le_bytes().to_vec();
        vad.extend(13u32.to_le_bytes());
        vad.extend(b"silero-v6.2.0");
        vad.resize(200, 0);
        assert!(err_text(&vad).contains("'silero-v6.2.0' model"));
    }

    #[test]
    fn bad_hparams_and_types_are_rejected() {
        let mut hp = tiny_hparams(1);
        hp.n_text_state = 32;
        let mut bytes = synthetic_model(&tiny_hparams(1));
        bytes[4..48].copy_from_slice(
            &hp.to_array()
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        );
        assert!(err_text(&bytes).contains("n_text_state"));
        let mut bytes = synthetic_model(&tiny_hparams(1));
        bytes[44..48].copy_from_slice(&999i32.to_le_bytes());
        assert!(err_text(&bytes).contains("unknown ftype"));
        // Claim q8_0 in the header while the tensors are f16: the first matrix mismatches.
        bytes[44..48].copy_from_slice(&7i32.to_le_bytes());
        assert!(err_text(&bytes).contains("stored as f16, whisper.cpp expects q8_0"));
    }

    #[test]
    fn q8_0_blocks_match_ggml_reference() {
        let mut x: Vec<f32> = (0..32).map(|i| i as f32 / 31.0 - 0.5).collect();
        x[3] = -1.27;
        let q = quantize_q8_0(&x);
        assert_eq!(q.len(), 34);
        let d = half::f16::from_le_bytes([q[0], q[1]]);
        assert_eq!(d, half::f16::from_f32(0.01));
        let qs: Vec<i8> = q[2..].iter().map(|&b| b as i8).collect();
        assert_eq!(qs[3], -127);
        assert_eq!(qs[0], -50); // -0.5 * 100
        assert_eq!(qs[31], 50);
        assert_eq!(qs[16], 2); // (16/31 - 0.5) * 100 = 1.6129 -> 2
        // An all-zero block has scale 0 and zero codes instead of NaNs.
        assert_eq!(quantize_q8_0(&[0.0; 32]), vec![0u8; 34]);
    }

    #[test]
    fn names_are_guessed_from_shapes() {
        let base = tiny_hparams(1);
        let with = |state, enc, dec, vocab| Hparams {
            n_audio_state: state,
            n_text_state: state,
            n_audio_layer: enc,
            n_text_layer: dec,
            n_vocab: vocab,
            ..base
        };
        assert_eq!(guess_name(&with(384, 4, 4, 51864)), "tiny.en");
        assert_eq!(guess_name(&with(512, 6, 6, 51865)), "base");
        assert_eq!(guess_name(&with(1280, 32, 32, 51866)), "large-v3");
        assert_eq!(guess_name(&with(1280, 32, 4, 51866)), "large-v3-turbo");
    }
}
