//! WebVTT with `<v Name>` voice spans (W3C WebVTT; what Apple Podcasts and the
//! Podcasting 2.0 transcript spec ingest).

use super::cues::{CaptionStyle, Decoration, build_cues};
use super::timefmt::clock_millis;
use crate::transcript::Transcript;

/// Escapes the characters WebVTT cue text reserves.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(crate) fn render(transcript: &Transcript, style: &CaptionStyle) -> String {
    let mut out = String::from("WEBVTT\n");
    // Voice spans and class spans are markup, not text a viewer reads.
    for cue in build_cues(transcript, style, Decoration::default()) {
        out.push('\n');
        out.push_str(&format!(
            "{} --> {}\n",
            clock_millis(cue.start, '.'),
            clock_millis(cue.end, '.')
        ));
        // A WebVTT class span: players show the words, styles can set crosstalk apart.
        let body = cue
            .text(|w| escape(&w.word), |t| format!("<c.overlap>{t}</c>"))
            .join("\n");
        match &cue.speaker {
            // Voice names end at '>', so it and '&' are escaped there too.
            Some(name) => out.push_str(&format!("<v {}>{}\n", escape(name), body)),
            None => out.push_str(&format!("{body}\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    #[test]
    fn voice_spans_and_escaping() {
        let vtt = render(&fixture::two_speakers(), &CaptionStyle::default());
        assert!(vtt.starts_with("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n"));
        assert!(vtt.contains("<v Ann &lt;host&gt;>Tom &amp; &lt;Jerry&gt;\n"));
        assert!(vtt.contains("01:01:01.500 --> 01:01:03.000\n<v Bob>Hi there.\n"));
    }

    #[test]
    fn no_voice_span_without_speakers() {
        let vtt = render(&fixture::no_speakers(), &CaptionStyle::default());
        assert!(vtt.contains("\nTom &amp; &lt;Jerry&gt;\n"));
        assert!(!vtt.contains("<v"));
    }
}
