//! Helpers for the end-to-end tests: run the real binary on real samples with the
//! real models (fetched by ./scripts/setup) and score what comes out.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(rel: &str) -> PathBuf {
    repo().join("samples").join(rel)
}

pub fn models_dir() -> PathBuf {
    let dir = repo().join("models");
    assert!(
        dir.join("ggml-tiny.en-q8_0.bin").is_file() && dir.join("ggml-silero-v6.2.0.bin").is_file(),
        "models missing: run ./scripts/setup (or `spacescribe models fetch`) first"
    );
    dir
}

/// Runs `spacescribe ARGS` with the repo's models.
pub fn spacescribe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spacescribe"))
        .args(args)
        .env("SPACESCRIBE_MODELS", models_dir())
        .output()
        .expect("binary runs")
}

/// Runs `spacescribe ARGS` and fails the test, with its stderr, unless it succeeds.
pub fn run_ok(args: &[&str]) {
    let output = spacescribe(args);
    assert!(
        output.status.success(),
        "spacescribe {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Transcribes `input` into `out` and returns the parsed JSON transcript.
pub fn transcribe_json(input: &Path, out: &Path) -> serde_json::Value {
    let output = spacescribe(&[
        "transcribe",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "transcribe failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stem = input.file_stem().unwrap().to_string_lossy();
    read_json(&out.join(format!("{stem}.json")))
}

/// Words of the transcript, in order.
pub fn words(json: &serde_json::Value) -> Vec<serde_json::Value> {
    json["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["words"].as_array().unwrap().clone())
        .collect()
}

pub fn transcript_text(json: &serde_json::Value) -> String {
    words(json)
        .iter()
        .map(|w| w["word"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lower case, letters, digits and apostrophes only; hyphens split words.
pub fn normalize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['-', '—'], " ")
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate of `hypothesis` against `reference` after normalization.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let r = normalize(reference);
    let h = normalize(hypothesis);
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len().max(1) as f64
}

/// Asserts word times increase, stay inside the audio, and every word has a probability.
pub fn assert_word_times_sane(json: &serde_json::Value) {
    let duration = json["source"]["duration"].as_f64().unwrap();
    let mut last_start = 0.0;
    for w in words(json) {
        let (s, e) = (w["start"].as_f64().unwrap(), w["end"].as_f64().unwrap());
        assert!(s >= last_start, "start went back at {w}");
        assert!(e >= s && e <= duration + 1e-6, "bad end at {w}");
        let p = w["probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "bad probability at {w}");
        last_start = s;
    }
}

#[test]
fn wer_counts_edits() {
    assert_eq!(wer("a b c d", "a b c d"), 0.0);
    assert_eq!(wer("a b c d", "a x c"), 0.5);
    assert_eq!(wer("Hello, World!", "hello world"), 0.0);
}
