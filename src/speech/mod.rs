//! Speech detection: where in the recording someone is talking, and how to cut
//! that into chunks Whisper can take (at most 30 s, cut at pauses).
//!
//! The Silero VAD (ggml, run by whisper.cpp's `WhisperVadContext`) gives one speech
//! probability per 512-sample frame; turning those into regions and chunks is
//! done here, in plain Rust, so every boundary is a sample-exact offset into the
//! recording. Dead air, hold music and silence never reach Whisper, which is the
//! first guard against invented text.

mod regions;

pub(crate) use regions::{SpeechParams, chunk_regions, regions_from_probabilities};

use crate::audio::Audio;
use crate::error::{Error, Result};
use crate::workers;
use std::path::Path;
use std::sync::Mutex;
use whisper_rs::{WhisperVadContext, WhisperVadContextParams};

/// A stretch of speech, in 16 kHz samples from the start of the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpeechSpan {
    pub(crate) start: u64,
    pub(crate) end: u64,
}

impl SpeechSpan {
    pub(crate) fn len(&self) -> u64 {
        self.end - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// The output of this stage: the speech regions found and the chunks to transcribe.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpeechMap {
    pub(crate) regions: Vec<SpeechSpan>,
    pub(crate) chunks: Vec<SpeechSpan>,
}

/// Runs the Silero VAD over the whole recording, a piece per core at a time.
pub(crate) struct SpeechDetector {
    /// One single-threaded context per lane (the Silero model is 0.9 MB; a context
    /// runs one stream at a time).
    lanes: Vec<Mutex<WhisperVadContext>>,
    model_path: std::path::PathBuf,
}

/// Frames of audio before a piece fed to the VAD and dropped from its output: the
/// model's LSTM restarts with every call, and 2 s bring it to where a front-to-back
/// run would be.
const PREROLL_FRAMES: u64 = 64;
/// Frames per piece of the recording given to one VAD call (60 s): many pieces per core
/// for an even share, few enough that the lead-ins cost little (3 %).
const PIECE_FRAMES: u64 = 1_875;

impl SpeechDetector {
    /// Loads `lanes` contexts (one per core to use).
    pub(crate) fn load(model_path: &Path, lanes: usize) -> Result<Self> {
        let path_str = model_path
            .to_str()
            .ok_or_else(|| Error::model(model_path, "path is not UTF-8"))?;
        if !model_path.is_file() {
            return Err(Error::model(
                model_path,
                "not found (run `spacescribe models fetch`)",
            ));
        }
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let mut params = WhisperVadContextParams::new();
                params.set_n_threads(1);
                WhisperVadContext::new(path_str, params)
                    .map(Mutex::new)
                    .map_err(|e| Error::model(model_path, format!("cannot load VAD model: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(SpeechDetector {
            lanes,
            model_path: model_path.to_path_buf(),
        })
    }

    /// Speech probability per frame of [`regions::FRAME_SAMPLES`] samples. The recording
    /// is cut into pieces of `PIECE_FRAMES` run on the lanes in parallel, each after a
    /// `PREROLL_FRAMES` lead-in. The pieces do not depend on the number of lanes, so
    /// neither do the probabilities: the same recording gives the same speech on any
    /// machine.
    pub(crate) fn probabilities(&self, audio: &Audio) -> Result<Vec<f32>> {
        self.probabilities_in_pieces(audio, PIECE_FRAMES)
    }

    fn probabilities_in_pieces(&self, audio: &Audio, piece: u64) -> Result<Vec<f32>> {
        let frames = audio.len().div_ceil(regions::FRAME_SAMPLES as u64);
        let starts: Vec<u64> = (0..frames).step_by(piece as usize).collect();
        let mut contexts: Vec<_> = self
            .lanes
            .iter()
            .map(|lane| lane.lock().unwrap_or_else(|p| p.into_inner()))
            .collect();
        let mut lanes: Vec<&mut WhisperVadContext> =
            contexts.iter_mut().map(|c| &mut **c).collect();
        let detect = |context: &mut &mut WhisperVadContext, i: usize| {
            // The last piece ends with the recording (and a huge `piece` cannot overflow).
            self.piece(
                context,
                audio,
                starts[i],
                starts[i].saturating_add(piece).min(frames),
            )
        };
        let crashed = || Error::crashed(&self.model_path, "speech detection");
        let pieces = workers::run_indexed(&mut lanes, starts.len(), detect, crashed)?;
        Ok(pieces.concat())
    }

    /// Probabilities of frames `from..to`, fed with the lead-in before them.
    fn piece(
        &self,
        context: &mut WhisperVadContext,
        audio: &Audio,
        from: u64,
        to: u64,
    ) -> Result<Vec<f32>> {
        let frame = regions::FRAME_SAMPLES as u64;
        let lead = from.min(PREROLL_FRAMES);
        let samples = audio.read((from - lead) * frame, to * frame)?;
        context
            .detect_speech(&samples)
            .map_err(|e| Error::stage(&self.model_path, "speech detection", format!("{e}")))?;
        let probs = context.probabilities();
        Ok(probs[(lead as usize).min(probs.len())..].to_vec())
    }

    /// Finds the speech regions and cuts them into transcription chunks.
    pub(crate) fn map(&self, audio: &Audio, params: &SpeechParams) -> Result<SpeechMap> {
        let probs = self.probabilities(audio)?;
        let total = audio.len();
        let regions = regions_from_probabilities(&probs, total, params);
        let chunks = chunk_regions(&regions, &probs, params);
        Ok(SpeechMap { regions, chunks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any number of lanes gives the very same probabilities (the pieces are fixed), and
    /// pieces after their lead-ins come close to one front-to-back pass (the bundled
    /// Space: dead air, then talk).
    #[test]
    fn speech_does_not_depend_on_the_lanes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let model = root.join("models").join(crate::models::VAD_FILE);
        let audio = crate::normalize::load_recording(&root.join("samples/space/space.m4a"), None)
            .unwrap()
            .audio;
        let one = SpeechDetector::load(&model, 1).unwrap();
        let three = SpeechDetector::load(&model, 3).unwrap();
        let p1 = one.probabilities(&audio).unwrap();
        assert!(p1 == three.probabilities(&audio).unwrap());
        let whole = one.probabilities_in_pieces(&audio, u64::MAX / 2).unwrap();
        assert_eq!(p1.len(), whole.len());
        let worst = p1
            .iter()
            .zip(&whole)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 0.2, "largest probability difference {worst}");
        let params = SpeechParams::default();
        assert_eq!(one.map(&audio, &params).unwrap().regions.len(), 12);
    }
}
