//! SincNet, the network's front end: waveform instance norm, then three blocks of
//! convolution → max-pool → instance norm → leaky ReLU, the first convolution being a
//! bank of parametric sinc band-pass filters (asteroid's `ParamSincFB`) whose output is
//! rectified with `abs`. Activations are time-major (`frames × channels`) throughout.

use super::kernels::{Packed, matmul};
use super::weights::Checkpoint;

/// (kernel, stride) of every convolution and pooling layer, in order: the receptive
/// field arithmetic in [`super::frame_timing`] walks the same list.
pub(crate) const LAYERS: [(usize, usize); 6] = [(251, 10), (3, 3), (5, 1), (3, 3), (5, 1), (3, 3)];
/// Channels out of the last block: the LSTM's input size.
pub(crate) const FEATURES: usize = 60;

const SINC_FILTERS: usize = 80;
const SINC_TAPS: usize = LAYERS[0].0;
const SINC_STRIDE: usize = LAYERS[0].1;
const SAMPLE_RATE: f32 = 16_000.0;
/// `ParamSincFB(min_low_hz=50, min_band_hz=50)`.
const MIN_LOW_HZ: f32 = 50.0;
const MIN_BAND_HZ: f32 = 50.0;
const POOL: usize = 3;
/// PyTorch's `InstanceNorm1d` default.
const NORM_EPS: f64 = 1e-5;
/// PyTorch's `leaky_relu` default slope.
const LEAKY_SLOPE: f32 = 0.01;

pub(crate) struct SincNet {
    waveform_norm: (f32, f32),
    blocks: [ConvBlock; 3],
}

impl SincNet {
    pub(crate) fn load(ckpt: &mut Checkpoint) -> crate::Result<Self> {
        let waveform_norm = {
            let (weight, bias) = ckpt.take_layer("sincnet.wav_norm1d", &[1])?;
            (weight[0], bias[0])
        };
        let sinc = ConvBlock {
            conv: sinc_filterbank(ckpt)?,
            in_channels: 1,
            stride: SINC_STRIDE,
            rectify: true,
            norm: InstanceNorm::load(ckpt, "sincnet.norm1d.0", SINC_FILTERS)?,
        };
        let conv2 = ConvBlock::load(ckpt, 1, SINC_FILTERS, FEATURES)?;
        let conv3 = ConvBlock::load(ckpt, 2, FEATURES, FEATURES)?;
        Ok(SincNet {
            waveform_norm,
            blocks: [sinc, conv2, conv3],
        })
    }

    /// Features (`frames × FEATURES`, time-major) of one window of 16 kHz samples.
    pub(crate) fn forward(&self, window: &[f32]) -> (Vec<f32>, usize) {
        let mut x = window.to_vec();
        normalize_waveform(&mut x, self.waveform_norm);
        let mut frames = x.len();
        for block in &self.blocks {
            (x, frames) = block.forward(&x, frames);
        }
        (x, frames)
    }
}

/// One convolution → max-pool(3) → instance norm → leaky ReLU block.
struct ConvBlock {
    /// Rows `tap * in_channels + channel`, so a frame's receptive field is one contiguous
    /// run of the time-major input.
    conv: Packed,
    in_channels: usize,
    stride: usize,
    /// `abs` after the convolution (the sinc block only).
    rectify: bool,
    norm: InstanceNorm,
}

impl ConvBlock {
    /// `sincnet.conv1d.{index}` (a PyTorch `Conv1d`, out × in × taps) and its norm.
    fn load(
        ckpt: &mut Checkpoint,
        index: usize,
        in_channels: usize,
        out_channels: usize,
    ) -> crate::Result<Self> {
        let (taps, stride) = LAYERS[2 * index];
        let (weight, bias) = ckpt.take_layer(
            &format!("sincnet.conv1d.{index}"),
            &[out_channels, in_channels, taps],
        )?;
        let conv = Packed::from_fn(taps * in_channels, out_channels, Some(&bias), |row, out| {
            let (tap, channel) = (row / in_channels, row % in_channels);
            weight[(out * in_channels + channel) * taps + tap]
        });
        Ok(ConvBlock {
            conv,
            in_channels,
            stride,
            rectify: false,
            norm: InstanceNorm::load(ckpt, &format!("sincnet.norm1d.{index}"), out_channels)?,
        })
    }

    fn forward(&self, input: &[f32], in_frames: usize) -> (Vec<f32>, usize) {
        let taps = self.conv.k / self.in_channels;
        let conv_frames = (in_frames - taps) / self.stride + 1;
        let mut conv = vec![0.0; conv_frames * self.conv.n_pad];
        matmul(
            input,
            self.stride * self.in_channels,
            conv_frames,
            &self.conv,
            &mut conv,
        );
        let (mut out, frames) = self.max_pool(&conv, conv_frames);
        self.norm.apply(&mut out);
        for v in &mut out {
            *v = leaky_relu(*v);
        }
        (out, frames)
    }

    /// `MaxPool1d(3, stride=3)` over time (of `|x|` when rectifying), dropping the
    /// matmul's padding columns.
    fn max_pool(&self, conv: &[f32], conv_frames: usize) -> (Vec<f32>, usize) {
        let (channels, stride) = (self.conv.n, self.conv.n_pad);
        let frames = conv_frames / POOL;
        let mut out = vec![f32::NEG_INFINITY; frames * channels];
        for (t, row) in out.chunks_exact_mut(channels).enumerate() {
            for input in conv[t * POOL * stride..].chunks(stride).take(POOL) {
                for (best, &v) in row.iter_mut().zip(input) {
                    let v = if self.rectify { v.abs() } else { v };
                    *best = best.max(v);
                }
            }
        }
        (out, frames)
    }
}

/// `InstanceNorm1d(affine=True)`: each channel normalized over time, then scaled.
struct InstanceNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl InstanceNorm {
    fn load(ckpt: &mut Checkpoint, prefix: &str, channels: usize) -> crate::Result<Self> {
        let (weight, bias) = ckpt.take_layer(prefix, &[channels])?;
        Ok(InstanceNorm { weight, bias })
    }

    /// Normalizes time-major `x` (`frames × channels`) in place.
    fn apply(&self, x: &mut [f32]) {
        let channels = self.weight.len();
        let frames = (x.len() / channels) as f64;
        let mut sum = vec![0.0f64; channels];
        for row in x.chunks_exact(channels) {
            for (s, &v) in sum.iter_mut().zip(row) {
                *s += f64::from(v);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / frames).collect();
        let mut sq = vec![0.0f64; channels];
        for row in x.chunks_exact(channels) {
            for ((s, &v), m) in sq.iter_mut().zip(row).zip(&mean) {
                *s += (f64::from(v) - m).powi(2);
            }
        }
        // Biased variance, as PyTorch normalizes.
        let scale: Vec<f64> = sq
            .iter()
            .zip(&self.weight)
            .map(|(s, &w)| f64::from(w) / (s / frames + NORM_EPS).sqrt())
            .collect();
        for row in x.chunks_exact_mut(channels) {
            for (c, v) in row.iter_mut().enumerate() {
                *v = ((f64::from(*v) - mean[c]) * scale[c]) as f32 + self.bias[c];
            }
        }
    }
}

/// The single-channel `InstanceNorm1d` at the input: the whole window to zero mean and
/// unit variance, then `weight·x + bias`.
fn normalize_waveform(x: &mut [f32], (weight, bias): (f32, f32)) {
    InstanceNorm {
        weight: vec![weight],
        bias: vec![bias],
    }
    .apply(x);
}

fn leaky_relu(x: f32) -> f32 {
    if x < 0.0 { LEAKY_SLOPE * x } else { x }
}

/// The 80 sinc filters (40 cosine, then 40 sine) computed from the learned band edges
/// exactly as asteroid's `ParamSincFB.filters()` does, in f32 like PyTorch.
fn sinc_filterbank(ckpt: &mut Checkpoint) -> crate::Result<Packed> {
    const BANDS: usize = SINC_FILTERS / 2;
    const HALF: usize = SINC_TAPS / 2;
    let prefix = "sincnet.conv1d.0.filterbank";
    let low_hz = ckpt.take(&format!("{prefix}.low_hz_"), &[BANDS, 1])?;
    let band_hz = ckpt.take(&format!("{prefix}.band_hz_"), &[BANDS, 1])?;
    // n_ = 2π·(-125..0)/sr and window_ = the left half of a Hamming window: buffers
    // saved with the weights, used as saved.
    let n = ckpt.take(&format!("{prefix}.n_"), &[1, HALF])?;
    let window = ckpt.take(&format!("{prefix}.window_"), &[HALF])?;

    let mut filters = vec![[0.0f32; SINC_TAPS]; SINC_FILTERS];
    for band in 0..BANDS {
        let low = MIN_LOW_HZ + low_hz[band].abs();
        let high = (low + MIN_BAND_HZ + band_hz[band].abs()).clamp(MIN_LOW_HZ, SAMPLE_RATE / 2.0);
        let width = high - low;
        let (cos_filter, sin_filter) = filters.split_at_mut(BANDS);
        let (cos_filter, sin_filter) = (&mut cos_filter[band], &mut sin_filter[band]);
        for (tap, (&nt, &wt)) in n.iter().zip(&window).enumerate() {
            let (ft_low, ft_high) = (low * nt, high * nt);
            let cos_left = (ft_high.sin() - ft_low.sin()) / (nt / 2.0) * wt;
            let sin_left = (ft_low.cos() - ft_high.cos()) / (nt / 2.0) * wt;
            // Cosine filters are symmetric, sine filters antisymmetric, about tap HALF.
            cos_filter[tap] = cos_left;
            cos_filter[SINC_TAPS - 1 - tap] = cos_left;
            sin_filter[tap] = sin_left;
            sin_filter[SINC_TAPS - 1 - tap] = -sin_left;
        }
        cos_filter[HALF] = 2.0 * width;
        sin_filter[HALF] = 0.0;
        for v in cos_filter.iter_mut().chain(sin_filter.iter_mut()) {
            *v /= 2.0 * width;
        }
    }
    Ok(Packed::from_fn(SINC_TAPS, SINC_FILTERS, None, |tap, f| {
        filters[f][tap]
    }))
}
