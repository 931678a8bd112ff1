//! The quote job: find what someone said in finished transcripts, and check a quote
//! as printed against what the recording holds. The words typed are aligned with
//! every transcript's words ([`align`], tolerant of case, punctuation, numbers written
//! either way ([`words`]) and a few words misheard, missing or added); each passage
//! found comes back with its speaker, its times on the recording and on the clock,
//! every word's confidence, the word-level differences and a citation line.
//!
//! A job on top of the library: it reads [`Transcript`]s, nothing of the stages.

mod align;
mod words;

use crate::export::WallClock;
use crate::transcript::{Transcript, Word};
use align::{Step, best_alignments};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to look for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QuoteQuery {
    /// The words as the user remembers them.
    pub text: String,
    /// Only passages this speaker says (a name or a speaker id, any case).
    pub speaker: Option<String>,
    /// At most this many passages, best first.
    pub top: usize,
    /// Passages scoring below this (0..1) are not shown.
    pub floor: f64,
}

impl QuoteQuery {
    pub fn new(text: impl Into<String>) -> QuoteQuery {
        QuoteQuery {
            text: text.into(),
            speaker: None,
            top: 3,
            floor: 0.35,
        }
    }

    pub fn speaker(mut self, speaker: impl Into<String>) -> QuoteQuery {
        self.speaker = Some(speaker.into());
        self
    }

    pub fn top(mut self, top: usize) -> QuoteQuery {
        self.top = top.max(1);
        self
    }
}

/// One passage that matches the quote.
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    /// 0..1: 1 is the quote word for word.
    pub score: f64,
    /// The transcript it was found in.
    pub file: PathBuf,
    /// Who says it: the display name (several, joined by " / ", when the passage spans
    /// a change of speaker); empty without diarization.
    pub speaker: String,
    pub start: f64,
    pub end: f64,
    /// RFC 3339 time of the passage's start, when the recording's start is known.
    pub wall_clock: Option<String>,
    /// The words as transcribed.
    pub text: String,
    pub words: Vec<Word>,
    pub differences: Vec<Difference>,
    pub citation: String,
}

/// Where what was typed and what was said part.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Difference {
    /// Typed one word, said another.
    Changed { typed: String, said: String },
    /// Typed, but not said.
    NotSaid { typed: String },
    /// Said, but not typed.
    NotTyped { said: String },
}

/// A transcript with the file it was read from.
pub struct Source<'a> {
    pub file: &'a Path,
    pub transcript: &'a Transcript,
}

/// The passages of `sources` that best match `query`, best first.
pub fn find_quotes(query: &QuoteQuery, sources: &[Source]) -> Vec<Quote> {
    let typed: Vec<String> = query
        .text
        .split_whitespace()
        .flat_map(words::normalize)
        .collect();
    let typed_words: Vec<&str> = query.text.split_whitespace().collect();
    let typed_origin = words::tokens(typed_words.iter().copied());
    let mut quotes: Vec<Quote> = sources
        .iter()
        .flat_map(|source| quotes_in(query, &typed, &typed_origin, &typed_words, source))
        .collect();
    quotes.sort_by(|a, b| b.score.total_cmp(&a.score));
    quotes.truncate(query.top);
    quotes
}

fn quotes_in(
    query: &QuoteQuery,
    typed: &[String],
    typed_origin: &[(String, usize)],
    typed_words: &[&str],
    source: &Source,
) -> Vec<Quote> {
    let transcript = source.transcript;
    let all: Vec<Word> = transcript.attributed_words();
    let said_tokens = words::tokens(all.iter().map(|w| w.word.as_str()));
    let said: Vec<String> = said_tokens.iter().map(|(t, _)| t.clone()).collect();
    let by_speaker = |range: &std::ops::Range<usize>| {
        query.speaker.as_deref().is_none_or(|wanted| {
            let words = word_range(&said_tokens, range);
            all[words].iter().any(|w| speaks_as(transcript, w, wanted))
        })
    };
    best_alignments(typed, &said, query.floor, query.top, by_speaker)
        .into_iter()
        .map(|a| {
            let words = all[word_range(&said_tokens, &a.said)].to_vec();
            let differences = differences(&a.steps, typed_origin, typed_words, &said_tokens, &all);
            quote(source, a.score, words, differences)
        })
        .collect()
}

/// The words a range of tokens came from.
fn word_range(
    tokens: &[(String, usize)],
    range: &std::ops::Range<usize>,
) -> std::ops::Range<usize> {
    tokens[range.start].1..tokens[range.end - 1].1 + 1
}

fn speaks_as(transcript: &Transcript, word: &Word, wanted: &str) -> bool {
    word.speaker.as_deref().is_some_and(|id| {
        id.eq_ignore_ascii_case(wanted) || transcript.speaker_name(id).eq_ignore_ascii_case(wanted)
    })
}

/// The alignment's steps as differences between typed and said words (a number
/// spelled as several tokens counts once).
fn differences(
    steps: &[Step],
    typed_origin: &[(String, usize)],
    typed_words: &[&str],
    said_tokens: &[(String, usize)],
    said_words: &[Word],
) -> Vec<Difference> {
    let typed_word = |t: usize| typed_words[typed_origin[t].1].to_string();
    let said_word = |s: usize| said_words[said_tokens[s].1].word.clone();
    let mut out: Vec<Difference> = Vec::new();
    for step in steps {
        let difference = match *step {
            Step::Same { .. } => continue,
            Step::Changed { typed, said } => Difference::Changed {
                typed: typed_word(typed),
                said: said_word(said),
            },
            Step::Missing { typed } => Difference::NotSaid {
                typed: typed_word(typed),
            },
            Step::Extra { said } => Difference::NotTyped {
                said: said_word(said),
            },
        };
        if out.last() != Some(&difference) {
            out.push(difference);
        }
    }
    out
}

fn quote(source: &Source, score: f64, words: Vec<Word>, differences: Vec<Difference>) -> Quote {
    let transcript = source.transcript;
    let start = words[0].start;
    let end = words[words.len() - 1].end;
    let text = words
        .iter()
        .map(|w| w.word.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut speakers: Vec<String> = Vec::new();
    for w in &words {
        if let Some(id) = &w.speaker {
            let name = transcript.speaker_name(id).to_string();
            if !speakers.contains(&name) {
                speakers.push(name);
            }
        }
    }
    let speaker = speakers.join(" / ");
    let wall_clock = transcript.source.clock.rfc3339_at(start);
    let citation = citation(source, &text, &speaker, start);
    Quote {
        score: (score * 1000.0).round() / 1000.0,
        file: source.file.to_path_buf(),
        speaker,
        start,
        end,
        wall_clock,
        text,
        words,
        differences,
        citation,
    }
}

/// `"…" — Name, X Space "Title", 2024-08-13 00:41:07 UTC (at 00:41:07.250 in the recording)`.
fn citation(source: &Source, text: &str, speaker: &str, start: f64) -> String {
    let transcript = source.transcript;
    let who = if speaker.is_empty() {
        "unidentified speaker"
    } else {
        speaker
    };
    let event = match transcript
        .metadata
        .as_ref()
        .and_then(|m| m.title.as_deref())
    {
        Some(title) => format!("X Space \"{title}\""),
        None => format!(
            "\"{}\"",
            source
                .file
                .file_stem()
                .map_or_else(|| "recording".into(), |s| s.to_string_lossy())
        ),
    };
    let clock = WallClock::of(transcript)
        .and_then(|c| c.date_time(start))
        .map(|when| format!(", {when}"));
    format!(
        "\"{text}\" — {who}, {event}{} (at {} in the recording)",
        clock.unwrap_or_default(),
        crate::export::offset_millis(start)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    fn space() -> Transcript {
        let mut t = fixture::two_speakers();
        t.source.clock = fixture::clock_from("2024-08-13T00:00:00.000Z");
        t.metadata = Some(crate::transcript::SpaceMetadata {
            title: Some("Launch night".into()),
            ..Default::default()
        });
        let said = "The payload was heavier than usual. It carried 8 satellites.";
        t.segments[1] = fixture::segment(
            said.split_whitespace()
                .enumerate()
                .map(|(i, w)| {
                    let at = 100.0 + i as f64 * 0.4;
                    fixture::word(w, at, at + 0.3, Some("SPEAKER_01"))
                })
                .collect(),
        );
        t
    }

    #[test]
    fn finds_a_quote_typed_with_errors_and_cites_it() {
        let t = space();
        let sources = [Source {
            file: Path::new("out/space.json"),
            transcript: &t,
        }];
        let found = find_quotes(
            &QuoteQuery::new("the payload was heavy than usual, it carried eight satellites"),
            &sources,
        );
        let q = &found[0];
        assert_eq!(q.speaker, "Bob");
        assert_eq!(q.start, 100.0);
        assert_eq!(
            q.text,
            "The payload was heavier than usual. It carried 8 satellites."
        );
        assert_eq!(
            q.differences,
            [Difference::Changed {
                typed: "heavy".into(),
                said: "heavier".into()
            }]
        );
        assert_eq!(q.wall_clock.as_deref(), Some("2024-08-13T00:01:40.000Z"));
        assert_eq!(
            q.citation,
            "\"The payload was heavier than usual. It carried 8 satellites.\" — Bob, \
             X Space \"Launch night\", 2024-08-13 00:01:40 UTC (at 00:01:40.000 in the recording)"
        );
    }

    #[test]
    fn the_speaker_filter_keeps_to_that_speaker() {
        let t = space();
        let sources = [Source {
            file: Path::new("space.json"),
            transcript: &t,
        }];
        let query = QuoteQuery::new("payload was heavier").speaker("ann <host>");
        assert!(find_quotes(&query, &sources).is_empty());
        let query = QuoteQuery::new("payload was heavier").speaker("SPEAKER_01");
        assert_eq!(find_quotes(&query, &sources).len(), 1);
    }

    #[test]
    fn words_not_said_and_not_typed_are_listed() {
        let t = space();
        let sources = [Source {
            file: Path::new("space.json"),
            transcript: &t,
        }];
        let found = find_quotes(&QuoteQuery::new("payload was much heavier than"), &sources);
        assert_eq!(
            found[0].differences,
            [Difference::NotSaid {
                typed: "much".into()
            }]
        );
        let found = find_quotes(&QuoteQuery::new("the payload heavier than usual"), &sources);
        assert_eq!(
            found[0].differences,
            [Difference::NotTyped { said: "was".into() }]
        );
    }
}
