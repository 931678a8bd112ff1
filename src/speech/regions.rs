//! From per-frame speech probabilities to speech regions and transcription chunks.
//!
//! Pure functions over sample offsets, so the boundaries are testable without a model.

use super::SpeechSpan;
use crate::audio::SAMPLE_RATE;

/// Silero VAD scores one frame of 512 samples (32 ms at 16 kHz).
pub(crate) const FRAME_SAMPLES: usize = 512;

/// How speech is told from silence and how it is cut for Whisper.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpeechParams {
    /// A frame at or above this probability starts speech.
    pub(crate) threshold: f32,
    /// Speech goes on until the probability stays below `threshold - 0.15` this long.
    pub(crate) min_silence_ms: u32,
    /// Shorter bursts are dropped (clicks, coughs).
    pub(crate) min_speech_ms: u32,
    /// Kept around each region so word onsets and tails are not clipped.
    pub(crate) pad_ms: u32,
    /// Whisper's window: no chunk is longer.
    pub(crate) max_chunk_seconds: f32,
    /// Regions closer than this may share a chunk; longer pauses start a new one.
    pub(crate) max_merge_gap_ms: u32,
}

impl Default for SpeechParams {
    fn default() -> Self {
        SpeechParams {
            threshold: 0.5,
            min_silence_ms: 300,
            min_speech_ms: 250,
            pad_ms: 200,
            max_chunk_seconds: 30.0,
            max_merge_gap_ms: 2_000,
        }
    }
}

fn ms_to_samples(ms: u32) -> u64 {
    u64::from(ms) * u64::from(SAMPLE_RATE) / 1000
}

fn frame_start(frame: usize) -> u64 {
    (frame * FRAME_SAMPLES) as u64
}

/// Speech regions (padded, merged where padding overlaps) found with hysteresis.
pub(crate) fn regions_from_probabilities(
    probs: &[f32],
    total_samples: u64,
    params: &SpeechParams,
) -> Vec<SpeechSpan> {
    let raw = hysteresis_regions(probs, params);
    let min_speech = ms_to_samples(params.min_speech_ms);
    let pad = ms_to_samples(params.pad_ms);
    let mut out: Vec<SpeechSpan> = Vec::new();
    for span in raw.into_iter().filter(|s| s.len() >= min_speech) {
        let padded = SpeechSpan {
            start: span.start.saturating_sub(pad),
            end: (span.end + pad).min(total_samples),
        };
        match out.last_mut() {
            Some(last) if padded.start <= last.end => last.end = last.end.max(padded.end),
            _ => out.push(padded),
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Unpadded regions: speech starts at `threshold` and ends after `min_silence_ms`
/// below `threshold - 0.15` (the hysteresis Silero's own tooling uses).
fn hysteresis_regions(probs: &[f32], params: &SpeechParams) -> Vec<SpeechSpan> {
    let off_threshold = (params.threshold - 0.15).max(0.01);
    let min_silence = ms_to_samples(params.min_silence_ms);
    let mut regions = Vec::new();
    let mut start: Option<u64> = None;
    let mut silence_since: Option<u64> = None;
    for (i, &p) in probs.iter().enumerate() {
        let at = frame_start(i);
        match start {
            None if p >= params.threshold => {
                start = Some(at);
                silence_since = None;
            }
            None => {}
            Some(s) => {
                if p >= off_threshold {
                    silence_since = None;
                    continue;
                }
                let quiet_from = *silence_since.get_or_insert(at);
                if at + FRAME_SAMPLES as u64 - quiet_from >= min_silence {
                    regions.push(SpeechSpan {
                        start: s,
                        end: quiet_from,
                    });
                    start = None;
                    silence_since = None;
                }
            }
        }
    }
    if let Some(s) = start {
        let end = silence_since.unwrap_or(frame_start(probs.len()));
        regions.push(SpeechSpan { start: s, end });
    }
    regions
}

/// Packs regions into chunks of at most `max_chunk_seconds`, never across a long
/// pause, and splits over-long regions at their quietest frame.
pub(crate) fn chunk_regions(
    regions: &[SpeechSpan],
    probs: &[f32],
    params: &SpeechParams,
) -> Vec<SpeechSpan> {
    let max_len = (params.max_chunk_seconds * SAMPLE_RATE as f32) as u64;
    let max_gap = ms_to_samples(params.max_merge_gap_ms);
    let mut chunks: Vec<SpeechSpan> = Vec::new();
    for piece in regions
        .iter()
        .flat_map(|r| split_long_region(*r, probs, max_len))
    {
        match chunks.last_mut() {
            Some(last)
                if piece.start - last.end <= max_gap && piece.end - last.start <= max_len =>
            {
                last.end = piece.end;
            }
            _ => chunks.push(piece),
        }
    }
    chunks
}

/// Cuts a region longer than `max_len` at the lowest-probability frame in the
/// last third of each window, so cuts land in pauses between words.
fn split_long_region(region: SpeechSpan, probs: &[f32], max_len: u64) -> Vec<SpeechSpan> {
    let mut pieces = Vec::new();
    let mut start = region.start;
    while region.end - start > max_len {
        let search_from = start + max_len * 2 / 3;
        let search_to = start + max_len;
        let cut = quietest_frame_boundary(probs, search_from, search_to).unwrap_or(search_to);
        pieces.push(SpeechSpan { start, end: cut });
        start = cut;
    }
    pieces.push(SpeechSpan {
        start,
        end: region.end,
    });
    pieces
}

/// Start of the quietest frame lying wholly inside `[from, to)`.
fn quietest_frame_boundary(probs: &[f32], from: u64, to: u64) -> Option<u64> {
    let frame = FRAME_SAMPLES as u64;
    let first = from.div_ceil(frame) as usize;
    let last = (to / frame) as usize;
    (first..last.min(probs.len()))
        .min_by(|&a, &b| probs[a].total_cmp(&probs[b]))
        .map(|i| frame_start(i).max(from).min(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(seconds: f32) -> usize {
        (seconds * SAMPLE_RATE as f32 / FRAME_SAMPLES as f32) as usize
    }

    fn probs_with(speech: &[(f32, f32)], total_seconds: f32) -> Vec<f32> {
        let mut p = vec![0.02; frames(total_seconds)];
        for &(a, b) in speech {
            for v in &mut p[frames(a)..frames(b)] {
                *v = 0.9;
            }
        }
        p
    }

    #[test]
    fn silence_gives_no_regions() {
        let p = vec![0.01; 1000];
        assert!(regions_from_probabilities(&p, 512_000, &SpeechParams::default()).is_empty());
    }

    #[test]
    fn dead_air_then_speech_starts_near_onset() {
        let p = probs_with(&[(20.0, 25.0)], 30.0);
        let total = frame_start(p.len());
        let r = regions_from_probabilities(&p, total, &SpeechParams::default());
        assert_eq!(r.len(), 1);
        let start_s = r[0].start as f64 / 16_000.0;
        let end_s = r[0].end as f64 / 16_000.0;
        assert!((19.7..=20.0).contains(&start_s), "start {start_s}");
        assert!((25.0..=25.3).contains(&end_s), "end {end_s}");
    }

    #[test]
    fn short_dips_do_not_split_speech() {
        let p = probs_with(&[(1.0, 3.0), (3.1, 5.0)], 6.0);
        let r = regions_from_probabilities(&p, frame_start(p.len()), &SpeechParams::default());
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn clicks_are_dropped() {
        let p = probs_with(&[(1.0, 1.1)], 3.0);
        let r = regions_from_probabilities(&p, frame_start(p.len()), &SpeechParams::default());
        assert!(r.is_empty());
    }

    #[test]
    fn chunks_never_exceed_limit_and_cut_in_pauses() {
        // 70 s of talk with a brief dip every 7 s.
        let mut p = vec![0.9; frames(70.0)];
        for k in 1..10 {
            let f = frames(7.0 * k as f32);
            p[f] = 0.3;
        }
        let total = frame_start(p.len());
        let params = SpeechParams::default();
        let regions = regions_from_probabilities(&p, total, &params);
        let chunks = chunk_regions(&regions, &p, &params);
        assert!(chunks.len() >= 3);
        for c in &chunks {
            assert!(c.len() <= 30 * 16_000, "{c:?}");
        }
        for pair in chunks.windows(2) {
            assert_eq!(
                pair[0].end, pair[1].start,
                "chunks of one region are contiguous"
            );
            let cut_frame = (pair[0].end / FRAME_SAMPLES as u64) as usize;
            assert!(p[cut_frame] < 0.5, "cut at a dip");
        }
    }

    #[test]
    fn close_regions_share_a_chunk_far_ones_do_not() {
        let p = probs_with(&[(1.0, 4.0), (5.0, 8.0), (20.0, 22.0)], 25.0);
        let params = SpeechParams::default();
        let regions = regions_from_probabilities(&p, frame_start(p.len()), &params);
        let chunks = chunk_regions(&regions, &p, &params);
        assert_eq!(regions.len(), 3);
        assert_eq!(chunks.len(), 2);
    }
}
