//! Guards against text Whisper invents: sound annotations instead of words (and
//! hums, "Mmmmmm.", which it writes for music once a prompt primes it for text),
//! repetition loops, and a segment repeated verbatim.
//!
//! whisper.cpp already suppresses non-speech tokens, falls back to higher
//! temperatures on low log-probability or high entropy, and drops windows it
//! judges silent; these are the checks it does not do.

use super::words::TimedWord;

/// A run of the same n-gram repeated this many times or more is a loop.
const LOOP_MIN_REPEATS: usize = 4;
/// Longest n-gram searched for loops.
const LOOP_MAX_NGRAM: usize = 8;

/// Removes annotations such as `[BLANK_AUDIO]`, `(upbeat music)` or `♪ ♪`: they are
/// not words anyone said.
pub(crate) fn drop_annotations(words: Vec<TimedWord>) -> Vec<TimedWord> {
    let mut kept = Vec::with_capacity(words.len());
    let mut depth = 0usize;
    for word in words {
        let text = word.text.as_str();
        let opens = text.starts_with('[') || text.starts_with('(');
        if opens {
            depth += 1;
        }
        let inside = depth > 0;
        if inside && (text.ends_with(']') || text.ends_with(')') || ends_with_closer(text)) {
            depth -= 1;
        }
        if !inside && !is_music_symbols(text) && !is_hum(text) {
            kept.push(word);
        }
    }
    kept
}

fn ends_with_closer(text: &str) -> bool {
    let trimmed = text.trim_end_matches(|c: char| c.is_ascii_punctuation() && c != ')' && c != ']');
    trimmed.ends_with(']') || trimmed.ends_with(')')
}

fn is_music_symbols(text: &str) -> bool {
    text.chars()
        .all(|c| matches!(c, '♪' | '♫' | '♬' | '♩' | '*' | '-') || c.is_whitespace())
}

/// A hum: nothing but four or more m's ("Mmmm.", "mmmmmm"); "Mm" and "Mmm", which
/// people say to agree, are kept.
fn is_hum(text: &str) -> bool {
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() >= 4 && letters.iter().all(|c| c.eq_ignore_ascii_case(&'m'))
}

/// Collapses a run of one n-gram repeated [`LOOP_MIN_REPEATS`] or more times
/// back-to-back into its first occurrence ("the the the the the" -> "the").
pub(crate) fn collapse_loops(words: Vec<TimedWord>) -> Vec<TimedWord> {
    let keys: Vec<String> = words.iter().map(TimedWord::key).collect();
    let mut keep = vec![true; words.len()];
    let mut i = 0;
    while i < words.len() {
        match longest_loop_at(&keys, i) {
            Some((n, repeats)) => {
                for flag in &mut keep[i + n..i + n * repeats] {
                    *flag = false;
                }
                i += n * repeats;
            }
            None => i += 1,
        }
    }
    words
        .into_iter()
        .zip(keep)
        .filter_map(|(w, k)| k.then_some(w))
        .collect()
}

/// The n-gram length and repeat count of a loop starting at `i`, if any.
fn longest_loop_at(keys: &[String], i: usize) -> Option<(usize, usize)> {
    (1..=LOOP_MAX_NGRAM)
        .filter_map(|n| {
            let repeats = repeats_at(keys, i, n);
            (repeats >= LOOP_MIN_REPEATS).then_some((n, repeats))
        })
        .max_by_key(|&(n, repeats)| n * repeats)
}

fn repeats_at(keys: &[String], i: usize, n: usize) -> usize {
    if i + n > keys.len() || keys[i..i + n].iter().any(String::is_empty) {
        return 0;
    }
    let gram = &keys[i..i + n];
    let mut repeats = 1;
    while i + n * (repeats + 1) <= keys.len()
        && keys[i + n * repeats..i + n * (repeats + 1)] == *gram
    {
        repeats += 1;
    }
    repeats
}

/// True when two word lists say the same thing (ignoring case and punctuation).
pub(crate) fn same_text(a: &[TimedWord], b: &[TimedWord]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.key() == y.key())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<TimedWord> {
        text.split_whitespace()
            .enumerate()
            .map(|(i, w)| TimedWord {
                text: w.to_string(),
                start: i as u64 * 100,
                end: i as u64 * 100 + 50,
                probability: 0.9,
            })
            .collect()
    }

    fn text(ws: &[TimedWord]) -> String {
        ws.iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn annotations_are_not_words() {
        let cleaned = drop_annotations(words("[BLANK_AUDIO] hello (upbeat music) there ♪ ♪"));
        assert_eq!(text(&cleaned), "hello there");
        let hums = drop_annotations(words("Mmmmmm. Mm, mmm. yes MMMM!"));
        assert_eq!(text(&hums), "Mm, mmm. yes");
    }

    #[test]
    fn loops_collapse_to_one_copy() {
        let cleaned = collapse_loops(words(
            "I said thank you. Thank you. thank you thank you and left",
        ));
        assert_eq!(text(&cleaned), "I said thank you. and left");
    }

    #[test]
    fn ordinary_repetition_is_kept() {
        let cleaned = collapse_loops(words("no, no, no that is not it"));
        assert_eq!(text(&cleaned), "no, no, no that is not it");
    }

    #[test]
    fn same_text_ignores_case_and_punctuation() {
        assert!(same_text(&words("Thank you."), &words("thank you")));
        assert!(!same_text(&words("Thank you."), &words("thank me")));
    }
}
