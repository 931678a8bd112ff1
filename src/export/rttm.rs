//! NIST RTTM speaker turns: `SPEAKER <uri> 1 <tbeg> <tdur> <NA> <NA> <speaker> <NA> <NA>`.

use crate::transcript::Transcript;

/// One line per run of same-speaker segments; `None` when no speaker is known.
pub fn render(transcript: &Transcript, uri: &str) -> Option<String> {
    let mut turns: Vec<(f64, f64, &str)> = Vec::new();
    for segment in &transcript.segments {
        let speaker = segment.speaker.as_deref()?;
        match turns.last_mut() {
            Some(last) if last.2 == speaker => last.1 = last.1.max(segment.end),
            _ => turns.push((segment.start, segment.end, speaker)),
        }
    }
    if turns.is_empty() {
        return None;
    }
    let uri = uri.replace(char::is_whitespace, "_");
    Some(
        turns
            .into_iter()
            .map(|(start, end, speaker)| {
                let name = transcript
                    .speaker_name(speaker)
                    .replace(char::is_whitespace, "_");
                format!(
                    "SPEAKER {uri} 1 {start:.3} {:.3} <NA> <NA> {name} <NA> <NA>\n",
                    end - start
                )
            })
            .collect(),
    )
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
