//! Caption cues shared by WebVTT, SRT and the podcast transcript, built the way
//! subtitlers build them: one speaker a cue, at most two balanced lines of at most
//! 42 characters (what the format shows counts: SRT's `Name:` prefix and crosstalk
//! marks too), 1 to 7 seconds on screen, reading speed at most about 20 characters a
//! second where the words allow, cues that end at sentence ends first, then at clause
//! ends, then at pauses, and never between an article or a preposition and its noun
//! when that can be avoided.
//!
//! Where a cue ends is chosen by dynamic programming over each speaker's run of words
//! (the cheapest set of breaks under the rules above), not greedily, because the best
//! place for one break depends on where the next one can go. Cues come in start
//! order and never overlap the next; a gap shorter than two frames is closed.

use crate::transcript::{Transcript, Word};

/// The limits every caption cue keeps. The default is broadcast English (2 lines of 42
/// characters, 1-7 s, 20 characters a second); the Podcasting 2.0 guidance for SRT is
/// 32 characters a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptionStyle {
    pub max_line_chars: usize,
    pub max_lines: usize,
    pub min_seconds: f64,
    pub max_seconds: f64,
    pub max_chars_per_second: f64,
}

impl Default for CaptionStyle {
    fn default() -> Self {
        CaptionStyle {
            max_line_chars: 42,
            max_lines: 2,
            min_seconds: 1.0,
            max_seconds: 7.0,
            max_chars_per_second: 20.0,
        }
    }
}

/// What a format adds to the visible text of a line, so that it counts toward the limits.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Decoration {
    /// A `Name: ` prefix on the first line of a cue where the speaker changes (SRT).
    pub(crate) speaker_prefix: bool,
    /// Visible characters around each run of crosstalk (SRT's `[overlap: …]` is 11).
    pub(crate) overlap_mark_chars: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cue {
    /// When the cue appears: its first word's start.
    pub(crate) start: f64,
    /// When it goes: after its last word, held longer to be readable when the next cue
    /// leaves room.
    pub(crate) end: f64,
    /// The end of its last word.
    pub(crate) speech_end: f64,
    /// Display name of the speaker, when diarization ran.
    pub(crate) speaker: Option<String>,
    /// True when the speaker differs from the previous cue's.
    pub(crate) speaker_changed: bool,
    /// The words of each line.
    pub(crate) lines: Vec<Vec<Word>>,
}

/// A pause this long always ends a cue: words after it would be shown too early.
const CUE_BREAKING_PAUSE: f64 = 2.0;
/// Gaps between cues shorter than this (two frames at 25 fps) are closed: a blank
/// that short is only a flicker.
const CLOSE_GAP_SECONDS: f64 = 0.08;

/// Cuts the transcript into caption cues.
pub(crate) fn build_cues(
    transcript: &Transcript,
    style: &CaptionStyle,
    decoration: Decoration,
) -> Vec<Cue> {
    let words = transcript.attributed_words();
    let mut cues: Vec<Cue> = Vec::new();
    for range in runs(&words) {
        let next_start = words.get(range.end).map(|w| w.start);
        let run = &words[range];
        let speaker = run[0]
            .speaker
            .as_deref()
            .map(|id| transcript.speaker_name(id).to_string());
        let speaker_changed = cues.last().is_none_or(|c| c.speaker != speaker);
        let prefix = match (&speaker, speaker_changed && decoration.speaker_prefix) {
            (Some(name), true) => name.chars().count() + 2,
            _ => 0,
        };
        let planner = Planner {
            words: run,
            style,
            decoration,
            prefix,
            next_start,
        };
        for (n, range) in planner.breaks().into_iter().enumerate() {
            let cue_words = &run[range];
            let first_prefix = if n == 0 { prefix } else { 0 };
            cues.push(Cue {
                start: cue_words[0].start,
                end: cue_words[cue_words.len() - 1].end,
                speech_end: cue_words[cue_words.len() - 1].end,
                speaker: speaker.clone(),
                speaker_changed: n == 0 && speaker_changed,
                lines: wrap(cue_words, first_prefix, style, decoration)
                    .unwrap_or_else(|| vec![cue_words.to_vec()]),
            });
        }
    }
    settle_times(&mut cues, style);
    cues
}

/// Splits the words where the speaker changes or a long pause falls; whisper's own
/// segment ends are not breaks (they fall inside phrases), only candidates.
fn runs(words: &[Word]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut begin = 0;
    for i in 1..=words.len() {
        let ends = i == words.len()
            || words[i].speaker != words[i - 1].speaker
            || words[i].start - words[i - 1].end >= CUE_BREAKING_PAUSE;
        if ends {
            out.push(begin..i);
            begin = i;
        }
    }
    out
}

/// Chooses where one speaker's run of words breaks into cues.
struct Planner<'a> {
    words: &'a [Word],
    style: &'a CaptionStyle,
    decoration: Decoration,
    /// Characters of the speaker prefix on the run's first cue.
    prefix: usize,
    /// When the next run (another speaker, or after a long pause) starts.
    next_start: Option<f64>,
}

impl Planner<'_> {
    /// The cues' word ranges, cheapest first to last by [`Self::cue_cost`].
    fn breaks(&self) -> Vec<std::ops::Range<usize>> {
        let n = self.words.len();
        // best[j]: cost of the cheapest cues covering words[..j]; from[j]: where the last begins.
        let mut best = vec![f64::INFINITY; n + 1];
        let mut from = vec![0; n + 1];
        best[0] = 0.0;
        for end in 1..=n {
            for begin in (0..end).rev() {
                let Some(cost) = self.cue_cost(begin, end) else {
                    break; // adding earlier words only makes the cue longer
                };
                if best[begin] + cost < best[end] {
                    best[end] = best[begin] + cost;
                    from[end] = begin;
                }
            }
        }
        let mut ranges = Vec::new();
        let mut end = n;
        while end > 0 {
            ranges.push(from[end]..end);
            end = from[end];
        }
        ranges.reverse();
        ranges
    }

    /// What a cue of `words[begin..end]` costs, `None` when it breaks a hard limit
    /// (a single word always fits, however long).
    fn cue_cost(&self, begin: usize, end: usize) -> Option<f64> {
        let words = &self.words[begin..end];
        let prefix = if begin == 0 { self.prefix } else { 0 };
        let first = &words[0];
        let last = &words[words.len() - 1];
        let single = words.len() == 1;
        let speech = last.end - first.start;
        if !single && speech > self.style.max_seconds {
            return None;
        }
        // The speaker label and crosstalk marks are read at a glance, not at the pace
        // of the words: reading speed counts the words only.
        let chars = visible_chars(words, Decoration::default());
        if !single && wrap(words, prefix, self.style, self.decoration).is_none() {
            return None;
        }
        let next = self.words.get(end);
        let room = next.map(|w| w.start).or(self.next_start);
        let shown = display_seconds(first.start, last.end, chars, room, self.style) - first.start;
        let mut cost = 1.5 + break_cost(last, next);
        if shown < self.style.min_seconds {
            cost += 8.0 * (self.style.min_seconds - shown) / self.style.min_seconds;
        }
        let speed = chars as f64 / shown.max(0.01);
        if speed > self.style.max_chars_per_second {
            cost += 0.5 * (speed - self.style.max_chars_per_second);
        }
        if chars < 12 && next.is_some() {
            cost += 2.0; // a fragment of a phrase alone on screen
        }
        Some(cost)
    }
}

/// When a cue of `chars` characters spoken from `start` to `speech_end` can go: held
/// until it has been on screen the minimum and long enough to read, but never into the
/// next cue (`room`) and never past the longest duration unless its speech is longer.
fn display_seconds(
    start: f64,
    speech_end: f64,
    chars: usize,
    room: Option<f64>,
    style: &CaptionStyle,
) -> f64 {
    let readable = style
        .min_seconds
        .max(chars as f64 / style.max_chars_per_second);
    let wanted = (start + readable).min(start + style.max_seconds);
    let limit = room.unwrap_or(f64::INFINITY);
    speech_end.max(wanted.min(limit))
}

/// Characters a line of `words` shows, with the format's crosstalk marks.
fn visible_chars(words: &[Word], decoration: Decoration) -> usize {
    let text: usize = words.iter().map(|w| w.word.chars().count()).sum();
    let spaces = words.len().saturating_sub(1);
    let overlap_runs = words
        .iter()
        .enumerate()
        .filter(|(i, w)| w.overlap && (*i == 0 || !words[i - 1].overlap))
        .count();
    text + spaces + overlap_runs * decoration.overlap_mark_chars
}

/// Splits a cue's words into at most `max_lines` lines of at most `max_line_chars`
/// (the first line also carries `prefix` characters), as balanced as the words allow
/// and not after a word that binds to the next. One line when it fits on one. `None`
/// when the words do not fit.
fn wrap(
    words: &[Word],
    prefix: usize,
    style: &CaptionStyle,
    decoration: Decoration,
) -> Option<Vec<Vec<Word>>> {
    let width = |range: std::ops::Range<usize>| {
        visible_chars(&words[range.clone()], decoration) + if range.start == 0 { prefix } else { 0 }
    };
    let n = words.len();
    if width(0..n) <= style.max_line_chars {
        return Some(vec![words.to_vec()]);
    }
    let lines = style.max_lines.max(1);
    let target = width(0..n) as f64 / lines as f64;
    // best[k][j]: cheapest way to put words[..j] on k lines.
    let mut best = vec![vec![f64::INFINITY; n + 1]; lines + 1];
    let mut from = vec![vec![0; n + 1]; lines + 1];
    best[0][0] = 0.0;
    for k in 1..=lines {
        for end in 1..=n {
            for begin in 0..end {
                if best[k - 1][begin].is_infinite() || width(begin..end) > style.max_line_chars {
                    continue;
                }
                let slack = width(begin..end) as f64 - target;
                let joint = if end < n {
                    line_break_cost(&words[end - 1], &words[end])
                } else {
                    0.0
                };
                // Balance matters, but less than breaking where the phrase does: 6
                // characters off balance on both lines cost as much as one mid-phrase break.
                let cost = best[k - 1][begin] + slack * slack / 9.0 + joint;
                if cost < best[k][end] {
                    best[k][end] = cost;
                    from[k][end] = begin;
                }
            }
        }
    }
    let k = (1..=lines).min_by(|&a, &b| best[a][n].total_cmp(&best[b][n]))?;
    if best[k][n].is_infinite() {
        return None;
    }
    let mut out = Vec::new();
    let (mut k, mut end) = (k, n);
    while end > 0 {
        let begin = from[k][end];
        out.push(words[begin..end].to_vec());
        end = begin;
        k -= 1;
    }
    out.reverse();
    Some(out)
}

/// How bad it is to end a cue after `last`, with `next` the run's following word
/// (`None`: the run ends there, at a speaker change or a long pause).
fn break_cost(last: &Word, next: Option<&Word>) -> f64 {
    let Some(next) = next else { return 0.0 };
    let pause = next.start - last.end;
    let mut cost: f64 = if ends_sentence(&last.word) {
        0.0
    } else if ends_clause(&last.word) {
        2.0
    } else if is_conjunction(&next.word) {
        3.0
    } else if pause >= 0.5 {
        3.5
    } else if pause >= 0.25 {
        6.0
    } else {
        10.0
    };
    if binds_to_next(&last.word) {
        cost += 25.0;
    }
    cost
}

/// How bad it is to break a line between `last` and `next`, inside one cue: free after
/// punctuation, cheap where a phrase begins (a conjunction, a preposition, an
/// article), dear inside a phrase, dearest after a word that binds to the next.
fn line_break_cost(last: &Word, next: &Word) -> f64 {
    if ends_sentence(&last.word) || ends_clause(&last.word) {
        0.0
    } else if binds_to_next(&last.word) {
        30.0
    } else if is_conjunction(&next.word) || binds_to_next(&next.word) {
        2.0
    } else {
        8.0
    }
}

/// The word with closing quotes and brackets taken off its end.
fn trailing(word: &str) -> &str {
    word.trim_end_matches(['"', '\'', ')', ']', '”', '’', '»'])
}

pub(crate) fn ends_sentence(word: &str) -> bool {
    trailing(word).ends_with(['.', '?', '!', '…'])
}

pub(crate) fn ends_clause(word: &str) -> bool {
    trailing(word).ends_with([',', ';', ':', '—', '–'])
}

/// The word, lower case, without punctuation around it.
fn bare(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .to_lowercase()
}

/// Words that open a new clause: a break before them reads naturally.
pub(crate) fn is_conjunction(word: &str) -> bool {
    const OPENERS: [&str; 16] = [
        "and", "but", "or", "so", "because", "while", "which", "who", "that", "if", "when", "then",
        "although", "though", "whereas", "unless",
    ];
    OPENERS.contains(&bare(word).as_str())
}

/// Articles, prepositions, possessives and the like: they belong with the word after
/// them, so neither a cue nor a line should end on one.
pub(crate) fn binds_to_next(word: &str) -> bool {
    const BINDING: [&str; 40] = [
        "a", "an", "the", "this", "that's", "these", "those", "my", "your", "his", "her", "its",
        "our", "their", "of", "to", "in", "on", "at", "by", "for", "with", "from", "into", "onto",
        "about", "over", "under", "after", "before", "between", "through", "during", "without",
        "than", "as", "per", "via", "i", "we",
    ];
    let last = trailing(word);
    !last.ends_with(|c: char| c.is_ascii_punctuation()) && BINDING.contains(&bare(word).as_str())
}

/// Puts the cues on the clock: each starts no earlier than the one before, is held as
/// long as it should be read (within the next cue's start), ends before the next starts,
/// and a gap under two frames is closed.
fn settle_times(cues: &mut [Cue], style: &CaptionStyle) {
    for i in 1..cues.len() {
        // Word times from one mixed track can overlap by a few milliseconds at a seam.
        cues[i].start = cues[i].start.max(cues[i - 1].start);
    }
    for i in 0..cues.len() {
        let room = cues.get(i + 1).map(|c| c.start);
        let cue = &cues[i];
        let chars: usize = cue
            .lines
            .iter()
            .map(|l| visible_chars(l, Decoration::default()))
            .sum();
        let mut end = display_seconds(cue.start, cue.speech_end, chars, room, style);
        if let Some(next) = room {
            end = end.min(next);
            if next - end < CLOSE_GAP_SECONDS {
                end = next;
            }
        }
        cues[i].end = end.max(cues[i].start);
    }
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

    /// The cue's words, in order.
    pub(crate) fn words(&self) -> impl Iterator<Item = &Word> {
        self.lines.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    const PLAIN: Decoration = Decoration {
        speaker_prefix: false,
        overlap_mark_chars: 0,
    };

    /// Words of `text` spoken at `rate` words a second from `start`, by `speaker`.
    fn spoken(text: &str, start: f64, rate: f64, speaker: Option<&str>) -> Vec<Word> {
        text.split_whitespace()
            .enumerate()
            .map(|(i, w)| {
                let t = start + i as f64 / rate;
                fixture::word(w, t, t + 0.8 / rate, speaker)
            })
            .collect()
    }

    fn transcript_of(words: Vec<Word>) -> Transcript {
        let mut t = fixture::no_speakers();
        t.segments = vec![fixture::segment(words)];
        t
    }

    fn texts(cues: &[Cue]) -> Vec<String> {
        cues.iter()
            .map(|c| c.text(|w| w.word.clone(), str::to_string).join(" / "))
            .collect()
    }

    #[test]
    fn long_speech_becomes_two_line_cues_within_limits() {
        let words = spoken(&"word ".repeat(60), 0.0, 3.0, None);
        let style = CaptionStyle::default();
        let cues = build_cues(&transcript_of(words), &style, PLAIN);
        assert!(cues.len() >= 3);
        for c in &cues {
            assert!(c.lines.len() <= 2, "{c:?}");
            let text = c.text(|w| w.word.clone(), str::to_string);
            assert!(text.iter().all(|l| l.chars().count() <= 42));
            assert!(c.end - c.start <= 7.0 + 1e-9);
        }
    }

    #[test]
    fn cues_end_at_sentences_not_inside_phrases() {
        let words = spoken(
            "Hey everyone, welcome to the space. Tonight we are talking about this \
             morning's rocket launch and what it means for the cost of getting to orbit.",
            0.0,
            3.0,
            None,
        );
        let cues = build_cues(&transcript_of(words), &CaptionStyle::default(), PLAIN);
        let texts = texts(&cues);
        assert_eq!(texts[0], "Hey everyone, welcome to the space.", "{texts:?}");
        for t in &texts {
            let last = t.split_whitespace().last().unwrap();
            assert!(!binds_to_next(last), "cue ends on '{last}': {texts:?}");
        }
    }

    #[test]
    fn lines_are_balanced_and_not_broken_after_an_article() {
        let words = spoken(
            "we launched the rocket from the coast at dawn and it flew well",
            0.0,
            2.0,
            None,
        );
        let cues = build_cues(&transcript_of(words), &CaptionStyle::default(), PLAIN);
        assert_eq!(cues.len(), 1, "{:?}", texts(&cues));
        let lines = cues[0].text(|w| w.word.clone(), str::to_string);
        assert_eq!(lines.len(), 2);
        let (a, b) = (lines[0].len() as i64, lines[1].len() as i64);
        assert!((a - b).abs() <= 16, "{lines:?}");
        assert!(
            !binds_to_next(lines[0].split(' ').next_back().unwrap()),
            "{lines:?}"
        );
    }

    #[test]
    fn the_srt_prefix_counts_toward_the_line_limit() {
        let words = spoken(
            "this sentence is forty-one characters ok",
            0.0,
            2.0,
            Some("SPEAKER_00"),
        );
        let mut t = transcript_of(words);
        t.speakers = fixture::two_speakers().speakers;
        let decorated = Decoration {
            speaker_prefix: true,
            overlap_mark_chars: 11,
        };
        let cues = build_cues(&t, &CaptionStyle::default(), decorated);
        assert_eq!(
            cues[0].lines.len(),
            2,
            "Ann <host>: does not fit on one line"
        );
        let plain = build_cues(&t, &CaptionStyle::default(), PLAIN);
        assert_eq!(plain[0].lines.len(), 1);
    }

    #[test]
    fn one_speaker_a_cue_in_start_order_without_overlap() {
        let mut words = spoken("so what did it cost", 0.0, 3.0, Some("SPEAKER_00"));
        // The answer starts 20 ms before the question's last word ends.
        let last_end = words.last().unwrap().end;
        words.extend(spoken(
            "about ten million",
            last_end - 0.02,
            3.0,
            Some("SPEAKER_01"),
        ));
        let cues = build_cues(&transcript_of(words), &CaptionStyle::default(), PLAIN);
        assert_eq!(cues.len(), 2);
        assert_ne!(cues[0].speaker, cues[1].speaker);
        assert!(cues[1].speaker_changed);
        assert!(cues[0].start <= cues[1].start && cues[0].end <= cues[1].start);
    }

    #[test]
    fn short_cues_are_held_to_be_read_and_tiny_gaps_closed() {
        let mut words = spoken("Yes.", 0.0, 3.0, Some("SPEAKER_00"));
        words.extend(spoken("Then let us begin.", 3.0, 3.0, Some("SPEAKER_01")));
        words.extend(spoken("Right.", 4.40, 3.0, Some("SPEAKER_00")));
        let cues = build_cues(&transcript_of(words), &CaptionStyle::default(), PLAIN);
        assert_eq!(cues.len(), 3);
        assert!((cues[0].end - 1.0).abs() < 1e-9, "held to one second");
        // "Then let us begin." is spoken for over a second and the next cue starts
        // 0.13 s after it (more than two frames): it ends with its speech.
        assert!((cues[1].end - cues[1].speech_end).abs() < 1e-9);
        assert!(cues[1].end < cues[2].start);
    }

    #[test]
    fn a_gap_under_two_frames_is_closed() {
        let mut words = spoken("One two three four five six seven.", 0.0, 3.0, Some("A"));
        let end = words.last().unwrap().end;
        words.extend(spoken("Eight.", end + 0.05, 3.0, Some("B")));
        let cues = build_cues(&transcript_of(words), &CaptionStyle::default(), PLAIN);
        assert_eq!(cues[0].end, cues[1].start);
    }

    #[test]
    fn a_narrower_style_gives_narrower_lines() {
        let words = spoken(&"caption ".repeat(30), 0.0, 3.0, None);
        let style = CaptionStyle {
            max_line_chars: 32,
            ..CaptionStyle::default()
        };
        for c in build_cues(&transcript_of(words), &style, PLAIN) {
            for line in c.text(|w| w.word.clone(), str::to_string) {
                assert!(line.chars().count() <= 32, "{line}");
            }
        }
    }

    #[test]
    fn cues_carry_speaker_names_and_changes() {
        let cues = build_cues(&fixture::two_speakers(), &CaptionStyle::default(), PLAIN);
        assert_eq!(cues[0].speaker.as_deref(), Some("Ann <host>"));
        assert!(cues[0].speaker_changed && cues[1].speaker_changed);
    }
}
