//! Podcasting 2.0 transcript JSON (`STEM.podcast.json`):
//! `{"version":"1.0.0","segments":[{"speaker","startTime","endTime","body"}]}`, one
//! segment per caption-sized phrase (the caption cues' words and speech times), or one
//! per word. Feeds point at it with `<podcast:transcript type="application/json">`.

use super::cues::{CaptionStyle, Decoration, build_cues};
use crate::transcript::Transcript;
use serde::Serialize;

#[derive(Serialize)]
struct File {
    version: &'static str,
    segments: Vec<PodcastSegment>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodcastSegment {
    #[serde(skip_serializing_if = "Option::is_none")]
    speaker: Option<String>,
    start_time: f64,
    end_time: f64,
    body: String,
}

/// Seconds to the millisecond, as the other formats print them.
fn millis(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

pub(crate) fn render(transcript: &Transcript, style: &CaptionStyle, per_word: bool) -> String {
    let segments = if per_word {
        word_segments(transcript)
    } else {
        phrase_segments(transcript, style)
    };
    super::json::pretty(&File {
        version: "1.0.0",
        segments,
    })
}

/// One segment per caption cue, timed by its speech (not by how long a caption stays).
fn phrase_segments(transcript: &Transcript, style: &CaptionStyle) -> Vec<PodcastSegment> {
    build_cues(transcript, style, Decoration::default())
        .into_iter()
        .map(|cue| PodcastSegment {
            body: cue
                .words()
                .map(|w| w.word.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            speaker: cue.speaker,
            start_time: millis(cue.start),
            end_time: millis(cue.speech_end),
        })
        .collect()
}

fn word_segments(transcript: &Transcript) -> Vec<PodcastSegment> {
    transcript
        .attributed_words()
        .into_iter()
        .map(|w| PodcastSegment {
            speaker: w
                .speaker
                .as_deref()
                .map(|id| transcript.speaker_name(id).to_string()),
            start_time: millis(w.start),
            end_time: millis(w.end),
            body: w.word,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;

    #[test]
    fn phrases_with_names_and_times() {
        let v: serde_json::Value = serde_json::from_str(&render(
            &fixture::two_speakers(),
            &CaptionStyle::default(),
            false,
        ))
        .unwrap();
        assert_eq!(v["version"], "1.0.0");
        let s = &v["segments"];
        assert_eq!(s[0]["speaker"], "Ann <host>");
        assert_eq!(s[0]["body"], "Tom & <Jerry>");
        assert_eq!(s[0]["startTime"], 1.0);
        assert_eq!(s[1]["endTime"], 3663.0);
    }

    #[test]
    fn one_segment_per_word_on_request() {
        let v: serde_json::Value = serde_json::from_str(&render(
            &fixture::two_speakers(),
            &CaptionStyle::default(),
            true,
        ))
        .unwrap();
        let s = v["segments"].as_array().unwrap();
        assert_eq!(s.len(), 5);
        assert_eq!(s[4]["body"], "there.");
        assert_eq!(s[4]["speaker"], "Bob");
    }

    #[test]
    fn no_speaker_field_without_diarization() {
        let text = render(&fixture::no_speakers(), &CaptionStyle::default(), false);
        assert!(!text.contains("speaker"));
    }
}
