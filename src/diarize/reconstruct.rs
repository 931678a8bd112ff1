//! From per-window local speakers and their global labels back to one timeline:
//! speaker activity averaged over the overlapping windows on a global frame grid,
//! the number of simultaneous speakers estimated per frame, and turns cut from it.
//!
//! Memory is one small row per frame (about 60 frames a second times the speaker
//! count), so it grows linearly with the recording and stays in the tens of MB for hours.

use super::Diarization;
use super::SpeakerTurn;
use super::cluster::normalized;
use super::segmentation::{self, FrameTiming};
use crate::audio::Audio;
use crate::error::Result;
use std::collections::HashMap;

/// One window's local speaker with enough clean speech to embed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LocalSpeaker {
    pub(crate) window: usize,
    pub(crate) speaker: usize,
    /// Sample ranges of the window's frames where this speaker talks alone.
    pub(crate) ranges: Vec<(u64, u64)>,
}

impl LocalSpeaker {
    pub(crate) fn new(
        window: usize,
        speaker: usize,
        window_offset: u64,
        frames: Vec<usize>,
        timing: &FrameTiming,
    ) -> Self {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for f in frames {
            let center =
                window_offset as f64 + timing.first_center_samples + f as f64 * timing.step_samples;
            let start = (center - timing.step_samples / 2.0).max(0.0) as u64;
            let end = (center + timing.step_samples / 2.0) as u64;
            match ranges.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => ranges.push((start, end)),
            }
        }
        LocalSpeaker {
            window,
            speaker,
            ranges,
        }
    }

    /// The clean speech cut into pieces of `min_samples` to 1.5 × that, at pauses where it
    /// can be, each embedded and clustered on its own. The segmentation sometimes follows
    /// two similar voices as one local speaker when one answers the other inside a window;
    /// whole, such a speaker got one label, and the answer's first seconds went to the
    /// wrong person (the women's pair: 18 % confusion).
    pub(crate) fn pieces(self, min_samples: u64) -> Vec<LocalSpeaker> {
        let max_samples = min_samples + min_samples / 2;
        let mut pieces: Vec<Vec<(u64, u64)>> = vec![Vec::new()];
        let length = |p: &[(u64, u64)]| p.iter().map(|(a, b)| b - a).sum::<u64>();
        for &(mut a, b) in &self.ranges {
            while a < b {
                let current = pieces.last_mut().expect("one piece at least");
                let take = (b - a).min(max_samples - length(current));
                current.push((a, a + take));
                a += take;
                if length(current) >= max_samples {
                    pieces.push(Vec::new());
                }
            }
            if length(pieces.last().expect("one piece")) >= min_samples {
                pieces.push(Vec::new());
            }
        }
        let last = pieces.pop().unwrap_or_default();
        match pieces.last_mut() {
            Some(previous) if length(&last) < min_samples => previous.extend(last),
            _ if !last.is_empty() => pieces.push(last),
            _ => {}
        }
        pieces
            .into_iter()
            .map(|ranges| LocalSpeaker { ranges, ..self })
            .collect()
    }

    /// Samples from `at` to the nearest of this speaker's ranges (0 inside one).
    fn distance(&self, at: u64) -> u64 {
        self.ranges
            .iter()
            .map(|&(a, b)| a.saturating_sub(at).max(at.saturating_sub(b)))
            .min()
            .unwrap_or(u64::MAX)
    }

    pub(crate) fn clean_seconds(&self) -> f32 {
        self.ranges.iter().map(|(a, b)| (b - a) as f32).sum::<f32>() / 16_000.0
    }

    /// The clean speech, concatenated, at most `max_samples` of it: CAM++ costs
    /// grow faster than linearly with length, and a few seconds identify a voice.
    pub(crate) fn gather(&self, audio: &Audio, max_samples: usize) -> Result<Vec<f32>> {
        let mut clip = Vec::new();
        for &(a, b) in &self.ranges {
            let room = max_samples.saturating_sub(clip.len()) as u64;
            if a < b && room > 0 {
                clip.extend(audio.read(a, b.min(a.saturating_add(room)))?);
            }
        }
        Ok(clip)
    }
}

/// Speaker choice per global frame.
pub(crate) struct Reconstruction {
    step: f64,
    /// For each frame, the global labels speaking in it.
    frames: Vec<Vec<usize>>,
    n_labels: usize,
}

impl Reconstruction {
    pub(crate) fn new(
        total_samples: u64,
        offsets: &[u64],
        activations: &[Vec<[f32; 3]>],
        locals: &[LocalSpeaker],
        labels: &[usize],
        onset: f32,
    ) -> Self {
        let timing = segmentation::frame_timing();
        let n_labels = labels.iter().max().map_or(0, |m| m + 1);
        let mut pieces_of: HashMap<(usize, usize), Vec<(&LocalSpeaker, usize)>> = HashMap::new();
        for (local, &label) in locals.iter().zip(labels) {
            pieces_of
                .entry((local.window, local.speaker))
                .or_default()
                .push((local, label));
        }
        // A local speaker's frame takes the label of its nearest piece of clean speech.
        let label_of = |window: usize, speaker: usize, at: u64| {
            pieces_of.get(&(window, speaker)).and_then(|pieces| {
                pieces
                    .iter()
                    .min_by_key(|(piece, _)| piece.distance(at))
                    .map(|&(_, label)| label)
            })
        };
        let n_frames = (total_samples as f64 / timing.step_samples).ceil() as usize;
        let mut score = vec![0f32; n_frames * n_labels.max(1)];
        let mut covered = vec![0u16; n_frames];
        let mut speaking = vec![0f32; n_frames];
        for (window, (frames, &offset)) in activations.iter().zip(offsets).enumerate() {
            for (f, p) in frames.iter().enumerate() {
                let center =
                    offset as f64 + timing.first_center_samples + f as f64 * timing.step_samples;
                let g = (center / timing.step_samples) as usize;
                if g >= n_frames {
                    continue;
                }
                covered[g] += 1;
                speaking[g] += p.iter().filter(|&&x| x >= onset).count() as f32;
                let mut best = vec![0f32; n_labels];
                for (s, &prob) in p.iter().enumerate() {
                    if let Some(label) = label_of(window, s, center as u64) {
                        best[label] = best[label].max(prob);
                    }
                }
                for (label, prob) in best.into_iter().enumerate() {
                    score[g * n_labels + label] += prob;
                }
            }
        }
        let frames = (0..n_frames)
            .map(|g| {
                choose_speakers(
                    &score[g * n_labels..(g + 1) * n_labels],
                    covered[g],
                    speaking[g],
                )
            })
            .collect();
        Reconstruction {
            step: timing.step_samples,
            frames,
            n_labels,
        }
    }

    /// Turns, speaker ids ordered by first speech, voiceprints and overlaps.
    pub(crate) fn into_diarization(
        self,
        embeddings: &[Vec<f32>],
        labels: &[usize],
        locals: &[LocalSpeaker],
    ) -> Diarization {
        let mut runs: Vec<(usize, usize, usize)> = Vec::new(); // (label, first frame, end frame)
        let mut open: Vec<Option<usize>> = vec![None; self.n_labels];
        for g in 0..=self.frames.len() {
            let now: &[usize] = self.frames.get(g).map_or(&[], Vec::as_slice);
            for (label, started) in open.iter_mut().enumerate() {
                match (*started, now.contains(&label)) {
                    (None, true) => *started = Some(g),
                    (Some(start), false) => {
                        runs.push((label, start, g));
                        *started = None;
                    }
                    _ => {}
                }
            }
        }
        runs.sort_by_key(|&(label, start, _)| (start, label));
        let mut order: Vec<usize> = Vec::new();
        for &(label, _, _) in &runs {
            if !order.contains(&label) {
                order.push(label);
            }
        }
        let id = |label: usize| {
            let rank = order.iter().position(|&l| l == label).expect("ordered");
            format!("SPEAKER_{rank:02}")
        };
        let to_sample = |frame: usize| (frame as f64 * self.step).round() as u64;
        let turns = runs
            .iter()
            .map(|&(label, a, b)| SpeakerTurn {
                start: to_sample(a),
                end: to_sample(b),
                speaker: id(label),
            })
            .collect();
        let overlaps = frame_runs(&self.frames, |f| f.len() >= 2)
            .into_iter()
            .map(|(a, b)| (to_sample(a), to_sample(b)))
            .collect();
        let voiceprints = order
            .iter()
            .map(|&label| mean_embedding(embeddings, labels, locals, label))
            .collect();
        Diarization {
            speakers: order.iter().map(|&l| id(l)).collect(),
            turns,
            voiceprints,
            overlaps,
        }
    }
}

/// The labels speaking in one frame: as many as the windows say are talking
/// (rounded mean count), the highest-scoring first.
fn choose_speakers(scores: &[f32], covered: u16, speaking: f32) -> Vec<usize> {
    if covered == 0 {
        return Vec::new();
    }
    let count = (speaking / f32::from(covered)).round() as usize;
    let mut ranked: Vec<usize> = (0..scores.len()).filter(|&l| scores[l] > 0.0).collect();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    ranked.truncate(count);
    ranked.sort_unstable();
    ranked
}

fn frame_runs(frames: &[Vec<usize>], pred: impl Fn(&Vec<usize>) -> bool) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (g, f) in frames.iter().enumerate() {
        match (start, pred(f)) {
            (None, true) => start = Some(g),
            (Some(s), false) => {
                runs.push((s, g));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, frames.len()));
    }
    runs
}

fn mean_embedding(
    embeddings: &[Vec<f32>],
    labels: &[usize],
    locals: &[LocalSpeaker],
    label: usize,
) -> Vec<f32> {
    let dim = embeddings.first().map_or(0, Vec::len);
    let mut sum = vec![0f32; dim];
    for ((e, &l), local) in embeddings.iter().zip(labels).zip(locals) {
        if l == label {
            let unit = normalized(e);
            let w = local.clean_seconds();
            for (s, x) in sum.iter_mut().zip(unit) {
                *s += w * x;
            }
        }
    }
    normalized(&sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_decides_how_many_speak() {
        assert_eq!(choose_speakers(&[2.0, 0.5, 0.0], 2, 2.0), vec![0]);
        assert_eq!(choose_speakers(&[2.0, 1.5, 0.0], 2, 4.0), vec![0, 1]);
        assert!(choose_speakers(&[2.0, 1.5], 2, 0.4).is_empty());
        assert!(choose_speakers(&[2.0], 0, 0.0).is_empty());
    }

    #[test]
    fn clean_frames_become_merged_sample_ranges() {
        let timing = FrameTiming {
            step_samples: 100.0,
            duration_samples: 400.0,
            first_center_samples: 200.0,
        };
        let local = LocalSpeaker::new(0, 1, 1000, vec![0, 1, 2, 5], &timing);
        assert_eq!(local.ranges, vec![(1150, 1450), (1650, 1750)]);
        let audio = Audio::from_samples((0..2000).map(|i| i as f32).collect());
        assert_eq!(local.gather(&audio, usize::MAX).unwrap().len(), 400);
        let capped = local.gather(&audio, 350).unwrap();
        assert_eq!(
            (capped.len(), capped[0], capped[349]),
            (350, 1150.0, 1699.0)
        );
    }

    #[test]
    fn clean_speech_is_cut_into_pieces_at_pauses() {
        let local = |ranges: Vec<(u64, u64)>| LocalSpeaker {
            window: 3,
            speaker: 1,
            ranges,
        };
        let ranges = |pieces: Vec<LocalSpeaker>| -> Vec<Vec<(u64, u64)>> {
            pieces.into_iter().map(|p| p.ranges).collect()
        };
        // 100-sample pieces (at most 150): cut at the pauses once 100 are gathered.
        let cut = local(vec![(0, 60), (70, 130), (140, 160), (200, 300)]).pieces(100);
        assert!(cut.iter().all(|p| p.window == 3 && p.speaker == 1));
        assert_eq!(
            ranges(cut),
            [vec![(0, 60), (70, 130)], vec![(140, 160), (200, 300)]]
        );
        // A long stretch without a pause is cut at 150; a short tail joins the piece before.
        assert_eq!(
            ranges(local(vec![(0, 340)]).pieces(100)),
            [vec![(0, 150)], vec![(150, 300), (300, 340)]]
        );
        assert_eq!(ranges(local(vec![(0, 40)]).pieces(100)), [vec![(0, 40)]]);
    }

    #[test]
    fn runs_of_frames() {
        let frames = vec![vec![], vec![0, 1], vec![0, 1], vec![0], vec![0, 1]];
        assert_eq!(frame_runs(&frames, |f| f.len() >= 2), vec![(1, 3), (4, 5)]);
    }
}
