//! Streaming mono resampling to 16 kHz with sample-exact lengths.
//!
//! One [`ResampleStream`] runs over a whole run of same-rate audio (a file, or every
//! chunk of a playlist), so there are no seams between blocks or chunks: rubato's FFT
//! resampler keeps its filter state across calls. Positions are counted in source
//! frames and converted with [`out_len`], so after `n` source frames the output holds
//! exactly `round(n * 16000 / rate)` samples and offsets never drift, however many
//! pieces the input came in.

use crate::audio::SAMPLE_RATE;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Input frames per resampler call; rubato rounds it to fit the rate ratio.
const CHUNK: usize = 2048;
/// Zeros are fed in pieces of this many frames so a long silent gap needs no big buffer.
const ZERO_PIECE: u64 = 1 << 16;

/// Number of 16 kHz samples that `frames` source frames at `rate` become.
pub fn out_len(frames: u64, rate: u32) -> u64 {
    let num = u128::from(frames) * u128::from(SAMPLE_RATE);
    let den = u128::from(rate);
    ((2 * num + den) / (2 * den)) as u64
}

/// Resamples one run of mono audio at `rate` into the tail of an output vector.
pub struct ResampleStream {
    rate: u32,
    /// `None` when the source is already at 16 kHz.
    fft: Option<Fft<f32>>,
    /// Input not yet handed to rubato (less than one call's worth).
    pending: Vec<f32>,
    /// Output frames still to drop from the front (rubato's delay).
    to_trim: usize,
    /// Where this run starts in the output.
    base: usize,
    /// Source frames pushed so far.
    frames_in: u64,
    scratch: Vec<f32>,
}

impl ResampleStream {
    /// Starts a run at the current end of `out`. `rate` must be a real rate (checked at decode).
    pub fn new(rate: u32, out: &[f32]) -> ResampleStream {
        let fft = (rate != SAMPLE_RATE).then(|| {
            Fft::<f32>::new(
                rate as usize,
                SAMPLE_RATE as usize,
                CHUNK,
                1,
                FixedSync::Input,
            )
            .expect("rates are validated at decode time")
        });
        let to_trim = fft.as_ref().map_or(0, |f| f.output_delay());
        let scratch = vec![0.0; fft.as_ref().map_or(0, |f| f.output_frames_max())];
        ResampleStream {
            rate,
            fft,
            pending: Vec::new(),
            to_trim,
            base: out.len(),
            frames_in: 0,
            scratch,
        }
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Output position (in `out`) where the next pushed source frame will land.
    pub fn position(&self) -> u64 {
        self.base as u64 + out_len(self.frames_in, self.rate)
    }

    /// Resamples `mono` and appends what is ready to `out`.
    pub fn push(&mut self, mono: &[f32], out: &mut Vec<f32>) {
        self.frames_in += mono.len() as u64;
        if self.fft.is_none() {
            out.extend_from_slice(mono);
            return;
        }
        self.pending.extend_from_slice(mono);
        self.drain(out);
    }

    /// Pushes `frames` frames of silence without allocating them all at once.
    pub fn push_silence(&mut self, frames: u64, out: &mut Vec<f32>) {
        let zeros = vec![0.0; frames.min(ZERO_PIECE) as usize];
        let mut left = frames;
        while left > 0 {
            let n = left.min(ZERO_PIECE) as usize;
            self.push(&zeros[..n], out);
            left -= n as u64;
        }
    }

    /// Flushes the filter and makes the run exactly `out_len(frames_in)` samples long.
    pub fn finish(mut self, out: &mut Vec<f32>) {
        let want = self.base + out_len(self.frames_in, self.rate) as usize;
        if let Some(fft) = self.fft.as_ref() {
            let need = fft.input_frames_next();
            // Trailing zeros push the last real samples out through the filter's delay.
            while out.len() < want {
                self.pending.resize(need, 0.0);
                self.drain(out);
            }
        }
        out.resize(want, 0.0);
    }

    fn drain(&mut self, out: &mut Vec<f32>) {
        let Some(fft) = self.fft.as_mut() else { return };
        let mut start = 0;
        loop {
            let need = fft.input_frames_next();
            if self.pending.len() - start < need {
                break;
            }
            let input = InterleavedSlice::new(&self.pending[start..start + need], 1, need)
                .expect("slice length matches frame count");
            let cap = self.scratch.len();
            let mut output = InterleavedSlice::new_mut(&mut self.scratch, 1, cap)
                .expect("scratch sized by output_frames_max");
            let (_, written) = fft
                .process_into_buffer(&input, &mut output, None)
                .expect("buffers are sized from the resampler's own figures");
            start += need;
            let skip = self.to_trim.min(written);
            self.to_trim -= skip;
            out.extend_from_slice(&self.scratch[skip..written]);
        }
        self.pending.drain(..start);
    }
}

/// Mean of the channels of interleaved `samples`.
pub fn downmix(samples: &[f32], channels: usize) -> Vec<f32> {
    if channels <= 1 {
        return samples.to_vec();
    }
    let scale = 1.0 / channels as f32;
    samples
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() * scale)
        .collect()
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
            let mut s = ResampleStream::new(rate, &out);
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
        let mut s = ResampleStream::new(rate, &out);
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

    #[test]
    fn downmix_is_channel_mean() {
        assert_eq!(downmix(&[1.0, 0.0, 0.5, 0.5], 2), vec![0.5, 0.5]);
        assert_eq!(downmix(&[0.25], 1), vec![0.25]);
    }
}
