//! Checks the Rust network against the original PyTorch one
//! (`tests/fixtures/segmentation/reference.json`, made by
//! `scripts/reference/make-segmentation-fixture.py`) and against the sample call's RTTM.
//! Needs the real weights in `models/`, which `./scripts/setup` fetches.

use std::path::{Path, PathBuf};

use super::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn segmenter() -> Segmenter {
    let path = repo().join("models/pyannote-segmentation-3.0.bin");
    assert!(
        path.is_file(),
        "{} missing: run ./scripts/setup (or `spacescribe models fetch`) first",
        path.display()
    );
    Segmenter::load(&path).expect("segmentation model loads")
}

fn sample_call() -> Vec<f32> {
    let path = repo().join("samples/pyannote-call/sample.wav");
    let mut reader = hound::WavReader::open(&path).expect("sample call");
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("pcm")) / 32768.0)
        .collect()
}

fn reference() -> serde_json::Value {
    let path = repo().join("tests/fixtures/segmentation/reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn rows(value: &serde_json::Value) -> Vec<Vec<f32>> {
    let rows = value.as_array().expect("rows");
    rows.iter()
        .map(|row| {
            let row = row.as_array().expect("row");
            row.iter()
                .map(|v| v.as_f64().expect("number") as f32)
                .collect()
        })
        .collect()
}

/// Largest absolute difference between two equally shaped tables.
fn max_abs_diff<'a>(
    ours: impl IntoIterator<Item = &'a [f32]>,
    reference: &[Vec<f32>],
    map: impl Fn(f32) -> f32,
) -> f32 {
    let mut frames = 0;
    let mut worst = 0.0f32;
    for (ours, theirs) in ours.into_iter().zip(reference) {
        assert_eq!(ours.len(), theirs.len());
        for (&a, &b) in ours.iter().zip(theirs) {
            worst = worst.max((map(a) - map(b)).abs());
        }
        frames += 1;
    }
    assert_eq!(frames, reference.len(), "frame count");
    worst
}

#[test]
fn matches_pytorch_reference() {
    let seg = segmenter();
    let audio = sample_call();
    let fixture = reference();
    for window in fixture["windows"].as_array().expect("windows") {
        let start = window["start_sample"].as_u64().expect("start") as usize;
        let count = window["samples"].as_u64().expect("samples") as usize;
        let samples = &audio[start..start + count];

        let log_probs = seg.window_log_probs(samples).expect("forward");
        let probs_diff = max_abs_diff(
            log_probs.iter().map(|f| f.as_slice()),
            &rows(&window["log_probs"]),
            f32::exp,
        );
        let activations = seg.window_activations(samples).expect("forward");
        let act_diff = max_abs_diff(
            activations.iter().map(|f| f.as_slice()),
            &rows(&window["activations"]),
            |v| v,
        );
        eprintln!("window at {start}: max |Δp| classes {probs_diff:.2e}, speakers {act_diff:.2e}");
        assert!(
            probs_diff < 1e-3 && act_diff < 1e-3,
            "window at {start} differs"
        );
    }
}

#[test]
fn batch_equals_single_windows() {
    let seg = segmenter();
    let audio = sample_call();
    let windows: Vec<&[f32]> = vec![&audio[..WINDOW_SAMPLES], &audio[audio.len() - 50_000..]];
    let batch = seg.batch_activations(&windows).expect("batch");
    for (window, from_batch) in windows.iter().zip(&batch) {
        assert_eq!(&seg.window_activations(window).expect("single"), from_batch);
    }
}

#[test]
fn too_long_window_is_refused() {
    let seg = segmenter();
    assert!(
        seg.window_activations(&vec![0.0; WINDOW_SAMPLES + 1])
            .is_err()
    );
}

/// Speech per RTTM turn: `(start s, end s, speaker)`.
fn rttm(path: &Path) -> Vec<(f64, f64, String)> {
    let text = std::fs::read_to_string(path).expect("rttm");
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (start, dur): (f64, f64) = (f[3].parse().unwrap(), f[4].parse().unwrap());
            (start, start + dur, f[7].to_string())
        })
        .collect()
}

/// On the 2-speaker call, windows every 5 s: once each window's local speakers are
/// matched to the RTTM's two speakers (the best of the 6 one-to-one matchings), the
/// model's active speakers (p > 0.5) are exactly the RTTM's on nearly every frame,
/// overlaps included.
#[test]
fn activity_agrees_with_rttm() {
    let seg = segmenter();
    let audio = sample_call();
    let turns = rttm(&repo().join("samples/pyannote-call/sample.rttm"));
    let names = ["speaker90", "speaker91"];
    let timing = frame_timing();
    let (mut agree, mut total) = (0usize, 0usize);
    for start in (0..=audio.len() - WINDOW_SAMPLES).step_by(5 * 16_000) {
        let activations = seg
            .window_activations(&audio[start..start + WINDOW_SAMPLES])
            .expect("forward");
        // (model's active speakers, RTTM's active speakers) per frame away from turn edges.
        let mut frames = Vec::new();
        for (i, frame) in activations.iter().enumerate() {
            let t = (start as f64 + timing.first_center_samples + i as f64 * timing.step_samples)
                / 16_000.0;
            // Turn edges are annotated by hand: skip 0.25 s around them, like a DER collar.
            if turns
                .iter()
                .any(|(s, e, _)| (t - s).abs() < 0.25 || (t - e).abs() < 0.25)
            {
                continue;
            }
            let truth = names.map(|n| {
                turns
                    .iter()
                    .any(|(s, e, who)| who == n && *s <= t && t < *e)
            });
            frames.push((frame.map(|p| p > 0.5), truth));
        }
        let matched = |local: [usize; 2]| {
            frames
                .iter()
                .filter(|(model, truth)| {
                    (0..NUM_LOCAL_SPEAKERS).all(|s| {
                        let expected = local.iter().zip(truth).any(|(&l, &on)| l == s && on);
                        model[s] == expected
                    })
                })
                .count()
        };
        let best = [[0, 1], [1, 0], [0, 2], [2, 0], [1, 2], [2, 1]]
            .map(matched)
            .into_iter()
            .max()
            .unwrap_or(0);
        eprintln!(
            "window {:>2} s: {best}/{} frames match the RTTM",
            start / 16_000,
            frames.len()
        );
        agree += best;
        total += frames.len();
    }
    let rate = agree as f64 / total as f64;
    eprintln!("speakers match the RTTM on {agree}/{total} frames ({rate:.3})");
    assert!(rate > 0.9, "only {rate:.3} of frames match the RTTM");
}

#[test]
fn truncated_checkpoint_is_a_model_error() {
    let real = repo().join("models/pyannote-segmentation-3.0.bin");
    let bytes = std::fs::read(&real).expect("weights: run ./scripts/setup first");
    let dir = tempfile::tempdir().expect("tempdir");
    for keep in [bytes.len() / 2, bytes.len() - 1000] {
        let path = dir.path().join(format!("truncated-{keep}.bin"));
        std::fs::write(&path, &bytes[..keep]).expect("write");
        let err = Segmenter::load(&path)
            .err()
            .expect("truncated file refused");
        assert!(matches!(err, Error::Model { .. }), "{err}");
    }
}
