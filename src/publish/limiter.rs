//! A true-peak lookahead limiter: the gain that keeps the 4x-oversampled signal
//! (BS.1770-4 Annex 2, [`TruePeakMeter`]) under a ceiling is worked out ahead of the
//! audio, held over the stretch around every peak, let back up slowly (release) and
//! smoothed over the attack time, so the audio is turned down before a peak reaches it
//! and never clipped.
//!
//! Why each window has the length it has: a peak at frame `p` needs the gain `g_p`.
//! The needed gains are held at their minimum over `attack + 2 * guard` frames and then
//! averaged over `attack` frames; every average that lands within `guard` frames of `p`
//! then only sees held values at or under `g_p`, so the frames the interpolation filter
//! reads around a peak (6 either side) are all turned down by at least `g_p`.

use crate::pipeline::TruePeakMeter;
use std::collections::VecDeque;

/// Attack (lookahead) time: the gain ramps down over this before a peak.
const ATTACK_SECONDS: f64 = 0.005;
/// Release time constant: how fast the gain comes back up after a peak.
const RELEASE_SECONDS: f64 = 0.1;
/// Frames either side of a peak held at its gain: at least the interpolation filter's
/// half length, so every sample it reads is turned down.
const GUARD: usize = TruePeakMeter::DELAY + 2;

/// Streams interleaved frames through the limiter; the output is the input, delayed by
/// a fixed number of frames that [`Limiter::finish`] flushes, frame for frame.
pub(crate) struct Limiter {
    channels: usize,
    ceiling: f32,
    meter: TruePeakMeter,
    attack: usize,
    release: f32,
    /// Needed gains not yet out of the hold window, increasing: (index, gain).
    held: VecDeque<(u64, f32)>,
    hold: u64,
    released: f32,
    /// The last `attack` released gains and their sum.
    smoothing: VecDeque<f32>,
    smoothing_sum: f64,
    /// Frames waiting for their gain, interleaved.
    delayed: VecDeque<f32>,
    /// Frames pushed, and gains worked out.
    pushed: u64,
    gains: u64,
    /// Frames output, never more than pushed.
    output: u64,
}

impl Limiter {
    /// A limiter for audio at `rate` with `channels`, keeping the true peak under
    /// `ceiling_dbtp`.
    pub(crate) fn new(rate: u32, channels: u16, ceiling_dbtp: f64) -> Limiter {
        let attack = ((ATTACK_SECONDS * f64::from(rate)).round() as usize).max(1);
        let release = 1.0 - (-1.0 / (RELEASE_SECONDS * f64::from(rate))).exp();
        Limiter {
            channels: usize::from(channels.max(1)),
            ceiling: 10f32.powf(ceiling_dbtp as f32 / 20.0),
            meter: TruePeakMeter::new(channels),
            attack,
            release: release as f32,
            held: VecDeque::new(),
            hold: (attack + 2 * GUARD) as u64,
            released: 1.0,
            smoothing: std::iter::repeat_n(1.0, attack).collect(),
            smoothing_sum: attack as f64,
            delayed: VecDeque::new(),
            pushed: 0,
            gains: 0,
            output: 0,
        }
    }

    /// Frames between a frame going in and coming out.
    fn latency(&self) -> u64 {
        (TruePeakMeter::DELAY + self.attack + GUARD - 1) as u64
    }

    /// Limits the next interleaved frames, appending what is ready to `out`.
    pub(crate) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        for frame in input.chunks_exact(self.channels) {
            self.push_frame(frame, out);
        }
    }

    /// Flushes the frames still delayed.
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) {
        let silence = vec![0.0; self.channels];
        let real = self.pushed;
        for _ in 0..self.latency() {
            self.push_frame(&silence, out);
        }
        // The silence pushed to flush is not part of the audio.
        let extra = (self.output - real) as usize * self.channels;
        out.truncate(out.len() - extra);
        self.output = real;
        self.pushed = real;
    }

    fn push_frame(&mut self, frame: &[f32], out: &mut Vec<f32>) {
        let peak = self.meter.push_frame(frame);
        self.delayed.extend(frame);
        self.pushed += 1;
        // The meter's first frames describe the time before the audio started.
        if self.pushed <= TruePeakMeter::DELAY as u64 {
            return;
        }
        let gain = self.next_gain(peak);
        let first_out = (self.attack + GUARD - 1) as u64;
        if self.gains > first_out {
            for sample in self.delayed.drain(..self.channels) {
                out.push(sample * gain);
            }
            self.output += 1;
        }
    }

    /// The gain for the frame `attack + guard - 1` frames before the one the meter just
    /// described by `peak`.
    fn next_gain(&mut self, peak: f32) -> f32 {
        let needed = if peak > self.ceiling {
            self.ceiling / peak
        } else {
            1.0
        };
        let index = self.gains;
        self.gains += 1;
        while self.held.back().is_some_and(|&(_, g)| g >= needed) {
            self.held.pop_back();
        }
        self.held.push_back((index, needed));
        while self
            .held
            .front()
            .is_some_and(|&(i, _)| i + self.hold <= index)
        {
            self.held.pop_front();
        }
        let held = self.held.front().map_or(1.0, |&(_, g)| g);
        self.released = held.min(self.released + (1.0 - self.released) * self.release);
        self.smoothing.push_back(self.released);
        self.smoothing_sum += f64::from(self.released);
        if let Some(old) = self.smoothing.pop_front() {
            self.smoothing_sum -= f64::from(old);
        }
        (self.smoothing_sum / self.attack as f64) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(input: &[f32], channels: u16, ceiling: f64, piece: usize) -> Vec<f32> {
        let mut limiter = Limiter::new(48_000, channels, ceiling);
        let mut out = Vec::new();
        for chunk in input.chunks(piece * usize::from(channels)) {
            limiter.push(chunk, &mut out);
        }
        limiter.finish(&mut out);
        out
    }

    fn true_peak_db(signal: &[f32], channels: u16) -> f64 {
        let mut meter = TruePeakMeter::new(channels);
        meter.push(signal);
        meter.finish().unwrap()
    }

    /// A 997 Hz stereo tone at +6 dBFS with a burst at +12 dB: far over any ceiling.
    fn hot_tone() -> Vec<f32> {
        (0..48_000 * 2)
            .flat_map(|i| {
                let t = i as f32 / 48_000.0;
                let level = if (30_000..40_000).contains(&i) {
                    4.0
                } else {
                    2.0
                };
                let s = level * (2.0 * std::f32::consts::PI * 997.0 * t).sin();
                [s, -0.7 * s]
            })
            .collect()
    }

    #[test]
    fn a_hot_tone_comes_out_under_the_ceiling_without_clipping() {
        let input = hot_tone();
        for piece in [1, 480, 100_000] {
            let out = limit(&input, 2, -1.5, piece);
            assert_eq!(out.len(), input.len());
            let peak = true_peak_db(&out, 2);
            assert!(peak <= -1.5 + 0.05, "true peak {peak} dBTP");
            // Not clipped: where the tone is steady the output is the input times one
            // gain, its peaks as round as ever (clipping would flatten them).
            let ratios: Vec<f32> = (10_000..28_000)
                .map(|i| 2 * i)
                .filter(|&i| input[i].abs() > 0.1)
                .map(|i| out[i] / input[i])
                .collect();
            let (low, high) = ratios
                .iter()
                .fold((f32::MAX, 0.0f32), |(l, h), r| (l.min(*r), h.max(*r)));
            assert!(
                high / low < 1.001,
                "gain {low}..{high} within one steady tone"
            );
            // Turned down, not silenced.
            assert!(peak > -3.0, "{peak}");
        }
    }

    #[test]
    fn audio_under_the_ceiling_passes_unchanged_and_in_step() {
        let input: Vec<f32> = (0..10_000).map(|i| 0.3 * (i as f32 * 0.01).sin()).collect();
        let out = limit(&input, 1, -1.0, 333);
        assert_eq!(out.len(), input.len());
        assert!(out.iter().zip(&input).all(|(a, b)| (a - b).abs() < 1e-6));
    }
}
