//! CTranslate2 Whisper -> whisper.cpp ggml conversion: derives the hyper-parameters from
//! the CTranslate2 tensor shapes, maps every tensor whisper.cpp loads to the CTranslate2
//! variable (and row slice of a fused projection) it comes from, and streams the result
//! through [`ggml::write_model`].

use super::ct2::Ct2Model;
use super::ggml::{self, Hparams, TensorSpec};
use super::{mel, vocab};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Which rows of a CTranslate2 variable a ggml tensor takes: CTranslate2 fuses the
/// self-attention q/k/v projections (3n rows) and the cross-attention k/v (2n rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    All,
    Rows { index: usize, of: usize },
}

const fn rows(index: usize, of: usize) -> Part {
    Part::Rows { index, of }
}

/// Per-layer modules: ggml name after `blocks.N.`, CTranslate2 path after `layer_N/`.
const BLOCK_MODULES: &[(&str, &str, Part)] = &[
    ("attn.query", "self_attention/linear_0", rows(0, 3)),
    ("attn.key", "self_attention/linear_0", rows(1, 3)),
    ("attn.value", "self_attention/linear_0", rows(2, 3)),
    ("attn.out", "self_attention/linear_1", Part::All),
    ("attn_ln", "self_attention/layer_norm", Part::All),
    ("cross_attn.query", "attention/linear_0", Part::All),
    ("cross_attn.key", "attention/linear_1", rows(0, 2)),
    ("cross_attn.value", "attention/linear_1", rows(1, 2)),
    ("cross_attn.out", "attention/linear_2", Part::All),
    ("cross_attn_ln", "attention/layer_norm", Part::All),
    ("mlp.0", "ffn/linear_0", Part::All),
    ("mlp.2", "ffn/linear_1", Part::All),
    ("mlp_ln", "ffn/layer_norm", Part::All),
];

/// Modules outside the layers.
const TOP_MODULES: &[(&str, &str)] = &[
    ("encoder.conv1", "encoder/conv1"),
    ("encoder.conv2", "encoder/conv2"),
    ("encoder.ln_post", "encoder/layer_norm"),
    ("decoder.token_embedding", "decoder/embeddings"),
    ("decoder.ln", "decoder/layer_norm"),
];

/// Plain tensors (no `.weight`/`.bias`), stored by CTranslate2 under one name.
const TOP_TENSORS: &[(&str, &str)] = &[
    (
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
    ),
    (
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
    ),
];

/// The CTranslate2 variable (and rows) behind a ggml tensor name.
pub(crate) fn source(name: &str) -> Option<(String, Part)> {
    if let Some((_, var)) = TOP_TENSORS.iter().find(|(g, _)| *g == name) {
        return Some(((*var).to_owned(), Part::All));
    }
    let (module, param) = name.rsplit_once('.')?;
    let (ct2_module, part) = match module.split_once(".blocks.") {
        Some((side, rest)) => {
            let (layer, sub) = rest.split_once('.')?;
            let (_, ct2_sub, part) = BLOCK_MODULES.iter().find(|(g, _, _)| *g == sub)?;
            (format!("{side}/layer_{layer}/{ct2_sub}"), *part)
        }
        None => {
            let (_, ct2) = TOP_MODULES.iter().find(|(g, _)| *g == module)?;
            ((*ct2).to_owned(), Part::All)
        }
    };
    // CTranslate2 names layer-norm parameters gamma/beta.
    let is_norm = ct2_module.ends_with("layer_norm");
    let ct2_param = match (param, is_norm) {
        ("weight", false) => "weight",
        ("bias", false) => "bias",
        ("weight", true) => "gamma",
        ("bias", true) => "beta",
        _ => return None,
    };
    Some((format!("{ct2_module}/{ct2_param}"), part))
}

/// A CTranslate2 model opened and checked, ready to be written as ggml.
pub(crate) struct Conversion {
    model: Ct2Model,
    hparams: Hparams,
    filters: Vec<f32>,
    vocab: Vec<Vec<u8>>,
}

impl Conversion {
    /// Opens `dir/model.bin` and the vocabulary; everything that can be wrong with the
    /// input is found here, before any output is written.
    pub(crate) fn prepare(dir: &Path, ftype: i32) -> Result<Self> {
        let bin = dir.join("model.bin");
        if !bin.is_file() {
            return Err(Error::model(
                dir,
                "no model.bin: not a CTranslate2 model directory",
            ));
        }
        let model = Ct2Model::open(&bin)?;
        if model.spec != "WhisperSpec" {
            return Err(Error::model(
                &bin,
                format!("a CTranslate2 '{}' model, not Whisper", model.spec),
            ));
        }
        let hparams = hparams(&model, ftype)?;
        let tokens = vocab::load_tokens(dir)?;
        let vocab = vocab::text_token_bytes(dir, &tokens, hparams.n_vocab as usize)?;
        let filters = mel::mel_filters(mel::SAMPLE_RATE, hparams.n_mels as usize);
        Ok(Conversion {
            model,
            hparams,
            filters,
            vocab,
        })
    }

    #[cfg(test)]
    pub(crate) fn hparams(&self) -> &Hparams {
        &self.hparams
    }

    /// Streams the ggml file to `w`; `out` names it in errors.
    pub(crate) fn write(&self, w: &mut dyn Write, out: &Path) -> Result<()> {
        ggml::write_model(w, out, &self.hparams, &self.filters, &self.vocab, |spec| {
            tensor_values(&self.model, spec)
        })
    }
}

/// Reads the values of one ggml tensor from the CTranslate2 model.
pub(crate) fn tensor_values(model: &Ct2Model, spec: &TensorSpec) -> Result<Vec<f32>> {
    let bad = |why: String| Error::model(model.path(), why);
    let (var, part) =
        source(&spec.name).ok_or_else(|| bad(format!("no source for tensor '{}'", spec.name)))?;
    let mut data = model.read_f32(&var)?;
    if let Part::Rows { index, of } = part {
        if !data.len().is_multiple_of(of) {
            return Err(bad(format!("'{var}' does not split into {of} equal parts")));
        }
        let chunk = data.len() / of;
        data = data[index * chunk..(index + 1) * chunk].to_vec();
    }
    if data.len() != spec.n_elements() {
        return Err(bad(format!(
            "'{var}' gives {} values, '{}' {:?} needs {}",
            data.len(),
            spec.name,
            spec.ne,
            spec.n_elements()
        )));
    }
    Ok(data)
}

/// The hyper-parameters, read from shapes: positional encodings give context and width,
/// the embedding gives the vocabulary, conv1 the mel bands, layers are counted.
pub(crate) fn hparams(model: &Ct2Model, ftype: i32) -> Result<Hparams> {
    let [n_audio_ctx, n_audio_state] = shape(model, "encoder/position_encodings/encodings")?;
    let [n_text_ctx, n_text_state] = shape(model, "decoder/position_encodings/encodings")?;
    let [n_vocab, _] = shape(model, "decoder/embeddings/weight")?;
    let [_, n_mels, _] = shape(model, "encoder/conv1/weight")?;
    let layers = |side: &str| {
        (0..)
            .take_while(|i| {
                let name = format!("{side}/layer_{i}/ffn/linear_0/weight");
                model.variable(&name).is_some()
            })
            .count()
    };
    // Whisper's heads are 64 wide; the spec normally says so explicitly.
    let heads = |side: &str, state: usize| -> Result<usize> {
        let stored = model.read_scalar(&format!("{side}/num_heads"))?;
        Ok(stored.map_or(state / 64, |h| h as usize))
    };
    let to_i32 = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    let hp = Hparams {
        n_vocab: to_i32(n_vocab),
        n_audio_ctx: to_i32(n_audio_ctx),
        n_audio_state: to_i32(n_audio_state),
        n_audio_head: to_i32(heads("encoder", n_audio_state)?),
        n_audio_layer: to_i32(layers("encoder")),
        n_text_ctx: to_i32(n_text_ctx),
        n_text_state: to_i32(n_text_state),
        n_text_head: to_i32(heads("decoder", n_text_state)?),
        n_text_layer: to_i32(layers("decoder")),
        n_mels: to_i32(n_mels),
        ftype,
    };
    match hp.problem() {
        Some(problem) => Err(Error::model(model.path(), problem)),
        None => Ok(hp),
    }
}

fn shape<const N: usize>(model: &Ct2Model, name: &str) -> Result<[usize; N]> {
    let dims = &model.require(name)?.dims;
    <[usize; N]>::try_from(dims.as_slice()).map_err(|_| {
        Error::model(
            model.path(),
            format!("'{name}' has shape {dims:?}, expected {N} dimensions"),
        )
    })
}

/// Builds a small but complete CTranslate2 Whisper directory for tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::models::ct2::testing::model_bin;

    type Var = (String, Vec<u32>, u8, Vec<u8>);

    /// f16 values `seed + i/1024` so every tensor (and every fused part) is distinguishable.
    fn f16_var(name: &str, dims: &[u32], seed: f32) -> Var {
        let n: u32 = dims.iter().product();
        let data = (0..n)
            .flat_map(|i| half::f16::from_f32(seed + (i % 1024) as f32 / 1024.0).to_le_bytes())
            .collect();
        (name.to_owned(), dims.to_vec(), 4, data)
    }

    fn linear(vars: &mut Vec<Var>, prefix: &str, n_out: u32, n_in: u32) {
        let seed = vars.len() as f32;
        vars.push(f16_var(&format!("{prefix}/weight"), &[n_out, n_in], seed));
        vars.push(f16_var(&format!("{prefix}/bias"), &[n_out], seed));
    }

    fn norm(vars: &mut Vec<Var>, prefix: &str, s: u32) {
        let seed = vars.len() as f32;
        vars.push(f16_var(&format!("{prefix}/gamma"), &[s], seed));
        vars.push(f16_var(&format!("{prefix}/beta"), &[s], seed));
    }

    fn layer(vars: &mut Vec<Var>, prefix: &str, s: u32, cross: bool) {
        linear(vars, &format!("{prefix}/self_attention/linear_0"), 3 * s, s);
        linear(vars, &format!("{prefix}/self_attention/linear_1"), s, s);
        norm(vars, &format!("{prefix}/self_attention/layer_norm"), s);
        if cross {
            linear(vars, &format!("{prefix}/attention/linear_0"), s, s);
            linear(vars, &format!("{prefix}/attention/linear_1"), 2 * s, s);
            linear(vars, &format!("{prefix}/attention/linear_2"), s, s);
            norm(vars, &format!("{prefix}/attention/layer_norm"), s);
        }
        linear(vars, &format!("{prefix}/ffn/linear_0"), 4 * s, s);
        linear(vars, &format!("{prefix}/ffn/linear_1"), s, 4 * s);
        norm(vars, &format!("{prefix}/ffn/layer_norm"), s);
    }

    /// Writes `model.bin` (state 64, 2 encoder and 1 decoder layers, English vocabulary
    /// size) and a `vocabulary.txt` into `dir`.
    pub(crate) fn write_tiny_ct2(dir: &Path) {
        let (s, vocab) = (64u32, 51864u32);
        let mut vars = vec![
            f16_var("encoder/conv1/weight", &[s, 80, 3], 1.0),
            f16_var("encoder/conv1/bias", &[s], 2.0),
            f16_var("encoder/conv2/weight", &[s, s, 3], 3.0),
            f16_var("encoder/conv2/bias", &[s], 4.0),
            f16_var("encoder/position_encodings/encodings", &[8, s], 5.0),
            f16_var("decoder/position_encodings/encodings", &[4, s], 6.0),
            f16_var("decoder/embeddings/weight", &[vocab, s], 7.0),
            (
                "encoder/num_heads".into(),
                vec![],
                2,
                2i16.to_le_bytes().to_vec(),
            ),
            (
                "decoder/num_heads".into(),
                vec![],
                2,
                2i16.to_le_bytes().to_vec(),
            ),
        ];
        for i in 0..2 {
            layer(&mut vars, &format!("encoder/layer_{i}"), s, false);
        }
        layer(&mut vars, "decoder/layer_0", s, true);
        norm(&mut vars, "encoder/layer_norm", s);
        norm(&mut vars, "decoder/layer_norm", s);
        let bytes = model_bin(
            &vars,
            &[("decoder/projection/weight", "decoder/embeddings/weight")],
        );
        std::fs::write(dir.join("model.bin"), bytes).unwrap();
        let mut tokens: Vec<String> = (0..50256).map(|i| format!("t{i}")).collect();
        tokens[0] = "Ġthe".into();
        tokens.push(vocab::END_OF_TEXT.into());
        tokens.extend((50257..vocab).map(|i| format!("<|x{i}|>")));
        std::fs::write(dir.join("vocabulary.txt"), tokens.join("\n")).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::testing::write_tiny_ct2;
    use super::*;

    #[test]
    fn names_map_to_ct2_variables() {
        let cases = [
            (
                "encoder.positional_embedding",
                "encoder/position_encodings/encodings",
                Part::All,
            ),
            ("encoder.conv1.bias", "encoder/conv1/bias", Part::All),
            (
                "encoder.ln_post.weight",
                "encoder/layer_norm/gamma",
                Part::All,
            ),
            ("decoder.ln.bias", "decoder/layer_norm/beta", Part::All),
            (
                "decoder.token_embedding.weight",
                "decoder/embeddings/weight",
                Part::All,
            ),
            (
                "encoder.blocks.3.attn.key.weight",
                "encoder/layer_3/self_attention/linear_0/weight",
                rows(1, 3),
            ),
            (
                "decoder.blocks.0.attn_ln.bias",
                "decoder/layer_0/self_attention/layer_norm/beta",
                Part::All,
            ),
            (
                "decoder.blocks.1.cross_attn.value.bias",
                "decoder/layer_1/attention/linear_1/bias",
                rows(1, 2),
            ),
            (
                "decoder.blocks.1.cross_attn.out.weight",
                "decoder/layer_1/attention/linear_2/weight",
                Part::All,
            ),
            (
                "decoder.blocks.2.mlp.2.weight",
                "decoder/layer_2/ffn/linear_1/weight",
                Part::All,
            ),
            (
                "encoder.blocks.0.mlp_ln.weight",
                "encoder/layer_0/ffn/layer_norm/gamma",
                Part::All,
            ),
        ];
        for (ggml, ct2, part) in cases {
            assert_eq!(source(ggml), Some((ct2.to_owned(), part)), "{ggml}");
        }
        assert_eq!(source("decoder.blocks.0.attn.query.scale"), None);
        assert_eq!(source("encoder.unknown.weight"), None);
    }

    #[test]
    fn converts_a_tiny_model_that_passes_the_checker() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_ct2(dir.path());
        for ftype in [1, ggml::QNT_VERSION * ggml::QNT_VERSION_FACTOR + 7] {
            let conv = Conversion::prepare(dir.path(), ftype).unwrap();
            let hp = *conv.hparams();
            assert_eq!((hp.n_audio_ctx, hp.n_text_ctx, hp.n_vocab), (8, 4, 51864));
            assert_eq!(
                (hp.n_audio_layer, hp.n_text_layer, hp.n_audio_head),
                (2, 1, 2)
            );
            let out = dir.path().join(format!("out-{ftype}.bin"));
            let mut bytes = Vec::new();
            conv.write(&mut bytes, &out).unwrap();
            std::fs::write(&out, &bytes).unwrap();
            let summary = ggml::check(&out).unwrap();
            assert_eq!(summary.n_tensors, 65);
            assert_eq!(summary.ftype as i32, ftype % 1000);
        }
    }

    #[test]
    fn fused_projections_are_split_by_rows() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_ct2(dir.path());
        let conv = Conversion::prepare(dir.path(), 1).unwrap();
        let spec = |name: &str| {
            ggml::tensor_specs(conv.hparams())
                .into_iter()
                .find(|t| t.name == name)
                .unwrap()
        };
        let fused = conv
            .model
            .read_f32("encoder/layer_0/self_attention/linear_0/weight")
            .unwrap();
        let key = tensor_values(&conv.model, &spec("encoder.blocks.0.attn.key.weight")).unwrap();
        assert_eq!(key, fused[64 * 64..2 * 64 * 64]);
        let value_bias =
            tensor_values(&conv.model, &spec("decoder.blocks.0.cross_attn.value.bias")).unwrap();
        let kv_bias = conv
            .model
            .read_f32("decoder/layer_0/attention/linear_1/bias")
            .unwrap();
        assert_eq!(value_bias, kv_bias[64..]);
    }

    #[test]
    fn missing_pieces_are_model_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = Conversion::prepare(dir.path(), 1)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no model.bin"), "{err}");
        write_tiny_ct2(dir.path());
        std::fs::remove_file(dir.path().join("vocabulary.txt")).unwrap();
        let err = Conversion::prepare(dir.path(), 1)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no vocabulary.txt"), "{err}");
    }
}
