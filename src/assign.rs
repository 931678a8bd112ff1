//! Assignment: timed words plus speaker turns become the transcript's segments.
//!
//! Each word goes to the speaker whose turns overlap it most, else to the nearest
//! turn, so no word is left without a speaker once diarization has run. A Whisper
//! segment whose words change speaker is split there, so every segment has one
//! speaker. Without turns (diarization off) words carry no speaker. Words spoken
//! while two or more people talk are marked `overlap` rather than silently
//! handed to one of them.

use crate::audio::seconds;
use crate::diarize::SpeakerTurn;
use crate::transcribe::{RawSegment, TimedWord};
use crate::transcript::{Segment, Word};

/// Share of a word's duration inside overlapped speech that marks it as overlapped.
const OVERLAP_SHARE: f64 = 0.3;

/// Who speaks when: turns and the stretches (in samples) where several speak at once.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SpeakerTimeline<'a> {
    pub(crate) turns: &'a [SpeakerTurn],
    pub(crate) overlaps: &'a [(u64, u64)],
}

/// Builds transcript segments from Whisper's, giving every word a speaker when turns exist.
pub(crate) fn assign_speakers(raw: Vec<RawSegment>, timeline: SpeakerTimeline<'_>) -> Vec<Segment> {
    raw.into_iter()
        .flat_map(|segment| split_by_speaker(segment, timeline))
        .collect()
}

fn split_by_speaker(raw: RawSegment, timeline: SpeakerTimeline<'_>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for timed in raw.words {
        let speaker = speaker_for(&timed, timeline.turns);
        let overlap = is_overlapped(&timed, timeline.overlaps);
        let mut word = to_word(timed, speaker.clone());
        word.overlap = overlap;
        match out.last_mut() {
            Some(segment) if segment.speaker == speaker => push_word(segment, word),
            _ => out.push(new_segment(
                word,
                speaker,
                raw.avg_logprob,
                raw.no_speech_prob,
            )),
        }
    }
    out
}

fn to_word(timed: TimedWord, speaker: Option<String>) -> Word {
    Word {
        word: timed.text,
        start: seconds(timed.start),
        end: seconds(timed.end),
        probability: timed.probability,
        speaker,
        overlap: false,
        wall_clock: None,
    }
}

fn is_overlapped(word: &TimedWord, overlaps: &[(u64, u64)]) -> bool {
    let inside: u64 = overlaps
        .iter()
        .map(|&(a, b)| word.end.min(b).saturating_sub(word.start.max(a)))
        .sum();
    let length = word.end.saturating_sub(word.start).max(1);
    inside as f64 >= OVERLAP_SHARE * length as f64 && inside > 0
}

fn new_segment(word: Word, speaker: Option<String>, avg_logprob: f32, no_speech: f32) -> Segment {
    let overlap = word.overlap;
    Segment {
        start: word.start,
        end: word.end,
        speaker,
        text: word.word.clone(),
        words: vec![word],
        avg_logprob,
        no_speech_prob: no_speech,
        overlap,
        wall_clock: None,
    }
}

fn push_word(segment: &mut Segment, word: Word) {
    segment.end = segment.end.max(word.end);
    segment.overlap |= word.overlap;
    segment.text.push(' ');
    segment.text.push_str(&word.word);
    segment.words.push(word);
}

/// The speaker overlapping the word most; with no overlap, the nearest turn's.
fn speaker_for(word: &TimedWord, turns: &[SpeakerTurn]) -> Option<String> {
    let overlap = |t: &SpeakerTurn| word.end.min(t.end).saturating_sub(word.start.max(t.start));
    let distance = |t: &SpeakerTurn| {
        if t.end <= word.start {
            word.start - t.end
        } else {
            t.start.saturating_sub(word.end)
        }
    };
    let best_overlap = turns
        .iter()
        .filter(|t| overlap(t) > 0)
        .max_by_key(|t| overlap(t));
    best_overlap
        .or_else(|| turns.iter().min_by_key(|t| distance(t)))
        .map(|t| t.speaker.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start: u64, end: u64) -> TimedWord {
        TimedWord {
            text: text.into(),
            start,
            end,
            probability: 0.8,
        }
    }

    fn turn(start: u64, end: u64, speaker: &str) -> SpeakerTurn {
        SpeakerTurn {
            start,
            end,
            speaker: speaker.into(),
        }
    }

    fn raw(words: Vec<TimedWord>) -> RawSegment {
        RawSegment {
            words,
            avg_logprob: -0.2,
            no_speech_prob: 0.01,
        }
    }

    #[test]
    fn without_turns_words_have_no_speaker_and_one_segment() {
        let segs = assign_speakers(raw_pair(), SpeakerTimeline::default());
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].text, "hello there");
        assert!(segs[0].words.iter().all(|w| w.speaker.is_none()));
        assert_eq!(segs[0].start, 0.0);
        assert_eq!(segs[0].end, 1.0);
    }

    fn timeline<'a>(turns: &'a [SpeakerTurn], overlaps: &'a [(u64, u64)]) -> SpeakerTimeline<'a> {
        SpeakerTimeline { turns, overlaps }
    }

    #[test]
    fn words_in_overlapped_speech_are_marked() {
        let turns = [turn(0, 16_000, "A"), turn(4_000, 9_000, "B")];
        let overlaps = [(4_000, 9_000)];
        let segs = assign_speakers(raw_pair(), timeline(&turns, &overlaps));
        assert!(segs[0].words[0].overlap);
        assert!(!segs[0].words[1].overlap);
        assert!(segs[0].overlap);
    }

    fn raw_pair() -> Vec<RawSegment> {
        vec![raw(vec![
            word("hello", 0, 8_000),
            word("there", 8_000, 16_000),
        ])]
    }

    #[test]
    fn largest_overlap_wins_and_segments_split_at_changes() {
        let turns = [turn(0, 9_000, "A"), turn(7_000, 16_000, "B")];
        let segs = assign_speakers(raw_pair(), timeline(&turns, &[]));
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].speaker.as_deref(), Some("A"));
        assert_eq!(segs[1].speaker.as_deref(), Some("B"));
        assert_eq!(segs[1].text, "there");
    }

    #[test]
    fn words_outside_every_turn_go_to_the_nearest() {
        let turns = [turn(0, 4_000, "A"), turn(40_000, 50_000, "B")];
        let segs = assign_speakers(
            vec![raw(vec![word("late", 30_000, 32_000)])],
            timeline(&turns, &[]),
        );
        assert_eq!(segs[0].words[0].speaker.as_deref(), Some("B"));
    }
}
