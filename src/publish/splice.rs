//! Applying a cut plan to a stream of interleaved frames: what is cut is left out, and
//! every splice is a short equal-power crossfade centred on the cut's edges, so there
//! is no click and no sample outside the fades changes.
//!
//! A cut of frames `a..b` in the middle: the frames `a-h..a+h` fade out over the
//! frames `b-h..b+h` fading in (`h` half the crossfade), so the output is exactly
//! `b - a` frames shorter and every frame after the cut moves by exactly that. The
//! dead air before the first word fades in after its cut, the tail fades out before
//! its own.

use std::ops::Range;

/// What to do with the input frames of one zone.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Copy,
    Drop,
    /// Fade in from the zone's start (after the head cut).
    FadeIn,
    /// Fade out to the zone's end (before the tail cut).
    FadeOut,
    /// Kept to fade out over the next `Mix` zone.
    Hold,
    /// Fades in while the held frames fade out.
    Mix,
}

/// A stretch of input frames and what happens to it.
#[derive(Debug, Clone, PartialEq)]
struct Zone {
    frames: Range<u64>,
    mode: Mode,
}

/// Streams frames through the cuts.
pub(crate) struct Splicer {
    channels: usize,
    zones: Vec<Zone>,
    zone: usize,
    /// Input frames seen so far.
    position: u64,
    held: Vec<f32>,
}

impl Splicer {
    /// A splicer for `cuts` (sorted, apart, at least `fade` frames long, at least `fade`
    /// frames from each other and from the ends; the last one running to the end when
    /// `last_runs_to_end`), crossfading over `fade` frames.
    pub(crate) fn new(
        cuts: &[Range<u64>],
        last_runs_to_end: bool,
        fade: u64,
        channels: u16,
    ) -> Splicer {
        Splicer {
            channels: usize::from(channels.max(1)),
            zones: zones(cuts, last_runs_to_end, fade.max(2) & !1),
            zone: 0,
            position: 0,
            held: Vec::new(),
        }
    }

    /// Appends what is kept of the next `input` frames to `out`.
    pub(crate) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let mut rest = input;
        while !rest.is_empty() {
            let zone = &self.zones[self.zone];
            let (zone_start, zone_end, mode) = (zone.frames.start, zone.frames.end, zone.mode);
            let frames = (zone_end - self.position).min((rest.len() / self.channels) as u64);
            let (now, later) = rest.split_at(frames as usize * self.channels);
            let offset = self.position - zone_start;
            let length = zone_end - zone_start;
            self.apply(mode, now, offset, length, out);
            self.position += frames;
            rest = later;
            if self.position == zone_end {
                self.zone += 1;
            }
        }
    }

    /// Does `mode` to `frames`, which start `offset` frames into a zone of `length`.
    fn apply(&mut self, mode: Mode, frames: &[f32], offset: u64, length: u64, out: &mut Vec<f32>) {
        let gain = |i: usize| ((offset + i as u64) as f64 + 0.5) / length as f64;
        let rising = |t: f64| (t * std::f64::consts::FRAC_PI_2).sin() as f32;
        let falling = |t: f64| (t * std::f64::consts::FRAC_PI_2).cos() as f32;
        let per_frame = frames.chunks_exact(self.channels).enumerate();
        match mode {
            Mode::Copy => out.extend_from_slice(frames),
            Mode::Drop => {}
            Mode::Hold => self.held.extend_from_slice(frames),
            Mode::FadeIn => {
                out.extend(per_frame.flat_map(|(i, f)| f.iter().map(move |s| s * rising(gain(i)))))
            }
            Mode::FadeOut => {
                out.extend(per_frame.flat_map(|(i, f)| f.iter().map(move |s| s * falling(gain(i)))))
            }
            Mode::Mix => {
                let start = offset as usize * self.channels;
                let held = &self.held[start..start + frames.len()];
                for (i, (incoming, outgoing)) in frames
                    .chunks_exact(self.channels)
                    .zip(held.chunks_exact(self.channels))
                    .enumerate()
                {
                    let t = gain(i);
                    let (up, down) = (rising(t), falling(t));
                    out.extend(
                        incoming
                            .iter()
                            .zip(outgoing)
                            .map(|(a, b)| a * up + b * down),
                    );
                }
                if offset + (frames.len() / self.channels) as u64 == length {
                    self.held.clear();
                }
            }
        }
    }
}

/// The zones that cover every input frame, in order, ending with one that never ends.
fn zones(cuts: &[Range<u64>], last_runs_to_end: bool, fade: u64) -> Vec<Zone> {
    let half = fade / 2;
    let mut zones = Vec::new();
    let push = |zones: &mut Vec<Zone>, frames: Range<u64>, mode| {
        if frames.end > frames.start {
            zones.push(Zone { frames, mode });
        }
    };
    let mut at = 0;
    for (i, cut) in cuts.iter().enumerate() {
        let open_end = last_runs_to_end && i + 1 == cuts.len();
        let planned: Vec<(Range<u64>, Mode)> = if cut.start == 0 {
            vec![
                (0..cut.end, Mode::Drop),
                (cut.end..cut.end + fade, Mode::FadeIn),
            ]
        } else if open_end {
            let fade_from = cut.start.saturating_sub(fade).max(at);
            vec![(fade_from..cut.start, Mode::FadeOut)]
        } else {
            vec![
                (cut.start - half..cut.start + half, Mode::Hold),
                (cut.start + half..cut.end - half, Mode::Drop),
                (cut.end - half..cut.end + half, Mode::Mix),
            ]
        };
        for (frames, mode) in planned {
            push(&mut zones, at..frames.start, Mode::Copy);
            at = frames.end;
            push(&mut zones, frames, mode);
        }
        if open_end {
            push(&mut zones, at..u64::MAX, Mode::Drop);
            return zones;
        }
    }
    push(&mut zones, at..u64::MAX, Mode::Copy);
    zones
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stereo frames whose left channel counts frames and right is constant.
    fn ramp(frames: u64) -> Vec<f32> {
        (0..frames).flat_map(|i| [i as f32, 1.0]).collect()
    }

    fn splice(cuts: &[Range<u64>], to_end: bool, input: &[f32], piece: usize) -> Vec<f32> {
        let mut splicer = Splicer::new(cuts, to_end, 10, 2);
        let mut out = Vec::new();
        for chunk in input.chunks(piece * 2) {
            splicer.push(chunk, &mut out);
        }
        out
    }

    #[test]
    fn cuts_shorten_by_exactly_their_length_and_leave_the_rest_alone() {
        let input = ramp(1000);
        let cuts = [0..100, 300..400, 900..1000];
        for piece in [1, 7, 64, 1000] {
            let out = splice(&cuts, true, &input, piece);
            assert_eq!(out.len() / 2, 1000 - 300, "piece {piece}");
            // Frame 500 of the input is output frame 500 - 200 (two cuts before it).
            assert_eq!(out[2 * 300], 500.0);
            // Untouched between the fades; faded in at the start, out at the end.
            assert_eq!(out[2 * 150], 250.0);
            assert!(out[1] < 0.2 && out[2 * 699 + 1] < 0.2);
        }
    }

    #[test]
    fn a_crossfade_keeps_a_steady_signal_steady() {
        // Equal-power fades of a constant: within sqrt(2) and never a dip to zero.
        let input: Vec<f32> = vec![0.5; 2 * 1000];
        let out = splice(std::slice::from_ref(&(200..600)), false, &input, 33);
        assert_eq!(out.len(), 2 * 600);
        assert!(out.iter().all(|&s| (0.49..=0.71).contains(&s)), "{out:?}");
    }

    #[test]
    fn the_splice_mixes_both_sides_of_a_cut() {
        let input = ramp(1000);
        let out = splice(std::slice::from_ref(&(200..600)), false, &input, 1000);
        // Output frame 195 is input frame 195 fading out over input frame 595 fading in.
        let t = 0.5 / 10.0;
        let expect = 195.0 * (t * std::f64::consts::FRAC_PI_2).cos()
            + 595.0 * (t * std::f64::consts::FRAC_PI_2).sin();
        assert!((f64::from(out[2 * 195]) - expect).abs() < 1e-3);
        assert_eq!(out[2 * 205], 605.0);
        assert_eq!(out[2 * 194], 194.0);
    }
}
