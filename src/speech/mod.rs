//! Speech detection: where in the recording someone is talking, and how to cut
//! that into chunks Whisper can take (at most 30 s, cut at pauses).
//!
//! The Silero VAD (ggml, run by whisper.cpp's `WhisperVadContext`) gives one speech
//! probability per 512-sample frame; turning those into regions and chunks is
//! done here, in plain Rust, so every boundary is a sample-exact offset into the
//! recording. Dead air, hold music and silence never reach Whisper, which is the
//! first guard against invented text.

mod regions;

pub use regions::{SpeechParams, chunk_regions, regions_from_probabilities};

use crate::audio::Audio;
use crate::error::{Error, Result};
use std::path::Path;
use whisper_rs::{WhisperVadContext, WhisperVadContextParams};

/// A stretch of speech, in 16 kHz samples from the start of the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechSpan {
    pub start: u64,
    pub end: u64,
}

impl SpeechSpan {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// The output of this stage: the speech regions found and the chunks to transcribe.
#[derive(Debug, Clone, Default)]
pub struct SpeechMap {
    pub regions: Vec<SpeechSpan>,
    pub chunks: Vec<SpeechSpan>,
}

/// Runs the Silero VAD over the whole recording.
pub struct SpeechDetector {
    context: WhisperVadContext,
    model_path: std::path::PathBuf,
}

impl SpeechDetector {
    pub fn load(model_path: &Path, threads: usize) -> Result<Self> {
        let path_str = model_path
            .to_str()
            .ok_or_else(|| Error::model(model_path, "path is not UTF-8"))?;
        if !model_path.is_file() {
            return Err(Error::model(
                model_path,
                "not found (run `spacescribe models fetch`)",
            ));
        }
        let mut params = WhisperVadContextParams::new();
        params.set_n_threads(threads.max(1) as i32);
        let context = WhisperVadContext::new(path_str, params)
            .map_err(|e| Error::model(model_path, format!("cannot load VAD model: {e}")))?;
        Ok(SpeechDetector {
            context,
            model_path: model_path.to_path_buf(),
        })
    }

    /// Speech probability per frame of [`regions::FRAME_SAMPLES`] samples.
    pub fn probabilities(&mut self, audio: &Audio) -> Result<Vec<f32>> {
        // Long recordings are read and fed in slices (whisper.cpp also takes the length
        // as a C int).
        let total = audio.len();
        let slice_len = regions::DETECT_SLICE_SAMPLES as u64;
        let mut probs = Vec::with_capacity((total / regions::FRAME_SAMPLES as u64) as usize + 1);
        for start in (0..total).step_by(slice_len as usize) {
            let slice = audio.read(start, start + slice_len)?;
            self.context
                .detect_speech(&slice)
                .map_err(|e| Error::stage(&self.model_path, "speech detection", format!("{e}")))?;
            probs.extend_from_slice(self.context.probabilities());
        }
        Ok(probs)
    }

    /// Finds the speech regions and cuts them into transcription chunks.
    pub fn map(&mut self, audio: &Audio, params: &SpeechParams) -> Result<SpeechMap> {
        let probs = self.probabilities(audio)?;
        let total = audio.len();
        let regions = regions_from_probabilities(&probs, total, params);
        let chunks = chunk_regions(&regions, &probs, params);
        Ok(SpeechMap { regions, chunks })
    }
}
