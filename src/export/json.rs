//! JSON in WhisperX's shape (segments with words, seconds) plus provenance:
//! source, model, parameters and tool version.

use crate::transcript::Transcript;

pub(crate) fn render(transcript: &Transcript) -> String {
    pretty(transcript)
}

/// Pretty JSON ending in a newline, as every JSON file here is written. Only types
/// of this crate come here, and they always serialize.
pub(crate) fn pretty(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("our types serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    #[test]
    fn round_trips_and_has_whisperx_fields() {
        let t = fixture::two_speakers();
        let text = render(&t);
        let back: Transcript = serde_json::from_str(&text).unwrap();
        assert_eq!(back, t);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let w = &v["segments"][0]["words"][0];
        for key in ["word", "start", "end", "probability", "speaker"] {
            assert!(w.get(key).is_some(), "{key}");
        }
        assert!(v["source"]["sha256"].is_string());
        assert!(v["tool"]["version"].is_string());
    }
}
