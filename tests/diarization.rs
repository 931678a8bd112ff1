//! End to end: who said it. Real segmentation and embedding models on the
//! bundled recordings; DER scored with NIST md-eval.pl by scripts/eval-diarization.

mod common;

use common::*;
use std::path::Path;

fn speaker_at(json: &serde_json::Value, t: f64) -> String {
    words(json)
        .iter()
        .find(|w| w["start"].as_f64().unwrap() <= t && t <= w["end"].as_f64().unwrap() + 0.3)
        .map(|w| w["speaker"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no word at {t}"))
}

fn name_of(json: &serde_json::Value, id: &str) -> String {
    json["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .map(|s| s["name"].as_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn der_speaker_counts_and_speaker_cost_meet_targets() {
    let output = std::process::Command::new(repo().join("scripts/eval-diarization"))
        .args(["--bin", env!("CARGO_BIN_EXE_spacescribe")])
        .args([
            // Measured (docs/EVALUATION.md): pyannote call 0.00 %, dialogues 1.66 % mean
            // DER and a speaker cost of 2.83 points; before #14's changes 4.83 % and 10.76.
            "--max-der-pyannote",
            "5",
            "--max-der-synthetic",
            "4",
            "--require-counts",
            "--max-speaker-cost",
            "4",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_word_has_a_speaker_and_names_come_from_the_map() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let call = sample("pyannote-call/sample.wav");
    run_ok(&[
        "transcribe",
        "--out",
        o,
        "--speaker",
        "SPEAKER_00=Diane",
        call.to_str().unwrap(),
    ]);
    let json: serde_json::Value = read_json(&out.path().join("sample.json"));
    assert_eq!(json["speakers"].as_array().unwrap().len(), 2);
    assert!(words(&json).iter().all(|w| w["speaker"].is_string()));
    // Diane opens the call ("Hello?" at 6.7 s), so she is SPEAKER_00; she says
    // "This is Diane in New Jersey" at 12.5-14.2 s, Sheila talks at 14.4-17.8 s.
    assert_eq!(speaker_at(&json, 13.0), "SPEAKER_00");
    assert_ne!(speaker_at(&json, 15.0), "SPEAKER_00");
    assert_eq!(name_of(&json, "SPEAKER_00"), "Diane");
    let vtt = std::fs::read_to_string(out.path().join("sample.vtt")).unwrap();
    assert!(vtt.contains("<v Diane>"), "{vtt}");
    let rttm = std::fs::read_to_string(out.path().join("sample.rttm")).unwrap();
    assert!(rttm.contains(" Diane "), "{rttm}");
    // The reference has Sheila's "Oh" at 18.15 s inside Diane's turn.
    let turns = json["turns"].as_array().unwrap();
    let overlapping = turns.iter().any(|a| {
        turns.iter().any(|b| {
            a["speaker"] != b["speaker"]
                && a["start"].as_f64() < b["end"].as_f64()
                && b["start"].as_f64() < a["end"].as_f64()
        })
    });
    assert!(overlapping, "overlap is kept in the turns");

    // Renaming rewrites every output without transcribing again.
    let json_path = out.path().join("sample.json");
    run_ok(&[
        "rename",
        "--speaker",
        "SPEAKER_01=Sheila",
        json_path.to_str().unwrap(),
    ]);
    let renamed: serde_json::Value = read_json(&json_path);
    assert_eq!(name_of(&renamed, "SPEAKER_01"), "Sheila");
    assert_eq!(renamed["segments"], json["segments"]);
    let txt = std::fs::read_to_string(out.path().join("sample.txt")).unwrap();
    assert!(txt.contains("Sheila: "), "{txt}");
}

/// Writes `from`..`to` seconds of a 16-bit WAV to a WAV clip.
fn clip(src: &Path, from: f64, to: f64, out: &Path) {
    let mut reader = hound::WavReader::open(src).unwrap();
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let rate = spec.sample_rate as f64;
    let mut writer = hound::WavWriter::create(out, spec).unwrap();
    for &s in &samples[(from * rate) as usize..(to * rate) as usize] {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
}

#[test]
fn enrollment_names_speakers_by_voice() {
    let dir = tempfile::tempdir().unwrap();
    let call = sample("pyannote-call/sample.wav");
    let diane = dir.path().join("diane.wav");
    let sheila = dir.path().join("sheila.wav");
    clip(&call, 10.6, 14.4, &diane);
    clip(&call, 21.9, 28.4, &sheila);
    let out = dir.path().join("out");
    run_ok(&[
        "diarize",
        "--out",
        out.to_str().unwrap(),
        "--enroll",
        &format!("Diane={}", diane.display()),
        "--enroll",
        &format!("Sheila={}", sheila.display()),
        call.to_str().unwrap(),
    ]);
    let json: serde_json::Value = read_json(&out.join("sample.json"));
    let turn_at = |t: f64| {
        json["turns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["start"].as_f64().unwrap() <= t && t <= x["end"].as_f64().unwrap())
            .map(|x| x["speaker"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(name_of(&json, &turn_at(12.0)), "Diane");
    assert_eq!(name_of(&json, &turn_at(16.0)), "Sheila");
    let speakers = json["speakers"].as_array().unwrap();
    assert!(
        speakers.iter().all(|s| s["named_by"] == "voiceprint"),
        "{speakers:?}"
    );
}

#[test]
fn roster_handles_name_speakers_only_when_asked() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let playlist = sample("space/playlist.m3u8");
    run_ok(&["diarize", "--out", o, playlist.to_str().unwrap()]);
    let json: serde_json::Value = read_json(&out.path().join("playlist.json"));
    assert!(json["metadata"]["title"].is_string());
    assert_eq!(
        json["speakers"].as_array().unwrap().len(),
        3,
        "three voices"
    );
    assert!(
        json["speakers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"].as_str().unwrap().starts_with("SPEAKER_"))
    );
    // The host opens the Space at 20 s.
    let json_path = out.path().join("playlist.json");
    run_ok(&[
        "rename",
        "--speaker",
        "SPEAKER_00=@marcusreedlive",
        json_path.to_str().unwrap(),
    ]);
    let renamed: serde_json::Value = read_json(&json_path);
    assert_eq!(name_of(&renamed, "SPEAKER_00"), "Marcus Reed");
    let bad = spacescribe(&[
        "rename",
        "--speaker",
        "SPEAKER_00=@nobody",
        json_path.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Three people in 3.2 s (quickfire-three from 4.9 s: Rob's last word, Mia's "Mine is
/// fine." over it, Gus's "I can hear you both clearly."): a little speech from several
/// people still gives several speakers. Before #14's fixes all of it was one speaker:
/// Mia, heard only over Rob, had no clean speech to embed, and the fixed minimum
/// weights (tuned on minutes of speech) folded whatever else was found.
#[test]
fn a_few_seconds_from_several_people_give_several_speakers() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.wav");
    let whole_arg = whole.to_str().unwrap();
    let source = sample("dialogues/quickfire-three.m4a");
    run_ok(&["decode", source.to_str().unwrap(), "--out", whole_arg]);
    let tiny = dir.path().join("tiny.wav");
    clip(&whole, 4.9, 8.1, &tiny);
    let out = dir.path().join("out");
    run_ok(&[
        "diarize",
        tiny.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let rttm = std::fs::read_to_string(out.join("tiny.rttm")).unwrap();
    let speakers: std::collections::BTreeSet<&str> = rttm
        .lines()
        .filter_map(|l| l.split_whitespace().nth(7))
        .collect();
    assert!(speakers.len() >= 2, "{rttm}");
}
