//! Caption cues shared by WebVTT and SRT: short, one speaker each, at most two
//! lines of about 42 characters, cut at segment ends and speaker changes.

use crate::transcript::{Transcript, Word};

const MAX_LINE_CHARS: usize = 42;
const MAX_LINES: usize = 2;
const MAX_CUE_SECONDS: f64 = 7.0;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cue {
    pub(crate) start: f64,
    pub(crate) end: f64,
    /// Display name of the speaker, when diarization ran.
    pub(crate) speaker: Option<String>,
    /// True when the speaker differs from the previous cue's.
    pub(crate) speaker_changed: bool,
    /// The words of each line (at most two lines).
    pub(crate) lines: Vec<Vec<Word>>,
}

/// Cuts the transcript into caption cues.
pub(crate) fn build_cues(transcript: &Transcript) -> Vec<Cue> {
    let mut cues: Vec<Cue> = Vec::new();
    for segment in &transcript.segments {
        let speaker = segment
            .speaker
            .as_deref()
            .map(|id| transcript.speaker_name(id).to_string());
        for words in split_words(&segment.words) {
            let speaker_changed = cues.last().is_none_or(|c| c.speaker != speaker);
            cues.push(Cue {
                start: words[0].start,
                end: words[words.len() - 1].end,
                speaker: speaker.clone(),
                speaker_changed,
                lines: wrap(words),
            });
        }
    }
    cues
}

/// Splits a segment's words into runs that fit one cue.
fn split_words(words: &[Word]) -> Vec<&[Word]> {
    let mut runs = Vec::new();
    let mut begin = 0;
    for i in 0..words.len() {
        let chars: usize = words[begin..=i]
            .iter()
            .map(|w| w.word.chars().count() + 1)
            .sum();
        let too_long = chars > MAX_LINE_CHARS * MAX_LINES;
        let too_slow = words[i].end - words[begin].start > MAX_CUE_SECONDS;
        if i > begin && (too_long || too_slow) {
            runs.push(&words[begin..i]);
            begin = i;
        }
    }
    if begin < words.len() {
        runs.push(&words[begin..]);
    }
    runs
}

/// Greedy line wrap at [`MAX_LINE_CHARS`].
fn wrap(words: &[Word]) -> Vec<Vec<Word>> {
    let mut lines: Vec<Vec<Word>> = vec![Vec::new()];
    let mut width = 0;
    for w in words {
        let len = w.word.chars().count();
        let line = lines.last_mut().expect("at least one line");
        if !line.is_empty() && width + 1 + len > MAX_LINE_CHARS {
            lines.push(vec![w.clone()]);
            width = len;
        } else {
            width += len + usize::from(!line.is_empty());
            line.push(w.clone());
        }
    }
    lines
}

impl Cue {
    /// The cue's lines, words spelled by `spell` and crosstalk marked by `mark_overlap`.
    pub(crate) fn text(
        &self,
        spell: impl Fn(&Word) -> String,
        mark_overlap: impl Fn(&str) -> String,
    ) -> Vec<String> {
        self.lines
            .iter()
            .map(|line| super::join_words(line, &spell, &mark_overlap))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    #[test]
    fn long_segments_become_short_two_line_cues() {
        let words: Vec<Word> = (0..40)
            .map(|i| fixture::word("word", i as f64 * 0.3, i as f64 * 0.3 + 0.25, None))
            .collect();
        let mut t = fixture::no_speakers();
        t.segments = vec![fixture::segment(words)];
        let cues = build_cues(&t);
        assert!(cues.len() >= 3);
        for c in &cues {
            assert!(c.lines.len() <= 2, "{c:?}");
            let text = c.text(|w| w.word.clone(), str::to_string);
            assert!(text.iter().all(|l| l.chars().count() <= 42));
            assert!(c.end - c.start <= 7.0);
        }
    }

    #[test]
    fn cues_carry_speaker_names_and_changes() {
        let cues = build_cues(&fixture::two_speakers());
        assert_eq!(cues[0].speaker.as_deref(), Some("Ann <host>"));
        assert!(cues[0].speaker_changed && cues[1].speaker_changed);
    }
}
