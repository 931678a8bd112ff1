//! Whisper tokens to timed words.
//!
//! Whisper emits sub-word byte tokens; a word starts at a token that begins with a
//! space. Token bytes are joined before UTF-8 decoding because one character may be
//! split across tokens. Times come in centiseconds from the chunk start and are
//! turned into absolute 16 kHz sample offsets here, so the chunk's sample-exact
//! offset carries through to every word.

use crate::audio::SAMPLE_RATE;

/// Samples per whisper.cpp time unit (10 ms).
const SAMPLES_PER_CS: i64 = SAMPLE_RATE as i64 / 100;
/// Shortest duration a word is given when the timestamps collapse.
const MIN_WORD_SAMPLES: u64 = SAMPLE_RATE as u64 / 50;

/// One text token as whisper.cpp reports it, times in centiseconds from the chunk start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawToken {
    pub(crate) bytes: Vec<u8>,
    pub(crate) probability: f32,
    pub(crate) t0: i64,
    pub(crate) t1: i64,
    /// DTW alignment time (≈ the token's end), when DTW ran; negative otherwise.
    pub(crate) t_dtw: i64,
}

/// A word with absolute sample times, before speakers are known.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct TimedWord {
    pub(crate) text: String,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) probability: f32,
}

impl TimedWord {
    /// What the word is compared by: its letters and digits, lower case (case and
    /// punctuation do not make a word another).
    pub(crate) fn key(&self) -> String {
        self.text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    }
}

/// Groups tokens into words and places them inside `[chunk_start, chunk_end]`.
///
/// Times are forced to be non-decreasing: a word never starts before the previous
/// one ends, and never ends before it starts.
pub(crate) fn words_from_tokens(
    tokens: &[RawToken],
    chunk_start: u64,
    chunk_end: u64,
) -> Vec<TimedWord> {
    let mut words = Vec::new();
    let mut cursor = chunk_start;
    let mut previous_token_end: Option<u64> = None;
    for group in group_tokens(tokens) {
        let Some(word) = build_word(group, chunk_start, chunk_end, cursor, previous_token_end)
        else {
            continue;
        };
        cursor = word.end;
        previous_token_end = Some(word.end);
        words.push(word);
    }
    words
}

/// Splits the token list where a token starts with a space; punctuation and
/// continuation pieces stay with the word before them.
fn group_tokens(tokens: &[RawToken]) -> Vec<&[RawToken]> {
    let mut groups = Vec::new();
    let mut begin = 0;
    for (i, token) in tokens.iter().enumerate() {
        if i > begin && token.bytes.first() == Some(&b' ') {
            groups.push(&tokens[begin..i]);
            begin = i;
        }
    }
    if begin < tokens.len() {
        groups.push(&tokens[begin..]);
    }
    groups
}

fn build_word(
    group: &[RawToken],
    chunk_start: u64,
    chunk_end: u64,
    cursor: u64,
    previous_token_end: Option<u64>,
) -> Option<TimedWord> {
    let bytes: Vec<u8> = group.iter().flat_map(|t| t.bytes.iter().copied()).collect();
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if text.is_empty() {
        return None;
    }
    let at = |cs: i64| -> u64 {
        let offset = (cs.max(0) * SAMPLES_PER_CS) as u64;
        (chunk_start + offset).min(chunk_end)
    };
    let first = &group[0];
    // A trailing punctuation token is aligned to whatever comes next (often the
    // next speaker's onset); the word ends with its last spoken token.
    let last = group
        .iter()
        .rev()
        .find(|t| t.bytes.iter().any(u8::is_ascii_alphanumeric))
        .unwrap_or(&group[group.len() - 1]);
    let (mut start, mut end) = if last.t_dtw >= 0 {
        // DTW marks token ends; a word begins where the token before it ended,
        // unless the timestamp model saw a pause and places the onset later.
        let onset = previous_token_end.unwrap_or(at(first.t0)).max(at(first.t0));
        (onset, at(last.t_dtw))
    } else {
        (at(first.t0), at(last.t1))
    };
    start = start.max(cursor).min(chunk_end);
    if end < start + MIN_WORD_SAMPLES {
        end = (start + MIN_WORD_SAMPLES).min(chunk_end);
    }
    start = start.min(end);
    let probability = group.iter().map(|t| t.probability).sum::<f32>() / group.len() as f32;
    Some(TimedWord {
        text,
        start,
        end,
        probability,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str, t0: i64, t1: i64, dtw: i64) -> RawToken {
        RawToken {
            bytes: text.as_bytes().to_vec(),
            probability: 0.9,
            t0,
            t1,
            t_dtw: dtw,
        }
    }

    #[test]
    fn joins_sub_word_tokens_and_punctuation() {
        let tokens = [
            tok(" And", 0, 30, -1),
            tok(" so", 30, 50, -1),
            tok(" Amer", 50, 80, -1),
            tok("icans", 80, 110, -1),
            tok(",", 110, 112, -1),
        ];
        let words = words_from_tokens(&tokens, 16_000, 16_000 * 10);
        let texts: Vec<_> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["And", "so", "Americans,"]);
        assert_eq!(words[0].start, 16_000);
        assert_eq!(words[2].start, 16_000 + 50 * 160);
        assert_eq!(
            words[2].end,
            16_000 + 110 * 160,
            "the comma does not stretch it"
        );
    }

    #[test]
    fn utf8_split_across_tokens_is_rejoined() {
        let e_acute = "é".as_bytes();
        let tokens = [
            RawToken {
                bytes: vec![b' ', b'c', b'a', b'f', e_acute[0]],
                ..tok("", 0, 10, -1)
            },
            RawToken {
                bytes: vec![e_acute[1]],
                ..tok("", 10, 20, -1)
            },
        ];
        let words = words_from_tokens(&tokens, 0, 16_000);
        assert_eq!(words[0].text, "café");
    }

    #[test]
    fn times_never_go_backwards_or_leave_the_chunk() {
        let tokens = [
            tok(" one", 50, 40, 60),
            tok(" two", 10, 20, 30),
            tok(" three", 900, 5000, 5000),
        ];
        let words = words_from_tokens(&tokens, 1000, 1000 + 16_000);
        let mut last_end = 1000;
        for w in &words {
            assert!(w.start >= last_end && w.end >= w.start, "{words:?}");
            assert!(w.end <= 1000 + 16_000);
            last_end = w.end;
        }
    }

    #[test]
    fn dtw_times_are_used_when_present() {
        let tokens = [tok(" ask", 0, 100, 40), tok(" not", 40, 100, 70)];
        let words = words_from_tokens(&tokens, 0, 16_000 * 5);
        assert_eq!(words[0].end, 40 * 160);
        assert_eq!(words[1].start, 40 * 160);
        assert_eq!(words[1].end, 70 * 160);
    }
}
