//! The dense f32 arithmetic of the segmentation network: one register-tiled matrix
//! product (every convolution, LSTM input projection and linear layer goes through it)
//! and the LSTM recurrence. Each is compiled twice, for AVX2+FMA (picked at run time)
//! and portable, because the crate is built for baseline x86-64 and without FMA the
//! network runs several times slower.

/// Column tile width of the matrix product; packed weights are padded to a multiple of it.
const NR: usize = 16;
/// Rows of the output computed together, sharing each loaded weight row.
const MR: usize = 6;
/// Gate columns of the recurrent product kept in registers at once (8 AVX vectors).
const GATE_TILE: usize = 64;

/// A weight matrix laid out input-major (`k` rows of `n_pad` columns, zero-padded past
/// `n`), so one output row is a sum of scaled weight rows: contiguous, vectorizable loads.
#[derive(Debug, Clone)]
pub(crate) struct Packed {
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) n_pad: usize,
    data: Vec<f32>,
    bias: Vec<f32>,
}

impl Packed {
    /// Packs `value(row, col)` for `row < k`, `col < n`, with `bias` (or zeros) per column.
    pub(crate) fn from_fn(
        k: usize,
        n: usize,
        bias: Option<&[f32]>,
        value: impl Fn(usize, usize) -> f32,
    ) -> Self {
        let n_pad = n.div_ceil(NR) * NR;
        let mut data = vec![0.0; k * n_pad];
        for (row, chunk) in data.chunks_exact_mut(n_pad).enumerate() {
            for (col, slot) in chunk[..n].iter_mut().enumerate() {
                *slot = value(row, col);
            }
        }
        let mut padded_bias = vec![0.0; n_pad];
        if let Some(bias) = bias {
            padded_bias[..n].copy_from_slice(bias);
        }
        Packed {
            k,
            n,
            n_pad,
            data,
            bias: padded_bias,
        }
    }
}

/// `out[i*n_pad + j] = bias[j] + Σ_p a[i*lda + p] · w[p][j]` for `i < rows`.
///
/// Rows of `a` may overlap (`lda < k`): a convolution over time-major activations is
/// then this product with no im2col copy, row `i` being the receptive field of frame `i`.
pub(crate) fn matmul(a: &[f32], lda: usize, rows: usize, w: &Packed, out: &mut [f32]) {
    assert!(
        rows == 0 || a.len() >= (rows - 1) * lda + w.k,
        "matmul input too short"
    );
    assert!(out.len() >= rows * w.n_pad, "matmul output too short");
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { matmul_avx2(a, lda, rows, w, out) };
        return;
    }
    matmul_body::<Plain>(a, lda, rows, w, out);
}

/// An LSTM's recurrent matrix packed for [`bilstm_scan`]: tiles of `GATE_TILE` gate
/// columns, each tile contiguous (`hidden` rows of `GATE_TILE`), so the product of every
/// step streams through memory instead of striding across 2 KB rows.
#[derive(Debug, Clone)]
pub(crate) struct Recurrent {
    hidden: usize,
    tiles: Vec<f32>,
}

impl Recurrent {
    /// From PyTorch's `weight_hh` (`4·hidden × hidden`, gates i, f, g, o).
    pub(crate) fn from_weight_hh(w: &[f32], hidden: usize) -> Self {
        let gates = 4 * hidden;
        assert!(gates.is_multiple_of(GATE_TILE) && w.len() == gates * hidden);
        let mut tiles = Vec::with_capacity(w.len());
        for j0 in (0..gates).step_by(GATE_TILE) {
            for p in 0..hidden {
                tiles.extend((j0..j0 + GATE_TILE).map(|gate| w[gate * hidden + p]));
            }
        }
        Recurrent { hidden, tiles }
    }
}

/// Runs both directions of a bidirectional LSTM layer over all frames.
///
/// `proj` holds per frame the input projections of the forward then the backward gates
/// (`2 × 4·hidden` values, both biases included); `out` receives per frame the forward
/// then the backward hidden state (`2 × hidden`). The two directions are stepped in
/// lockstep: two independent dependency chains keep the core busy.
pub(crate) fn bilstm_scan(proj: &[f32], recurrent: [&Recurrent; 2], out: &mut [f32]) {
    let hidden = recurrent[0].hidden;
    assert_eq!(hidden, recurrent[1].hidden);
    let frames = out.len() / (2 * hidden);
    assert_eq!(
        proj.len(),
        frames * 8 * hidden,
        "lstm input and output disagree"
    );
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { bilstm_scan_avx2(proj, recurrent, out) };
        return;
    }
    bilstm_scan_body::<Plain>(proj, recurrent, out);
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn matmul_avx2(a: &[f32], lda: usize, rows: usize, w: &Packed, out: &mut [f32]) {
    matmul_body::<Fused>(a, lda, rows, w, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn bilstm_scan_avx2(proj: &[f32], recurrent: [&Recurrent; 2], out: &mut [f32]) {
    bilstm_scan_body::<Fused>(proj, recurrent, out);
}

/// `a * b + c`, fused where the CPU has FMA: without the feature `mul_add` is a libm call.
trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

struct Fused;
struct Plain;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Plain {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

#[inline(always)]
fn matmul_body<M: MulAdd>(a: &[f32], lda: usize, rows: usize, w: &Packed, out: &mut [f32]) {
    // Column panels outermost: a panel (k × NR) stays in L1 while the input streams by.
    for j0 in (0..w.n_pad).step_by(NR) {
        let mut i = 0;
        while i + MR <= rows {
            tile::<M, MR>(a, lda, i, j0, w, out);
            i += MR;
        }
        while i < rows {
            tile::<M, 1>(a, lda, i, j0, w, out);
            i += 1;
        }
    }
}

#[inline(always)]
fn tile<M: MulAdd, const R: usize>(
    a: &[f32],
    lda: usize,
    i: usize,
    j0: usize,
    w: &Packed,
    out: &mut [f32],
) {
    let bias: [f32; NR] = w.bias[j0..j0 + NR].try_into().expect("NR columns");
    let mut acc = [bias; R];
    let inputs: [&[f32]; R] = std::array::from_fn(|r| &a[(i + r) * lda..][..w.k]);
    for (p, weights) in w.data.chunks_exact(w.n_pad).enumerate() {
        let weights: &[f32; NR] = weights[j0..j0 + NR].try_into().expect("NR columns");
        for (acc_row, input) in acc.iter_mut().zip(&inputs) {
            let x = input[p];
            for (slot, &wv) in acc_row.iter_mut().zip(weights) {
                *slot = M::mul_add(x, wv, *slot);
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        out[(i + r) * w.n_pad + j0..][..NR].copy_from_slice(acc_row);
    }
}

/// Hidden state, cell state and gate scratch of one direction.
struct Direction {
    h: Vec<f32>,
    c: Vec<f32>,
    gates: Vec<f32>,
}

#[inline(always)]
fn bilstm_scan_body<M: MulAdd>(proj: &[f32], recurrent: [&Recurrent; 2], out: &mut [f32]) {
    let hidden = recurrent[0].hidden;
    let gates_len = 4 * hidden;
    let frames = out.len() / (2 * hidden);
    let mut directions: [Direction; 2] = std::array::from_fn(|_| Direction {
        h: vec![0.0; hidden],
        c: vec![0.0; hidden],
        gates: vec![0.0; gates_len],
    });
    for step in 0..frames {
        for (d, (state, weights)) in directions.iter_mut().zip(recurrent).enumerate() {
            let t = if d == 0 { step } else { frames - 1 - step };
            let x_gates = &proj[(2 * t + d) * gates_len..][..gates_len];
            recurrent_product::<M>(x_gates, weights, &state.h, &mut state.gates);
            lstm_cell(&state.gates, &mut state.c, &mut state.h);
            out[(2 * t + d) * hidden..][..hidden].copy_from_slice(&state.h);
        }
    }
}

/// `gates = x_gates + w_hhᵀ h`, one tile of gate columns at a time held in registers.
#[inline(always)]
fn recurrent_product<M: MulAdd>(x_gates: &[f32], w_hh: &Recurrent, h: &[f32], gates: &mut [f32]) {
    let tile_len = w_hh.hidden * GATE_TILE;
    for ((tile, x), g) in w_hh
        .tiles
        .chunks_exact(tile_len)
        .zip(x_gates.chunks_exact(GATE_TILE))
        .zip(gates.chunks_exact_mut(GATE_TILE))
    {
        let mut acc: [f32; GATE_TILE] = x.try_into().expect("tile");
        for (&hp, row) in h.iter().zip(tile.chunks_exact(GATE_TILE)) {
            for (slot, &wv) in acc.iter_mut().zip(row) {
                *slot = M::mul_add(hp, wv, *slot);
            }
        }
        g.copy_from_slice(&acc);
    }
}

/// PyTorch's LSTM cell: `c = σ(f)·c + σ(i)·tanh(g)`, `h = σ(o)·tanh(c)`.
#[inline(always)]
fn lstm_cell(gates: &[f32], c: &mut [f32], h: &mut [f32]) {
    let hidden = h.len();
    let (input, rest) = gates.split_at(hidden);
    let (forget, rest) = rest.split_at(hidden);
    let (cell, output) = rest.split_at(hidden);
    for j in 0..hidden {
        let cj = sigmoid(forget[j]) * c[j] + sigmoid(input[j]) * tanh(cell[j]);
        c[j] = cj;
        h[j] = sigmoid(output[j]) * tanh(cj);
    }
}

/// Logistic function through [`exp`], branch-free so the gate loops vectorize.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh(x) = 1 - 2 / (e^{2x} + 1)`: absolute error ~1e-7, which is all the gates need.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// `e^x` to ~2 ulp (Cephes' polynomial), branch-free and inlinable: libm's `expf` is a
/// call per value, and the gates need 2.4 million of them per window.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so `x - n ln2` stays exact for |n| ≤ 128.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E).round_ties_even();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // 2^n by building the exponent bits: n + 127 is in 1..=254 after the clamp.
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    e_r * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.043;
            let (ours, std) = (exp(x), x.exp());
            assert!(
                ((ours - std) / std).abs() < 1e-6,
                "exp({x}): {ours} vs {std}"
            );
        }
    }

    #[test]
    fn tanh_and_sigmoid_match_std() {
        for i in -1000..=1000 {
            let x = i as f32 * 0.02;
            assert!((tanh(x) - x.tanh()).abs() < 1e-6, "tanh({x})");
            assert!(
                (sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6,
                "sigmoid({x})"
            );
        }
    }

    /// Deterministic pseudo-random values in [-1, 1).
    fn noise(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    #[test]
    fn portable_and_dispatched_kernels_agree() {
        let (rows, k, n) = (23, 37, 21);
        let a = noise(rows * k, 1);
        let values = noise(k * n, 2);
        let w = Packed::from_fn(k, n, Some(&noise(n, 3)), |p, j| values[p * n + j]);
        let (mut fast, mut portable) = (vec![0.0; rows * w.n_pad], vec![0.0; rows * w.n_pad]);
        matmul(&a, k, rows, &w, &mut fast);
        matmul_body::<Plain>(&a, k, rows, &w, &mut portable);
        let close = |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(a, b)| (a - b).abs() < 1e-5);
        assert!(close(&fast, &portable));

        let hidden = 64;
        let recurrent = [5, 6].map(|seed| {
            let w: Vec<f32> = noise(4 * hidden * hidden, seed)
                .iter()
                .map(|v| v * 0.2)
                .collect();
            Recurrent::from_weight_hh(&w, hidden)
        });
        let frames = 9;
        let proj = noise(frames * 8 * hidden, 7);
        let (mut fast, mut portable) = (
            vec![0.0; frames * 2 * hidden],
            vec![0.0; frames * 2 * hidden],
        );
        bilstm_scan(&proj, [&recurrent[0], &recurrent[1]], &mut fast);
        bilstm_scan_body::<Plain>(&proj, [&recurrent[0], &recurrent[1]], &mut portable);
        assert!(close(&fast, &portable));
    }

    #[test]
    fn matmul_with_overlapping_rows_is_a_convolution() {
        // Two output channels, kernel 3 over a time-major signal of one channel, stride 2.
        let signal: Vec<f32> = (0..11).map(|v| v as f32).collect();
        let kernel = [[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]];
        let w = Packed::from_fn(3, 2, Some(&[0.0, 1.0]), |p, j| kernel[j][p]);
        let rows = (signal.len() - 3) / 2 + 1;
        let mut out = vec![0.0; rows * w.n_pad];
        matmul(&signal, 2, rows, &w, &mut out);
        for i in 0..rows {
            let s = &signal[2 * i..2 * i + 3];
            assert_eq!(out[i * w.n_pad], s[0] - s[2]);
            assert_eq!(out[i * w.n_pad + 1], 1.0 + 0.5 * (s[0] + s[1] + s[2]));
        }
    }
}
