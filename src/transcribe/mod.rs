//! Transcription: each speech chunk through Whisper (whisper-rs), giving timed,
//! scored words.
//!
//! One `WhisperContext` (the weights) is shared by as many workers as the current
//! rayon pool has threads ([`crate::workers`]); a free worker takes the next chunk and
//! makes a fresh `WhisperState` for it (so a chunk's words never depend on which
//! chunks that worker took before). Every chunk is decoded on its own (no text carried
//! over, so one bad chunk cannot poison the next) and its token times are shifted by
//! the chunk's sample-exact offset; the recording's [`prompt`] (names, hotwords) goes
//! before every chunk. Finished chunks go to the resume cache ([`cache`]) with the
//! model's own probabilities; the words' probabilities are then [`calibration`]'s.

mod cache;
mod calibration;
mod guards;
pub(crate) mod prompt;
mod retime;
mod words;

pub(crate) use cache::{ChunkCache, REVISION as CACHE_REVISION};
pub(crate) use calibration::Calibration;
pub(crate) use words::{RawToken, TimedWord, words_from_tokens};

use crate::audio::{Audio, SAMPLE_RATE, seconds};
use crate::error::{Error, Result};
use crate::speech::{SpeechMap, SpeechSpan};
use crate::transcript::TranscribeParams;
use crate::workers;
use std::path::Path;
use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters, WhisperState,
};

/// Whisper needs at least this much audio; shorter chunks are padded with silence at the end.
const MIN_CHUNK_SAMPLES: usize = SAMPLE_RATE as usize + SAMPLE_RATE as usize / 10;
/// Second passes over one chunk's untranscribed tail, at most.
const MAX_TAIL_PASSES: usize = 2;
/// Speech left after the last word that earns a second pass (samples: 1 s).
const MIN_TAIL_SPEECH: u64 = SAMPLE_RATE as u64;
/// Distance from the last word's end that still counts as that word (samples: 0.2 s).
const TAIL_MARGIN: u64 = SAMPLE_RATE as u64 / 5;

/// A chunk with the audio it is read from, the speech regions around it, and the
/// prompt Whisper reads first.
#[derive(Clone, Copy)]
struct ChunkAudio<'a> {
    audio: &'a Audio,
    chunk: SpeechSpan,
    regions: &'a [SpeechSpan],
    prompt: Option<&'a str>,
}

/// Whisper sometimes ends a window early, declaring the rest silent, most often when a
/// new voice starts after a few words of the previous speaker (the closing words of one
/// turn "explain" the window, and the next turn is lost). The speech detector is the
/// judge of what is speech: when it heard at least [`MIN_TAIL_SPEECH`] after the last
/// word, that stretch gets a pass of its own, starting where the next speech region
/// starts (or just after the last word when they are one region).
fn untranscribed_tail(
    regions: &[SpeechSpan],
    covered: u64,
    chunk: SpeechSpan,
) -> Option<SpeechSpan> {
    let from = covered.max(chunk.start) + TAIL_MARGIN;
    let speech: u64 = regions
        .iter()
        .map(|r| r.end.min(chunk.end).saturating_sub(r.start.max(from)))
        .sum();
    if speech < MIN_TAIL_SPEECH {
        return None;
    }
    let start = regions
        .iter()
        .find(|r| r.end > from)
        .map_or(from, |r| r.start.max(from));
    Some(SpeechSpan {
        start,
        end: chunk.end,
    })
}

/// A chunk whose unprompted words are all at least this sure is not decoded again with
/// the prompt: the words a prompt fixes (names heard as other words) come out doubtful.
const PROMPT_WHEN_BELOW: f32 = 0.5;

/// One Whisper segment inside a chunk, words already placed on the recording's timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RawSegment {
    pub(crate) words: Vec<TimedWord>,
    pub(crate) avg_logprob: f32,
    pub(crate) no_speech_prob: f32,
}

/// The loaded model and how to run it.
pub(crate) struct Transcriber {
    context: WhisperContext,
    summary: crate::models::GgmlSummary,
    params: TranscribeParams,
    calibration: Option<Calibration>,
}

/// How the available threads are split: `workers` states each running `threads_per_worker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ThreadPlan {
    pub(crate) workers: usize,
    pub(crate) threads_per_worker: usize,
}

impl ThreadPlan {
    /// Parallel chunks scale better than threads inside one decoder on few cores,
    /// so use one single-threaded worker per thread while there are chunks for them.
    pub(crate) fn for_chunks(total_threads: usize, chunks: usize) -> Self {
        let total = total_threads.max(1);
        let workers = total.min(chunks.max(1));
        ThreadPlan {
            workers,
            threads_per_worker: (total / workers).max(1),
        }
    }
}

impl Transcriber {
    /// Loads a whisper.cpp ggml model. DTW word alignment is switched on when the
    /// model's size has a known alignment-head preset.
    pub(crate) fn load(model_path: &Path, params: TranscribeParams) -> Result<Self> {
        let path_str = model_path
            .to_str()
            .ok_or_else(|| Error::model(model_path, "path is not UTF-8"))?;
        let summary = crate::models::check_whisper_ggml(model_path)?;
        let mut context_params = WhisperContextParameters::default();
        if let Some(preset) =
            dtw_preset(summary.n_text_layer, summary.n_text_state, summary.n_vocab)
        {
            context_params.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset {
                    model_preset: preset,
                },
                ..DtwParameters::default()
            });
        }
        let context = WhisperContext::new_with_params(path_str, context_params)
            .map_err(|e| Error::model(model_path, format!("whisper.cpp cannot load it: {e}")))?;
        let calibration = Calibration::for_model(&summary).filter(|_| !params.raw_probabilities);
        Ok(Transcriber {
            context,
            summary,
            params,
            calibration,
        })
    }

    /// How many of the chunks an earlier, killed run already finished.
    pub(crate) fn resumable(speech: &SpeechMap, cache: &ChunkCache) -> usize {
        speech
            .chunks
            .iter()
            .filter(|&&chunk| cache.has(chunk))
            .count()
    }

    /// Transcribes every chunk, in parallel, returning segments in time order, with
    /// `prompt` before each chunk. `on_chunk_done` is called once per finished chunk
    /// (for progress bars).
    pub(crate) fn transcribe(
        &self,
        audio: &Audio,
        speech: &SpeechMap,
        prompt: Option<&str>,
        input: &Path,
        cache: Option<&ChunkCache>,
        on_chunk_done: &(dyn Fn() + Sync),
    ) -> Result<Vec<RawSegment>> {
        let chunks = &speech.chunks;
        // The thread budget is the pool the caller runs this in (`--threads`).
        let plan = ThreadPlan::for_chunks(rayon::current_num_threads(), chunks.len());
        let mut lanes = vec![(); plan.workers];
        let transcribe = |_: &mut (), index: usize| {
            let chunk = chunks[index];
            let segments = match cache.and_then(|c| c.load(chunk)) {
                Some(done) => done,
                None => {
                    // A fresh state per chunk: whisper.cpp seeds the sampler of its
                    // temperature fallback once per state, so a reused state would make a
                    // chunk's words depend on which chunks that worker took before it,
                    // and a resumed or rerun transcript would differ from the first.
                    let mut state = self.context.create_state().map_err(|e| {
                        Error::stage(input, "transcription", format!("cannot create state: {e}"))
                    })?;
                    let state = &mut state;
                    let span = ChunkAudio {
                        audio,
                        chunk,
                        regions: &speech.regions,
                        prompt,
                    };
                    let fresh =
                        self.transcribe_chunk(state, span, plan.threads_per_worker, input)?;
                    if let Some(c) = cache {
                        c.store(chunk, &fresh)?;
                    }
                    fresh
                }
            };
            on_chunk_done();
            Ok(segments)
        };
        let crashed = || Error::crashed(input, "transcription");
        let done = workers::run_indexed(&mut lanes, chunks.len(), transcribe, crashed)?;
        let mut segments: Vec<RawSegment> = done.into_iter().flatten().collect();
        fit_to_speech(&mut segments, &speech.regions);
        if let Some(calibration) = &self.calibration {
            for word in segments.iter_mut().flat_map(|s| s.words.iter_mut()) {
                word.probability = calibration.apply(word.probability);
            }
        }
        Ok(segments)
    }

    fn full_params(&self, threads: usize, prompt: Option<&str>) -> FullParams<'_, '_> {
        let strategy = if self.params.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: self.params.beam_size,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        };
        let mut p = FullParams::new(strategy);
        p.set_n_threads(threads as i32);
        p.set_language(Some(&self.params.language));
        p.set_translate(false);
        p.set_no_context(true);
        if let Some(prompt) = prompt {
            p.set_initial_prompt(prompt);
        }
        p.set_token_timestamps(true);
        p.set_suppress_blank(true);
        p.set_suppress_nst(true);
        p.set_temperature(
            self.params
                .temperature_fallback
                .first()
                .copied()
                .unwrap_or(0.0),
        );
        p.set_temperature_inc(fallback_step(&self.params.temperature_fallback));
        p.set_logprob_thold(self.params.logprob_threshold);
        p.set_no_speech_thold(self.params.no_speech_threshold);
        p.set_entropy_thold(2.4);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_special(false);
        p.set_print_timestamps(false);
        p
    }

    /// One chunk; with a prompt, when some word came out doubtful, again after the
    /// prompt, its words put on the unprompted decode's times ([`retime`]).
    fn transcribe_chunk(
        &self,
        state: &mut WhisperState,
        span: ChunkAudio<'_>,
        threads: usize,
        input: &Path,
    ) -> Result<Vec<RawSegment>> {
        let plain = ChunkAudio {
            prompt: None,
            ..span
        };
        let unprompted = self.decode_chunk(state, plain, threads, input)?;
        let doubtful = unprompted
            .iter()
            .flat_map(|s| &s.words)
            .any(|w| w.probability < PROMPT_WHEN_BELOW);
        if span.prompt.is_none() || !doubtful {
            return Ok(unprompted);
        }
        let prompted = self.decode_chunk(state, span, threads, input)?;
        Ok(retime::onto(prompted, unprompted))
    }

    /// One chunk, plus a second pass over speech whisper skipped at its end.
    fn decode_chunk(
        &self,
        state: &mut WhisperState,
        span: ChunkAudio<'_>,
        threads: usize,
        input: &Path,
    ) -> Result<Vec<RawSegment>> {
        let chunk = span.chunk;
        let mut segments = self.decode_span(state, span, chunk, threads, input)?;
        for _ in 0..MAX_TAIL_PASSES {
            let covered = segments
                .last()
                .and_then(|s| s.words.last())
                .map_or(chunk.start, |w| w.end);
            let Some(tail) = untranscribed_tail(span.regions, covered, chunk) else {
                break;
            };
            let more: Vec<RawSegment> = self
                .decode_span(state, span, tail, threads, input)?
                .into_iter()
                .filter(|s| s.avg_logprob >= self.params.logprob_threshold)
                .collect();
            if more.is_empty() {
                break;
            }
            tracing::debug!(
                "chunk {:.2}-{:.2} s: second pass from {:.2} s found {} segment(s)",
                seconds(chunk.start),
                seconds(chunk.end),
                seconds(tail.start),
                more.len()
            );
            segments.extend(more);
        }
        tracing::debug!(
            "chunk {:.2}-{:.2} s: {} segment(s): {}",
            seconds(chunk.start),
            seconds(chunk.end),
            segments.len(),
            segments
                .iter()
                .flat_map(|s| s.words.iter().map(|w| w.text.as_str()))
                .collect::<String>()
        );
        Ok(segments)
    }

    /// Whisper on samples `span` of the chunk's audio, after its prompt, words placed on
    /// the recording's timeline.
    fn decode_span(
        &self,
        state: &mut WhisperState,
        chunk: ChunkAudio<'_>,
        span: SpeechSpan,
        threads: usize,
        input: &Path,
    ) -> Result<Vec<RawSegment>> {
        let mut pcm = chunk.audio.read(span.start, span.end)?;
        if pcm.len() < MIN_CHUNK_SAMPLES {
            pcm.resize(MIN_CHUNK_SAMPLES, 0.0);
        }
        state
            .full(self.full_params(threads, chunk.prompt), &pcm)
            .map_err(|e| Error::stage(input, "transcription", format!("whisper failed: {e}")))?;
        let eot = self.context.token_eot();
        let mut segments: Vec<RawSegment> = Vec::new();
        for segment in state.as_iter() {
            let tokens = text_tokens(&segment, eot);
            let words = words_from_tokens(&tokens.raw, span.start, span.end);
            let words = guards::collapse_loops(guards::drop_annotations(words));
            if words.is_empty() {
                continue;
            }
            if let Some(last) = segments.last()
                && guards::same_text(&last.words, &words)
            {
                continue;
            }
            segments.push(RawSegment {
                words,
                avg_logprob: tokens.avg_logprob,
                no_speech_prob: segment.no_speech_probability(),
            });
        }
        Ok(segments)
    }

    /// What the model file says about itself (checked once, at load).
    pub(crate) fn summary(&self) -> &crate::models::GgmlSummary {
        &self.summary
    }

    /// The map the words' probabilities go through, if the model has one and the
    /// parameters did not ask for the raw ones.
    pub(crate) fn calibration(&self) -> Option<Calibration> {
        self.calibration
    }
}

/// Keeps words out of silences. Alignment marks where a word ends well, but a word
/// after a pause tends to start where the previous one ended, and the word before a
/// pause tends to end at the next onset; either would give it to the wrong speaker.
/// A word ending inside a speech region starts no earlier than that region; a word
/// ending in silence ends with the region it started in.
fn fit_to_speech(segments: &mut [RawSegment], regions: &[SpeechSpan]) {
    let containing = |t: u64| {
        let at = regions.partition_point(|r| r.end < t);
        regions.get(at).filter(|r| r.start <= t)
    };
    for word in segments.iter_mut().flat_map(|s| s.words.iter_mut()) {
        if let Some(region) = containing(word.end) {
            word.start = word.start.max(region.start).min(word.end);
        } else if let Some(region) = containing(word.start) {
            word.end = region.end.max(word.start);
        }
    }
}

struct SegmentTokens {
    raw: Vec<RawToken>,
    avg_logprob: f32,
}

/// The segment's text tokens (special and timestamp tokens left out) and their mean log-probability.
fn text_tokens(segment: &whisper_rs::WhisperSegment<'_>, eot: i32) -> SegmentTokens {
    let mut raw = Vec::new();
    let mut logprob_sum = 0.0f32;
    for index in 0..segment.n_tokens() {
        let Some(token) = segment.get_token(index) else {
            continue;
        };
        if token.token_id() >= eot {
            continue;
        }
        let data = token.token_data();
        logprob_sum += data.plog;
        raw.push(RawToken {
            bytes: token.to_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
            probability: data.p,
            t0: data.t0,
            t1: data.t1,
            t_dtw: data.t_dtw,
        });
    }
    let avg_logprob = if raw.is_empty() {
        0.0
    } else {
        logprob_sum / raw.len() as f32
    };
    SegmentTokens { raw, avg_logprob }
}

/// whisper.cpp takes a start temperature and a fixed increment.
fn fallback_step(temperatures: &[f32]) -> f32 {
    match temperatures {
        [a, b, ..] => b - a,
        _ => 0.0,
    }
}

/// The alignment-head preset of the standard Whisper sizes, recognised by shape.
fn dtw_preset(text_layers: u32, text_state: u32, n_vocab: u32) -> Option<DtwModelPreset> {
    let english_only = n_vocab == 51864;
    Some(match (text_layers, text_state, english_only) {
        (4, 384, true) => DtwModelPreset::TinyEn,
        (4, 384, false) => DtwModelPreset::Tiny,
        (6, 512, true) => DtwModelPreset::BaseEn,
        (6, 512, false) => DtwModelPreset::Base,
        (12, 768, true) => DtwModelPreset::SmallEn,
        (12, 768, false) => DtwModelPreset::Small,
        (24, 1024, true) => DtwModelPreset::MediumEn,
        (24, 1024, false) => DtwModelPreset::Medium,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_plan_prefers_parallel_workers() {
        assert_eq!(
            ThreadPlan::for_chunks(2, 10),
            ThreadPlan {
                workers: 2,
                threads_per_worker: 1
            }
        );
        assert_eq!(
            ThreadPlan::for_chunks(4, 1),
            ThreadPlan {
                workers: 1,
                threads_per_worker: 4
            }
        );
        assert_eq!(ThreadPlan::for_chunks(0, 0).workers, 1);
    }

    #[test]
    fn speech_left_after_the_last_word_gets_a_second_pass() {
        let span = |a: f64, b: f64| SpeechSpan {
            start: (a * 16_000.0) as u64,
            end: (b * 16_000.0) as u64,
        };
        let chunk = span(110.0, 135.0);
        let at = |t: f64| (t * 16_000.0) as u64;
        // A new turn in its own region: the pass starts where that region starts.
        let regions = [span(110.0, 125.6), span(126.3, 134.8)];
        assert_eq!(
            untranscribed_tail(&regions, at(125.5), chunk),
            Some(span(126.3, 135.0))
        );
        // One region running on: the pass starts just after the last word.
        let merged = [span(110.0, 134.8)];
        assert_eq!(
            untranscribed_tail(&merged, at(125.5), chunk).map(|s| s.start),
            Some(at(125.5) + TAIL_MARGIN)
        );
        // Nothing, or less than a second of speech, left: no second pass.
        assert_eq!(untranscribed_tail(&regions, at(134.7), chunk), None);
        let short = [span(110.0, 125.6), span(126.3, 127.0)];
        assert_eq!(untranscribed_tail(&short, at(125.5), chunk), None);
    }

    #[test]
    fn word_ends_stop_at_the_silence() {
        let word = |start, end| TimedWord {
            text: "w".into(),
            start,
            end,
            probability: 0.9,
        };
        let mut segments = vec![RawSegment {
            words: vec![
                word(100, 900),
                word(1_200, 1_500),
                word(1_250, 2_050),
                word(3_000, 3_100),
            ],
            avg_logprob: 0.0,
            no_speech_prob: 0.0,
        }];
        let regions = [
            SpeechSpan {
                start: 0,
                end: 1_000,
            },
            SpeechSpan {
                start: 1_100,
                end: 1_300,
            },
            SpeechSpan {
                start: 2_000,
                end: 2_500,
            },
        ];
        fit_to_speech(&mut segments, &regions);
        let spans: Vec<(u64, u64)> = segments[0].words.iter().map(|w| (w.start, w.end)).collect();
        assert_eq!(
            spans,
            [(100, 900), (1_200, 1_300), (2_000, 2_050), (3_000, 3_100)]
        );
    }

    #[test]
    fn fallback_step_from_schedule() {
        assert!((fallback_step(&[0.0, 0.2, 0.4]) - 0.2).abs() < 1e-6);
        assert_eq!(fallback_step(&[0.0]), 0.0);
    }

    #[test]
    fn tiny_en_gets_its_dtw_preset() {
        assert!(matches!(
            dtw_preset(4, 384, 51864),
            Some(DtwModelPreset::TinyEn)
        ));
        assert!(dtw_preset(32, 1280, 51866).is_none());
    }
}
