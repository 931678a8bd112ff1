//! NIST RTTM speaker turns: `SPEAKER <uri> 1 <tbeg> <tdur> <NA> <NA> <speaker> <NA> <NA>`,
//! from the diarization turns (overlapping turns stay overlapping).

use crate::transcript::Transcript;

/// One line per turn; `None` when diarization did not run.
pub(crate) fn render(transcript: &Transcript, uri: &str) -> Option<String> {
    if transcript.turns.is_empty() {
        return None;
    }
    let uri = no_spaces(uri);
    Some(
        transcript
            .turns
            .iter()
            .map(|t| {
                let name = no_spaces(transcript.speaker_name(&t.speaker));
                format!(
                    "SPEAKER {uri} 1 {:.3} {:.3} <NA> <NA> {name} <NA> <NA>\n",
                    t.start,
                    t.end - t.start
                )
            })
            .collect(),
    )
}

/// RTTM fields are separated by white space, so names keep theirs as `_`.
fn no_spaces(text: &str) -> String {
    text.replace(char::is_whitespace, "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    #[test]
    fn one_line_per_turn() {
        let rttm = render(&fixture::two_speakers(), "my space").unwrap();
        assert_eq!(
            rttm,
            "SPEAKER my_space 1 1.000 2.000 <NA> <NA> Ann_<host> <NA> <NA>\n\
             SPEAKER my_space 1 3661.500 1.500 <NA> <NA> Bob <NA> <NA>\n"
        );
    }

    #[test]
    fn nothing_without_speakers() {
        assert!(render(&fixture::no_speakers(), "x").is_none());
    }
}
