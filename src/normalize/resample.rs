//! Streaming mono resampling to 16 kHz with sample-exact lengths.
//!
//! One [`ResampleStream`] runs over a whole run of same-rate audio (a file, or every
//! chunk of a playlist), so there are no seams between blocks or chunks: rubato's FFT
//! resampler keeps its filter state across calls. Positions are counted in source
//! frames and converted with [`out_len`], so after `n` source frames the output holds
//! exactly `round(n * 16000 / rate)` samples and offsets never drift, however many
//! pieces the input came in.

use crate::audio::SAMPLE_RATE;
use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

/// Input frames per FFT block, before rounding (rubato's default sub-chunk).
const SUB_CHUNK: usize = 256;
/// Zeros are fed in pieces of this many frames so a long silent gap needs no big buffer.
const ZERO_PIECE: u64 = 1 << 16;

/// Number of 16 kHz samples that `frames` source frames at `rate` become.
pub(crate) fn out_len(frames: u64, rate: u32) -> u64 {
    let num = u128::from(frames) * u128::from(SAMPLE_RATE);
    let den = u128::from(rate);
    ((2 * num + den) / (2 * den)) as u64
}

/// Resamples one run of mono audio at `rate` into the tail of an output buffer.
pub(crate) struct ResampleStream {
    rate: u32,
    /// `None` when the source is already at 16 kHz.
    fft: Option<Fft<f32>>,
    /// Input not yet handed to rubato (less than one call's worth).
    pending: Vec<f32>,
    /// Output frames still to drop from the front (rubato's delay, a resumed run's replay).
    to_trim: usize,
    /// Output position (16 kHz samples from the recording's start) where this run starts.
    base: u64,
    /// Source frames pushed so far.
    frames_in: u64,
    /// Output samples appended so far.
    emitted: u64,
    scratch: Vec<f32>,
}

impl ResampleStream {
    /// Starts a run at output position `base`. `rate` must be a real rate (checked at decode).
    pub(crate) fn new(rate: u32, base: u64) -> ResampleStream {
        let fft = (rate != SAMPLE_RATE).then(|| fft_resampler(rate));
        let to_trim = fft.as_ref().map_or(0, |f| f.output_delay());
        let scratch = vec![0.0; fft.as_ref().map_or(0, |f| f.output_frames_max())];
        ResampleStream {
            rate,
            fft,
            pending: Vec::new(),
            to_trim,
            base,
            frames_in: 0,
            emitted: 0,
            scratch,
        }
    }

    /// Makes this stream continue, bit for bit, a run at its rate that started at output
    /// position `base` and has already been fed `frames_before` frames, a whole number of
    /// [`block_frames`]. The last `warmup` of them (one block; none at the start) must be
    /// pushed again first: the resampler's state after a call depends on that call's
    /// input only, so replaying the last block restores it, and what the replay yields
    /// is dropped. This is how ranges of a file are resampled on different cores and
    /// still join seamlessly; the resampler itself (FFT plans, buffers) is reused.
    pub(crate) fn resume_at(&mut self, base: u64, frames_before: u64, warmup: u64) {
        if let Some(fft) = self.fft.as_mut() {
            fft.reset();
        }
        let delay = self.fft.as_ref().map_or(0, |f| f.output_delay());
        self.pending.clear();
        self.base = base;
        self.frames_in = frames_before - warmup;
        if frames_before == 0 {
            (self.emitted, self.to_trim) = (0, delay);
        } else {
            self.emitted = out_len(frames_before, self.rate) - delay as u64;
            self.to_trim = out_len(warmup, self.rate) as usize;
        }
    }

    pub(crate) fn rate(&self) -> u32 {
        self.rate
    }

    /// Source frames pushed so far (counting a resumed run's frames before it).
    pub(crate) fn frames_in(&self) -> u64 {
        self.frames_in
    }

    /// Output position where the next pushed source frame will land.
    pub(crate) fn position(&self) -> u64 {
        self.base + out_len(self.frames_in, self.rate)
    }

    /// Resamples `mono` and appends what is ready to `out`. Whole resampler calls are
    /// fed straight from `mono`; only a partial call's worth waits in `pending`.
    pub(crate) fn push(&mut self, mono: &[f32], out: &mut Vec<f32>) {
        self.frames_in += mono.len() as u64;
        let Some(need) = self.fft.as_ref().map(|f| f.input_frames_next()) else {
            self.emit(mono, out);
            return;
        };
        let mut rest = mono;
        if !self.pending.is_empty() {
            let take = (need - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < need {
                return;
            }
            let full = std::mem::take(&mut self.pending);
            self.process(&full, out);
            self.pending = full;
            self.pending.clear();
        }
        let whole = rest.len() / need * need;
        for call in rest[..whole].chunks_exact(need) {
            self.process(call, out);
        }
        self.pending.extend_from_slice(&rest[whole..]);
    }

    /// Pushes `frames` frames of silence without allocating them all at once.
    pub(crate) fn push_silence(&mut self, frames: u64, out: &mut Vec<f32>) {
        let zeros = vec![0.0; frames.min(ZERO_PIECE) as usize];
        let mut left = frames;
        while left > 0 {
            let n = left.min(ZERO_PIECE) as usize;
            self.push(&zeros[..n], out);
            left -= n as u64;
        }
    }

    /// Flushes the filter and makes the run exactly `out_len(frames_in)` samples long.
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) {
        let want = out_len(self.frames_in, self.rate);
        if let Some(need) = self.fft.as_ref().map(|f| f.input_frames_next()) {
            // Trailing zeros push the last real samples out through the filter's delay.
            while self.emitted < want {
                let mut call = std::mem::take(&mut self.pending);
                call.resize(need, 0.0);
                self.process(&call, out);
            }
        }
        let missing = want.saturating_sub(self.emitted) as usize;
        out.resize(out.len() + missing, 0.0);
    }

    /// Appends output after dropping what is still to trim (rubato's delay, a resumed
    /// run's replay), never past `out_len(frames_in)`: what the flush's zeros push out
    /// beyond the real input is dropped.
    fn emit(&mut self, samples: &[f32], out: &mut Vec<f32>) {
        let skip = self.to_trim.min(samples.len());
        self.to_trim -= skip;
        let samples = &samples[skip..];
        let room = out_len(self.frames_in, self.rate).saturating_sub(self.emitted);
        let n = samples.len().min(room as usize);
        out.extend_from_slice(&samples[..n]);
        self.emitted += n as u64;
    }

    /// One resampler call on exactly `input_frames_next()` frames.
    fn process(&mut self, call: &[f32], out: &mut Vec<f32>) {
        let Some(fft) = self.fft.as_mut() else { return };
        let input =
            SequentialSlice::new(call, 1, call.len()).expect("slice length matches frame count");
        let cap = self.scratch.len();
        let mut output = SequentialSlice::new_mut(&mut self.scratch, 1, cap)
            .expect("scratch sized by output_frames_max");
        let (_, written) = fft
            .process_into_buffer(&input, &mut output, None)
            .expect("buffers are sized from the resampler's own figures");
        let scratch = std::mem::take(&mut self.scratch);
        self.emit(&scratch[..written], out);
        self.scratch = scratch;
    }
}

/// Source frames per resampler call at `rate`: where a run can be split and resumed.
pub(crate) fn block_frames(rate: u32) -> u64 {
    if rate == SAMPLE_RATE {
        return 1;
    }
    fft_chunk(rate) as u64
}

/// rubato's FFT resampler, sized as rubato sizes it by default (sub-chunks of about
/// [`SUB_CHUNK`] input frames) but rounded up to a block count with no prime factor above
/// 5. rubato's own rounding gives 48 kHz -> 16 kHz FFTs of 516 = 4*3*43 points, whose
/// prime factor makes them slow; 540 = 4*27*5 costs a third as much.
///
/// The small FFT also sets the anti-aliasing filter: it rolls off from about 6 kHz.
/// Measured, not guessed: a sharp filter passing up to 7.9 kHz (1536-point FFTs, or
/// ffmpeg's resampler) raised the diarization error on the bundled dialogues from
/// 0.3 % to 4-7 % (missed speech; `scripts/eval-diarization`), the 6-8 kHz band of
/// low-bitrate AAC being mostly noise substitution.
fn fft_resampler(rate: u32) -> Fft<f32> {
    Fft::<f32>::new_custom(
        rate as usize,
        SAMPLE_RATE as usize,
        fft_chunk(rate),
        1,
        1,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .expect("rates are validated at decode time")
}

/// Input frames per FFT block at `rate`: the smallest whole number of the fewest frames
/// that map to whole output samples, rounded to a 5-smooth count (see [`fft_resampler`]).
fn fft_chunk(rate: u32) -> usize {
    let min_in = rate as usize / gcd(rate as usize, SAMPLE_RATE as usize);
    next_5_smooth(SUB_CHUNK.div_ceil(min_in)) * min_in
}

/// Smallest n' >= n whose prime factors are all 2, 3 or 5.
fn next_5_smooth(n: usize) -> usize {
    let smooth = |mut m: usize| {
        for p in [2, 3, 5] {
            while m.is_multiple_of(p) {
                m /= p;
            }
        }
        m == 1
    };
    (n.max(1)..)
        .find(|&m| smooth(m))
        .expect("5-smooth numbers are unbounded")
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_len_rounds_half_up() {
        assert_eq!(out_len(48_000, 48_000), 16_000);
        assert_eq!(out_len(1, 48_000), 0);
        assert_eq!(out_len(2, 48_000), 1);
        assert_eq!(out_len(44_101, 44_100), 16_000);
        assert_eq!(out_len(7, 16_000), 7);
    }

    #[test]
    fn stream_length_is_exact_for_odd_pieces() {
        for rate in [8_000, 22_050, 44_100, 48_000, 96_000] {
            let mut out = vec![1.0; 5];
            let mut s = ResampleStream::new(rate, 5);
            let mut total = 0u64;
            for n in [1usize, 999, 12_345, 3, 70_001] {
                s.push(&vec![0.1; n], &mut out);
                total += n as u64;
                assert!(out.len() as u64 <= s.position(), "{rate}");
            }
            s.push_silence(100_000, &mut out);
            total += 100_000;
            s.finish(&mut out);
            assert_eq!(out.len() as u64, 5 + out_len(total, rate), "{rate}");
        }
    }

    #[test]
    fn a_click_lands_where_expected() {
        let rate = 44_100;
        let mut src = vec![0.0f32; 200_000];
        let at = 123_457;
        src[at] = 1.0;
        let mut out = Vec::new();
        let mut s = ResampleStream::new(rate, 0);
        for piece in src.chunks(7_777) {
            s.push(piece, &mut out);
        }
        s.finish(&mut out);
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap()
            .0 as i64;
        let expect = (at as f64 * 16_000.0 / rate as f64).round() as i64;
        assert!((peak - expect).abs() <= 1, "peak {peak} expected {expect}");
    }

    /// A run split at a block boundary and resumed gives the very same samples.
    #[test]
    fn resumed_runs_join_bit_exact() {
        for rate in [48_000, 44_100, 16_000] {
            let signal: Vec<f32> = (0..rate as usize * 3)
                .map(|i| ((i as f32 * 0.013).sin() + (i as f32 * 0.31).cos()) * 0.3)
                .collect();
            let mut whole = Vec::new();
            let mut s = ResampleStream::new(rate, 0);
            s.push(&signal, &mut whole);
            s.finish(&mut whole);
            let block = block_frames(rate);
            let split = (block * 97) as usize;
            let mut joined = Vec::new();
            let mut stream = ResampleStream::new(rate, 0);
            // Resumed on purpose in the wrong order: the stream carries nothing over.
            let mut second = Vec::new();
            stream.resume_at(0, split as u64, block);
            stream.push(&signal[split - block as usize..], &mut second);
            assert_eq!(stream.frames_in(), signal.len() as u64);
            stream.finish(&mut second);
            stream.resume_at(0, 0, 0);
            for piece in signal[..split].chunks(1_000) {
                stream.push(piece, &mut joined);
            }
            joined.extend(second);
            assert_eq!(joined, whole, "{rate}");
        }
    }

    #[test]
    fn fft_sizes_have_only_small_prime_factors() {
        assert_eq!(next_5_smooth(86), 90);
        assert_eq!(next_5_smooth(1), 1);
        assert_eq!(next_5_smooth(7), 8);
        assert_eq!(next_5_smooth(250), 250);
    }
}
