//! PyanNet assembled: SincNet → BiLSTM → two leaky-ReLU linear layers → powerset
//! classifier → log-softmax, from waveform window to per-frame class log-probabilities.

use super::kernels::{Packed, matmul};
use super::lstm::{self, BiLstm};
use super::sincnet::{self, SincNet};
use super::weights::Checkpoint;
use super::{NUM_CLASSES, WINDOW_SAMPLES};

const LINEAR_SIZE: usize = 128;

pub(crate) struct PyanNet {
    sincnet: SincNet,
    lstm: BiLstm,
    linear: [Packed; 2],
    classifier: Packed,
}

impl PyanNet {
    pub(crate) fn load(ckpt: &mut Checkpoint) -> crate::Result<Self> {
        Ok(PyanNet {
            sincnet: SincNet::load(ckpt)?,
            lstm: BiLstm::load(ckpt, sincnet::FEATURES)?,
            linear: [
                linear(ckpt, "linear.0", lstm::OUTPUT, LINEAR_SIZE)?,
                linear(ckpt, "linear.1", LINEAR_SIZE, LINEAR_SIZE)?,
            ],
            classifier: linear(ckpt, "classifier", LINEAR_SIZE, NUM_CLASSES)?,
        })
    }

    /// Log-probabilities of the powerset classes per frame for exactly one window.
    pub(crate) fn forward(&self, window: &[f32]) -> Vec<[f32; NUM_CLASSES]> {
        debug_assert_eq!(window.len(), WINDOW_SAMPLES);
        let (features, frames) = self.sincnet.forward(window);
        let mut x = self.lstm.forward(features, frames);
        for layer in &self.linear {
            x = dense(&x, frames, layer);
            for v in &mut x {
                *v = if *v < 0.0 { 0.01 * *v } else { *v };
            }
        }
        let logits = dense(&x, frames, &self.classifier);
        logits
            .chunks_exact(NUM_CLASSES)
            .map(|row| log_softmax(row.try_into().expect("classes")))
            .collect()
    }
}

/// A PyTorch `Linear` (`out × in` weight) packed for [`matmul`].
fn linear(
    ckpt: &mut Checkpoint,
    prefix: &str,
    inputs: usize,
    outputs: usize,
) -> crate::Result<Packed> {
    let (weight, bias) = ckpt.take_layer(prefix, &[outputs, inputs])?;
    Ok(Packed::from_fn(inputs, outputs, Some(&bias), |p, o| {
        weight[o * inputs + p]
    }))
}

/// `x` (`frames × layer.k`) through `layer`, compacted to `frames × layer.n`.
fn dense(x: &[f32], frames: usize, layer: &Packed) -> Vec<f32> {
    let mut out = vec![0.0; frames * layer.n_pad];
    matmul(x, layer.k, frames, layer, &mut out);
    if layer.n != layer.n_pad {
        out = out
            .chunks_exact(layer.n_pad)
            .flat_map(|row| &row[..layer.n])
            .copied()
            .collect();
    }
    out
}

fn log_softmax(logits: [f32; NUM_CLASSES]) -> [f32; NUM_CLASSES] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_sum = logits.iter().map(|&v| (v - max).exp()).sum::<f32>().ln();
    logits.map(|v| v - max - log_sum)
}
