//! Local speaker segmentation: pyannote segmentation-3.0 (PyanNet) in plain Rust.
//!
//! One 10 s window of 16 kHz audio in, 589 frames out, each with the activation
//! probability of up to 3 local speakers (at most 2 at once: the network classifies each
//! frame into one of 7 "powerset" classes). Speakers are local to the window: speaker 0
//! of one window and of the next need not be the same person; global clustering links
//! them. This module owns the API and the frame geometry; the network lives in
//! `segmentation/` (weights, SincNet, LSTM, the f32 kernels).

mod kernels;
mod lstm;
mod network;
#[cfg(test)]
mod reference_tests;
mod sincnet;
mod weights;

use std::path::Path;

use rayon::prelude::*;

use crate::error::Error;

/// Samples per window: 10 s at 16 kHz, the duration the model was trained on.
pub(crate) const WINDOW_SAMPLES: usize = 160_000;
/// Speakers the model tells apart within one window.
pub(crate) const NUM_LOCAL_SPEAKERS: usize = 3;
/// Powerset classes: every set of at most 2 of the 3 local speakers.
pub(crate) const NUM_CLASSES: usize = 7;

/// The speakers of each powerset class, in the order of the network's outputs
/// (pyannote's: by set size, then lexicographically):
/// `{}`, `{0}`, `{1}`, `{2}`, `{0,1}`, `{0,2}`, `{1,2}`.
pub(crate) const POWERSET_CLASSES: [&[usize]; NUM_CLASSES] =
    [&[], &[0], &[1], &[2], &[0, 1], &[0, 2], &[1, 2]];

/// Where output frames sit in the window, in samples from its first sample.
///
/// Frame `i` covers the receptive field `[center - duration/2, center + duration/2]`
/// with `center = first_center_samples + i * step_samples`; pyannote's `SlidingWindow`
/// for the model (start 0, duration 991, step 270 samples) says the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FrameTiming {
    pub(crate) step_samples: f64,
    pub(crate) duration_samples: f64,
    pub(crate) first_center_samples: f64,
}

/// The frame geometry, from the convolution and pooling stack as pyannote derives it.
pub(crate) fn frame_timing() -> FrameTiming {
    let one = receptive_field_size(1);
    FrameTiming {
        step_samples: (receptive_field_size(2) - one) as f64,
        duration_samples: one as f64,
        first_center_samples: receptive_field_center(0) as f64,
    }
}

/// Output frames per window (589).
#[cfg(test)]
pub(crate) fn frames_per_window() -> usize {
    sincnet::LAYERS
        .iter()
        .fold(WINDOW_SAMPLES, |len, &(kernel, stride)| {
            (len - kernel) / stride + 1
        })
}

/// Input samples seen by `frames` consecutive output frames.
fn receptive_field_size(frames: usize) -> usize {
    sincnet::LAYERS
        .iter()
        .rev()
        .fold(frames, |size, &(kernel, stride)| {
            kernel + (size - 1) * stride
        })
}

/// Input sample at the center of output frame `frame`'s receptive field.
fn receptive_field_center(frame: usize) -> usize {
    sincnet::LAYERS
        .iter()
        .rev()
        .fold(frame, |center, &(kernel, stride)| {
            center * stride + (kernel - 1) / 2
        })
}

/// The loaded segmentation model. Immutable: share one across threads.
pub(crate) struct Segmenter {
    net: network::PyanNet,
    /// The checkpoint, named in errors.
    path: std::path::PathBuf,
}

impl Segmenter {
    /// Loads the segmentation-3.0 checkpoint (`pytorch_model.bin`, a Lightning zip).
    pub(crate) fn load(path: &Path) -> crate::Result<Self> {
        let mut ckpt = weights::Checkpoint::read(path)?;
        Ok(Segmenter {
            net: network::PyanNet::load(&mut ckpt)?,
            path: path.to_path_buf(),
        })
    }

    /// Per-frame activation probabilities of the 3 local speakers for one 10 s window
    /// (shorter input is zero-padded, as pyannote pads the last chunk).
    pub(crate) fn window_activations(&self, window: &[f32]) -> crate::Result<Vec<[f32; 3]>> {
        Ok(powerset_to_multilabel(&self.window_log_probs(window)?))
    }

    /// Same for a batch of windows, in parallel on the current rayon pool.
    pub(crate) fn batch_activations(
        &self,
        windows: &[&[f32]],
    ) -> crate::Result<Vec<Vec<[f32; 3]>>> {
        windows
            .par_iter()
            .map(|window| self.window_activations(window))
            .collect()
    }

    /// The network's raw output for one window: per frame, the log-probability of each
    /// class of [`POWERSET_CLASSES`].
    pub(crate) fn window_log_probs(
        &self,
        window: &[f32],
    ) -> crate::Result<Vec<[f32; NUM_CLASSES]>> {
        if window.len() > WINDOW_SAMPLES {
            return Err(Error::stage(
                &self.path,
                "segmentation",
                format!(
                    "a window of {} samples: at most {WINDOW_SAMPLES}",
                    window.len()
                ),
            ));
        }
        if window.len() == WINDOW_SAMPLES {
            return Ok(self.net.forward(window));
        }
        let mut padded = window.to_vec();
        padded.resize(WINDOW_SAMPLES, 0.0);
        Ok(self.net.forward(&padded))
    }
}

/// Soft powerset → multilabel conversion: a speaker's activation is the summed
/// probability of every class containing it (see [`POWERSET_CLASSES`] for the order).
pub(crate) fn powerset_to_multilabel(log_probs: &[[f32; NUM_CLASSES]]) -> Vec<[f32; 3]> {
    log_probs
        .iter()
        .map(|frame| {
            let mut speakers = [0.0f32; NUM_LOCAL_SPEAKERS];
            for (speakers_in_class, &lp) in POWERSET_CLASSES.iter().zip(frame) {
                let p = lp.exp();
                for &s in *speakers_in_class {
                    speakers[s] += p;
                }
            }
            speakers
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_geometry_matches_pyannote() {
        assert_eq!(frames_per_window(), 589);
        assert_eq!(
            frame_timing(),
            FrameTiming {
                step_samples: 270.0,
                duration_samples: 991.0,
                first_center_samples: 495.0,
            }
        );
    }

    #[test]
    fn powerset_sums_class_probabilities_per_speaker() {
        let probs = [0.1f32, 0.2, 0.05, 0.05, 0.3, 0.25, 0.05];
        let out = powerset_to_multilabel(&[probs.map(f32::ln)]);
        let expected = [0.2 + 0.3 + 0.25, 0.05 + 0.3 + 0.05, 0.05 + 0.25 + 0.05];
        for (got, want) in out[0].iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn missing_or_corrupt_checkpoint_is_a_model_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.bin");
        let garbage = dir.path().join("garbage.bin");
        std::fs::write(&garbage, b"PK\x03\x04 not really a zip").unwrap();
        for path in [missing, garbage] {
            match Segmenter::load(&path) {
                Err(e @ Error::Model { .. }) => assert!(
                    e.to_string().contains("absent.bin") || e.to_string().contains("garbage.bin")
                ),
                Err(e) => panic!("wrong error kind: {e}"),
                Ok(_) => panic!("loaded {}", path.display()),
            }
        }
    }
}
