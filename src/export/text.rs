//! Plain text for reading and quoting: `[hh:mm:ss] Name: words` at each turn, with
//! the wall clock beside or instead of the offset when the recording's clock is known
//! ([`TextTimes`]).
//! Words the model was unsure of are followed by `(?)`, so a quote is checked
//! against the audio before it is printed; words spoken over another speaker are
//! shown as `[overlap: …]`.

use super::timefmt::clock;
use super::{TextTimes, WallClock};
use crate::transcript::{Segment, Transcript};

pub(crate) fn render(transcript: &Transcript, times: TextTimes) -> String {
    let wall = WallClock::of(transcript);
    let stamp = |at: f64| {
        let on_the_clock = wall.and_then(|c| c.time_of_day(at));
        match (times, on_the_clock) {
            (TextTimes::Clock, Some(time)) => time,
            (TextTimes::Both, Some(time)) => format!("{} · {time}", clock(at)),
            _ => clock(at),
        }
    };
    let mut out = String::new();
    let mut previous_speaker: Option<&str> = None;
    for (i, segment) in transcript.segments.iter().enumerate() {
        let speaker = segment.speaker.as_deref();
        let new_turn = i == 0 || speaker != previous_speaker || speaker.is_none();
        if new_turn {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("[{}] ", stamp(segment.start)));
            if let Some(id) = speaker {
                out.push_str(&format!("{}: ", transcript.speaker_name(id)));
            }
        } else {
            out.push(' ');
        }
        out.push_str(&marked_text(segment));
        previous_speaker = speaker;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn marked_text(segment: &Segment) -> String {
    super::join_words(
        &segment.words,
        |w| {
            if w.is_uncertain() {
                format!("{}(?)", w.word)
            } else {
                w.word.clone()
            }
        },
        |t| format!("[overlap: {t}]"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    #[test]
    fn turns_with_time_and_name() {
        let txt = render(&fixture::two_speakers(), TextTimes::Both);
        assert_eq!(
            txt,
            "[00:00:01] Ann <host>: Tom & <Jerry>\n[01:01:01] Bob: Hi there.\n"
        );
    }

    #[test]
    fn the_wall_clock_beside_or_instead_of_the_offset() {
        let mut t = fixture::two_speakers();
        t.source.clock = fixture::clock_from("2024-08-13T20:00:00.000Z");
        let both = render(&t, TextTimes::Both);
        assert!(
            both.starts_with("[00:00:01 · 20:00:01 UTC] Ann <host>:"),
            "{both}"
        );
        let clock_only = render(&t, TextTimes::Clock);
        assert!(
            clock_only.contains("\n[21:01:01 UTC] Bob: Hi there."),
            "{clock_only}"
        );
        assert!(render(&t, TextTimes::Offset).starts_with("[00:00:01] Ann"));
    }

    #[test]
    fn crosstalk_is_marked() {
        let mut t = fixture::two_speakers();
        t.segments[1].words[0].overlap = true;
        assert!(render(&t, TextTimes::Both).contains("Bob: [overlap: Hi] there.\n"));
    }

    #[test]
    fn uncertain_words_are_marked() {
        let mut t = fixture::no_speakers();
        t.segments[1].words[1].probability = 0.1;
        assert!(render(&t, TextTimes::Both).contains("[01:01:01] Hi there.(?)\n"));
    }
}
