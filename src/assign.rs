//! Assignment: timed words plus speaker turns become the transcript's segments.
//!
//! Each word goes to the speaker whose turns overlap it most (under overlapped speech,
//! the one holding the floor), else to the nearest turn, so no word is left without a
//! speaker once diarization has run. A speaker change inside a sentence moves to a
//! nearby sentence end. A Whisper
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

/// A speaker change is moved to a sentence end at most this many words away…
const SNAP_WORDS: usize = 2;
/// …when the words it moves last at most this long (samples: 1 s).
const SNAP_SAMPLES: u64 = 16_000;

/// Builds transcript segments from Whisper's, giving every word a speaker when turns exist.
pub(crate) fn assign_speakers(raw: Vec<RawSegment>, timeline: SpeakerTimeline<'_>) -> Vec<Segment> {
    let words: Vec<&TimedWord> = raw.iter().flat_map(|s| &s.words).collect();
    let mut speakers: Vec<Option<String>> = words
        .iter()
        .map(|w| speaker_for(w, timeline.turns))
        .collect();
    let overlapped: Vec<bool> = words
        .iter()
        .map(|w| is_overlapped(w, timeline.overlaps))
        .collect();
    snap_changes_to_sentences(&words, &overlapped, &mut speakers);
    let mut labels = speakers.into_iter().zip(overlapped);
    raw.into_iter()
        .flat_map(|segment| {
            let mine: Vec<(Option<String>, bool)> =
                labels.by_ref().take(segment.words.len()).collect();
            split_by_speaker(segment, mine)
        })
        .collect()
}

/// The segment's words with their (speaker, overlapped) labels, split where the speaker changes.
fn split_by_speaker(raw: RawSegment, labels: Vec<(Option<String>, bool)>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for (timed, (speaker, overlap)) in raw.words.into_iter().zip(labels) {
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

/// Moves a speaker change that falls inside a sentence to the sentence end at most
/// [`SNAP_WORDS`] words (and [`SNAP_SAMPLES`]) away, earlier ends first. Diarization
/// marks a new voice a few hundred milliseconds late (or early) at a quick turn change,
/// while Whisper's punctuation marks where the sentence ended; without this the first
/// words of many turns ("See you", "I would", "Great") went to the previous speaker.
/// Words in overlapped speech are not moved: there the floor rule has heard both
/// voices, and Whisper's punctuation of crosstalk is a guess ("No, I'm ready to wait."
/// for three people's lines in samples/dialogues/quickfire-three).
fn snap_changes_to_sentences(
    words: &[&TimedWord],
    overlapped: &[bool],
    speakers: &mut [Option<String>],
) {
    for change in 1..words.len() {
        if speakers[change] == speakers[change - 1] || ends_sentence(words[change - 1]) {
            continue;
        }
        let late = (1..=SNAP_WORDS)
            .filter_map(|back| change.checked_sub(back + 1))
            .take_while(|&end| speakers[end] == speakers[change - 1])
            .find(|&end| ends_sentence(words[end]))
            .map(|end| (end + 1..change, speakers[change].clone()));
        let early = || {
            (change..(change + SNAP_WORDS).min(words.len() - 1))
                .take_while(|&end| speakers[end] == speakers[change])
                .find(|&end| ends_sentence(words[end]))
                .map(|end| (change..end + 1, speakers[change - 1].clone()))
        };
        if let Some((moved, speaker)) = late.or_else(early)
            && words[moved.end - 1]
                .end
                .saturating_sub(words[moved.start].start)
                <= SNAP_SAMPLES
            && !overlapped[moved.clone()].contains(&true)
        {
            speakers[moved].fill(speaker);
        }
    }
}

/// Whisper's punctuation ends a sentence here (closing quotes and brackets aside).
fn ends_sentence(word: &TimedWord) -> bool {
    let text = word
        .text
        .trim_end_matches(['"', '\'', ')', ']', '\u{201d}', '\u{2019}']);
    text.ends_with(['.', '?', '!', '\u{2026}'])
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

/// The speaker a word goes to. Where one speaker's turn covers most of it, that one.
/// Where two or more cover it (overlapped speech), the one holding the floor: whose turn
/// reaches furthest past the word on both sides. Whisper transcribes the speaker who
/// holds the floor and drops the backchannel over them (none of the overlapping
/// backchannels in samples/dialogues is transcribed), so before this the words under a
/// "mm-hm" went to the backchannel's speaker. With no turn over the word, the nearest's.
fn speaker_for(word: &TimedWord, turns: &[SpeakerTurn]) -> Option<String> {
    let overlap = |t: &SpeakerTurn| word.end.min(t.end).saturating_sub(word.start.max(t.start));
    let length = word.end.saturating_sub(word.start).max(1);
    let covering: Vec<&SpeakerTurn> = turns
        .iter()
        .filter(|t| 2 * overlap(t) >= length && overlap(t) > 0)
        .collect();
    let floor = (covering.len() >= 2)
        .then(|| {
            covering
                .into_iter()
                .filter(|t| floor_depth(word, t) > 0)
                .max_by_key(|t| floor_depth(word, t))
        })
        .flatten();
    floor
        .or_else(|| {
            turns
                .iter()
                .filter(|t| overlap(t) > 0)
                .max_by_key(|t| overlap(t))
        })
        .or_else(|| turns.iter().min_by_key(|t| gap(word, t)))
        .map(|t| t.speaker.clone())
}

/// How far a turn reaches past the word on its shorter side (0 unless it spans the word).
fn floor_depth(word: &TimedWord, turn: &SpeakerTurn) -> u64 {
    word.start
        .saturating_sub(turn.start)
        .min(turn.end.saturating_sub(word.end))
}

/// Silence between a word and a turn (0 when they touch or overlap).
fn gap(word: &TimedWord, turn: &SpeakerTurn) -> u64 {
    if turn.end <= word.start {
        word.start - turn.end
    } else {
        turn.start.saturating_sub(word.end)
    }
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

    #[test]
    fn words_under_a_backchannel_stay_with_the_speaker_holding_the_floor() {
        // A talks from 0 to 3 s; B says "mm-hm" over "there" (0.5-1 s).
        let turns = [turn(0, 48_000, "A"), turn(7_000, 17_000, "B")];
        let overlaps = [(7_000, 17_000)];
        let segs = assign_speakers(raw_pair(), timeline(&turns, &overlaps));
        assert_eq!(segs.len(), 1, "{segs:?}");
        assert_eq!(segs[0].speaker.as_deref(), Some("A"));
        assert!(segs[0].words[1].overlap);
    }

    fn sentence_words(texts: &[&str]) -> Vec<TimedWord> {
        let mut at = 0;
        texts
            .iter()
            .map(|t| {
                at += 4_000;
                word(t, at - 4_000, at)
            })
            .collect()
    }

    fn speakers_of(segs: &[Segment]) -> Vec<String> {
        segs.iter()
            .flat_map(|s| &s.words)
            .map(|w| format!("{}:{}", w.speaker.as_deref().unwrap_or("-"), w.word))
            .collect()
    }

    /// Words 0.25 s each, A speaking until `change` and B after: who gets each word.
    fn speakers_with_change_at(texts: &[&str], change: u64) -> Vec<String> {
        let turns = [turn(0, change, "A"), turn(change, 400_000, "B")];
        let segs = assign_speakers(vec![raw(sentence_words(texts))], timeline(&turns, &[]));
        speakers_of(&segs)
    }

    #[test]
    fn a_late_speaker_change_moves_back_to_the_sentence_end() {
        // Diarization hears B from "would" (0.75 s); the sentence ended at "ahead?".
        assert_eq!(
            speakers_with_change_at(&["go", "ahead?", "I", "would", "say"], 12_000),
            ["A:go", "A:ahead?", "B:I", "B:would", "B:say"]
        );
    }

    #[test]
    fn an_early_speaker_change_moves_on_to_the_sentence_end() {
        assert_eq!(
            speakers_with_change_at(&["at", "the", "station.", "See", "you"], 6_000),
            ["A:at", "A:the", "A:station.", "B:See", "B:you"]
        );
    }

    #[test]
    fn changes_far_from_a_sentence_end_or_long_stay_where_diarization_put_them() {
        let texts = ["one.", "two", "three", "four", "five"];
        assert_eq!(
            speakers_with_change_at(&texts, 16_000),
            ["A:one.", "A:two", "A:three", "A:four", "B:five"]
        );
        let words = sentence_words(&texts);
        let slow: Vec<TimedWord> = words
            .into_iter()
            .map(|w| word(&w.text, w.start * 3, w.end * 3))
            .collect();
        let turns = [turn(0, 36_000, "A"), turn(36_000, 80_000, "B")];
        let segs = assign_speakers(vec![raw(slow)], timeline(&turns, &[]));
        assert_eq!(
            speakers_of(&segs),
            ["A:one.", "A:two", "A:three", "B:four", "B:five"]
        );
    }

    #[test]
    fn at_a_crossover_the_larger_share_wins() {
        // A ends at 0.9 s, B starts at 0.65 s: both cover most of "there" (0.5-1 s),
        // neither spans it, so the larger share (A's 0.4 s against 0.35 s) decides.
        let turns = [turn(0, 14_400, "A"), turn(10_400, 40_000, "B")];
        let segs = assign_speakers(raw_pair(), timeline(&turns, &[]));
        assert_eq!(segs[0].words[1].speaker.as_deref(), Some("A"));
    }
}
