//! `spacescribe publish`: a finished transcript's recording made ready to put online,
//! and every transcript format made again for it.
//!
//! A job on top of the library: it reads a transcript JSON, opens the original through
//! the pipeline's public API ([`crate::pipeline::open_source_audio`], its own rate and
//! channels), checks it is the recording the transcript was made from, and then
//!
//! 1. plans the cuts ([`cuts`]: dead air before the first word and after the last,
//!    pauses over `--max-silence`), never inside speech;
//! 2. measures the loudness of what is kept (BS.1770 over all channels), splicing as
//!    it will be published ([`splice`]);
//! 3. renders: splice, gain to the target, true-peak limit ([`limiter`]), encode
//!    ([`encode`]), written atomically;
//! 4. decodes the published file again and measures it; when the encoder's overshoot
//!    or the limiter moved it off the target, renders once more with the error taken
//!    out;
//! 5. shifts every time of the transcript by what was cut before it and writes every
//!    format as `STEM.published.*` ([`crate::export::write_all`]), the JSON's `source`
//!    describing the published file and where it came from.
//!
//! The recording is streamed in blocks in every pass: memory does not grow with its
//! length; an hour costs about five decodes of it.

mod clip;
mod cuts;
mod encode;
mod limiter;
mod splice;

pub use clip::{Clip, ClipOptions, clip};

use crate::atomic::write_file_atomic;
use crate::error::{Error, Result};
use crate::export::{self, ExportOptions, Format};
use crate::pipeline::{self, PcmFormat, ProgramMeter, SourceAudio, TruePeakMeter};
use crate::transcript::{Loudness, PublishedFrom, SourceInfo, Transcript};
use cuts::{CROSSFADE_SECONDS, CutPlan, CutSettings};
use encode::AudioEncoder;
use limiter::Limiter;
use splice::Splicer;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The podcast norm: integrated loudness, LUFS.
pub const TARGET_LUFS: f64 = -16.0;
/// The podcast norm: the highest true peak allowed in the published file, dBTP.
pub const MAX_TRUE_PEAK_DBTP: f64 = -1.0;
/// Loudness off the target by more than this is rendered again, LU.
const LOUDNESS_TOLERANCE: f64 = 0.1;
/// Renders at most this many times (the first and its corrections).
const MAX_RENDERS: usize = 3;

/// The published audio's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AudioFormat {
    /// MP3 (the default: every podcast app, host and browser plays it).
    #[default]
    Mp3,
    /// FLAC: lossless, for archiving or a further edit.
    Flac,
    /// Opus in Ogg: half the MP3's size for the same sound; browsers and most podcast
    /// apps play it.
    Opus,
}

impl AudioFormat {
    pub fn extension(self) -> &'static str {
        encode::codec_name(self)
    }

    /// The limiter's ceiling: under the norm's -1 dBTP by a margin for what encoding
    /// adds (a lossy codec's peaks overshoot, MP3's by up to 0.3 dB and Opus's by 0.5 to
    /// 0.9 dB on the samples; FLAC only rounds to 16 bits), so that one render is
    /// usually enough.
    fn ceiling_dbtp(self) -> f64 {
        match self {
            AudioFormat::Mp3 => -1.5,
            AudioFormat::Opus => -2.2,
            AudioFormat::Flac => -1.2,
        }
    }
}

impl FromStr for AudioFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mp3" => Ok(AudioFormat::Mp3),
            "flac" => Ok(AudioFormat::Flac),
            "opus" => Ok(AudioFormat::Opus),
            other => Err(Error::Usage(format!(
                "unknown audio format '{other}' (choose mp3, opus or flac)"
            ))),
        }
    }
}

/// What to publish and how.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishOptions {
    /// Where the files go (default: the transcript's folder).
    pub out_dir: Option<PathBuf>,
    pub format: AudioFormat,
    /// Seconds kept before the first word and after the last.
    pub lead_in: f64,
    pub lead_out: f64,
    /// Pauses longer than this many seconds are shortened to it (default: kept).
    pub max_silence: Option<f64>,
    /// How the transcript formats written again are laid out; the user's chapters are
    /// given on the original's clock and moved with the cuts.
    pub export: ExportOptions,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            out_dir: None,
            format: AudioFormat::default(),
            lead_in: 0.5,
            lead_out: 1.0,
            max_silence: None,
            export: ExportOptions::default(),
        }
    }
}

/// What [`publish`] wrote and measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// `DIR/STEM.published.EXT`.
    pub audio: PathBuf,
    /// `DIR/STEM.published.{json,vtt,…}`.
    pub transcripts: Vec<PathBuf>,
    /// Measured on the published file, decoded again.
    pub loudness: Loudness,
    /// Seconds of audio published, and cut.
    pub duration: f64,
    pub cut_seconds: f64,
    /// Gain applied before the limiter, dB.
    pub gain_db: f64,
}

/// Publishes the recording that `transcript_json` (a spacescribe transcript) was made
/// from: trimmed, loudness-normalized, limited and encoded, with every transcript
/// format written again on the published audio's timeline.
pub fn publish(transcript_json: &Path, options: &PublishOptions) -> Result<Published> {
    let mut transcript = Transcript::read_json(transcript_json)?;
    let (original, source) = open_original(&transcript, transcript_json)?;
    let pcm = source.format().clone();
    let settings = CutSettings {
        lead_in: options.lead_in,
        lead_out: options.lead_out,
        max_silence: options.max_silence,
    };
    let plan = CutPlan::plan(&transcript, pcm.sample_rate, &settings, transcript_json)?;
    let dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| folder_of(transcript_json));
    let stem = format!("{}.published", pipeline::output_stem(transcript_json));
    let audio = dir.join(format!("{stem}.{}", options.format.extension()));

    let kept = measure_kept(&source, &plan)?;
    let integrated = kept.integrated_lufs.ok_or_else(|| {
        Error::input(
            &original,
            "is silent where it is kept: no loudness to normalize",
        )
    })?;
    let mut render = Render {
        gain_db: TARGET_LUFS - integrated,
        ceiling_dbtp: options.format.ceiling_dbtp(),
    };
    let (frames, loudness) = render_until_on_target(&source, &plan, &mut render, options, &audio)?;

    let duration = frames as f64 / f64::from(pcm.sample_rate);
    let original_sha = std::mem::take(&mut transcript.source.sha256);
    // The rate and channels as the published file decodes (an Opus file at 48 kHz
    // whatever the original's rate).
    let published = pipeline::open_source_audio(&audio)?;
    plan.shift_transcript(&mut transcript);
    transcript.source = SourceInfo {
        path: audio.display().to_string(),
        sha256: published.sha256()?,
        kind: "file".into(),
        duration,
        samples: (duration * 16_000.0).round() as u64,
        codec: encode::codec_name(options.format).into(),
        sample_rate: published.format().sample_rate,
        channels: published.format().channels,
        loudness,
        wall_clock_start: transcript.source.clock.rfc3339_at(0.0),
        clock: std::mem::take(&mut transcript.source.clock),
        gaps: std::mem::take(&mut transcript.source.gaps),
        published_from: Some(PublishedFrom {
            path: transcript.source.path.clone(),
            sha256: original_sha,
            cuts: plan.cuts(),
            gain_db: render.gain_db,
            target_lufs: TARGET_LUFS,
            ceiling_dbtp: render.ceiling_dbtp,
        }),
    };
    let mut layout = options.export.clone();
    for chapter in &mut layout.chapters {
        chapter.start_time = plan.shift(chapter.start_time);
    }
    let transcripts = export::write_all(&transcript, &dir, &stem, &Format::ALL, &layout)?;
    Ok(Published {
        audio,
        transcripts,
        loudness,
        duration,
        cut_seconds: transcript
            .source
            .published_from
            .as_ref()
            .map_or(0.0, |p| p.cuts.iter().map(|c| c.end - c.start).sum()),
        gain_db: render.gain_db,
    })
}

/// The folder a file is in ("." for a bare name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The recording `transcript` (read from `json`) was made from, opened at its own rate
/// and channels once its bytes are checked to be the ones transcribed.
fn open_original(transcript: &Transcript, json: &Path) -> Result<(PathBuf, SourceAudio)> {
    let original = locate_original(&transcript.source.path, json)?;
    let source = pipeline::open_source_audio(&original)?;
    check_unchanged(&source, transcript, &original, json)?;
    Ok((original, source))
}

/// The original as the transcript names it: as written (relative to where it was
/// transcribed from), else beside the transcript.
fn locate_original(named: &str, json: &Path) -> Result<PathBuf> {
    let as_named = PathBuf::from(named);
    if as_named.exists() {
        return Ok(as_named);
    }
    let beside = folder_of(json).join(&as_named);
    if as_named.is_relative() && beside.exists() {
        return Ok(beside);
    }
    Err(Error::input(
        &as_named,
        format!("the recording {} was made from is missing", json.display()),
    ))
}

/// Refuses an original whose bytes are not those the transcript was made from.
fn check_unchanged(
    source: &SourceAudio,
    transcript: &Transcript,
    original: &Path,
    json: &Path,
) -> Result<()> {
    let found = source.sha256()?;
    let expected = &transcript.source.sha256;
    if &found == expected {
        return Ok(());
    }
    Err(Error::input(
        original,
        format!(
            "changed since {} was made from it (SHA-256 {}…, the transcript says {}…); transcribe it again",
            json.display(),
            short(&found),
            short(expected)
        ),
    ))
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// The splicer for `plan` on audio of `pcm`.
fn splicer(plan: &CutPlan, pcm: &PcmFormat) -> Splicer {
    let cuts = plan.frame_cuts();
    let to_end = cuts.last().is_some_and(|c| plan.runs_to_end(c));
    let fade = (CROSSFADE_SECONDS * f64::from(pcm.sample_rate)).round() as u64;
    Splicer::new(cuts, to_end, fade, pcm.channels)
}

/// Loudness of the audio that will be published, before any gain.
fn measure_kept(source: &SourceAudio, plan: &CutPlan) -> Result<Loudness> {
    let pcm = source.format();
    let mut splicer = splicer(plan, pcm);
    let mut meter = ProgramMeter::new(pcm.sample_rate, pcm.channels);
    let mut kept = Vec::new();
    source.stream(&mut |block| {
        kept.clear();
        splicer.push(block, &mut kept);
        meter.push(&kept);
        Ok(())
    })?;
    Ok(meter.finish())
}

/// How one render turns the kept audio into the published file.
#[derive(Debug, Clone, Copy)]
struct Render {
    gain_db: f64,
    ceiling_dbtp: f64,
}

/// Renders, measures the file, and renders again (at most [`MAX_RENDERS`] in all) while
/// its loudness is off the target or its true peak over the norm; returns the frames
/// published and the last file's loudness.
fn render_until_on_target(
    source: &SourceAudio,
    plan: &CutPlan,
    render: &mut Render,
    options: &PublishOptions,
    audio: &Path,
) -> Result<(u64, Loudness)> {
    let mut attempt = 1;
    loop {
        let frames = render_file(source, plan, *render, options.format, audio)?;
        let loudness = measure_file(audio)?;
        let loudness_off = loudness.integrated_lufs.map_or(0.0, |l| TARGET_LUFS - l);
        let peak_over = loudness
            .true_peak_dbtp
            .map_or(0.0, |p| p - MAX_TRUE_PEAK_DBTP);
        let on_target = loudness_off.abs() <= LOUDNESS_TOLERANCE && peak_over <= 0.0;
        if on_target || attempt == MAX_RENDERS {
            return Ok((frames, loudness));
        }
        render.gain_db += loudness_off;
        if peak_over > 0.0 {
            // Take the encoder's overshoot off the ceiling, with a little to spare.
            render.ceiling_dbtp -= peak_over + 0.1;
        }
        attempt += 1;
    }
}

/// Splices, gains, limits and encodes the recording into `audio`, atomically; returns
/// the frames written.
fn render_file(
    source: &SourceAudio,
    plan: &CutPlan,
    render: Render,
    format: AudioFormat,
    audio: &Path,
) -> Result<u64> {
    let pcm = source.format().clone();
    write_file_atomic(audio, |file| {
        let file = file.try_clone().map_err(|e| Error::io(audio, e))?;
        let mut chain = Chain {
            splicer: splicer(plan, &pcm),
            gain: 10f32.powf(render.gain_db as f32 / 20.0),
            limiter: Limiter::new(pcm.sample_rate, pcm.channels, render.ceiling_dbtp),
            encoder: encode::open(format, &pcm, file, audio)?,
            channels: usize::from(pcm.channels),
            spliced: Vec::new(),
            limited: Vec::new(),
            frames: 0,
        };
        source.stream(&mut |block| chain.push(block))?;
        chain.finish()
    })
}

/// The render chain: splice, gain, limit, encode.
struct Chain {
    splicer: Splicer,
    gain: f32,
    limiter: Limiter,
    encoder: Box<dyn AudioEncoder>,
    channels: usize,
    spliced: Vec<f32>,
    limited: Vec<f32>,
    frames: u64,
}

impl Chain {
    fn push(&mut self, block: &[f32]) -> Result<()> {
        self.spliced.clear();
        self.splicer.push(block, &mut self.spliced);
        for sample in &mut self.spliced {
            *sample *= self.gain;
        }
        self.limited.clear();
        self.limiter.push(&self.spliced, &mut self.limited);
        self.encode_limited()
    }

    fn encode_limited(&mut self) -> Result<()> {
        self.frames += (self.limited.len() / self.channels) as u64;
        self.encoder.encode(&self.limited)
    }

    fn finish(mut self) -> Result<u64> {
        self.limited.clear();
        self.limiter.finish(&mut self.limited);
        self.encode_limited()?;
        self.encoder.finish()?;
        Ok(self.frames)
    }
}

/// The published file's loudness, decoded again: integrated, range, sample and true peak.
fn measure_file(audio: &Path) -> Result<Loudness> {
    let decoded = pipeline::open_source_audio(audio)?;
    let pcm = decoded.format();
    let mut meter = ProgramMeter::new(pcm.sample_rate, pcm.channels);
    let mut peak = TruePeakMeter::new(pcm.channels);
    decoded.stream(&mut |block| {
        meter.push(block);
        peak.push(block);
        Ok(())
    })?;
    Ok(Loudness {
        true_peak_dbtp: peak.finish(),
        ..meter.finish()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_name_their_files() {
        assert_eq!("MP3".parse::<AudioFormat>().unwrap(), AudioFormat::Mp3);
        assert_eq!("flac".parse::<AudioFormat>().unwrap(), AudioFormat::Flac);
        let opus = " Opus".parse::<AudioFormat>().unwrap();
        assert_eq!((opus, opus.extension()), (AudioFormat::Opus, "opus"));
        assert_eq!(encode::codec_name(opus), "opus");
        let wav = "wav".parse::<AudioFormat>().unwrap_err();
        assert_eq!(wav.kind(), crate::ErrorKind::Usage);
        assert!(wav.to_string().contains("mp3, opus or flac"), "{wav}");
    }

    #[test]
    fn a_missing_original_names_the_file() {
        let err = locate_original("/nonexistent/space.m4a", Path::new("out/space.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/nonexistent/space.m4a: ") && err.contains("out/space.json"),
            "{err}"
        );
    }
}
