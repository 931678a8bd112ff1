//! The pipeline: one input through every stage, once, in order.
//!
//! ```text
//! normalize::load_recording  (ingest + decode + downmix/resample + loudness)
//!   -> speech::SpeechDetector::map      (speech regions, ≤30 s chunks)
//!   -> transcribe::Transcriber          (timed, scored words per chunk)
//!   -> [diarization: speaker turns]     (next stage to land; none yet)
//!   -> assign::assign_speakers          (words -> segments, speakers)
//!   -> export::write_all                (json, vtt, srt, txt, rttm)
//! ```
//!
//! Models are loaded once into [`Engines`] and reused for every input.

use crate::assign::{SpeakerTurn, assign_speakers};
use crate::error::{Error, Result};
use crate::export::{self, Format};
use crate::models;
use crate::normalize::{self, LoadedRecording};
use crate::speech::{SpeechDetector, SpeechParams};
use crate::transcribe::Transcriber;
use crate::transcript::{ModelInfo, ToolInfo, TranscribeParams, Transcript};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
}

/// The loaded models, shared by every input of a run.
pub struct Engines {
    transcriber: Transcriber,
    detector: Mutex<SpeechDetector>,
    model_info: ModelInfo,
}

impl Engines {
    pub fn load(options: &Options) -> Result<Self> {
        let summary = models::check_whisper_ggml(&options.model)?;
        let transcriber = Transcriber::load(&options.model, options.params.clone())?;
        let detector = SpeechDetector::load(&options.vad_model, 1)?;
        let model_info = ModelInfo {
            name: summary.name.clone(),
            path: options.model.display().to_string(),
            sha256: models::sha256_file(&options.model)?,
            vad: Some(Box::new(ModelInfo {
                name: "silero-vad".into(),
                path: options.vad_model.display().to_string(),
                sha256: models::sha256_file(&options.vad_model)?,
                vad: None,
            })),
        };
        Ok(Engines {
            transcriber,
            detector: Mutex::new(detector),
            model_info,
        })
    }
}

/// Transcribes one input into the transcript model (nothing written).
pub fn transcribe_input(engines: &Engines, input: &Path, options: &Options) -> Result<Transcript> {
    let LoadedRecording { audio, source } =
        with_spinner(options, "decoding", || normalize::load_recording(input))?;
    let speech = with_spinner(options, "finding speech", || {
        engines
            .detector
            .lock()
            .map_err(|_| Error::stage(input, "speech detection", "detector poisoned"))?
            .map(&audio, &options.speech)
    })?;
    tracing::info!(
        "{}: {} speech regions, {} chunks, {:.1} s of speech in {:.1} s",
        input.display(),
        speech.regions.len(),
        speech.chunks.len(),
        speech.regions.iter().map(|r| r.len()).sum::<u64>() as f64 / 16_000.0,
        audio.duration_seconds()
    );
    let bar = progress_bar(options, speech.chunks.len() as u64, "transcribing");
    let raw = engines
        .transcriber
        .transcribe(&audio, &speech.chunks, input, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let turns: Vec<SpeakerTurn> = Vec::new();
    let segments = assign_speakers(raw, &turns);
    Ok(Transcript {
        tool: ToolInfo::default(),
        source,
        model: engines.model_info.clone(),
        params: options.params.clone(),
        speakers: Vec::new(),
        segments,
    })
}

/// Transcribes one input and writes every requested format into the output folder.
pub fn run_input(engines: &Engines, input: &Path, options: &Options) -> Result<Vec<PathBuf>> {
    let transcript = transcribe_input(engines, input, options)?;
    export::write_all(
        &transcript,
        &options.out_dir,
        &output_stem(input),
        &options.formats,
    )
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
