//! Chapters: Podcasting 2.0 chapters JSON (`STEM.chapters.json`, version 1.2.0),
//! found from the transcript by topic segmentation and merged with the chapters a
//! user gives (`--chapters FILE`, lines `hh:mm:ss Title`).
//!
//! The topic segmentation is TextTiling (Hearst, 1997): the content words are cut into
//! pseudo-sentences of [`PSEUDO_SENTENCE`] words; at each gap between two, the blocks
//! of pseudo-sentences on either side are compared by the cosine of their word counts;
//! where the similarity dips deepest (its depth: how far it falls below the peaks on
//! both sides) the topic changes. Dips deeper than the mean depth less half a standard
//! deviation (Hearst's cutoff) are candidates, taken deepest first, at least
//! [`min_chapter_seconds`] apart, and moved to the nearest sentence start or speaker
//! change, so a chapter never starts inside a word or a sentence. Each chapter's title
//! is its three most distinctive words: frequent in the chapter, rare elsewhere
//! (term frequency times inverse pseudo-sentence frequency).

use super::cues::ends_sentence;
use crate::error::{Error, Result};
use crate::transcript::{Transcript, Word};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// A chapter: where it starts on the recording (seconds) and its title.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Chapter {
    pub start_time: f64,
    pub title: String,
}

/// Content words a pseudo-sentence holds.
const PSEUDO_SENTENCE: usize = 20;
/// Pseudo-sentences in each block compared across a gap.
const BLOCK: usize = 6;
/// Words a boundary may move to reach a sentence start.
const SNAP_WORDS: usize = 15;

/// Reads a chapters file: one chapter a line, `hh:mm:ss Title` (or `mm:ss`, with
/// optional `.mmm`), blank lines and lines starting with `#` skipped.
pub fn read_chapters(path: &Path) -> Result<Vec<Chapter>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut chapters = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (time, title) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let start_time = parse_clock(time).ok_or_else(|| {
            Error::input(
                path,
                format!("line {}: '{time}' is not a time (hh:mm:ss)", n + 1),
            )
        })?;
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::input(
                path,
                format!("line {}: a chapter needs a title", n + 1),
            ));
        }
        chapters.push(Chapter {
            start_time,
            title: title.to_string(),
        });
    }
    Ok(chapters)
}

/// `hh:mm:ss`, `mm:ss` or `ss`, each with optional fractional seconds.
fn parse_clock(text: &str) -> Option<f64> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut seconds = 0.0;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let ok = part
            .chars()
            .all(|c| c.is_ascii_digit() || (last && c == '.'));
        let value: f64 = part.parse().ok().filter(|_| ok)?;
        if i > 0 && value >= 60.0 {
            return None;
        }
        seconds = seconds * 60.0 + value;
    }
    Some(seconds)
}

pub(crate) fn render(transcript: &Transcript, user: &[Chapter]) -> String {
    #[derive(Serialize)]
    struct File {
        version: &'static str,
        chapters: Vec<Chapter>,
    }
    let chapters = chapters(transcript, user)
        .into_iter()
        .map(|c| Chapter {
            start_time: (c.start_time * 1000.0).round() / 1000.0,
            ..c
        })
        .collect();
    super::json::pretty(&File {
        version: "1.2.0",
        chapters,
    })
}

/// The chapters of a transcript: the user's, with the ones found in the words between.
pub(crate) fn chapters(transcript: &Transcript, user: &[Chapter]) -> Vec<Chapter> {
    let words: Vec<&Word> = transcript.words().collect();
    let min_gap = min_chapter_seconds(words.last().map_or(0.0, |w| w.end));
    let found = find_chapters(&words, min_gap);
    let user: Vec<Chapter> = user
        .iter()
        .map(|c| Chapter {
            start_time: outside_words(&words, c.start_time),
            title: c.title.clone(),
        })
        .collect();
    let apart_from_user = |f: &Chapter| {
        user.iter()
            .all(|u| (u.start_time - f.start_time).abs() >= min_gap / 2.0)
    };
    let mut all: Vec<Chapter> = found.into_iter().filter(apart_from_user).collect();
    all.extend(user);
    all.sort_by(|a, b| a.start_time.total_cmp(&b.start_time));
    all
}

/// Chapters shorter than this are not found: a tenth-of-an-hour talk gets a chapter a
/// minute at most, a long Space one every few minutes.
fn min_chapter_seconds(duration: f64) -> f64 {
    (duration / 15.0).clamp(60.0, 600.0)
}

/// A time moved out of any word it falls inside, to that word's start.
fn outside_words(words: &[&Word], time: f64) -> f64 {
    words
        .iter()
        .find(|w| w.start < time && time < w.end)
        .map_or(time, |w| w.start)
}

/// The words' chapters: the first at 0, then one at every topic boundary found.
fn find_chapters(words: &[&Word], min_gap: f64) -> Vec<Chapter> {
    if words.is_empty() {
        return Vec::new();
    }
    let tokens = content_tokens(words);
    let sentences: Vec<&[Token]> = tokens.chunks(PSEUDO_SENTENCE).collect();
    let mut starts = vec![0usize];
    let end = words[words.len() - 1].end;
    for gap in boundary_gaps(&sentences) {
        let at = snap_to_sentence(words, sentences[gap][0].word);
        let time = words[at].start;
        let far = |t: f64| (t - time).abs() >= min_gap;
        if far(0.0) && far(end) && starts.iter().all(|&s| far(words[s].start)) {
            starts.push(at);
        }
    }
    starts.sort_unstable();
    let ranges: Vec<(usize, usize)> = starts
        .iter()
        .zip(starts.iter().skip(1).chain([&words.len()]))
        .map(|(&a, &b)| (a, b))
        .collect();
    let titles = titles(&tokens, &sentences, &ranges);
    ranges
        .iter()
        .zip(titles)
        .enumerate()
        .map(|(n, (&(first, _), title))| Chapter {
            start_time: if n == 0 { 0.0 } else { words[first].start },
            title,
        })
        .collect()
}

/// A content word: its stem, its spelling as heard and which word of the transcript it is.
#[derive(Debug, Clone)]
struct Token {
    stem: String,
    spelling: String,
    word: usize,
}

fn content_tokens(words: &[&Word]) -> Vec<Token> {
    words
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            let spelling: String = w
                .word
                .trim_matches(|c: char| !c.is_alphanumeric())
                .trim_end_matches("'s")
                .to_string();
            let lower = spelling.to_lowercase();
            let content = lower.chars().count() >= 3 && !STOPWORDS.contains(&lower.as_str());
            content.then(|| Token {
                stem: stem(&lower),
                spelling,
                word: i,
            })
        })
        .collect()
}

/// A light stem, so "launch", "launches" and "launched" count as one word.
fn stem(word: &str) -> String {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 4
            && !word.ends_with("ss")
        {
            return base.to_string();
        }
    }
    word.to_string()
}

/// The gaps (index of the pseudo-sentence after each) where the topic changes, deepest first.
fn boundary_gaps(sentences: &[&[Token]]) -> Vec<usize> {
    let n = sentences.len();
    if n < 4 {
        return Vec::new();
    }
    let block = BLOCK.min(n / 4).max(1);
    let counts: Vec<HashMap<&str, f64>> = sentences.iter().map(|s| term_counts(s)).collect();
    let raw: Vec<f64> = (1..n)
        .map(|gap| {
            let left = merged(&counts[gap.saturating_sub(block)..gap]);
            let right = merged(&counts[gap..(gap + block).min(n)]);
            cosine(&left, &right)
        })
        .collect();
    let scores = smoothed(&raw);
    let depths: Vec<f64> = (0..scores.len()).map(|g| depth(&scores, g)).collect();
    let mean = depths.iter().sum::<f64>() / depths.len() as f64;
    let sd = (depths.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / depths.len() as f64).sqrt();
    let cutoff = mean - sd / 2.0;
    let mut gaps: Vec<usize> = (0..scores.len())
        .filter(|&g| depths[g] > cutoff.max(1e-9) && is_local_minimum(&scores, g))
        .collect();
    gaps.sort_by(|&a, &b| depths[b].total_cmp(&depths[a]));
    gaps.into_iter().map(|g| g + 1).collect()
}

fn term_counts(tokens: &[Token]) -> HashMap<&str, f64> {
    let mut counts = HashMap::new();
    for t in tokens {
        *counts.entry(t.stem.as_str()).or_insert(0.0) += 1.0;
    }
    counts
}

fn merged<'a>(blocks: &[HashMap<&'a str, f64>]) -> HashMap<&'a str, f64> {
    let mut all = HashMap::new();
    for block in blocks {
        for (term, count) in block {
            *all.entry(*term).or_insert(0.0) += count;
        }
    }
    all
}

fn cosine(a: &HashMap<&str, f64>, b: &HashMap<&str, f64>) -> f64 {
    let dot: f64 = a.iter().map(|(t, x)| x * b.get(t).unwrap_or(&0.0)).sum();
    let norm = |m: &HashMap<&str, f64>| m.values().map(|x| x * x).sum::<f64>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        0.0
    } else {
        dot / denominator
    }
}

/// A moving average over three gaps, as TextTiling smooths its scores.
fn smoothed(scores: &[f64]) -> Vec<f64> {
    (0..scores.len())
        .map(|i| {
            let window = &scores[i.saturating_sub(1)..(i + 2).min(scores.len())];
            window.iter().sum::<f64>() / window.len() as f64
        })
        .collect()
}

/// How far the score at `gap` lies below the peaks it climbs to on either side.
fn depth(scores: &[f64], gap: usize) -> f64 {
    let mut left = scores[gap];
    for &s in scores[..gap].iter().rev() {
        if s < left {
            break;
        }
        left = s;
    }
    let mut right = scores[gap];
    for &s in &scores[gap + 1..] {
        if s < right {
            break;
        }
        right = s;
    }
    (left - scores[gap]) + (right - scores[gap])
}

fn is_local_minimum(scores: &[f64], gap: usize) -> bool {
    let before = gap.checked_sub(1).map_or(f64::INFINITY, |i| scores[i]);
    let after = scores.get(gap + 1).copied().unwrap_or(f64::INFINITY);
    scores[gap] <= before && scores[gap] <= after
}

/// The word nearest `word` that starts a sentence or a speaker's turn, within
/// [`SNAP_WORDS`]; `word` itself when none does.
fn snap_to_sentence(words: &[&Word], word: usize) -> usize {
    let starts_sentence = |i: usize| {
        i > 0 && (ends_sentence(&words[i - 1].word) || words[i - 1].speaker != words[i].speaker)
    };
    (0..=SNAP_WORDS)
        .flat_map(|d| [word.checked_sub(d), Some(word + d)])
        .flatten()
        .filter(|&i| i < words.len())
        .find(|&i| starts_sentence(i))
        .unwrap_or(word)
}

/// Each chapter's title: its three most distinctive words, spelled as heard most often.
fn titles(tokens: &[Token], sentences: &[&[Token]], ranges: &[(usize, usize)]) -> Vec<String> {
    let mut document_frequency: HashMap<&str, f64> = HashMap::new();
    for sentence in sentences {
        let mut seen: Vec<&str> = sentence.iter().map(|t| t.stem.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        for term in seen {
            *document_frequency.entry(term).or_insert(0.0) += 1.0;
        }
    }
    let documents = sentences.len() as f64;
    ranges
        .iter()
        .enumerate()
        .map(|(n, &(first, end))| {
            let inside: Vec<&Token> = tokens
                .iter()
                .filter(|t| t.word >= first && t.word < end)
                .collect();
            let mut score: HashMap<&str, f64> = HashMap::new();
            for t in &inside {
                let idf = (1.0 + documents / document_frequency[t.stem.as_str()]).ln();
                *score.entry(t.stem.as_str()).or_insert(0.0) += idf;
            }
            let mut ranked: Vec<(&str, f64)> = score.into_iter().collect();
            // Ties broken by the word itself, so titles do not change from run to run.
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            let picked: Vec<String> = ranked
                .iter()
                .take(3)
                .map(|(term, _)| spelling_of(&inside, term))
                .collect();
            title_of(&picked, n)
        })
        .collect()
}

/// The spelling a stem was heard in most often (first heard on a tie).
fn spelling_of(tokens: &[&Token], stem: &str) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for t in tokens.iter().filter(|t| t.stem == stem) {
        match counts
            .iter_mut()
            .find(|(s, _)| s.eq_ignore_ascii_case(&t.spelling))
        {
            Some((_, n)) => *n += 1,
            None => counts.push((&t.spelling, 1)),
        }
    }
    let best = counts.iter().map(|&(_, n)| n).max().unwrap_or(0);
    counts
        .iter()
        .find(|&&(_, n)| n == best)
        .map_or_else(|| stem.to_string(), |(s, _)| s.to_string())
}

fn title_of(words: &[String], n: usize) -> String {
    if words.is_empty() {
        return format!("Part {}", n + 1);
    }
    let mut title = words.join(", ");
    if let Some(first) = title.chars().next() {
        title.replace_range(..first.len_utf8(), &first.to_uppercase().to_string());
    }
    title
}

/// Words too common to say what a passage is about (and fillers heard in talk).
const STOPWORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "and",
    "any",
    "are",
    "around",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "can",
    "could",
    "did",
    "does",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "even",
    "every",
    "few",
    "for",
    "from",
    "further",
    "get",
    "gets",
    "getting",
    "going",
    "gonna",
    "good",
    "got",
    "had",
    "has",
    "have",
    "having",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i'm",
    "into",
    "it's",
    "its",
    "itself",
    "just",
    "know",
    "let",
    "like",
    "look",
    "lot",
    "made",
    "make",
    "many",
    "may",
    "maybe",
    "mean",
    "might",
    "more",
    "most",
    "much",
    "must",
    "myself",
    "need",
    "not",
    "now",
    "off",
    "okay",
    "once",
    "one",
    "only",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "really",
    "right",
    "said",
    "same",
    "say",
    "see",
    "she",
    "should",
    "some",
    "something",
    "such",
    "sure",
    "take",
    "talk",
    "talking",
    "than",
    "thank",
    "thanks",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they're",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "through",
    "too",
    "two",
    "under",
    "until",
    "very",
    "want",
    "was",
    "way",
    "we're",
    "well",
    "were",
    "what",
    "what's",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "yeah",
    "yes",
    "you",
    "you're",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "actually",
    "already",
    "always",
    "another",
    "anything",
    "back",
    "come",
    "day",
    "done",
    "first",
    "great",
    "into",
    "kind",
    "last",
    "little",
    "long",
    "never",
    "new",
    "next",
    "still",
    "time",
    "today",
    "tonight",
    "us",
    "use",
    "we've",
    "i've",
    "i'll",
    "we'll",
    "you've",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    /// A talk in two halves about different things, one word a second.
    fn two_topics() -> Transcript {
        let rockets = "The rocket engine burns methane and oxygen. The booster lands on \
                       the barge. Rocket engines need turbopumps. The booster and engine \
                       fly again. ";
        let gardens = "Tomatoes grow in the garden soil. Compost feeds the garden and the \
                       tomatoes. Watering the soil early helps tomatoes. Garden beds need \
                       compost. ";
        let text = format!("{}{}", rockets.repeat(6), gardens.repeat(6));
        let words: Vec<Word> = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| fixture::word(w, i as f64, i as f64 + 0.8, None))
            .collect();
        let mut t = fixture::no_speakers();
        t.segments = vec![fixture::segment(words)];
        t
    }

    #[test]
    fn finds_the_topic_change_at_a_sentence_start() {
        let t = two_topics();
        let chapters = chapters(&t, &[]);
        assert_eq!(chapters.len(), 2, "{chapters:?}");
        assert_eq!(chapters[0].start_time, 0.0);
        let words: Vec<&Word> = t.words().collect();
        let switch = words.iter().position(|w| w.word == "Tomatoes").unwrap() as f64;
        assert!(
            (chapters[1].start_time - switch).abs() <= 12.0,
            "{chapters:?} vs {switch}"
        );
        let at = words.iter().find(|w| w.start == chapters[1].start_time);
        assert!(at.is_some(), "a chapter starts on a word's start");
        let before = words
            .iter()
            .rev()
            .find(|w| w.start < chapters[1].start_time)
            .unwrap();
        assert!(ends_sentence(&before.word), "after {}", before.word);
        assert!(chapters[0].title.contains("ooster") || chapters[0].title.contains("ngine"));
        assert!(
            chapters[1].title.to_lowercase().contains("tomatoes")
                || chapters[1].title.contains("arden")
        );
    }

    #[test]
    fn user_chapters_win_and_never_start_inside_a_word() {
        let t = two_topics();
        let user = [Chapter {
            start_time: 10.5,
            title: "Intro <b>".into(),
        }];
        let chapters = chapters(&t, &user);
        let mine = chapters.iter().find(|c| c.title == "Intro <b>").unwrap();
        assert_eq!(
            mine.start_time, 10.0,
            "moved to the start of the word it fell in"
        );
        assert!(
            chapters
                .windows(2)
                .all(|w| w[0].start_time <= w[1].start_time)
        );
    }

    #[test]
    fn a_short_talk_is_one_chapter_and_silence_none() {
        let chapters = chapters(&fixture::two_speakers(), &[]);
        assert_eq!(chapters.len(), 1);
        assert_eq!(chapters[0].start_time, 0.0);
        let mut silent = fixture::no_speakers();
        silent.segments.clear();
        assert!(super::chapters(&silent, &[]).is_empty());
    }

    #[test]
    fn renders_podcasting_chapters_json() {
        let v: serde_json::Value = serde_json::from_str(&render(&two_topics(), &[])).unwrap();
        assert_eq!(v["version"], "1.2.0");
        assert!(v["chapters"][0]["startTime"].is_number());
        assert!(v["chapters"][0]["title"].is_string());
    }

    #[test]
    fn reads_a_chapters_file_and_rejects_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chapters.txt");
        std::fs::write(
            &path,
            "# mine\n00:00:00 Welcome\n1:02:03.5 Q&A\n\n05:30 Costs\n",
        )
        .unwrap();
        let chapters = read_chapters(&path).unwrap();
        let times: Vec<f64> = chapters.iter().map(|c| c.start_time).collect();
        assert_eq!(times, [0.0, 3723.5, 330.0]);
        assert_eq!(chapters[1].title, "Q&A");
        std::fs::write(&path, "00:00:00 Welcome\n1:75:00 Bad\n").unwrap();
        let err = read_chapters(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("chapters.txt"),
            "{err}"
        );
        std::fs::write(&path, "00:10\n").unwrap();
        assert!(read_chapters(&path).is_err());
    }
}
