//! Searching the archive's index (`spacescribe search`): the query language (words
//! that must all be said, `"phrases"`, `prefix*`, `fuzzy~` / `fuzzy~2`, `-excluded`),
//! filters (speaker, wall-clock dates, recordings), and hits timed to the matched
//! words, ranked by relevance (BM25).

use super::index::{Fields, SearchIndex, analyzer, index_error, stored_str, unmerged_shards};
use super::{Archive, Entry};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::ops::Bound;
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

/// What to look for and where.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SearchQuery {
    pub text: String,
    /// Only segments this speaker says (name or speaker id, any case).
    pub speaker: Option<String>,
    /// Only speech at or after this time on the clock (recordings whose clock is known).
    pub after: Option<DateTime<Utc>>,
    /// Only speech before this time on the clock.
    pub before: Option<DateTime<Utc>>,
    /// Only these recordings (content hashes; see [`resolve_recording`]).
    pub recordings: Vec<String>,
    pub limit: usize,
}

impl SearchQuery {
    pub fn new(text: impl Into<String>) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            speaker: None,
            after: None,
            before: None,
            recordings: Vec::new(),
            limit: 10,
        }
    }

    pub fn speaker(mut self, speaker: impl Into<String>) -> SearchQuery {
        self.speaker = Some(speaker.into());
        self
    }

    pub fn after(mut self, after: DateTime<Utc>) -> SearchQuery {
        self.after = Some(after);
        self
    }

    pub fn before(mut self, before: DateTime<Utc>) -> SearchQuery {
        self.before = Some(before);
        self
    }

    pub fn recording(mut self, id: impl Into<String>) -> SearchQuery {
        self.recordings.push(id.into());
        self
    }

    pub fn limit(mut self, limit: usize) -> SearchQuery {
        self.limit = limit;
        self
    }
}

/// One matched word, with its time on the recording.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MatchedWord {
    pub word: String,
    pub start: f64,
    pub end: f64,
    pub probability: f32,
}

/// A segment that matched.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[non_exhaustive]
pub struct Hit {
    pub score: f32,
    /// The recording's content hash.
    pub recording: String,
    pub name: String,
    /// The path the recording was given as.
    pub source: String,
    /// Its transcript JSON (inside the archive).
    pub transcript: String,
    pub title: Option<String>,
    pub speaker: Option<String>,
    pub speaker_id: Option<String>,
    /// The segment's times on the recording (seconds).
    pub start: f64,
    pub end: f64,
    /// When the first matched word is said: seconds into the recording, and UTC when
    /// the recording's clock is known.
    pub at: f64,
    pub wall_clock: Option<String>,
    /// The segment's words.
    pub text: String,
    /// The segment's words with the matched ones in `[brackets]` (cut around the first
    /// match when long).
    pub snippet: String,
    pub matched: Vec<MatchedWord>,
}

/// The hits, best first, and what the search could not see.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[non_exhaustive]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    /// Segments that matched in all (more than `hits` when limited).
    pub total: usize,
    /// Shard indexes not merged yet (`spacescribe index --merge`): not searched.
    pub unmerged_shards: usize,
}

/// Searches the archive's index.
pub fn search(archive: &Archive, query: &SearchQuery) -> Result<SearchResults> {
    let index = SearchIndex::open(archive)?;
    let clauses = parse(&query.text)?;
    let fields = index.fields();
    let tantivy_query = build_query(&clauses, query, fields);
    let searcher = index.searcher()?;
    let limit = query.limit.max(1);
    let (top, total) = searcher
        .search(
            &tantivy_query,
            &(
                TopDocs::with_limit(limit).order_by_score(),
                tantivy::collector::Count,
            ),
        )
        .map_err(|e| index_error(index.dir(), e))?;
    let mut hits = Vec::with_capacity(top.len());
    for (score, address) in top {
        let doc: TantivyDocument = searcher
            .doc(address)
            .map_err(|e| index_error(index.dir(), e))?;
        hits.push(hit_from(&doc, fields, score, &clauses));
    }
    Ok(SearchResults {
        hits,
        total,
        unmerged_shards: unmerged_shards(archive).len(),
    })
}

/// The recordings of the archive that `reference` names: a content-hash prefix (at
/// least 4 characters), a readable name, or a folder name.
pub fn resolve_recording(archive: &Archive, reference: &str) -> Result<Vec<String>> {
    let entries = archive.manifest().entries()?;
    let matches = |e: &Entry| {
        (reference.len() >= 4 && e.id.starts_with(&reference.to_lowercase()))
            || e.name == reference
            || e.folder.file_name().is_some_and(|f| f == reference)
    };
    let ids: Vec<String> = entries
        .iter()
        .filter(|e| matches(e))
        .map(|e| e.id.clone())
        .collect();
    if ids.is_empty() {
        return Err(Error::Usage(format!(
            "--recording {reference}: no such recording in {}",
            archive.dir().display()
        )));
    }
    Ok(ids)
}

/// One part of a query, its words already tokenized as the text was.
#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Term(String),
    Prefix(String),
    Fuzzy(String, u8),
    /// Words in a row; the last one a prefix when `prefix`.
    Phrase(Vec<String>, bool),
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    excluded: bool,
    matcher: Matcher,
}

/// Parses the query language into clauses, every one required (or excluded).
fn parse(text: &str) -> Result<Vec<Clause>> {
    let mut clauses = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let excluded = rest.starts_with('-');
        if excluded {
            rest = &rest[1..];
        }
        let (raw, quoted, after) = if let Some(inner) = rest.strip_prefix('"') {
            let close = inner.find('"').ok_or_else(|| {
                Error::Usage(format!("search \"{text}\": a phrase has no closing quote"))
            })?;
            (&inner[..close], true, &inner[close + 1..])
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], false, &rest[end..])
        };
        let (suffix, after) = if quoted {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (&after[..end], &after[end..])
        } else {
            ("", after)
        };
        clauses
            .extend(clause(raw, quoted, suffix, text)?.map(|matcher| Clause { excluded, matcher }));
        rest = after.trim_start();
    }
    if clauses.iter().all(|c| c.excluded) {
        return Err(Error::Usage(format!(
            "search \"{text}\": no words to look for"
        )));
    }
    Ok(clauses)
}

/// One item of the query: `word`, `word*`, `word~N`, or a phrase with its suffix.
fn clause(raw: &str, quoted: bool, suffix: &str, query: &str) -> Result<Option<Matcher>> {
    let bad = |why: &str| Error::Usage(format!("search \"{query}\": {why}"));
    let (body, operator) = if quoted {
        (raw, suffix)
    } else if let Some(at) = raw.find(['*', '~']) {
        (&raw[..at], &raw[at..])
    } else {
        (raw, "")
    };
    let words = tokens(body);
    if words.is_empty() {
        return Ok(None);
    }
    let matcher = match operator {
        "" if words.len() == 1 => Matcher::Term(words[0].clone()),
        "" => Matcher::Phrase(words, false),
        "*" if words.len() == 1 => Matcher::Prefix(words[0].clone()),
        "*" => Matcher::Phrase(words, true),
        fuzzy if fuzzy.starts_with('~') && words.len() == 1 => {
            let distance = match &fuzzy[1..] {
                "" => 1,
                n => n
                    .parse::<u8>()
                    .ok()
                    .filter(|d| (1..=2).contains(d))
                    .ok_or_else(|| bad("fuzzy terms take ~1 or ~2"))?,
            };
            Matcher::Fuzzy(words[0].clone(), distance)
        }
        other => return Err(bad(&format!("'{other}' after '{body}' is not understood"))),
    };
    Ok(Some(matcher))
}

/// Words as the index holds them.
fn tokens(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut words = Vec::new();
    while stream.advance() {
        words.push(stream.token().text.clone());
    }
    words
}

fn build_query(clauses: &[Clause], query: &SearchQuery, fields: Fields) -> BooleanQuery {
    let term = |word: &str| Term::from_field_text(fields.text, word);
    let mut parts: Vec<(Occur, Box<dyn Query>)> = clauses
        .iter()
        .map(|clause| {
            let q: Box<dyn Query> = match &clause.matcher {
                Matcher::Term(w) => Box::new(TermQuery::new(term(w), IndexRecordOption::WithFreqs)),
                Matcher::Prefix(w) => Box::new(FuzzyTermQuery::new_prefix(term(w), 0, true)),
                Matcher::Fuzzy(w, d) => Box::new(FuzzyTermQuery::new(term(w), *d, true)),
                Matcher::Phrase(ws, false) => {
                    Box::new(PhraseQuery::new(ws.iter().map(|w| term(w)).collect()))
                }
                Matcher::Phrase(ws, true) => {
                    Box::new(PhrasePrefixQuery::new(ws.iter().map(|w| term(w)).collect()))
                }
            };
            let occur = if clause.excluded {
                Occur::MustNot
            } else {
                Occur::Must
            };
            (occur, q)
        })
        .collect();
    let filter = |field, value: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ))
    };
    parts.push((Occur::Must, filter(fields.kind, "segment")));
    if let Some(speaker) = &query.speaker {
        parts.push((
            Occur::Must,
            filter(fields.speaker_key, &speaker.to_lowercase()),
        ));
    }
    if !query.recordings.is_empty() {
        let any: Vec<(Occur, Box<dyn Query>)> = query
            .recordings
            .iter()
            .map(|id| (Occur::Should, filter(fields.recording, id)))
            .collect();
        parts.push((Occur::Must, Box::new(BooleanQuery::new(any))));
    }
    if query.after.is_some() || query.before.is_some() {
        let millis = |t: &DateTime<Utc>| Term::from_field_i64(fields.at, t.timestamp_millis());
        let lower = query
            .after
            .as_ref()
            .map_or(Bound::Unbounded, |t| Bound::Included(millis(t)));
        let upper = query
            .before
            .as_ref()
            .map_or(Bound::Unbounded, |t| Bound::Excluded(millis(t)));
        parts.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
    }
    BooleanQuery::new(parts)
}

fn hit_from(doc: &TantivyDocument, fields: Fields, score: f32, clauses: &[Clause]) -> Hit {
    let text_of = |field| stored_str(doc, field).map(str::to_string);
    let number = |field| doc.get_first(field).and_then(|v| v.as_f64()).unwrap_or(0.0);
    let text = text_of(fields.text).unwrap_or_default();
    let layout: Vec<(usize, f64, f64, f32)> = text_of(fields.words)
        .and_then(|w| serde_json::from_str(&w).ok())
        .unwrap_or_default();
    let words = split_words(&text, &layout);
    let marked = mark(&words, clauses);
    let matched: Vec<MatchedWord> = words
        .iter()
        .zip(&marked)
        .filter(|(_, m)| **m)
        .map(|(w, _)| w.clone())
        .collect();
    let start = number(fields.start);
    let at = matched.first().map_or(start, |w| w.start);
    let wall_clock = text_of(fields.wall_clock).map(|clock| shift_clock(&clock, at - start));
    Hit {
        score,
        recording: text_of(fields.recording).unwrap_or_default(),
        name: text_of(fields.name).unwrap_or_default(),
        source: text_of(fields.source).unwrap_or_default(),
        transcript: text_of(fields.transcript).unwrap_or_default(),
        title: text_of(fields.title),
        speaker: text_of(fields.speaker),
        speaker_id: text_of(fields.speaker_id),
        start,
        end: number(fields.end),
        at,
        wall_clock,
        snippet: snippet(&words, &marked),
        text,
        matched,
    }
}

/// The segment's words with their times, from the stored text and layout.
fn split_words(text: &str, layout: &[(usize, f64, f64, f32)]) -> Vec<MatchedWord> {
    layout
        .iter()
        .enumerate()
        .map(|(i, &(offset, start, end, probability))| {
            let stop = layout.get(i + 1).map_or(text.len(), |next| next.0 - 1);
            MatchedWord {
                word: text.get(offset..stop).unwrap_or_default().to_string(),
                start,
                end,
                probability,
            }
        })
        .collect()
}

/// Which words the query's clauses (the required ones) match.
fn mark(words: &[MatchedWord], clauses: &[Clause]) -> Vec<bool> {
    // Each token of the text, with the word it came from.
    let tokens: Vec<(String, usize)> = words
        .iter()
        .enumerate()
        .flat_map(|(i, w)| tokens(&w.word).into_iter().map(move |t| (t, i)))
        .collect();
    let mut marked = vec![false; words.len()];
    for clause in clauses.iter().filter(|c| !c.excluded) {
        for start in 0..tokens.len() {
            if let Some(len) = matches_at(&clause.matcher, &tokens[start..]) {
                for (_, word) in &tokens[start..start + len] {
                    marked[*word] = true;
                }
            }
        }
    }
    marked
}

/// How many tokens from the start of `tokens` the matcher matches, if it does.
fn matches_at(matcher: &Matcher, tokens: &[(String, usize)]) -> Option<usize> {
    let first = &tokens.first()?.0;
    let one = |hit: bool| hit.then_some(1);
    match matcher {
        Matcher::Term(w) => one(first == w),
        Matcher::Prefix(p) => one(first.starts_with(p.as_str())),
        Matcher::Fuzzy(w, d) => one(edit_distance(first, w) <= *d as usize),
        Matcher::Phrase(ws, prefix) => {
            if tokens.len() < ws.len() {
                return None;
            }
            let last = ws.len() - 1;
            let all = ws.iter().zip(tokens).enumerate().all(|(i, (w, (t, _)))| {
                if *prefix && i == last {
                    t.starts_with(w.as_str())
                } else {
                    t == w
                }
            });
            all.then_some(ws.len())
        }
    }
}

/// Damerau-Levenshtein distance (a swap of two neighbours costs one, as the index's
/// fuzzy terms count it).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The words, matched ones in brackets; a long segment cut to a window around the
/// first match.
fn snippet(words: &[MatchedWord], marked: &[bool]) -> String {
    const BEFORE: usize = 12;
    const WINDOW: usize = 40;
    let first = marked.iter().position(|m| *m).unwrap_or(0);
    let from = first.saturating_sub(BEFORE);
    let to = (from + WINDOW).min(words.len());
    let mut parts: Vec<String> = Vec::new();
    if from > 0 {
        parts.push("…".into());
    }
    for i in from..to {
        parts.push(if marked[i] {
            format!("[{}]", words[i].word)
        } else {
            words[i].word.clone()
        });
    }
    if to < words.len() {
        parts.push("…".into());
    }
    parts.join(" ")
}

/// The UTC time `seconds` after `clock` (RFC 3339), in the transcripts' form.
fn shift_clock(clock: &str, seconds: f64) -> String {
    match DateTime::parse_from_rfc3339(clock) {
        Ok(t) => {
            let shifted = t.with_timezone(&Utc)
                + chrono::Duration::milliseconds((seconds * 1000.0).round() as i64);
            crate::transcript::rfc3339_millis(shifted)
        }
        Err(_) => clock.to_string(),
    }
}

/// A date as `--after`/`--before` take it: `YYYY-MM-DD` (midnight UTC) or RFC 3339.
pub fn parse_date(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            Error::Usage(format!(
                "'{text}': expected a date (2024-08-12) or an RFC 3339 time"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(clauses: &[Clause]) -> Vec<&Matcher> {
        clauses.iter().map(|c| &c.matcher).collect()
    }

    #[test]
    fn the_query_language_has_terms_phrases_prefixes_fuzzy_terms_and_exclusions() {
        let clauses = parse(r#"Tariff "border wall" immig* Musc~ -china "big ba"* don't"#).unwrap();
        assert_eq!(
            m(&clauses),
            vec![
                &Matcher::Term("tariff".into()),
                &Matcher::Phrase(vec!["border".into(), "wall".into()], false),
                &Matcher::Prefix("immig".into()),
                &Matcher::Fuzzy("musc".into(), 1),
                &Matcher::Term("china".into()),
                &Matcher::Phrase(vec!["big".into(), "ba".into()], true),
                &Matcher::Phrase(vec!["don".into(), "t".into()], false),
            ]
        );
        assert!(clauses[4].excluded);
        assert!(!clauses[0].excluded);
        assert_eq!(
            m(&parse("Zoë~2").unwrap()),
            vec![&Matcher::Fuzzy("zoe".into(), 2)]
        );
    }

    #[test]
    fn queries_with_nothing_to_find_or_bad_operators_are_usage_errors() {
        for bad in ["", "-only", "\"open", "word~3", "word*x", "... ,"] {
            let error = parse(bad).unwrap_err();
            assert!(matches!(error, Error::Usage(_)), "{bad}: {error}");
        }
    }

    fn words(text: &str) -> Vec<MatchedWord> {
        text.split(' ')
            .enumerate()
            .map(|(i, w)| MatchedWord {
                word: w.into(),
                start: i as f64,
                end: i as f64 + 0.5,
                probability: 0.9,
            })
            .collect()
    }

    #[test]
    fn matches_mark_the_words_said_with_phrases_across_punctuation() {
        let said = words("We will build the Border, wall. Tariffs too");
        let clauses = parse(r#""border wall" tarif*"#).unwrap();
        let marked = mark(&said, &clauses);
        assert_eq!(
            marked,
            [false, false, false, false, true, true, true, false]
        );
        assert_eq!(
            snippet(&said, &marked),
            "We will build the [Border,] [wall.] [Tariffs] too"
        );
        let fuzzy = parse("tarifs~").unwrap();
        assert!(mark(&said, &fuzzy)[6]);
        assert_eq!(edit_distance("wlal", "wall"), 1);
        assert_eq!(edit_distance("tariff", "sheriff"), 3);
    }

    #[test]
    fn stored_layouts_give_each_word_back() {
        let text = "Hello, there world";
        let layout = vec![(0, 0.0, 0.4, 0.9), (7, 0.5, 0.8, 0.8), (13, 0.9, 1.2, 0.7)];
        let split: Vec<String> = split_words(text, &layout)
            .into_iter()
            .map(|w| w.word)
            .collect();
        assert_eq!(split, ["Hello,", "there", "world"]);
    }

    #[test]
    fn dates_are_days_at_midnight_or_rfc3339_times() {
        assert_eq!(
            parse_date("2024-08-12").unwrap().to_rfc3339(),
            "2024-08-12T00:00:00+00:00"
        );
        assert_eq!(
            parse_date("2024-08-12T20:05:00-04:00")
                .unwrap()
                .to_rfc3339(),
            "2024-08-13T00:05:00+00:00"
        );
        assert!(parse_date("12/08/2024").is_err());
        assert_eq!(
            shift_clock("2024-08-13T00:00:41.000Z", 1.5),
            "2024-08-13T00:00:42.500Z"
        );
    }
}
