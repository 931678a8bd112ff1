//! Export: the transcript model rendered into the formats people publish and
//! archive with (JSON, WebVTT, SRT, plain text, RTTM, the Podcasting 2.0 transcript
//! and chapters, an HTML transcript page), each written atomically, laid out by
//! [`ExportOptions`].

mod chapters;
mod cues;
mod html;
mod json;
mod page_audio;
mod podcast;
mod rttm;
mod srt;
mod text;
mod timefmt;
mod vtt;
mod wallclock;

pub use chapters::{Chapter, read_chapters};
pub use cues::CaptionStyle;
pub use html::Page;
pub use wallclock::WallClock;

use crate::atomic::write_bytes_atomic;
use crate::error::{Error, Result};
use crate::transcript::{Transcript, Word};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// An output format, named as `--formats` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    Json,
    Vtt,
    Srt,
    Txt,
    Rttm,
    /// Podcasting 2.0 transcript JSON (`STEM.podcast.json`).
    Podcast,
    /// Podcasting 2.0 chapters JSON (`STEM.chapters.json`).
    Chapters,
    /// A self-contained transcript page to publish beside the audio.
    Html,
}

/// How the exporters lay a transcript out: what a publisher chooses.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ExportOptions {
    /// Limits of the caption cues (VTT, SRT, the podcast transcript's phrases).
    pub captions: CaptionStyle,
    /// One podcast transcript segment per word instead of per phrase.
    pub podcast_words: bool,
    /// Chapters the user gives; found chapters fill in between them.
    pub chapters: Vec<Chapter>,
    /// The HTML page's settings (where its player finds the audio).
    pub page: Page,
    /// Which times the plain text gives at each turn.
    pub text_times: TextTimes,
}

/// The times at each turn of the plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TextTimes {
    /// The time into the recording only.
    Offset,
    /// The wall clock only, where the recording's clock is known (else the offset).
    Clock,
    /// Both, the wall clock where it is known: `[00:00:32 · 00:00:32 UTC]`.
    #[default]
    Both,
}

impl std::str::FromStr for TextTimes {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "offset" => Ok(TextTimes::Offset),
            "clock" => Ok(TextTimes::Clock),
            "both" => Ok(TextTimes::Both),
            other => Err(Error::Usage(format!(
                "unknown text times '{other}' (choose offset, clock or both)"
            ))),
        }
    }
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::Json,
        Format::Vtt,
        Format::Srt,
        Format::Txt,
        Format::Rttm,
        Format::Podcast,
        Format::Chapters,
        Format::Html,
    ];

    /// The name `--formats` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Vtt => "vtt",
            Format::Srt => "srt",
            Format::Txt => "txt",
            Format::Rttm => "rttm",
            Format::Podcast => "podcast",
            Format::Chapters => "chapters",
            Format::Html => "html",
        }
    }

    /// What follows the stem in the file name.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Podcast => "podcast.json",
            Format::Chapters => "chapters.json",
            other => other.name(),
        }
    }

    /// Renders the transcript; `None` when the format has nothing to say
    /// (RTTM without speakers).
    pub fn render(
        self,
        transcript: &Transcript,
        uri: &str,
        options: &ExportOptions,
    ) -> Option<String> {
        let style = &options.captions;
        match self {
            Format::Json => Some(json::render(transcript)),
            Format::Vtt => Some(vtt::render(transcript, style)),
            Format::Srt => Some(srt::render(transcript, style)),
            Format::Txt => Some(text::render(transcript, options.text_times)),
            Format::Rttm => rttm::render(transcript, uri),
            Format::Podcast => Some(podcast::render(transcript, style, options.podcast_words)),
            Format::Chapters => Some(chapters::render(transcript, &options.chapters)),
            Format::Html => Some(html::render(transcript, &options.page)),
        }
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                Error::Usage(format!(
                    "unknown format '{s}' (choose from {})",
                    names.join(", ")
                ))
            })
    }
}

/// Words joined by spaces, each spelled by `spell`; every run of words spoken
/// over another speaker is passed through `mark_overlap`, so crosstalk is
/// visible in every text format instead of silently given to one speaker.
pub(crate) fn join_words(
    words: &[Word],
    spell: impl Fn(&Word) -> String,
    mark_overlap: impl Fn(&str) -> String,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let overlap = words[i].overlap;
        let run_end = words[i..]
            .iter()
            .position(|w| w.overlap != overlap)
            .map_or(words.len(), |n| i + n);
        let text = words[i..run_end]
            .iter()
            .map(&spell)
            .collect::<Vec<_>>()
            .join(" ");
        parts.push(if overlap { mark_overlap(&text) } else { text });
        i = run_end;
    }
    parts.join(" ")
}

/// A time on the recording as the formats print it: `hh:mm:ss.mmm`.
pub fn offset_millis(seconds: f64) -> String {
    timefmt::clock_millis(seconds, '.')
}

/// Parses a comma-separated list such as `json,vtt`.
pub fn parse_formats(list: &str) -> Result<Vec<Format>> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Format::from_str)
        .collect()
}

/// Writes `DIR/STEM.EXT` for every format that has content; returns the paths written.
pub fn write_all(
    transcript: &Transcript,
    out_dir: &Path,
    stem: &str,
    formats: &[Format],
    options: &ExportOptions,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for &format in formats {
        let path = out_dir.join(format!("{stem}.{}", format.extension()));
        if write(transcript, format, &path, options)? {
            written.push(path);
        }
    }
    Ok(written)
}

/// Writes `transcript` as `format` to `path`, atomically (never a half-written file).
/// Returns `false`, writing nothing, when the format has nothing to say (RTTM of a
/// transcript without speakers). The RTTM's recording id is the file's stem; an
/// HTML page plays the recording from where it lies (see [`Page`]).
pub fn write(
    transcript: &Transcript,
    format: Format,
    path: &Path,
    options: &ExportOptions,
) -> Result<bool> {
    let uri = path
        .file_stem()
        .map_or_else(|| "transcript".into(), |s| s.to_string_lossy());
    // Only here is the page's folder known: its player's path to the recording starts there.
    let placed;
    let options = match format {
        Format::Html => {
            let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
            placed = ExportOptions {
                page: options
                    .page
                    .placed_in(transcript, folder.unwrap_or(Path::new(".")))?,
                ..options.clone()
            };
            &placed
        }
        _ => options,
    };
    match format.render(transcript, &uri, options) {
        Some(body) => write_bytes_atomic(path, body.as_bytes()).map(|()| true),
        None => Ok(false),
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    use crate::transcript::*;

    /// A clock set once, at the first sample, by the playlist.
    pub fn clock_from(rfc3339: &str) -> RecordingClock {
        RecordingClock {
            anchor: Some(ClockSource::ProgramDateTime),
            anchors: vec![ClockAnchor {
                at: 0.0,
                utc: Some(rfc3339.into()),
                source: ClockSource::ProgramDateTime,
                note: None,
            }],
            warnings: Vec::new(),
        }
    }

    pub fn word(text: &str, start: f64, end: f64, speaker: Option<&str>) -> Word {
        Word {
            word: text.into(),
            start,
            end,
            probability: 0.9,
            speaker: speaker.map(str::to_string),
            overlap: false,
            wall_clock: None,
        }
    }

    pub fn segment(words: Vec<Word>) -> Segment {
        let overlap = words.iter().any(|w| w.overlap);
        Segment {
            start: words[0].start,
            end: words[words.len() - 1].end,
            speaker: words[0].speaker.clone(),
            text: words
                .iter()
                .map(|w| w.word.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            words,
            avg_logprob: -0.1,
            no_speech_prob: 0.0,
            overlap,
            wall_clock: None,
        }
    }

    /// Two speakers, one with markup characters in its words and name.
    pub fn two_speakers() -> Transcript {
        Transcript {
            tool: ToolInfo::default(),
            source: SourceInfo::default(),
            model: ModelInfo::default(),
            params: TranscribeParams::default(),
            metadata: None,
            turns: vec![
                Turn {
                    start: 1.0,
                    end: 3.0,
                    speaker: "SPEAKER_00".into(),
                },
                Turn {
                    start: 3661.5,
                    end: 3663.0,
                    speaker: "SPEAKER_01".into(),
                },
            ],
            speakers: vec![
                Speaker {
                    id: "SPEAKER_00".into(),
                    name: "Ann <host>".into(),
                    total_time: 2.0,
                    named_by: "user".into(),
                    voiceprint_similarity: None,
                },
                Speaker {
                    id: "SPEAKER_01".into(),
                    name: "Bob".into(),
                    total_time: 1.5,
                    named_by: "diarization".into(),
                    voiceprint_similarity: None,
                },
            ],
            segments: vec![
                segment(vec![
                    word("Tom", 1.0, 1.4, Some("SPEAKER_00")),
                    word("&", 1.4, 1.5, Some("SPEAKER_00")),
                    word("<Jerry>", 1.5, 3.0, Some("SPEAKER_00")),
                ]),
                segment(vec![
                    word("Hi", 3661.5, 3662.0, Some("SPEAKER_01")),
                    word("there.", 3662.0, 3663.0, Some("SPEAKER_01")),
                ]),
            ],
        }
    }

    pub fn no_speakers() -> Transcript {
        let mut t = two_speakers();
        t.speakers.clear();
        t.turns.clear();
        for s in &mut t.segments {
            s.speaker = None;
            for w in &mut s.words {
                w.speaker = None;
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapped_runs_are_marked() {
        let mut words = fixture::two_speakers().segments[0].words.clone();
        words[1].overlap = true;
        words[2].overlap = true;
        let text = join_words(&words, |w| w.word.clone(), |t| format!("[{t}]"));
        assert_eq!(text, "Tom [& <Jerry>]");
    }

    #[test]
    fn formats_parse_and_reject_unknown() {
        assert_eq!(
            parse_formats("json, VTT,srt,podcast").unwrap(),
            vec![Format::Json, Format::Vtt, Format::Srt, Format::Podcast]
        );
        assert!(parse_formats("podcast.json").is_err());
        assert!(parse_formats("json,docx").is_err());
    }

    #[test]
    fn write_all_skips_rttm_without_speakers() {
        let dir = tempfile::tempdir().unwrap();
        let options = ExportOptions::default();
        let written = write_all(
            &fixture::no_speakers(),
            dir.path(),
            "x",
            &Format::ALL,
            &options,
        )
        .unwrap();
        let names: Vec<_> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "x.json",
                "x.vtt",
                "x.srt",
                "x.txt",
                "x.podcast.json",
                "x.chapters.json",
                "x.html"
            ]
        );
    }
}
