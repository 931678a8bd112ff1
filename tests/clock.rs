//! The wall clock on every word, end to end with the real binary and models: the bundled
//! Space's chunks in a playlist that breaks off (a discontinuity, then the Space back 40
//! minutes later by its own PROGRAM-DATE-TIME) and whose clock later jumps with no
//! discontinuity (a warning); and a plain file dated by its metadata file, with a
//! `--started-at` that disagrees (a warning, the metadata wins).

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use serde_json::Value;
use std::path::Path;

/// Each chunk of the bundled Space lasts 141 AAC frames of 1024 samples at 48 kHz.
const CHUNK_SECONDS: f64 = 141.0 * 1024.0 / 48_000.0;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// The bundled chunks copied into `dir` with a playlist dated at chunk 0, a
/// discontinuity and a new date before chunk 10, and a date 5 s off the running
/// clock before chunk 20 (no discontinuity).
fn broken_off_playlist(dir: &Path) -> std::path::PathBuf {
    let original = std::fs::read_to_string(sample("space/playlist.m3u8")).unwrap();
    let mut list = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n");
    let entries: Vec<(&str, &str)> = original
        .lines()
        .zip(original.lines().skip(1))
        .filter(|(tag, _)| tag.starts_with("#EXTINF"))
        .collect();
    for (i, (extinf, uri)) in entries.iter().enumerate() {
        match i {
            0 => list.push_str("#EXT-X-PROGRAM-DATE-TIME:2024-08-13T00:00:00.000Z\n"),
            10 => list.push_str(
                "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2024-08-13T00:40:00.000Z\n",
            ),
            // 10 chunks after 00:40:00 the clock reads 00:40:30.080; this says 5 s more.
            20 => list.push_str("#EXT-X-PROGRAM-DATE-TIME:2024-08-13T00:40:35.080Z\n"),
            _ => {}
        }
        list.push_str(&format!("{extinf}\n{uri}\n"));
        std::fs::copy(sample(&format!("space/{uri}")), dir.join(uri)).unwrap();
    }
    list.push_str("#EXT-X-ENDLIST\n");
    let path = dir.join("broken.m3u8");
    std::fs::write(&path, list).unwrap();
    path
}

/// Where the clock should stand `at` seconds into the broken-off playlist.
fn expected_clock(at: f64) -> DateTime<Utc> {
    let (anchor_at, anchor) = if at < 10.0 * CHUNK_SECONDS {
        (0.0, "2024-08-13T00:00:00.000Z")
    } else if at < 20.0 * CHUNK_SECONDS {
        (10.0 * CHUNK_SECONDS, "2024-08-13T00:40:00.000Z")
    } else {
        (20.0 * CHUNK_SECONDS, "2024-08-13T00:40:35.080Z")
    };
    utc(anchor) + TimeDelta::milliseconds(((at - anchor_at) * 1000.0).round() as i64)
}

fn transcribe(input: &Path, out: &Path, extra: &[&str]) -> (Value, String) {
    let args = [
        &[
            "transcribe",
            "--no-diarize",
            "--threads",
            "2",
            "--formats",
            "json,txt",
            "--out",
            out.to_str().unwrap(),
        ],
        extra,
        &[input.to_str().unwrap()],
    ]
    .concat();
    let output = spacescribe(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "transcribe failed: {stderr}");
    let stem = input.file_stem().unwrap().to_string_lossy();
    (read_json(&out.join(format!("{stem}.json"))), stderr)
}

#[test]
fn every_word_follows_the_chunks_own_dates_across_a_discontinuity() {
    let dir = tempfile::tempdir().unwrap();
    let input = broken_off_playlist(dir.path());
    let out = dir.path().join("out");
    let (json, stderr) = transcribe(&input, &out, &[]);

    let clock = &json["source"]["clock"];
    assert_eq!(clock["anchor"], "program-date-time");
    let anchors: Vec<(f64, &str)> = clock["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["at"].as_f64().unwrap(), a["utc"].as_str().unwrap()))
        .collect();
    assert_eq!(anchors.len(), 3, "{clock}");
    assert!(
        (anchors[1].0 - 10.0 * CHUNK_SECONDS).abs() < 1e-3,
        "{clock}"
    );
    assert_eq!(anchors[1].1, "2024-08-13T00:40:00.000Z");
    let warnings = clock["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{clock}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.contains("+5.000 s") && warning.contains("_20_a.aac"),
        "{warning}"
    );
    assert!(
        stderr.contains("wall clock: the clock jumps by +5.000 s"),
        "{stderr}"
    );
    assert_eq!(
        json["source"]["wall_clock_start"],
        "2024-08-13T00:00:00.000Z"
    );

    let words = words(&json);
    let mut sides = [0; 3];
    for word in &words {
        let start = word["start"].as_f64().unwrap();
        let said_at = utc(word["wall_clock"].as_str().expect("every word is dated"));
        let off = (said_at - expected_clock(start)).num_milliseconds().abs();
        assert!(off <= 1, "{word} is {off} ms off");
        sides[usize::from(start >= 10.0 * CHUNK_SECONDS)
            + usize::from(start >= 20.0 * CHUNK_SECONDS)] += 1;
    }
    assert!(
        sides.iter().all(|&n| n > 5),
        "words on every side: {sides:?}"
    );
    for segment in json["segments"].as_array().unwrap() {
        let start = segment["start"].as_f64().unwrap();
        let said_at = utc(segment["wall_clock"].as_str().unwrap());
        assert!((said_at - expected_clock(start)).num_milliseconds().abs() <= 1);
    }

    // The text shows the offset and the clock at each turn.
    let txt = std::fs::read_to_string(out.join("broken.txt")).unwrap();
    assert!(txt.contains(" · 00:40:"), "{txt}");
    assert!(
        txt.lines().all(|l| l.is_empty() || l.contains(" UTC] ")),
        "{txt}"
    );
}

#[test]
fn a_file_is_dated_by_its_metadata_and_a_disagreeing_start_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    // samples/space/metadata.json sits beside space.m4a: started_at 2024-08-13T00:00:00Z.
    let (json, stderr) = transcribe(
        &sample("space/space.m4a"),
        dir.path(),
        &["--started-at", "2024-08-12 20:00:10-04:00"],
    );
    let clock = &json["source"]["clock"];
    assert_eq!(clock["anchor"], "metadata", "{clock}");
    let warning = clock["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("--started-at") && warning.contains("+10.000 s"),
        "{warning}"
    );
    assert!(stderr.contains("wall clock: --started-at"), "{stderr}");
    let first = &words(&json)[0];
    let start = first["start"].as_f64().unwrap();
    let expected =
        utc("2024-08-13T00:00:00Z") + TimeDelta::milliseconds((start * 1000.0).round() as i64);
    assert_eq!(
        first["wall_clock"].as_str().unwrap(),
        expected.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );

    // A start without a zone is refused before any work.
    let refused = spacescribe(&["transcribe", "--started-at", "2024-08-13 00:00:10", "x.wav"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("zone"));
}
