//! How the quote finder compares words: lower case, punctuation off, hyphens split,
//! and numbers spelled out ("8" -> "eight", "2.5" -> "two point five", "$10" -> "ten
//! dollars", "50%" -> "fifty percent"), so a quote typed with digits matches speech
//! transcribed in words and the other way round.

/// The comparable tokens of `text`, each with the index of the word it came from.
pub(crate) fn tokens<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (index, word) in words.into_iter().enumerate() {
        for token in normalize(word) {
            out.push((token, index));
        }
    }
    out
}

/// One written word as the tokens it is spoken as.
pub(crate) fn normalize(word: &str) -> Vec<String> {
    let lower = word.to_lowercase().replace(['-', '—', '–', '/'], " ");
    lower.split_whitespace().flat_map(spoken).collect()
}

fn spoken(piece: &str) -> Vec<String> {
    let dollars = piece.contains('$');
    let percent = piece.contains('%');
    let kept: String = piece
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '\'' | '.' | ','))
        .collect();
    let kept = kept.trim_matches(|c| matches!(c, '\'' | '.' | ','));
    if kept.is_empty() {
        return Vec::new();
    }
    let digits = kept.replace(',', "");
    let mut out = match number_words(&digits) {
        Some(words) => words,
        None => vec![kept.replace([',', '.'], "")],
    };
    if dollars {
        out.push("dollars".into());
    }
    if percent {
        out.push("percent".into());
    }
    out
}

/// `"2.5"` -> two point five; `None` when it is not a plain number.
fn number_words(text: &str) -> Option<Vec<String>> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let value: u64 = whole.parse().ok().filter(|v| *v < 1_000_000_000)?;
    let mut words = cardinal(value);
    if !fraction.is_empty() {
        words.push("point".into());
        for d in fraction.chars() {
            words.extend(cardinal(u64::from(d.to_digit(10).expect("a digit"))));
        }
    }
    Some(words)
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// English cardinal words of `n` (below a billion): 2024 -> two thousand twenty four.
fn cardinal(n: u64) -> Vec<String> {
    if n < 20 {
        return vec![ONES[n as usize].to_string()];
    }
    let mut out = Vec::new();
    for (unit, name) in [(1_000_000, "million"), (1000, "thousand"), (100, "hundred")] {
        if n >= unit {
            out.extend(cardinal(n / unit));
            out.push(name.to_string());
            if !n.is_multiple_of(unit) {
                out.extend(cardinal(n % unit));
            }
            return out;
        }
    }
    out.push(TENS[(n / 10) as usize].to_string());
    if !n.is_multiple_of(10) {
        out.push(ONES[(n % 10) as usize].to_string());
    }
    out
}

/// How alike two tokens are, 0..1 (1 - edit distance / longer length).
pub(crate) fn similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    1.0 - prev[b.len()] as f64 / a.len().max(b.len()).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_lose_case_and_punctuation() {
        assert_eq!(normalize("Hello,"), ["hello"]);
        assert_eq!(normalize("don't"), ["don't"]);
        assert_eq!(normalize("drone-ship."), ["drone", "ship"]);
        assert!(normalize("—").is_empty());
    }

    #[test]
    fn numbers_are_spelled_out() {
        assert_eq!(normalize("8"), ["eight"]);
        assert_eq!(normalize("2024"), ["two", "thousand", "twenty", "four"]);
        assert_eq!(normalize("2.5"), ["two", "point", "five"]);
        assert_eq!(normalize("$10"), ["ten", "dollars"]);
        assert_eq!(normalize("50%"), ["fifty", "percent"]);
        assert_eq!(normalize("1,000,000."), ["one", "million"]);
        assert_eq!(normalize("115"), ["one", "hundred", "fifteen"]);
    }

    #[test]
    fn tokens_remember_their_word() {
        let t = tokens(["About", "8", "minutes."]);
        assert_eq!(
            t,
            [
                ("about".into(), 0),
                ("eight".into(), 1),
                ("minutes".into(), 2)
            ]
        );
    }

    #[test]
    fn similar_names_are_close() {
        assert!(similarity("kalan", "kalam") >= 0.8);
        assert!(similarity("launch", "lunch") > 0.8);
        assert!(similarity("rocket", "cost") < 0.5);
    }
}
