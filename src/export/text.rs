//! Plain text for reading and quoting: `[hh:mm:ss] Name: words` at each turn.
//! Words the model was unsure of are followed by `(?)`, so a quote is checked
//! against the audio before it is printed; words spoken over another speaker are
//! shown as `[overlap: …]`.

use super::timefmt::clock;
use crate::transcript::{Segment, Transcript};

pub(crate) fn render(transcript: &Transcript) -> String {
    let mut out = String::new();
    let mut previous_speaker: Option<&str> = None;
    for (i, segment) in transcript.segments.iter().enumerate() {
        let speaker = segment.speaker.as_deref();
        let new_turn = i == 0 || speaker != previous_speaker || speaker.is_none();
        if new_turn {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("[{}] ", clock(segment.start)));
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
        let txt = render(&fixture::two_speakers());
        assert_eq!(
            txt,
            "[00:00:01] Ann <host>: Tom & <Jerry>\n[01:01:01] Bob: Hi there.\n"
        );
    }

    #[test]
    fn crosstalk_is_marked() {
        let mut t = fixture::two_speakers();
        t.segments[1].words[0].overlap = true;
        assert!(render(&t).contains("Bob: [overlap: Hi] there.\n"));
    }

    #[test]
    fn uncertain_words_are_marked() {
        let mut t = fixture::no_speakers();
        t.segments[1].words[1].probability = 0.1;
        assert!(render(&t).contains("[01:01:01] Hi there.(?)\n"));
    }
}
