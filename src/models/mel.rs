//! The mel filterbank stored in a whisper.cpp model: Slaney-style mel scale with Slaney
//! area normalisation, computed exactly as `librosa.filters.mel(sr, n_fft, n_mels)` does
//! (the same operations in the same f64 order, rounded to f32 where librosa rounds), so the
//! converted file is bit-identical to one made from OpenAI's `mel_filters.npz`.

/// Whisper's analysis parameters: 16 kHz audio, 25 ms (400-sample) FFT window.
pub(crate) const SAMPLE_RATE: u32 = 16_000;
pub(crate) const N_FFT: usize = 400;
/// Frequency bins per filter: the one-sided spectrum of an `N_FFT` window.
pub(crate) const N_BINS: usize = 1 + N_FFT / 2;

/// Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;

fn min_log_mel() -> f64 {
    MIN_LOG_HZ / F_SP
}

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        min_log_mel() + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= min_log_mel() {
        MIN_LOG_HZ * (log_step() * (mel - min_log_mel())).exp()
    } else {
        F_SP * mel
    }
}

/// `np.linspace(start, stop, num)`: `i * step + start`, with the last point pinned to `stop`.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let step = (stop - start) / (num - 1) as f64;
    let mut out: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    out[num - 1] = stop;
    out
}

/// Returns the `n_mels x N_BINS` filterbank, row-major (one row per mel band), for
/// `sr` Hz audio, covering 0 Hz to Nyquist.
pub(crate) fn mel_filters(sr: u32, n_mels: usize) -> Vec<f32> {
    // numpy's rfftfreq: bin i sits at i * (1 / (n * (1 / sr))).
    let bin_hz = 1.0 / (N_FFT as f64 * (1.0 / sr as f64));
    let fft_freqs: Vec<f64> = (0..N_BINS).map(|i| i as f64 * bin_hz).collect();
    let mel_f: Vec<f64> = linspace(hz_to_mel(0.0), hz_to_mel(sr as f64 / 2.0), n_mels + 2)
        .into_iter()
        .map(mel_to_hz)
        .collect();

    let mut weights = Vec::with_capacity(n_mels * N_BINS);
    for i in 0..n_mels {
        let (lo_width, hi_width) = (mel_f[i + 1] - mel_f[i], mel_f[i + 2] - mel_f[i + 1]);
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for &f in &fft_freqs {
            let lower = -(mel_f[i] - f) / lo_width;
            let upper = (mel_f[i + 2] - f) / hi_width;
            // numpy's minimum(a, b) is `a < b ? a : b` and maximum(a, b) is `a > b ? a : b`;
            // spelled out because f64::min/max may return either sign of zero, and
            // librosa's bin 0 of band 0 is -0.0. librosa stores the triangle in its f32
            // output array before normalising in place, so the rounding happens twice.
            let peak = if lower < upper { lower } else { upper };
            let triangle = if 0.0 > peak { 0.0 } else { peak as f32 };
            weights.push((triangle as f64 * enorm) as f32);
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(m: &[f32], row: usize, col: usize) -> u32 {
        m[row * N_BINS + col].to_bits()
    }

    /// Reference bits from librosa 0.11 `filters.mel(sr=16000, n_fft=400, n_mels=80)`.
    #[test]
    fn matches_librosa_bit_for_bit() {
        let m = mel_filters(SAMPLE_RATE, 80);
        assert_eq!(m.len(), 80 * 201);
        assert_eq!(at(&m, 0, 1), 0x3ccb_aca4);
        assert_eq!(at(&m, 0, 2), 0);
        assert_eq!(at(&m, 5, 5), 0x3c23_168f);
        assert_eq!(at(&m, 5, 6), 0x3c74_42b7);
        assert_eq!(at(&m, 10, 10), 0x3ca3_168f);
        assert_eq!(at(&m, 40, 42), 0x3bb1_4fa3);
        assert_eq!(at(&m, 40, 43), 0x3c71_6d72);
        assert_eq!(at(&m, 40, 44), 0x3bd5_968a);
        assert_eq!(at(&m, 79, 186), 0x39c0_473c);
        assert_eq!(at(&m, 79, 192), 0x3b4f_670e);
        assert_eq!(at(&m, 79, 199), 0x39eb_476a);
        assert_eq!(at(&m, 79, 200), 0);
    }

    #[test]
    fn row_sums_and_support_match_librosa() {
        let m = mel_filters(SAMPLE_RATE, 80);
        let row_sum = |r: usize| m[r * N_BINS..(r + 1) * N_BINS].iter().sum::<f32>();
        assert!((row_sum(0) - 0.024_862_595).abs() < 1e-8);
        assert!((row_sum(40) - 0.026_664_86).abs() < 1e-7);
        assert!((row_sum(79) - 0.024_925_34).abs() < 1e-7);
        let total: f64 = m.iter().map(|&x| x as f64).sum();
        assert!((total - 1.999_024_092_387_117).abs() < 1e-9);
        assert_eq!(m.iter().filter(|&&x| x != 0.0).count(), 391);
        // librosa's only negative zero is band 0, bin 0; the others are +0.0.
        let negative_zeros: Vec<usize> = (0..m.len())
            .filter(|&i| m[i].to_bits() == 0x8000_0000)
            .collect();
        assert_eq!(negative_zeros, [0]);
    }
}
