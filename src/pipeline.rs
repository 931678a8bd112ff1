//! The pipeline: one input through every stage, once, in order.
//!
//! ```text
//! normalize::load_recording  (ingest + decode to mono + resample + loudness)
//!   -> speech::SpeechDetector::map      (speech regions, ≤30 s chunks)
//!   -> transcribe::Transcriber          (timed, scored words per chunk)
//!   -> diarize::Diarizer                (speaker turns, overlaps, voiceprints)
//!   -> assign::assign_speakers          (words -> segments, speakers)
//!   -> naming                           (user map, voiceprints, roster handles)
//!   -> export::write_all                (json, vtt, srt, txt, rttm)
//! ```
//!
//! Models are loaded once into [`Engines`] and reused for every input.

use crate::assign::{SpeakerTimeline, SpeakerTurn, assign_speakers};
use crate::audio::seconds;
use crate::diarize::{Diarization, DiarizeParams, Diarizer};
use crate::error::{Error, Result};
use crate::export::{self, Format};
use crate::models;
use crate::naming::{self, NameRequest, Naming};
use crate::normalize::{self, LoadedRecording};
use crate::speech::{SpeechDetector, SpeechParams};
use crate::transcribe::{ChunkCache, Transcriber};
use crate::transcript::{ModelInfo, SpaceMetadata, ToolInfo, TranscribeParams, Transcript, Turn};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub model: PathBuf,
    pub vad_model: PathBuf,
    pub params: TranscribeParams,
    pub speech: SpeechParams,
    pub formats: Vec<Format>,
    pub out_dir: PathBuf,
    /// Show progress bars (they draw only when stderr is a terminal).
    pub progress: bool,
    /// Diarization settings; `None` skips it (`--no-diarize`).
    pub diarize: Option<DiarizeParams>,
    pub segmentation_model: PathBuf,
    pub embedding_model: PathBuf,
    pub names: NameRequest,
}

/// The loaded models, shared by every input of a run.
pub struct Engines {
    transcriber: Option<Transcriber>,
    detector: SpeechDetector,
    model_info: ModelInfo,
    diarizer: Option<Diarizer>,
    /// Enrolled voices: name and voiceprint.
    enrolled: Vec<(String, Vec<f32>)>,
}

impl Engines {
    /// Loads the models a transcription run needs.
    pub fn load(options: &Options) -> Result<Self> {
        let transcriber = Transcriber::load(&options.model, options.params.clone())?;
        let mut engines = Self::load_without_whisper(options)?;
        engines.model_info.name = transcriber.summary().name.clone();
        engines.model_info.path = options.model.display().to_string();
        engines.model_info.sha256 = models::sha256_file(&options.model)?;
        engines.transcriber = Some(transcriber);
        Ok(engines)
    }

    /// Loads only what diarization needs (`spacescribe diarize`).
    pub fn load_without_whisper(options: &Options) -> Result<Self> {
        let detector = SpeechDetector::load(&options.vad_model, options.params.threads)?;
        let diarizer = match options.diarize {
            Some(_) => Some(Diarizer::load(
                &options.segmentation_model,
                &options.embedding_model,
            )?),
            None => None,
        };
        let enrolled = enroll(diarizer.as_ref(), &options.names)?;
        let model_info = ModelInfo {
            vad: Some(Box::new(ModelInfo {
                name: "silero-vad".into(),
                path: options.vad_model.display().to_string(),
                sha256: models::sha256_file(&options.vad_model)?,
                vad: None,
            })),
            ..ModelInfo::default()
        };
        Ok(Engines {
            transcriber: None,
            detector,
            model_info,
            diarizer,
            enrolled,
        })
    }
}

/// Voiceprints of the enrollment clips.
fn enroll(diarizer: Option<&Diarizer>, names: &NameRequest) -> Result<Vec<(String, Vec<f32>)>> {
    if names.enroll.is_empty() {
        return Ok(Vec::new());
    }
    let diarizer = diarizer
        .ok_or_else(|| Error::Usage("--enroll needs diarization (drop --no-diarize)".into()))?;
    names
        .enroll
        .iter()
        .map(|(name, clip)| {
            let audio = normalize::load_recording(clip, None)?.audio;
            Ok((name.clone(), diarizer.voiceprint(&audio.read_all()?)?))
        })
        .collect()
}

/// Transcribes one input into the transcript model (nothing written).
pub fn transcribe_input(engines: &Engines, input: &Path, options: &Options) -> Result<Transcript> {
    let LoadedRecording { audio, source } = with_spinner(options, "decoding", || {
        normalize::load_recording(input, Some(&options.out_dir))
    })?;
    let speech = with_spinner(options, "finding speech", || {
        engines.detector.map(&audio, &options.speech)
    })?;
    tracing::info!(
        "{}: {} speech regions, {} chunks, {:.1} s of speech in {:.1} s",
        input.display(),
        speech.regions.len(),
        speech.chunks.len(),
        speech.regions.iter().map(|r| r.len()).sum::<u64>() as f64 / 16_000.0,
        audio.duration_seconds()
    );
    let transcriber = engines
        .transcriber
        .as_ref()
        .ok_or_else(|| Error::Usage("no Whisper model loaded".into()))?;
    let bar = progress_bar(options, speech.chunks.len() as u64, "transcribing");
    let raw = transcriber.transcribe(
        &audio,
        &speech,
        input,
        Some(&resume_cache(engines, options, input, &source.sha256)),
        &|| bar.inc(1),
    )?;
    bar.finish_and_clear();
    let diarization = diarize(engines, &audio, options)?;
    let timeline = SpeakerTimeline {
        turns: &diarization.turns,
        overlaps: &diarization.overlaps,
    };
    let segments = assign_speakers(raw, timeline);
    let mut transcript = Transcript {
        segments,
        ..bare_transcript(engines, source, options)
    };
    add_speakers(&mut transcript, engines, &diarization, input, options)?;
    Ok(transcript)
}

/// Diarizes one input without transcribing it: turns and speakers only.
pub fn diarize_input(engines: &Engines, input: &Path, options: &Options) -> Result<Transcript> {
    let LoadedRecording { audio, source } = with_spinner(options, "decoding", || {
        normalize::load_recording(input, Some(&options.out_dir))
    })?;
    let diarization = diarize(engines, &audio, options)?;
    let mut transcript = bare_transcript(engines, source, options);
    add_speakers(&mut transcript, engines, &diarization, input, options)?;
    Ok(transcript)
}

fn bare_transcript(
    engines: &Engines,
    source: crate::transcript::SourceInfo,
    options: &Options,
) -> Transcript {
    Transcript {
        tool: ToolInfo::default(),
        source,
        model: engines.model_info.clone(),
        params: options.params.clone(),
        speakers: Vec::new(),
        turns: Vec::new(),
        metadata: None,
        segments: Vec::new(),
    }
}

fn diarize(
    engines: &Engines,
    audio: &crate::audio::Audio,
    options: &Options,
) -> Result<Diarization> {
    match (&engines.diarizer, &options.diarize) {
        (Some(diarizer), Some(params)) => {
            with_spinner(options, "diarizing", || diarizer.run(audio, params))
        }
        _ => Ok(Diarization::default()),
    }
}

/// Speaker list, turns, the Space's metadata and the names asked for.
fn add_speakers(
    transcript: &mut Transcript,
    engines: &Engines,
    diarization: &Diarization,
    input: &Path,
    options: &Options,
) -> Result<()> {
    // A broken metadata file beside the recording costs the title and roster, not the transcript.
    transcript.metadata = naming::metadata::find_for(input).and_then(|p| {
        naming::metadata::read(&p)
            .inspect_err(|e| tracing::warn!("{e}; going on without the Space's metadata"))
            .ok()
    });
    transcript.speakers = naming::speaker_list(&diarization.speakers, &diarization.turns);
    transcript.turns = diarization.turns.iter().map(to_turn).collect();
    let names = decide_names(
        engines,
        diarization,
        &options.names,
        transcript.metadata.as_ref(),
    )?;
    naming::apply(transcript, &names);
    Ok(())
}

fn to_turn(t: &SpeakerTurn) -> Turn {
    Turn {
        start: seconds(t.start),
        end: seconds(t.end),
        speaker: t.speaker.clone(),
    }
}

/// Voiceprint matches first; the user's explicit map overrides them.
fn decide_names(
    engines: &Engines,
    diarization: &Diarization,
    request: &NameRequest,
    roster: Option<&SpaceMetadata>,
) -> Result<BTreeMap<String, Naming>> {
    let prints: Vec<(String, Vec<f32>)> = diarization
        .speakers
        .iter()
        .cloned()
        .zip(diarization.voiceprints.iter().cloned())
        .collect();
    let mut names = naming::match_voiceprints(&prints, &engines.enrolled);
    for naming in names.values_mut() {
        naming.name = naming::resolve_handle(&naming.name, roster)?;
    }
    names.extend(naming::names_from_map(
        &request.map,
        &diarization.speakers,
        roster,
    )?);
    Ok(names)
}

/// Transcribes one input and writes every requested format into the output folder.
pub fn run_input(engines: &Engines, input: &Path, options: &Options) -> Result<Vec<PathBuf>> {
    let transcript = transcribe_input(engines, input, options)?;
    let written = export::write_all(
        &transcript,
        &options.out_dir,
        &output_stem(input),
        &options.formats,
    )?;
    resume_cache(engines, options, input, &transcript.source.sha256).remove();
    Ok(written)
}

/// Diarizes one input and writes the requested formats (RTTM, JSON turns).
pub fn run_diarize_input(
    engines: &Engines,
    input: &Path,
    options: &Options,
) -> Result<Vec<PathBuf>> {
    let transcript = diarize_input(engines, input, options)?;
    export::write_all(
        &transcript,
        &options.out_dir,
        &output_stem(input),
        &options.formats,
    )
}

/// Where a killed run's finished chunks wait: under the output folder, keyed by
/// the input's and the model's hashes and every parameter that changes the words.
fn resume_cache(
    engines: &Engines,
    options: &Options,
    input: &Path,
    input_sha256: &str,
) -> ChunkCache {
    let params = serde_json::to_string(&options.params).expect("parameters serialize");
    let speech = format!("{:?}", options.speech);
    ChunkCache::new(
        &options.out_dir.join(".spacescribe-resume"),
        &output_stem(input),
        &[
            input_sha256,
            &engines.model_info.sha256,
            &params,
            &speech,
            env!("CARGO_PKG_VERSION"),
            crate::transcribe::CACHE_REVISION,
        ],
    )
}

/// Re-exports a transcript JSON with new names, without transcribing again.
pub fn rename(
    transcript_json: &Path,
    request: &NameRequest,
    out_dir: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    let text =
        std::fs::read_to_string(transcript_json).map_err(|e| Error::io(transcript_json, e))?;
    let mut transcript: Transcript = serde_json::from_str(&text).map_err(|e| {
        Error::input(
            transcript_json,
            format!("not a spacescribe transcript: {e}"),
        )
    })?;
    if !request.enroll.is_empty() {
        return Err(Error::Usage(
            "rename takes --speaker/--speaker-names; enrollment needs the audio (use transcribe --enroll)"
                .into(),
        ));
    }
    let ids: Vec<String> = transcript.speakers.iter().map(|s| s.id.clone()).collect();
    let names = naming::names_from_map(&request.map, &ids, transcript.metadata.as_ref())?;
    naming::apply(&mut transcript, &names);
    export::write_all(&transcript, out_dir, &output_stem(transcript_json), formats)
}

/// The input's file name without its extension (`space.m4a` -> `space`).
pub fn output_stem(input: &Path) -> String {
    input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "transcript".into())
}

fn progress_bar(options: &Options, len: u64, what: &'static str) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_message(what);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} chunks, eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

fn with_spinner<T>(options: &Options, what: &'static str, work: impl FnOnce() -> T) -> T {
    let spinner = if options.progress {
        let s = ProgressBar::new_spinner().with_message(what);
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    } else {
        ProgressBar::hidden()
    };
    let result = work();
    spinner.finish_and_clear();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_drop_only_the_last_extension() {
        assert_eq!(output_stem(Path::new("/a/space.m4a")), "space");
        assert_eq!(output_stem(Path::new("x/playlist.m3u8")), "playlist");
        assert_eq!(output_stem(Path::new("archive.tar.aac")), "archive.tar");
    }
}
