//! Fuzzy alignment of a typed quote against a transcript's tokens: the whole quote
//! against any stretch of the transcript (a "fitting" alignment, by dynamic
//! programming), so a few words typed wrong, missing or added still find the passage,
//! and the steps of the alignment are the word-level differences to report.

use super::words::similarity;
use std::ops::Range;

/// One step of an alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Typed token `typed` is the said token `said`.
    Same { typed: usize, said: usize },
    /// Typed and said differ (a near miss such as a misheard name, or another word).
    Changed { typed: usize, said: usize },
    /// Said, not typed.
    Extra { said: usize },
    /// Typed, not said.
    Missing { typed: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Alignment {
    /// 0..1: 1 is every typed token said, in order, with nothing between.
    pub(crate) score: f64,
    /// The said tokens the quote covers.
    pub(crate) said: Range<usize>,
    pub(crate) steps: Vec<Step>,
}

const SAME: f64 = 2.0;
/// A near miss ("Kalan" / "Kalam") counts half.
const NEAR: f64 = 1.0;
const CHANGED: f64 = -1.0;
const GAP: f64 = -1.0;
/// Tokens this alike are a near miss.
const NEAR_SIMILARITY: f64 = 0.75;

fn pair_score(typed: &str, said: &str) -> f64 {
    if typed == said {
        SAME
    } else if similarity(typed, said) >= NEAR_SIMILARITY {
        NEAR
    } else {
        CHANGED
    }
}

/// Where each cell's best score came from.
#[derive(Clone, Copy, PartialEq)]
enum From {
    Start,
    Diagonal,
    Up,
    Left,
}

/// The best alignments of `typed` in `said`, best first, none overlapping another,
/// each kept only when `keep` accepts its said range, at most `max`, and only those
/// scoring at least `floor`.
pub(crate) fn best_alignments(
    typed: &[String],
    said: &[String],
    floor: f64,
    max: usize,
    keep: impl Fn(&Range<usize>) -> bool,
) -> Vec<Alignment> {
    let (q, n) = (typed.len(), said.len());
    if q == 0 || n == 0 {
        return Vec::new();
    }
    let width = n + 1;
    let mut score = vec![0.0f64; (q + 1) * width];
    let mut from = vec![From::Start; (q + 1) * width];
    for i in 1..=q {
        score[i * width] = score[(i - 1) * width] + GAP;
        from[i * width] = From::Up;
        for j in 1..=n {
            let diagonal = score[(i - 1) * width + j - 1] + pair_score(&typed[i - 1], &said[j - 1]);
            let up = score[(i - 1) * width + j] + GAP;
            let left = score[i * width + j - 1] + GAP;
            let (best, came) = if diagonal >= up && diagonal >= left {
                (diagonal, From::Diagonal)
            } else if up >= left {
                (up, From::Up)
            } else {
                (left, From::Left)
            };
            score[i * width + j] = best;
            from[i * width + j] = came;
        }
    }
    let perfect = SAME * q as f64;
    let mut ends: Vec<usize> = (1..=n).collect();
    ends.sort_by(|&a, &b| {
        score[q * width + b]
            .total_cmp(&score[q * width + a])
            .then(a.cmp(&b))
    });
    let mut found: Vec<Alignment> = Vec::new();
    for end in ends {
        let value = score[q * width + end] / perfect;
        if value < floor || found.len() >= max {
            break;
        }
        if found.iter().any(|a| a.said.contains(&(end - 1))) {
            continue;
        }
        let alignment = trace(&from, width, typed, said, q, end, value);
        let overlaps = found
            .iter()
            .any(|a| a.said.start < alignment.said.end && alignment.said.start < a.said.end);
        if !overlaps && !alignment.said.is_empty() && keep(&alignment.said) {
            found.push(alignment);
        }
    }
    found
}

fn trace(
    from: &[From],
    width: usize,
    typed: &[String],
    said: &[String],
    q: usize,
    end: usize,
    score: f64,
) -> Alignment {
    let (mut i, mut j) = (q, end);
    let mut steps = Vec::new();
    while i > 0 {
        match from[i * width + j] {
            From::Diagonal => {
                let (t, s) = (i - 1, j - 1);
                steps.push(if typed[t] == said[s] {
                    Step::Same { typed: t, said: s }
                } else {
                    Step::Changed { typed: t, said: s }
                });
                i -= 1;
                j -= 1;
            }
            From::Up | From::Start => {
                steps.push(Step::Missing { typed: i - 1 });
                i -= 1;
            }
            From::Left => {
                steps.push(Step::Extra { said: j - 1 });
                j -= 1;
            }
        }
    }
    steps.reverse();
    let said_steps: Vec<usize> = steps
        .iter()
        .filter_map(|s| match *s {
            Step::Same { said, .. } | Step::Changed { said, .. } | Step::Extra { said } => {
                Some(said)
            }
            Step::Missing { .. } => None,
        })
        .collect();
    let said = match (said_steps.first(), said_steps.last()) {
        (Some(&a), Some(&b)) => a..b + 1,
        _ => j..j,
    };
    Alignment { score, said, steps }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn finds_an_exact_passage() {
        let said = toks("hello all the payload was heavier than usual it carried satellites");
        let found = best_alignments(&toks("the payload was heavier"), &said, 0.3, 3, |_| true);
        assert_eq!(found[0].said, 2..6);
        assert_eq!(found[0].score, 1.0);
    }

    #[test]
    fn tolerates_misheard_missing_and_extra_words() {
        let said = toks("i see kalam has his hand up kalam go ahead the floor is yours");
        let typed = toks("i see kalan has hand up go ahead");
        let found = best_alignments(&typed, &said, 0.3, 3, |_| true);
        let best = &found[0];
        assert_eq!(best.said, 0..10);
        assert!(best.score > 0.6 && best.score < 1.0, "{}", best.score);
        assert!(best.steps.contains(&Step::Changed { typed: 2, said: 2 }));
        assert!(best.steps.contains(&Step::Extra { said: 4 }));
    }

    #[test]
    fn several_passages_do_not_overlap_and_keep_filters() {
        let said = toks("more flights per booster a lower cost and more flights per booster again");
        let typed = toks("more flights per booster");
        let all = best_alignments(&typed, &said, 0.3, 5, |_| true);
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].said.clone(), all[1].said.clone()), (0..4, 8..12));
        let later = best_alignments(&typed, &said, 0.3, 5, |r| r.start > 4);
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].said, 8..12);
    }

    #[test]
    fn nothing_below_the_floor() {
        let said = toks("completely different words entirely here");
        assert!(best_alignments(&toks("rocket launch costs"), &said, 0.3, 3, |_| true).is_empty());
    }
}
