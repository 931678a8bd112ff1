//! `spacescribe quote` on a real transcript of the bundled Space (its HLS playlist, so
//! the wall clock is known from PROGRAM-DATE-TIME): sentences typed with small errors
//! (a misspelling, a number as digits, a missing and a changed word) are found at the
//! right place, from the right speaker, with the right times, differences and citation.

mod common;

use common::*;
use serde_json::Value;

/// A sentence of the script with its true start and end (samples/space/truth.json).
fn truth_sentence(starting: &str) -> (f64, f64) {
    let truth = read_json(&sample("space/truth.json"));
    truth["turns"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["sentences"].as_array().unwrap().clone())
        .find(|s| s["text"].as_str().unwrap().starts_with(starting))
        .map(|s| (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap()))
        .unwrap()
}

fn quote_json(args: &[&str]) -> Vec<Value> {
    let out = spacescribe(&[&["quote", "--json"], args].concat());
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The speaker the transcript gives the word nearest `at`.
fn speaker_at(json: &Value, at: f64) -> String {
    words(json)
        .iter()
        .min_by(|a, b| {
            let d = |w: &Value| (w["start"].as_f64().unwrap() - at).abs();
            d(a).total_cmp(&d(b))
        })
        .unwrap()["speaker"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `--clip` cuts the passage found at `passage` from the original playlist: at its own
/// 48 kHz stereo, padded by 0.5 s, sample for sample what the original holds there
/// (but for the fades at the two ends), and saying the quoted words when transcribed.
fn check_clip(dir: &std::path::Path, transcript: &str, passage: (f64, f64)) {
    let wav = dir.join("clip.wav");
    let hits = quote_json(&[
        "the boster landed on a drone ship about 8 minutes later",
        "--top",
        "1",
        "--clip",
        wav.to_str().unwrap(),
        transcript,
    ]);
    let clip = &hits[0]["clip"];
    assert_eq!(
        (clip["sample_rate"].as_u64(), clip["channels"].as_u64()),
        (Some(48_000), Some(2)),
        "{clip}"
    );
    let rate = 48_000.0;
    let first = ((passage.0 - 0.5) * rate).round() as usize;
    let last = ((passage.1 + 0.5) * rate).round() as usize;
    let mut reader = hound::WavReader::open(&wav).unwrap();
    assert_eq!(
        (reader.spec().sample_rate, reader.spec().channels),
        (48_000, 2)
    );
    let clipped: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32767.0)
        .collect();
    assert_eq!(clipped.len() / 2, last - first, "{clip}");

    let mut original = Vec::new();
    spacescribe::open_source_audio(&sample("space/playlist.m3u8"))
        .unwrap()
        .stream(&mut |block| {
            original.extend_from_slice(block);
            Ok(())
        })
        .unwrap();
    let original = &original[first * 2..last * 2];
    let fade = 480 * 2; // 10 ms of stereo frames
    let inner = fade..clipped.len() - fade;
    let off = inner
        .clone()
        .map(|i| (clipped[i] - original[i]).abs())
        .fold(0.0f32, f32::max);
    assert!(
        off <= 3.0 / 32767.0,
        "clip differs from the original by {off}"
    );
    let energy = |s: &[f32]| s.iter().map(|v| v * v).sum::<f32>();
    assert!(energy(&clipped[inner]) > 1.0, "the clip holds speech");
    assert!(
        clipped[0].abs() <= original[0].abs() * 0.1 + 1e-4,
        "faded in"
    );

    let heard = transcribe_json(&wav, &dir.join("clip-out"));
    let said = transcript_text(&heard).to_lowercase();
    assert!(
        said.contains("booster landed") && said.contains("drone ship"),
        "{said}"
    );
}

#[test]
fn quotes_typed_with_errors_are_found_timed_and_cited() {
    let out = tempfile::tempdir().unwrap();
    let json = transcribe_json(&sample("space/playlist.m3u8"), out.path());
    let file = out.path().join("playlist.json");
    let file = file.to_str().unwrap();

    // Priya: "The rocket lifted off right on time, and the booster landed on the drone
    // ship about eight minutes later."
    let (start, end) = truth_sentence("The rocket lifted off");
    let hits = quote_json(&[
        "the boster landed on a drone ship about 8 minutes later",
        file,
    ]);
    let best = &hits[0];
    let (s, e) = (
        best["start"].as_f64().unwrap(),
        best["end"].as_f64().unwrap(),
    );
    assert!(
        s > start && e <= end + 0.3,
        "{s}-{e} not inside {start}-{end}"
    );
    assert!(best["score"].as_f64().unwrap() > 0.6, "{best}");
    assert_eq!(
        best["speaker"].as_str().unwrap(),
        speaker_at(&json, truth_sentence("Thanks for having me").0 + 0.2),
        "the guest says it"
    );
    assert_ne!(
        best["speaker"],
        speaker_at(&json, truth_sentence("Hey everyone").0 + 0.2),
        "not the host"
    );
    let differences = best["differences"].to_string();
    assert!(differences.contains("boster"), "{differences}");
    let wall = best["wall_clock"].as_str().unwrap();
    assert!(wall.starts_with("2024-08-13T00:00:3"), "{wall}");
    let citation = best["citation"].as_str().unwrap();
    assert!(citation.contains("in the recording)"), "{citation}");
    assert!(citation.contains("2024-08-13 00:00:3"), "{citation}");
    let title =
        read_json(&sample("space/metadata.json"))["data"]["audioSpace"]["metadata"]["title"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(citation.contains(&title), "{citation}");
    check_clip(out.path(), file, (s, e));

    // Callum: "Does reusing the booster actually make launches cheaper for customers?",
    // remembered with "really" for "actually" and "launch" for "launches".
    let (start, end) = truth_sentence("Does reusing");
    let hits = quote_json(&[
        "does reusing the booster really make launch cheaper for customers",
        "--top",
        "1",
        file,
    ]);
    assert_eq!(hits.len(), 1);
    let s = hits[0]["start"].as_f64().unwrap();
    assert!((s - start).abs() < 0.5 && hits[0]["end"].as_f64().unwrap() <= end + 0.3);
    // Filtered to the host, the question is not his.
    let host = speaker_at(&json, truth_sentence("Hey everyone").0 + 0.2);
    let hits = quote_json(&[
        "does reusing the booster really make launch cheaper for customers",
        "--speaker",
        &host,
        file,
    ]);
    assert!(
        hits.iter().all(|h| h["score"].as_f64().unwrap() < 0.6),
        "{hits:?}"
    );

    // The text form says the same for a reader.
    let text = spacescribe(&["quote", "the boster landed on a drone ship", file]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("typed \"boster\", said \"booster\""),
        "{text}"
    );
    assert!(text.contains("cite:"), "{text}");
}
