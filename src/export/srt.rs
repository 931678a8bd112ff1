//! SubRip captions, with a `Name:` prefix where the speaker changes.

use super::cues::{CaptionStyle, Decoration, build_cues};
use super::timefmt::clock_millis;
use crate::transcript::Transcript;

/// What SRT shows around crosstalk; its width counts toward the line limit.
const OVERLAP_OPEN: &str = "[overlap: ";
const OVERLAP_CLOSE: &str = "]";

pub(crate) fn render(transcript: &Transcript, style: &CaptionStyle) -> String {
    let decoration = Decoration {
        speaker_prefix: true,
        overlap_mark_chars: OVERLAP_OPEN.len() + OVERLAP_CLOSE.len(),
    };
    let mut out = String::new();
    for (index, cue) in build_cues(transcript, style, decoration)
        .into_iter()
        .enumerate()
    {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}\n{} --> {}\n",
            index + 1,
            clock_millis(cue.start, ','),
            clock_millis(cue.end, ',')
        ));
        let mut lines = cue.text(
            |w| w.word.clone(),
            |t| format!("{OVERLAP_OPEN}{t}{OVERLAP_CLOSE}"),
        );
        if let (Some(name), true) = (&cue.speaker, cue.speaker_changed) {
            lines[0] = format!("{name}: {}", lines[0]);
        }
        out.push_str(&lines.join("\n"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    #[test]
    fn numbered_cues_with_speaker_prefix() {
        let srt = render(&fixture::two_speakers(), &CaptionStyle::default());
        assert!(
            srt.starts_with("1\n00:00:01,000 --> 00:00:03,000\nAnn <host>: Tom & <Jerry>\n\n2\n")
        );
        assert!(srt.contains("01:01:01,500 --> 01:01:03,000\nBob: Hi there.\n"));
    }
}
