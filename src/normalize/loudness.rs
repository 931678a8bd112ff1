//! EBU R128 loudness (ITU-R BS.1770 K-weighting and gating, EBU Tech 3342 loudness
//! range) of the 16 kHz mono signal the models hear, and the source's sample peak
//! ([`LoudnessMeter`]); the same measures over every channel of audio at any rate
//! ([`ProgramMeter`]) and its true peak (BS.1770-4 Annex 2, [`TruePeakMeter`]), for the
//! published audio.
//!
//! Measured on the 16 kHz mono mix rather than on every source channel at the source
//! rate: that is 6x fewer samples for 48 kHz stereo, and metering the source (with a
//! 4x-oversampled true peak) cost more than decoding it. For speech the difference is
//! small; one exception is spelled out in [`Loudness`]: a stereo source with the same
//! signal in both channels reads 3 LU lower than BS.1770's sum over the two channels
//! would.
//!
//! Why not the `ebur128` crate, which this meter reproduces to 1e-9 LU (a unit test
//! holds them side by side): it recomputes every 400 ms gating block and every 3 s
//! short-term block from the filtered samples, 7 passes over the audio, and that was
//! 15 % of `spacescribe decode`'s CPU time (perf, 10-minute Space). Here the
//! K-weighted energy is summed once per 100 ms and both measures are built from those
//! sums, so the meter is one streaming pass; it is also deterministic whatever sizes the
//! output arrives in.

use crate::audio::SAMPLE_RATE;
use crate::transcript::Loudness;

/// Samples per 100 ms sub-block, the unit both gating windows are built from.
const SUB_BLOCK: usize = SAMPLE_RATE as usize / 10;
/// Sub-blocks per gating block (400 ms, a new one every 100 ms).
const GATING_BLOCK: usize = 4;
/// Sub-blocks per short-term block (3 s) and between two of them (1 s), as libebur128.
const SHORT_TERM_BLOCK: usize = 30;
const SHORT_TERM_HOP: usize = 10;
/// Absolute gate, LUFS.
const ABSOLUTE_GATE: f64 = -70.0;
/// Relative gates below the gated mean, LU: integrated loudness, loudness range.
const RELATIVE_GATE_INTEGRATED: f64 = -10.0;
const RELATIVE_GATE_RANGE: f64 = -20.0;
/// Filter states this small are flushed to zero so silence never runs on denormals.
const FLUSH_BELOW: f64 = 1e-30;

/// Samples metered as one stretch (10 s), its two halves side by side.
const STRETCH: usize = 100 * SUB_BLOCK;
const HALF: usize = STRETCH / 2;
/// How long before its half the second half's filter starts from rest (0.3 s): by then
/// what it did not see has decayed below 1e-27 of the signal (the high-pass has a double
/// pole at 0.985: 4800 * 0.985^4800), far under f64 rounding, so it is in the state a
/// front-to-back run has.
const SETTLE: usize = 3 * SUB_BLOCK;

/// Streams 16 kHz mono samples through the K-weighting filter, keeping one energy
/// sum per 100 ms.
///
/// The filter is a recursion, one sample after the other, and the arithmetic per
/// sample, not memory, bounds it. Each 10 s stretch is therefore run as two halves side
/// by side (two independent recursions the CPU overlaps: half the time), the second
/// half's filter settled first over the 0.3 s before it. Stretches start at fixed
/// offsets from the start of the recording, so the figures never depend on how the
/// audio arrived.
pub(crate) struct LoudnessMeter {
    k: KWeighting,
    /// The filter's delay line at the end of what was metered, most recent first.
    state: [f64; 4],
    /// Samples not yet metered (less than a stretch).
    pending: Vec<f32>,
    /// One sum of squared K-weighted samples per 100 ms (80 KB per hour).
    sub_blocks: Vec<f64>,
}

impl Default for LoudnessMeter {
    fn default() -> Self {
        LoudnessMeter {
            k: KWeighting::at(f64::from(SAMPLE_RATE)),
            state: [0.0; 4],
            pending: Vec::with_capacity(STRETCH),
            sub_blocks: Vec::new(),
        }
    }
}

impl LoudnessMeter {
    /// Meters the next samples of the signal.
    pub(crate) fn push(&mut self, samples: &[f32]) {
        self.pending.extend_from_slice(samples);
        let whole = self.pending.len() / STRETCH * STRETCH;
        let pending = std::mem::take(&mut self.pending);
        for stretch in pending[..whole].chunks_exact(STRETCH) {
            self.meter_stretch(stretch);
        }
        self.pending = pending;
        self.pending.drain(..whole);
    }

    fn meter_stretch(&mut self, stretch: &[f32]) {
        let (first, second) = stretch.split_at(HALF);
        let mut settled = [0.0; 4];
        self.k.run(&first[HALF - SETTLE..], &mut settled);
        let mut states = [self.state, settled];
        let mut sums = [Vec::with_capacity(HALF / SUB_BLOCK), Vec::new()];
        sums[1].reserve(HALF / SUB_BLOCK);
        for (a, b) in first
            .chunks_exact(SUB_BLOCK)
            .zip(second.chunks_exact(SUB_BLOCK))
        {
            let [sa, sb] = self.k.run_pair([a, b], &mut states);
            sums[0].push(sa);
            sums[1].push(sb);
        }
        let [first_sums, second_sums] = sums;
        self.sub_blocks.extend(first_sums);
        self.sub_blocks.extend(second_sums);
        self.state = states[1];
    }

    /// Integrated loudness and loudness range, with the source's linear sample `peak`;
    /// silent or too-short input gives `None`s, never -inf/NaN.
    pub(crate) fn finish(mut self, peak: f32) -> Loudness {
        // The last partial stretch, front to back; a last partial sub-block is not metered.
        for block in self.pending.chunks_exact(SUB_BLOCK) {
            self.sub_blocks.push(self.k.run(block, &mut self.state));
        }
        gated_loudness(&self.sub_blocks, SUB_BLOCK, peak)
    }
}

/// Integrated loudness and range from 100 ms sub-block energy sums (each over
/// `sub_block` samples), with the linear sample `peak`.
fn gated_loudness(sub_blocks: &[f64], sub_block: usize, peak: f32) -> Loudness {
    let gating = window_energies(sub_blocks, sub_block, GATING_BLOCK, 1);
    let integrated = gated_mean(&gating, RELATIVE_GATE_INTEGRATED).map(energy_to_lufs);
    let range = integrated.and_then(|_| {
        let short_term = window_energies(sub_blocks, sub_block, SHORT_TERM_BLOCK, SHORT_TERM_HOP);
        loudness_range(short_term)
    });
    let finite = |v: f64| v.is_finite().then_some(v);
    Loudness {
        integrated_lufs: integrated.and_then(finite),
        range_lu: range.and_then(finite),
        sample_peak_dbfs: to_db(peak).and_then(finite),
        true_peak_dbtp: None,
    }
}

/// A linear level in dB; `None` for silence.
fn to_db(linear: f32) -> Option<f64> {
    let linear = f64::from(linear);
    (linear > 0.0).then(|| 20.0 * linear.log10())
}

/// BS.1770 loudness of interleaved audio with any number of channels at any rate: every
/// channel K-weighted and its energy summed with BS.1770's channel weights (1.0; for 5.1
/// the surrounds 1.41 and the LFE left out), gated as [`LoudnessMeter`] gates, plus the
/// sample peak. One plain front-to-back pass: it meters the published audio, which is
/// encoded anyway, so the split-halves speed-up of the 16 kHz meter is not needed here.
pub struct ProgramMeter {
    k: KWeighting,
    weights: Vec<f64>,
    states: Vec<[f64; 4]>,
    sub_block: usize,
    /// Frames of the current sub-block seen so far, and their weighted energy.
    in_block: usize,
    block_sum: f64,
    sub_blocks: Vec<f64>,
    peak: f32,
}

impl ProgramMeter {
    pub fn new(sample_rate: u32, channels: u16) -> ProgramMeter {
        let channels = usize::from(channels.max(1));
        ProgramMeter {
            k: KWeighting::at(f64::from(sample_rate)),
            weights: channel_weights(channels),
            states: vec![[0.0; 4]; channels],
            sub_block: (sample_rate as usize / 10).max(1),
            in_block: 0,
            block_sum: 0.0,
            sub_blocks: Vec::new(),
            peak: 0.0,
        }
    }

    /// Meters the next interleaved frames.
    pub fn push(&mut self, interleaved: &[f32]) {
        let channels = self.weights.len();
        let mut frames = interleaved.chunks_exact(channels).peekable();
        while frames.peek().is_some() {
            let take = self.sub_block - self.in_block;
            let piece: Vec<&[f32]> = frames.by_ref().take(take).collect();
            self.in_block += piece.len();
            for (c, (&weight, state)) in self.weights.iter().zip(&mut self.states).enumerate() {
                let channel: Vec<f32> = piece.iter().map(|f| f[c]).collect();
                self.peak = channel.iter().fold(self.peak, |m, s| m.max(s.abs()));
                let energy = self.k.run(&channel, state);
                self.block_sum += weight * energy;
            }
            if self.in_block == self.sub_block {
                self.sub_blocks.push(std::mem::take(&mut self.block_sum));
                self.in_block = 0;
            }
        }
    }

    /// Integrated loudness, range and sample peak of what was pushed (a last partial
    /// 100 ms is not gated, as in [`LoudnessMeter`]).
    pub fn finish(&self) -> Loudness {
        gated_loudness(&self.sub_blocks, self.sub_block, self.peak)
    }
}

/// BS.1770's weight of each channel: 1.0, but for 5.1 (L R C LFE Ls Rs) the LFE is left
/// out and the surrounds count 1.41.
fn channel_weights(channels: usize) -> Vec<f64> {
    if channels == 6 {
        return vec![1.0, 1.0, 1.0, 0.0, 1.41, 1.41];
    }
    vec![1.0; channels]
}

/// BS.1770-4 Annex 2's interpolating filter for 4x oversampling: 48 taps as 4 phases of
/// 12, phase `p` giving the point `p / 4` of a sample period along.
// The Annex's figures as printed (exact in binary), not rounded to f32's digits.
#[allow(clippy::excessive_precision)]
const TRUE_PEAK_PHASES: [[f32; TRUE_PEAK_TAPS]; 4] = [
    [
        0.0017089843750,
        0.0109863281250,
        -0.0196533203125,
        0.0332031250000,
        -0.0594482421875,
        0.1373291015625,
        0.9721679687500,
        -0.1022949218750,
        0.0476074218750,
        -0.0266113281250,
        0.0148925781250,
        -0.0083007812500,
    ],
    [
        -0.0291748046875,
        0.0292968750000,
        -0.0517578125000,
        0.0891113281250,
        -0.1665039062500,
        0.4650878906250,
        0.7797851562500,
        -0.2003173828125,
        0.1015625000000,
        -0.0582275390625,
        0.0330810546875,
        -0.0189208984375,
    ],
    [
        -0.0189208984375,
        0.0330810546875,
        -0.0582275390625,
        0.1015625000000,
        -0.2003173828125,
        0.7797851562500,
        0.4650878906250,
        -0.1665039062500,
        0.0891113281250,
        -0.0517578125000,
        0.0292968750000,
        -0.0291748046875,
    ],
    [
        -0.0083007812500,
        0.0148925781250,
        -0.0266113281250,
        0.0476074218750,
        -0.1022949218750,
        0.9721679687500,
        0.1373291015625,
        -0.0594482421875,
        0.0332031250000,
        -0.0196533203125,
        0.0109863281250,
        0.0017089843750,
    ],
];
const TRUE_PEAK_TAPS: usize = 12;

/// The true peak of interleaved audio (BS.1770-4 Annex 2: 4x oversampled with the
/// Annex's filter, never below the sample peak), streamed frame by frame. Each frame
/// pushed gives the peak of the stretch the filter now covers, which lies
/// [`TruePeakMeter::DELAY`] frames back: a limiter uses it to look ahead.
pub struct TruePeakMeter {
    /// The last 12 samples of each channel, oldest first, twice over so every window is
    /// one contiguous slice.
    history: Vec<Vec<f32>>,
    at: usize,
    peak: f32,
}

impl TruePeakMeter {
    /// Frames between a frame pushed and the middle of what its push measures (the
    /// filter's centre taps).
    pub const DELAY: usize = TRUE_PEAK_TAPS / 2;

    pub fn new(channels: u16) -> TruePeakMeter {
        TruePeakMeter {
            history: vec![vec![0.0; 2 * TRUE_PEAK_TAPS]; usize::from(channels.max(1))],
            at: 0,
            peak: 0.0,
        }
    }

    /// Pushes one frame (a sample per channel); returns the largest absolute value of
    /// the 4x-oversampled signal around frame `DELAY` frames back, and of that frame.
    pub fn push_frame(&mut self, frame: &[f32]) -> f32 {
        let slot = self.at;
        self.at = (self.at + 1) % TRUE_PEAK_TAPS;
        let mut peak = 0.0f32;
        for (history, &x) in self.history.iter_mut().zip(frame) {
            history[slot] = x;
            history[slot + TRUE_PEAK_TAPS] = x;
            // Newest sample first, as the Annex's taps are listed.
            let window = &history[slot + 1..=slot + TRUE_PEAK_TAPS];
            for phase in &TRUE_PEAK_PHASES {
                let y: f32 = phase
                    .iter()
                    .zip(window.iter().rev())
                    .map(|(h, x)| h * x)
                    .sum();
                peak = peak.max(y.abs());
            }
            peak = peak.max(window[TRUE_PEAK_TAPS - 1 - Self::DELAY].abs());
        }
        self.peak = self.peak.max(peak);
        peak
    }

    /// Meters the next interleaved frames.
    pub fn push(&mut self, interleaved: &[f32]) {
        let channels = self.history.len();
        for frame in interleaved.chunks_exact(channels) {
            self.push_frame(frame);
        }
    }

    /// The true peak so far in dBTP (`None` for silence), the last frames pushed included.
    pub fn finish(mut self) -> Option<f64> {
        let silence = vec![0.0; self.history.len()];
        for _ in 0..TRUE_PEAK_TAPS {
            self.push_frame(&silence);
        }
        to_db(self.peak)
    }
}

/// BS.1770's K-weighting (high shelf, then the RLB high-pass) as one fourth-order
/// filter in direct form II, as BS.1770's reference code (and libebur128) run it.
struct KWeighting {
    b: [f64; 5],
    a: [f64; 5],
}

impl KWeighting {
    fn at(rate: f64) -> KWeighting {
        let (b, a) = k_weighting(rate);
        KWeighting { b, a }
    }

    /// Filters `samples` on from `state`; returns the sum of the squared output.
    fn run(&self, samples: &[f32], state: &mut [f64; 4]) -> f64 {
        let ([b0, b1, b2, b3, b4], [_, a1, a2, a3, a4]) = (self.b, self.a);
        let [mut s1, mut s2, mut s3, mut s4] = *state;
        let mut sum = 0.0;
        for &x in samples {
            let s0 = (f64::from(x) - a2 * s2 - a3 * s3 - a4 * s4) - a1 * s1;
            let y = b0 * s0 + b1 * s1 + b2 * s2 + b3 * s3 + b4 * s4;
            sum += y * y;
            (s4, s3, s2, s1) = (s3, s2, s1, s0);
        }
        *state = flush_tiny([s1, s2, s3, s4]);
        sum
    }

    /// [`KWeighting::run`] on two signals of the same length at once.
    fn run_pair(&self, samples: [&[f32]; 2], states: &mut [[f64; 4]; 2]) -> [f64; 2] {
        let ([b0, b1, b2, b3, b4], [_, a1, a2, a3, a4]) = (self.b, self.a);
        let lane = |k: usize| states.map(|s| s[k]);
        let (mut s1, mut s2, mut s3, mut s4) = (lane(0), lane(1), lane(2), lane(3));
        let mut sum = [0.0; 2];
        for (&xa, &xb) in samples[0].iter().zip(samples[1]) {
            let x = [f64::from(xa), f64::from(xb)];
            let mut s0 = [0.0; 2];
            for k in 0..2 {
                s0[k] = (x[k] - a2 * s2[k] - a3 * s3[k] - a4 * s4[k]) - a1 * s1[k];
                let y = b0 * s0[k] + b1 * s1[k] + b2 * s2[k] + b3 * s3[k] + b4 * s4[k];
                sum[k] += y * y;
            }
            (s4, s3, s2, s1) = (s3, s2, s1, s0);
        }
        for (k, state) in states.iter_mut().enumerate() {
            *state = flush_tiny([s1[k], s2[k], s3[k], s4[k]]);
        }
        sum
    }
}

/// Filter states this small are zero, so silence never runs on denormals.
fn flush_tiny(state: [f64; 4]) -> [f64; 4] {
    state.map(|s| if s.abs() < FLUSH_BELOW { 0.0 } else { s })
}

/// Mean-square energies of windows of `len` sub-blocks of `sub_block` samples, one every
/// `hop` sub-blocks, the first ending with the `len`-th sub-block; those under the
/// absolute gate are left out.
fn window_energies(sub_blocks: &[f64], sub_block: usize, len: usize, hop: usize) -> Vec<f64> {
    let floor = lufs_to_energy(ABSOLUTE_GATE);
    let samples = (len * sub_block) as f64;
    sub_blocks
        .windows(len)
        .step_by(hop)
        .map(|w| w.iter().sum::<f64>() / samples)
        .filter(|&e| e >= floor)
        .collect()
}

/// Mean of the energies not below `relative_gate` LU under the mean of all of them.
fn gated_mean(energies: &[f64], relative_gate: f64) -> Option<f64> {
    let threshold = relative_threshold(energies, relative_gate)?;
    let kept: Vec<f64> = energies
        .iter()
        .copied()
        .filter(|&e| e >= threshold)
        .collect();
    (!kept.is_empty()).then(|| kept.iter().sum::<f64>() / kept.len() as f64)
}

fn relative_threshold(energies: &[f64], relative_gate: f64) -> Option<f64> {
    if energies.is_empty() {
        return None;
    }
    let mean = energies.iter().sum::<f64>() / energies.len() as f64;
    Some(mean * 10f64.powf(relative_gate / 10.0))
}

/// EBU Tech 3342: the spread between the 10th and 95th percentiles of the relatively
/// gated short-term loudness (percentile indices rounded as libebur128 rounds them).
fn loudness_range(mut short_term: Vec<f64>) -> Option<f64> {
    let threshold = relative_threshold(&short_term, RELATIVE_GATE_RANGE)?;
    short_term.retain(|&e| e >= threshold);
    short_term.sort_by(f64::total_cmp);
    let last = short_term.len().checked_sub(1)? as f64;
    let at = |q: f64| energy_to_lufs(short_term[(last * q + 0.5) as usize]);
    Some(at(0.95) - at(0.1))
}

fn energy_to_lufs(energy: f64) -> f64 {
    10.0 * energy.log10() - 0.691
}

fn lufs_to_energy(lufs: f64) -> f64 {
    10f64.powf((lufs + 0.691) / 10.0)
}

/// BS.1770's K-weighting (high shelf, then the RLB high-pass) at `rate`, as one
/// fourth-order filter: numerator and denominator coefficients.
fn k_weighting(rate: f64) -> ([f64; 5], [f64; 5]) {
    let (f0, gain_db, q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let vh = 10f64.powf(gain_db / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let shelf_b = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ];
    let shelf_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0];
    let (f0, q) = (38.13547087602444, 0.5003270373238773);
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let a0 = 1.0 + k / q + k * k;
    let highpass_b = [1.0, -2.0, 1.0];
    let highpass_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0];
    (convolve(shelf_b, highpass_b), convolve(shelf_a, highpass_a))
}

/// Product of two second-order polynomials.
fn convolve(p: [f64; 3], r: [f64; 3]) -> [f64; 5] {
    let mut out = [0.0; 5];
    for (i, pi) in p.iter().enumerate() {
        for (j, rj) in r.iter().enumerate() {
            out[i + j] += pi * rj;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(samples: &[f32]) -> Loudness {
        let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        let mut meter = LoudnessMeter::default();
        meter.push(samples);
        meter.finish(peak)
    }

    /// A 1 kHz sine at -20 dBFS peak is -23 LUFS (BS.1770's calibration point) with no
    /// loudness range.
    #[test]
    fn sine_at_minus_20_dbfs_is_minus_23_lufs() {
        let amp = 10f32.powf(-20.0 / 20.0);
        let sine: Vec<f32> = (0..16_000 * 10)
            .map(|i| amp * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let l = measure(&sine);
        let i = l.integrated_lufs.unwrap();
        assert!((i + 23.0).abs() < 0.1, "{i}");
        assert!(l.range_lu.unwrap() < 0.1);
        assert!((l.sample_peak_dbfs.unwrap() + 20.0).abs() < 0.01);
    }

    /// Speech-like test signal: noise bursts at changing levels with silences between.
    fn bursts(seconds: usize) -> Vec<f32> {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut noise = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        };
        (0..16_000 * seconds)
            .map(|i| {
                let second = i / 16_000;
                let level =
                    [0.3, 0.05, 0.0, 0.6, 0.01][second % 5] * (1.0 + (second % 7) as f32 * 0.1);
                level * noise()
            })
            .collect()
    }

    /// The `ebur128` crate (libebur128's Rust port) on the same signal, in pieces of
    /// odd sizes: same integrated loudness and range.
    #[test]
    fn matches_ebur128_crate() {
        let signal = bursts(47);
        let mut reference =
            ebur128::EbuR128::new(1, SAMPLE_RATE, ebur128::Mode::I | ebur128::Mode::LRA).unwrap();
        let mut meter = LoudnessMeter::default();
        for piece in signal.chunks(7_777) {
            reference.add_frames_f32(piece).unwrap();
            meter.push(piece);
        }
        let ours = meter.finish(1.0);
        let i = reference.loudness_global().unwrap();
        let lra = reference.loudness_range().unwrap();
        assert!(
            (ours.integrated_lufs.unwrap() - i).abs() < 1e-9,
            "{ours:?} vs {i}"
        );
        assert!(
            (ours.range_lu.unwrap() - lra).abs() < 1e-9,
            "{ours:?} vs {lra}"
        );
        assert!(lra > 1.0, "the test signal should have a range: {lra}");
    }

    /// Stretches run as two halves side by side give the sums of one front-to-back run.
    #[test]
    fn halves_side_by_side_match_front_to_back() {
        let signal = bursts(27);
        let mut meter = LoudnessMeter::default();
        for piece in signal.chunks(12_345) {
            meter.push(piece);
        }
        let mut meter_sums = std::mem::take(&mut meter.sub_blocks);
        let mut state = meter.state;
        meter_sums.extend(
            meter
                .pending
                .chunks_exact(SUB_BLOCK)
                .map(|b| meter.k.run(b, &mut state)),
        );
        let mut state = [0.0; 4];
        let k = KWeighting::at(f64::from(SAMPLE_RATE));
        let plain: Vec<f64> = signal
            .chunks_exact(SUB_BLOCK)
            .map(|b| k.run(b, &mut state))
            .collect();
        assert_eq!(meter_sums.len(), plain.len());
        for (i, (a, b)) in meter_sums.iter().zip(&plain).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1e-9),
                "sub-block {i}: {a} vs {b}"
            );
        }
    }

    /// A stereo 48 kHz signal metered over both channels, in odd pieces: the `ebur128`
    /// crate's integrated loudness and range.
    #[test]
    fn program_meter_matches_ebur128_on_stereo_48k() {
        let mono = bursts(31);
        // 16 kHz bursts stretched to 48 kHz, the right channel at half the left.
        let stereo: Vec<f32> = mono
            .iter()
            .flat_map(|&s| [s, s, s])
            .flat_map(|s| [s, 0.5 * s])
            .collect();
        let mut reference =
            ebur128::EbuR128::new(2, 48_000, ebur128::Mode::I | ebur128::Mode::LRA).unwrap();
        let mut meter = ProgramMeter::new(48_000, 2);
        for piece in stereo.chunks(2 * 4_321) {
            reference.add_frames_f32(piece).unwrap();
            meter.push(piece);
        }
        let ours = meter.finish();
        let i = reference.loudness_global().unwrap();
        let lra = reference.loudness_range().unwrap();
        assert!(
            (ours.integrated_lufs.unwrap() - i).abs() < 1e-6,
            "{ours:?} vs {i}"
        );
        assert!(
            (ours.range_lu.unwrap() - lra).abs() < 1e-6,
            "{ours:?} vs {lra}"
        );
    }

    /// A sine at a quarter of the rate, a quarter period off the samples: every sample
    /// is at 1/sqrt(2) of the amplitude, the wave itself peaks between them (+3 dB).
    #[test]
    fn true_peak_finds_the_peak_between_samples() {
        let amplitude = 0.5f32;
        let signal: Vec<f32> = (0..48_000)
            .map(|i| {
                let phase =
                    std::f32::consts::FRAC_PI_2 * (i % 4) as f32 + std::f32::consts::FRAC_PI_4;
                amplitude * phase.sin()
            })
            .collect();
        let sample_peak = signal.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((20.0 * (sample_peak / amplitude).log10() + 3.01).abs() < 0.01);
        let mut meter = TruePeakMeter::new(1);
        for piece in signal.chunks(999) {
            meter.push(piece);
        }
        let ours = meter.finish().unwrap();
        let expected = 20.0 * f64::from(amplitude).log10();
        assert!(
            (ours - expected).abs() < 0.2,
            "{ours} dBTP, the wave peaks at {expected}"
        );
        let mut reference = ebur128::EbuR128::new(1, 48_000, ebur128::Mode::TRUE_PEAK).unwrap();
        reference.add_frames_f32(&signal).unwrap();
        let theirs = 20.0 * reference.true_peak(0).unwrap().log10();
        assert!((ours - theirs).abs() < 0.2, "ours {ours}, ebur128 {theirs}");
    }

    #[test]
    fn silence_and_tiny_input_give_none() {
        assert_eq!(measure(&vec![0.0; 32_000]), Loudness::default());
        let tiny = measure(&[0.5; 100]);
        assert_eq!(tiny.integrated_lufs, None);
        assert_eq!(tiny.range_lu, None);
        assert!(tiny.sample_peak_dbfs.is_some());
        assert_eq!(measure(&[]), Loudness::default());
    }
}
