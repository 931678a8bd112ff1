//! Prompted words on unprompted times. A prompt makes Whisper spell names right, but it
//! throws Whisper's timestamps off: on `samples/names` the prompted words of a 28 s clip
//! drift up to 10 s from where they are said (DTW times and timestamp tokens alike), and
//! now and then it skips speech it takes for the prompt. So a chunk with a prompt is
//! decoded without it too: the prompted words are aligned with the unprompted ones
//! (edit distance over words, case and punctuation aside, alike words paired first) and each takes the times and
//! the segment of the word it stands for; a prompted word with no counterpart goes in the
//! gap where it falls; an unprompted word with none widens its neighbour. When the
//! prompted decode says much less, it lost speech; when it says much more, it repeated
//! itself (on `samples/names/chip-talk` the prompted decode ran on into a second copy
//! of the clip, and its tail pass into a third); either way the unprompted one is kept.

use super::{RawSegment, TimedWord};

/// The prompted decode is kept only with at least this share of the unprompted words.
const MIN_PROMPTED_WORDS: f64 = 0.8;
/// ... and with at most this share of words more than the unprompted decode,
const MAX_EXTRA_SHARE: f64 = 0.25;
/// or this many, in a short chunk (a prompt does bring back words a plain decode drops).
const MAX_EXTRA_WORDS: usize = 3;

/// `prompted`'s words on `plain`'s times and segments, or `plain` when the prompted
/// decode lost speech or repeated itself.
pub(crate) fn onto(prompted: Vec<RawSegment>, plain: Vec<RawSegment>) -> Vec<RawSegment> {
    let said: Vec<TimedWord> = prompted.into_iter().flat_map(|s| s.words).collect();
    let timed: Vec<(usize, &TimedWord)> = plain
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.words.iter().map(move |w| (i, w)))
        .collect();
    let extra_allowed = MAX_EXTRA_WORDS.max((MAX_EXTRA_SHARE * timed.len() as f64) as usize);
    if timed.is_empty()
        || (said.len() as f64) < MIN_PROMPTED_WORDS * timed.len() as f64
        || said.len() > timed.len() + extra_allowed
    {
        return plain;
    }
    let placed = place(&said, &timed);
    let mut out: Vec<RawSegment> = plain
        .iter()
        .map(|s| RawSegment {
            words: Vec::new(),
            ..s.clone()
        })
        .collect();
    for (segment, word) in placed {
        out[segment].words.push(word);
    }
    out.retain(|s| !s.words.is_empty());
    out
}

/// Each said word with the segment and times it gets, in order.
fn place(said: &[TimedWord], timed: &[(usize, &TimedWord)]) -> Vec<(usize, TimedWord)> {
    let mut placed: Vec<(usize, TimedWord)> = Vec::with_capacity(said.len());
    let mut waiting: Vec<&TimedWord> = Vec::new(); // said words with no counterpart yet
    // Timed words the prompted decode does not have, since the last pair: their segment,
    // first start and last end. They widen the next word of their segment, else the last.
    let mut unsaid: Option<(usize, u64, u64)> = None;
    for step in align(said, timed) {
        match step {
            Step::Pair(s, t) => {
                let (segment, at) = timed[t];
                let mut start = at.start;
                if let Some((their_segment, from, to)) = unsaid.take() {
                    if their_segment == segment {
                        start = from;
                    } else if let Some((_, last)) = placed.last_mut() {
                        last.end = last.end.max(to);
                    }
                }
                put_between(&mut placed, &mut waiting, segment, start);
                let word = TimedWord {
                    start,
                    end: at.end,
                    ..said[s].clone()
                };
                placed.push((segment, word));
            }
            Step::Said(s) => waiting.push(&said[s]),
            Step::Unsaid(t) => {
                let (segment, at) = timed[t];
                let from = unsaid.map_or(at.start, |u| u.1);
                unsaid = Some((segment, from, at.end));
            }
        }
    }
    if let (Some((_, _, to)), Some((_, last))) = (unsaid, placed.last_mut()) {
        last.end = last.end.max(to);
    }
    let (segment, end) = placed
        .last()
        .map_or((timed[0].0, timed[0].1.start), |(s, w)| (*s, w.end));
    put_between(&mut placed, &mut waiting, segment, end);
    placed
}

/// Puts the waiting words in the gap between the last placed word and `until`, in equal
/// shares (no share when there is no gap).
fn put_between(
    placed: &mut Vec<(usize, TimedWord)>,
    waiting: &mut Vec<&TimedWord>,
    segment: usize,
    until: u64,
) {
    if waiting.is_empty() {
        return;
    }
    let from = placed.last().map_or(until, |(_, w)| w.end).min(until);
    let share = (until - from) / waiting.len() as u64;
    let segment = placed.last().map_or(segment, |(s, _)| *s);
    for (k, word) in waiting.drain(..).enumerate() {
        let start = from + share * k as u64;
        placed.push((
            segment,
            TimedWord {
                start,
                end: start + share,
                ..word.clone()
            },
        ));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Said word `.0` stands for timed word `.1` (the same, or misheard).
    Pair(usize, usize),
    /// A said word with no timed counterpart.
    Said(usize),
    /// A timed word the prompted decode does not have.
    Unsaid(usize),
}

/// Cost of leaving a word unpaired; pairing two words costs up to twice that, less the
/// more alike they are (so "Kowalczyk" pairs with "Uscalkzig", not with "and").
const UNPAIRED: u32 = 100;

fn pair_cost(a: &str, b: &str) -> u32 {
    if a == b {
        return 0;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let longest = a.len().max(b.len()).max(1);
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    (2 * UNPAIRED as usize * row[b.len()] / longest).max(1) as u32
}

/// The cheapest alignment of the two word sequences, in order.
fn align(said: &[TimedWord], timed: &[(usize, &TimedWord)]) -> Vec<Step> {
    let a: Vec<String> = said.iter().map(TimedWord::key).collect();
    let b: Vec<String> = timed.iter().map(|(_, w)| w.key()).collect();
    let (n, m) = (a.len(), b.len());
    let pair = |i: usize, j: usize| pair_cost(&a[i], &b[j]);
    let mut cost = vec![vec![0u32; m + 1]; n + 1];
    for (i, row) in cost.iter_mut().enumerate() {
        row[0] = i as u32 * UNPAIRED;
    }
    for (j, first) in cost[0].iter_mut().enumerate() {
        *first = j as u32 * UNPAIRED;
    }
    for i in 1..=n {
        for j in 1..=m {
            cost[i][j] = (cost[i - 1][j - 1] + pair(i - 1, j - 1))
                .min(cost[i - 1][j] + UNPAIRED)
                .min(cost[i][j - 1] + UNPAIRED);
        }
    }
    let mut steps = Vec::with_capacity(n.max(m));
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        if i > 0 && j > 0 && cost[i][j] == cost[i - 1][j - 1] + pair(i - 1, j - 1) {
            steps.push(Step::Pair(i - 1, j - 1));
            (i, j) = (i - 1, j - 1);
        } else if i > 0 && cost[i][j] == cost[i - 1][j] + UNPAIRED {
            steps.push(Step::Said(i - 1));
            i -= 1;
        } else {
            steps.push(Step::Unsaid(j - 1));
            j -= 1;
        }
    }
    steps.reverse();
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(words: &[(&str, u64, u64)]) -> RawSegment {
        RawSegment {
            words: words
                .iter()
                .map(|&(text, start, end)| TimedWord {
                    text: text.into(),
                    start,
                    end,
                    probability: 0.9,
                })
                .collect(),
            avg_logprob: -0.2,
            no_speech_prob: 0.0,
        }
    }

    fn texts_and_times(segments: &[RawSegment]) -> Vec<Vec<(String, u64, u64)>> {
        segments
            .iter()
            .map(|s| {
                s.words
                    .iter()
                    .map(|w| (w.text.clone(), w.start, w.end))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn names_take_the_unprompted_times_and_segments() {
        let plain = vec![
            segment(&[
                ("I", 10, 20),
                ("am", 20, 30),
                ("Ted", 30, 40),
                ("Uscalkzig.", 40, 60),
            ]),
            segment(&[("and", 100, 110), ("I", 110, 120), ("amini", 130, 150)]),
        ];
        // Drifted times, other segments, and two words where the plain decode has three.
        let prompted = vec![segment(&[
            ("I", 10, 11),
            ("am", 300, 301),
            ("Tadeusz", 500, 501),
            ("Kowalczyk.", 900, 901),
            ("Thandiwe", 950, 951),
            ("Dlamini", 990, 991),
        ])];
        let out = onto(prompted.clone(), plain.clone());
        assert_eq!(
            texts_and_times(&out),
            [
                vec![
                    ("I".into(), 10, 20),
                    ("am".into(), 20, 30),
                    ("Tadeusz".into(), 30, 40),
                    ("Kowalczyk.".into(), 40, 60)
                ],
                vec![("Thandiwe".into(), 100, 110), ("Dlamini".into(), 110, 150)],
            ]
        );
        // A prompted decode that lost speech is not taken.
        let lost = vec![segment(&[("I", 10, 11)])];
        assert_eq!(onto(lost, plain.clone()), plain);
        // Nor one that ran on into the same words again.
        let mut twice = prompted.clone();
        twice.extend(prompted.clone());
        assert_eq!(onto(twice, plain.clone()), plain);
    }

    #[test]
    fn extra_prompted_words_go_in_the_gap_where_they_fall() {
        let plain = vec![segment(&[
            ("from", 0, 10),
            ("here.", 10, 20),
            ("Yes.", 60, 70),
        ])];
        let prompted = vec![segment(&[
            ("from", 0, 1),
            ("here.", 1, 2),
            ("Oh", 2, 3),
            ("well.", 3, 4),
            ("Yes.", 4, 5),
        ])];
        let out = onto(prompted, plain);
        assert_eq!(
            texts_and_times(&out)[0],
            [
                ("from".into(), 0, 10),
                ("here.".into(), 10, 20),
                ("Oh".into(), 20, 40),
                ("well.".into(), 40, 60),
                ("Yes.".into(), 60, 70)
            ]
        );
    }
}
