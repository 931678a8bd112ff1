//! The 4-layer bidirectional LSTM (PyTorch `nn.LSTM`, hidden 128, batch-first) between
//! SincNet and the classifier: per layer one matrix product projects every frame's input
//! for both directions at once, then the two sequential recurrences run in lockstep.

use super::kernels::{Packed, Recurrent, bilstm_scan, matmul};
use super::weights::Checkpoint;

pub(crate) const HIDDEN: usize = 128;
const LAYERS: usize = 4;
const GATES: usize = 4 * HIDDEN;
/// Forward and backward hidden states, concatenated per frame.
pub(crate) const OUTPUT: usize = 2 * HIDDEN;

pub(crate) struct BiLstm {
    layers: Vec<Layer>,
}

struct Layer {
    /// Input → gates of both directions (forward in columns `..GATES`, backward after),
    /// with `bias_ih + bias_hh` folded into the bias.
    input: Packed,
    /// Recurrent matrices of the forward and backward direction.
    recurrent: [Recurrent; 2],
}

impl BiLstm {
    pub(crate) fn load(ckpt: &mut Checkpoint, input_size: usize) -> crate::Result<Self> {
        let layers = (0..LAYERS)
            .map(|layer| {
                let size = if layer == 0 { input_size } else { OUTPUT };
                Layer::load(ckpt, layer, size)
            })
            .collect::<crate::Result<_>>()?;
        Ok(BiLstm { layers })
    }

    /// Hidden states (`frames × OUTPUT`) for time-major input `x` (`frames × input_size`).
    pub(crate) fn forward(&self, x: Vec<f32>, frames: usize) -> Vec<f32> {
        self.layers
            .iter()
            .fold(x, |x, layer| layer.forward(&x, frames))
    }
}

impl Layer {
    fn load(ckpt: &mut Checkpoint, layer: usize, input_size: usize) -> crate::Result<Self> {
        let directions = [format!("l{layer}"), format!("l{layer}_reverse")];
        let mut w_ih = Vec::with_capacity(2);
        let mut bias = Vec::with_capacity(2 * GATES);
        let mut recurrent = Vec::with_capacity(2);
        for suffix in &directions {
            w_ih.push(ckpt.take(&format!("lstm.weight_ih_{suffix}"), &[GATES, input_size])?);
            let w_hh = ckpt.take(&format!("lstm.weight_hh_{suffix}"), &[GATES, HIDDEN])?;
            recurrent.push(Recurrent::from_weight_hh(&w_hh, HIDDEN));
            let b_ih = ckpt.take(&format!("lstm.bias_ih_{suffix}"), &[GATES])?;
            let b_hh = ckpt.take(&format!("lstm.bias_hh_{suffix}"), &[GATES])?;
            bias.extend(b_ih.iter().zip(&b_hh).map(|(a, b)| a + b));
        }
        let input = Packed::from_fn(input_size, 2 * GATES, Some(&bias), |p, gate| {
            w_ih[gate / GATES][(gate % GATES) * input_size + p]
        });
        let recurrent = recurrent.try_into().expect("two directions");
        Ok(Layer { input, recurrent })
    }

    fn forward(&self, x: &[f32], frames: usize) -> Vec<f32> {
        let mut projected = vec![0.0; frames * self.input.n_pad];
        matmul(x, self.input.k, frames, &self.input, &mut projected);
        let mut out = vec![0.0; frames * OUTPUT];
        let [forward, backward] = &self.recurrent;
        bilstm_scan(&projected, [forward, backward], &mut out);
        out
    }
}
