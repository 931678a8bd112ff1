//! Diarization: who speaks when, on one mixed track.
//!
//! pyannote 3.x's shape: local segmentation over sliding 10 s windows
//! ([`segmentation`]), CAM++ embeddings of each (window, local speaker)'s clean
//! speech in 2-3 s pieces ([`fbank`], [`campplus`]), global clustering
//! ([`cluster`]), then frame-level reconstruction into speaker turns
//! ([`reconstruct`]). Windows are processed in parallel with rayon.

pub(crate) mod campplus;
pub(crate) mod cluster;
pub(crate) mod fbank;
pub(crate) mod reconstruct;
pub(crate) mod segmentation;

use crate::audio::{Audio, SAMPLE_RATE};
use crate::error::Result;
use campplus::CamPlusPlus;
pub use cluster::SpeakerCount;
use cluster::{ClusterParams, normalized};
use rayon::prelude::*;
use reconstruct::{LocalSpeaker, Reconstruction};
use segmentation::{Segmenter, WINDOW_SAMPLES};
use std::path::Path;

/// How diarization runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DiarizeParams {
    /// Hop between 10 s segmentation windows.
    pub(crate) window_step_seconds: f32,
    /// A local speaker is active where its probability reaches this.
    pub(crate) onset: f32,
    /// A (window, speaker) is embedded from its speech free of overlap when it has this
    /// much, else from all its speech when that is this long.
    pub(crate) min_clean_seconds: f32,
    /// Longest clip embedded per piece of a (window, speaker).
    pub(crate) max_embed_seconds: f32,
    /// Clean speech per piece that is embedded and clustered on its own (up to 1.5 ×).
    pub(crate) piece_seconds: f32,
    pub(crate) cluster: ClusterParams,
}

impl Default for DiarizeParams {
    fn default() -> Self {
        DiarizeParams {
            window_step_seconds: 2.5,
            onset: 0.5,
            min_clean_seconds: 0.25,
            max_embed_seconds: 4.0,
            piece_seconds: 2.0,
            cluster: ClusterParams::default(),
        }
    }
}

/// A stretch in which one speaker talks, in 16 kHz samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpeakerTurn {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) speaker: String,
}

/// How alike two voiceprints are: cosine similarity, 1 for the same direction.
pub(crate) fn voice_similarity(a: &[f32], b: &[f32]) -> f32 {
    1.0 - cluster::cosine_distance(&normalized(a), &normalized(b))
}

/// The result: speaker turns (with overlaps), and each speaker's voiceprint.
#[derive(Debug, Clone, Default)]
pub(crate) struct Diarization {
    pub(crate) turns: Vec<SpeakerTurn>,
    /// Speaker ids (`SPEAKER_00`…) in order of first speech.
    pub(crate) speakers: Vec<String>,
    /// Mean unit embedding of each speaker, same order as `speakers`.
    pub(crate) voiceprints: Vec<Vec<f32>>,
    /// Stretches where two or more speakers talk at once, in samples.
    pub(crate) overlaps: Vec<(u64, u64)>,
}

/// The two diarization networks, loaded once.
pub(crate) struct Diarizer {
    segmenter: Segmenter,
    embedder: CamPlusPlus,
}

impl Diarizer {
    pub(crate) fn load(segmentation_model: &Path, embedding_model: &Path) -> Result<Self> {
        Ok(Diarizer {
            segmenter: Segmenter::load(segmentation_model)?,
            embedder: CamPlusPlus::load(embedding_model)?,
        })
    }

    /// One voiceprint for a clip of one person (enrollment).
    pub(crate) fn voiceprint(&self, samples: &[f32]) -> Result<Vec<f32>> {
        Ok(normalized(&self.embedder.embed(samples)?))
    }

    pub(crate) fn run(&self, audio: &Audio, params: &DiarizeParams) -> Result<Diarization> {
        let offsets = window_offsets(audio.len() as usize, params.window_step_seconds);
        let activations = self.segment(audio, &offsets)?;
        let locals = clean_speech(&activations, &offsets, params);
        let max_samples = (params.max_embed_seconds * SAMPLE_RATE as f32) as usize;
        let embeddings = self.embed(audio, &locals, max_samples)?;
        let weights: Vec<f32> = locals.iter().map(|l| l.clean_seconds()).collect();
        let labels = cluster::cluster(&embeddings, &weights, &params.cluster);
        let reconstruction = Reconstruction::new(
            audio.len(),
            &offsets,
            &activations,
            &locals,
            &labels,
            params.onset,
        );
        Ok(reconstruction.into_diarization(&embeddings, &labels, &locals))
    }

    /// Segmentation of every window, in parallel batches.
    fn segment(&self, audio: &Audio, offsets: &[u64]) -> Result<Vec<Vec<[f32; 3]>>> {
        const BATCH: usize = 4;
        let batches: Vec<Vec<Vec<[f32; 3]>>> = offsets
            .par_chunks(BATCH)
            .map(|batch| {
                let windows = batch
                    .iter()
                    .map(|&o| audio.read(o, o + WINDOW_SAMPLES as u64))
                    .collect::<Result<Vec<_>>>()?;
                let windows: Vec<&[f32]> = windows.iter().map(Vec::as_slice).collect();
                self.segmenter.batch_activations(&windows)
            })
            .collect::<Result<_>>()?;
        Ok(batches.into_iter().flatten().collect())
    }

    /// CAM++ embedding of each local speaker's clean speech, in parallel.
    fn embed(
        &self,
        audio: &Audio,
        locals: &[LocalSpeaker],
        max_samples: usize,
    ) -> Result<Vec<Vec<f32>>> {
        locals
            .par_iter()
            .map(|local| {
                let clip = local.gather(audio, max_samples)?;
                self.embedder.embed(&clip)
            })
            .collect()
    }
}

/// Window starts every `step` seconds, plus one flush with the end so the tail
/// of the recording is seen by a full window.
pub(crate) fn window_offsets(total_samples: usize, step_seconds: f32) -> Vec<u64> {
    let step = ((step_seconds * SAMPLE_RATE as f32) as u64).max(1);
    let total = total_samples as u64;
    let last = total.saturating_sub(WINDOW_SAMPLES as u64);
    let mut offsets: Vec<u64> = (0..).map(|i| i * step).take_while(|&o| o < last).collect();
    offsets.push(last);
    offsets
}

/// For each (window, local speaker): the frames where it speaks alone, if there
/// are enough of them to embed; else, where it speaks at all. A speaker heard only
/// over someone else (a backchannel, a short interjection) got no embedding, so no
/// label, and their speech was dropped as missed.
fn clean_speech(
    activations: &[Vec<[f32; 3]>],
    offsets: &[u64],
    params: &DiarizeParams,
) -> Vec<LocalSpeaker> {
    let timing = segmentation::frame_timing();
    let min_frames = (params.min_clean_seconds * SAMPLE_RATE as f32 / timing.step_samples as f32)
        .ceil() as usize;
    let piece_samples = (params.piece_seconds * SAMPLE_RATE as f32) as u64;
    let mut locals = Vec::new();
    for (window, (frames, &offset)) in activations.iter().zip(offsets).enumerate() {
        for speaker in 0..segmentation::NUM_LOCAL_SPEAKERS {
            let clean = frames_where(frames, |p| is_alone(p, speaker, params.onset));
            let heard = if clean.len() >= min_frames.max(1) {
                clean
            } else {
                frames_where(frames, |p| p[speaker] >= params.onset)
            };
            if heard.len() >= min_frames.max(1) {
                let local = LocalSpeaker::new(window, speaker, offset, heard, &timing);
                locals.extend(local.pieces(piece_samples));
            }
        }
    }
    locals
}

/// Indices of the window's frames whose activations meet `keep`.
fn frames_where(frames: &[[f32; 3]], keep: impl Fn(&[f32; 3]) -> bool) -> Vec<usize> {
    (0..frames.len()).filter(|&f| keep(&frames[f])).collect()
}

fn is_alone(p: &[f32; 3], speaker: usize, onset: f32) -> bool {
    p[speaker] >= onset && (0..3).all(|o| o == speaker || p[o] < onset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_whole_recording() {
        let offsets = window_offsets(16_000 * 60, 2.5);
        assert_eq!(offsets[0], 0);
        assert_eq!(offsets[1], 40_000);
        assert_eq!(*offsets.last().unwrap(), 16_000 * 50);
        assert!(offsets.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(window_offsets(16_000 * 4, 2.5), vec![0]);
    }

    #[test]
    fn alone_means_no_other_speaker_active() {
        assert!(is_alone(&[0.9, 0.1, 0.2], 0, 0.5));
        assert!(!is_alone(&[0.9, 0.6, 0.2], 0, 0.5));
        assert!(!is_alone(&[0.4, 0.1, 0.2], 0, 0.5));
    }
}
