//! The one transcript model every stage fills in and every exporter reads.
//!
//! Times are seconds from the first sample of the recording (as it was ingested,
//! before any speech detection), computed from sample-exact offsets at 16 kHz.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// A whole transcript of one input: what was heard, from what, with what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transcript {
    pub tool: ToolInfo,
    pub source: SourceInfo,
    pub model: ModelInfo,
    pub params: TranscribeParams,
    /// Speakers found by diarization; empty when diarization did not run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speakers: Vec<Speaker>,
    /// Who speaks when (diarization), overlaps included; empty when it did not run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<Turn>,
    /// What the Space's metadata file (next to the input) says, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<SpaceMetadata>,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Provenance of the audio: what file it was and what was measured on it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SourceInfo {
    pub path: String,
    /// SHA-256 of the input file (for a playlist: of the playlist text and every chunk, in order).
    pub sha256: String,
    /// "file" or "hls".
    pub kind: String,
    /// Duration of the normalized audio in seconds.
    pub duration: f64,
    /// Number of 16 kHz mono samples the pipeline worked on.
    pub samples: u64,
    pub codec: String,
    /// Sample rate of the source before resampling.
    pub sample_rate: u32,
    pub channels: u16,
    pub loudness: Loudness,
    /// Wall-clock time of the first sample (RFC 3339, UTC), when an anchor gives it
    /// (see `clock`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_clock_start: Option<String>,
    /// How the recording's seconds are tied to the clock on the wall: which anchor the
    /// words' `wall_clock` times come from, where the clock is set, what disagrees.
    #[serde(default, skip_serializing_if = "RecordingClock::is_unknown")]
    pub clock: RecordingClock,
    /// Stretches that could not be decoded or were missing; filled with silence so later times stay true.
    #[serde(default)]
    pub gaps: Vec<Gap>,
    /// For published audio (`spacescribe publish`): the recording it was made from and
    /// what was done to it. Then `path`, `sha256`, `codec`, `sample_rate`, `channels`
    /// and `loudness` describe the published file, and every time is on its timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_from: Option<PublishedFrom>,
}

/// How a recording's seconds map to UTC: the anchors of the most trusted kind the input
/// has, in order. A time `t` takes the last anchor at or before it (the first one when
/// `t` is earlier) and adds the seconds since; an anchor without a time means the clock
/// is lost from there (a playlist discontinuity with no new date) until the next.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RecordingClock {
    /// The kind of anchor used; none when the input has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<ClockSource>,
    /// Where the clock is set: the first anchor and every one where it jumps against
    /// the one before (more than [`RecordingClock::SET_AFTER`]) or is lost.
    #[serde(default)]
    pub anchors: Vec<ClockAnchor>,
    /// Anchors that disagree by more than a second, and where the clock is lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl RecordingClock {
    /// An anchor further than this from where the clock before it runs sets the clock
    /// again (below it, the difference is the stamps' own rounding).
    pub const SET_AFTER: f64 = 0.02;

    pub fn is_unknown(&self) -> bool {
        self.anchor.is_none() && self.warnings.is_empty()
    }

    /// UTC `seconds` into the recording, to the millisecond; none when no anchor gives
    /// it (no clock, or the clock is lost there).
    pub fn utc_at(&self, seconds: f64) -> Option<DateTime<Utc>> {
        let after = self.anchors.partition_point(|a| a.at <= seconds + 1e-9);
        let anchor = self.anchors.get(after.saturating_sub(1))?;
        let utc = DateTime::parse_from_rfc3339(anchor.utc.as_deref()?).ok()?;
        let millis = ((seconds - anchor.at) * 1000.0).round() as i64;
        Some(utc.to_utc() + TimeDelta::milliseconds(millis))
    }

    /// [`utc_at`](Self::utc_at) as RFC 3339 with milliseconds (`2024-08-13T00:41:07.250Z`).
    pub fn rfc3339_at(&self, seconds: f64) -> Option<String> {
        self.utc_at(seconds).map(rfc3339_millis)
    }
}

/// `2024-08-13T00:41:07.250Z`: how every wall-clock time is written.
pub fn rfc3339_millis(utc: DateTime<Utc>) -> String {
    utc.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One point where the recording's time is tied to UTC.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClockAnchor {
    /// Seconds into the recording.
    pub at: f64,
    /// UTC at that instant, RFC 3339 with milliseconds; none: the clock is lost here.
    pub utc: Option<String>,
    pub source: ClockSource,
    /// What set it: the chunk, or why the clock is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Kinds of anchor, most trusted first.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ClockSource {
    /// The playlist's `#EXT-X-PROGRAM-DATE-TIME` on a chunk.
    ProgramDateTime,
    /// An ID3 `TIT3` (NTP time) stamp at the start of a chunk.
    Id3,
    /// The Space metadata file's `started_at`.
    Metadata,
    /// `--started-at` from the user.
    User,
}

impl ClockSource {
    /// How messages name it.
    pub fn describe(self) -> &'static str {
        match self {
            ClockSource::ProgramDateTime => "the playlist's PROGRAM-DATE-TIME",
            ClockSource::Id3 => "the chunks' ID3 TIT3 stamps",
            ClockSource::Metadata => "the metadata file's started_at",
            ClockSource::User => "--started-at",
        }
    }
}

/// The original of a published file and how it was made from it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PublishedFrom {
    /// The original recording, as its transcript named it.
    pub path: String,
    pub sha256: String,
    /// Stretches of the original left out, in its seconds, in order: a time `t` of the
    /// original is `t` minus the length of every cut before it in the published file.
    pub cuts: Vec<Cut>,
    /// Gain applied before the limiter, dB.
    pub gain_db: f64,
    /// The loudness aimed at (LUFS) and the limiter's true-peak ceiling (dBTP).
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
}

/// A stretch `start..end` (seconds) cut out of a recording.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Cut {
    pub start: f64,
    pub end: f64,
}

/// EBU R128 loudness of the 16 kHz mono mix the models hear, and the source's peak.
///
/// Integrated loudness and range follow ITU-R BS.1770 / EBU Tech 3342 on the mono mix
/// (mean of the channels), not on each source channel: a stereo source carrying the same
/// signal in both channels reads 3 LU lower here than a BS.1770 meter summing both
/// channels would show. The peak is the largest source sample (not an oversampled true peak).
///
/// For published audio (`SourceInfo::published_from` set) every figure is measured on
/// the published file itself, decoded again: BS.1770 over all its channels at its own
/// rate, and its true peak.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct Loudness {
    /// Integrated loudness in LUFS; `None` when the input is too short or silent to gate.
    pub integrated_lufs: Option<f64>,
    /// Loudness range in LU; `None` when there is no 3 s of gated audio to measure it on.
    pub range_lu: Option<f64>,
    /// Largest absolute source sample over all channels, in dBFS (0 means clipping is likely).
    pub sample_peak_dbfs: Option<f64>,
    /// True peak (BS.1770-4 Annex 2, 4x oversampled) in dBTP; measured on published audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_peak_dbtp: Option<f64>,
}

/// A stretch of the recording that is not real audio.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Gap {
    pub start: f64,
    pub end: f64,
    /// Why: "damaged chunk chunk_…_3_a.aac: …", "timestamp gap", "discontinuity", "undecodable frames".
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ModelInfo {
    pub name: String,
    pub path: String,
    pub sha256: String,
    /// The map the words' probabilities went through (`transcribe/calibration.rs`);
    /// absent when they are the model's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability_calibration: Option<String>,
    /// The speech-detection model, when one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vad: Option<Box<ModelInfo>>,
}

/// Everything that changes the words that come out; recorded so a transcript can be
/// reproduced. The thread count is not among them: the output does not depend on it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TranscribeParams {
    pub language: String,
    pub diarize: bool,
    pub vad_threshold: f32,
    pub max_chunk_seconds: f32,
    pub beam_size: i32,
    pub temperature_fallback: Vec<f32>,
    pub logprob_threshold: f32,
    pub no_speech_threshold: f32,
    /// Names and words the user asked Whisper to expect (`--hotwords`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hotwords: Vec<String>,
    /// Whether the Space metadata's title and names go in the prompt too.
    #[serde(default = "yes")]
    pub metadata_prompt: bool,
    /// The prompt Whisper read before every chunk of this recording, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Keep the model's own word probabilities (`--raw-probabilities`) instead of the
    /// calibrated ones.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw_probabilities: bool,
}

fn yes() -> bool {
    true
}

impl Default for TranscribeParams {
    fn default() -> Self {
        TranscribeParams {
            language: "en".into(),
            diarize: false,
            vad_threshold: 0.5,
            max_chunk_seconds: 30.0,
            beam_size: 1,
            temperature_fallback: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            logprob_threshold: -1.0,
            no_speech_threshold: 0.6,
            hotwords: Vec::new(),
            metadata_prompt: true,
            prompt: None,
            raw_probabilities: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Speaker {
    pub id: String,
    pub name: String,
    /// Seconds this speaker talks in total.
    pub total_time: f64,
    /// Where the name came from: "diarization" (the id), "user", "voiceprint".
    #[serde(default)]
    pub named_by: String,
    /// Cosine similarity to the enrolled voiceprint, when named by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voiceprint_similarity: Option<f32>,
}

/// A stretch in which one speaker talks (others may talk at the same time).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Turn {
    pub start: f64,
    pub end: f64,
    pub speaker: String,
}

/// Title and roster of the Space, from a twspace-dl / yt-dlp metadata file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SpaceMetadata {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<Participant>,
    /// People who could speak (hosts and speakers), as listed; nobody is named from
    /// this list unless a voiceprint or the user says so.
    #[serde(default)]
    pub participants: Vec<Participant>,
    /// When the Space started (RFC 3339, UTC), as the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Participant {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
}

/// One stretch of speech by (at most) one speaker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub speaker: Option<String>,
    pub text: String,
    pub words: Vec<Word>,
    /// Mean token log-probability Whisper gave this segment.
    pub avg_logprob: f32,
    /// Whisper's probability that the window held no speech.
    pub no_speech_prob: f32,
    /// Someone else talks at the same time in part of this segment.
    #[serde(default)]
    pub overlap: bool,
    /// UTC at `start` (RFC 3339, milliseconds), when the recording's clock is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_clock: Option<String>,
}

/// A word with its time, how sure the model was, and who said it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Word {
    /// The word as spoken, with leading space stripped and punctuation kept.
    pub word: String,
    pub start: f64,
    pub end: f64,
    /// How likely the word is right, 0..1: the mean of its token probabilities (as
    /// faster-whisper reports it), calibrated when `model.probability_calibration` says so.
    pub probability: f32,
    pub speaker: Option<String>,
    /// Spoken while another speaker was talking too.
    #[serde(default)]
    pub overlap: bool,
    /// UTC at `start` (RFC 3339, milliseconds), when the recording's clock is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_clock: Option<String>,
}

impl Word {
    /// Below this, exporters mark the word as uncertain rather than hide the doubt: with
    /// calibrated probabilities, a marked word is more likely wrong than right.
    pub const UNCERTAIN_BELOW: f32 = 0.5;

    pub fn is_uncertain(&self) -> bool {
        self.probability < Self::UNCERTAIN_BELOW
    }
}

impl Transcript {
    /// Reads a transcript JSON that spacescribe wrote.
    pub fn read_json(path: &std::path::Path) -> crate::Result<Transcript> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| crate::Error::input(path, format!("not a spacescribe transcript: {e}")))
    }

    /// The display name of a speaker id: the name given to it, else the id itself.
    pub fn speaker_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.speakers
            .iter()
            .find(|s| s.id == id)
            .map_or(id, |s| s.name.as_str())
    }

    /// All words in time order.
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        self.segments.iter().flat_map(|s| s.words.iter())
    }

    /// All words in time order, each with the speaker who said it: its own, else its
    /// segment's.
    pub fn attributed_words(&self) -> Vec<Word> {
        self.segments
            .iter()
            .flat_map(|segment| {
                segment.words.iter().map(|w| Word {
                    speaker: w.speaker.clone().or_else(|| segment.speaker.clone()),
                    ..w.clone()
                })
            })
            .collect()
    }
}
