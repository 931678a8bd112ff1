//! End to end: bad inputs get one line naming the file and the reason, a
//! non-zero exit, never a panic; good inputs next to them are still done; a
//! damaged chunk in a playlist is skipped, reported, and the rest transcribed.

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn transcribe(inputs: &[&Path], out: &Path) -> std::process::Output {
    let mut args = vec![
        "transcribe",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    spacescribe(&args)
}

/// Runs one bad input and returns its error line, checking the contract.
fn error_line(input: &Path) -> String {
    let out = tempfile::tempdir().unwrap();
    let output = transcribe(&[input], out.path());
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("spacescribe:"))
        .collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    let name = input.file_name().unwrap().to_string_lossy();
    assert!(
        lines[0].contains(name.as_ref()),
        "names the file: {}",
        lines[0]
    );
    lines[0].to_string()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn each_bad_input_gets_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m4a = std::fs::read(sample("space/space.m4a")).unwrap();
    let cases: Vec<(PathBuf, &[&str])> = vec![
        (d.join("missing.m4a"), &["not found", "no such file"]),
        (write(d, "empty.m4a", b""), &["empty"]),
        (
            write(d, "notes.m4a", b"these are my notes, not audio\n"),
            &["not", "audio"],
        ),
        (
            write(d, "truncated.m4a", &m4a[..m4a.len().min(2000)]),
            &[
                "truncat",
                "incomplete",
                "no audio",
                "damaged",
                "end of file",
                "malformed",
                "unexpected",
            ],
        ),
        (repo().join("tests/fixtures/he-aac.m4a"), &["he-aac"]),
        (
            write(d, "absurd.wav", &absurd_wav()),
            &["channel", "sample rate", "header", "invalid", "unsupported"],
        ),
    ];
    for (path, reasons) in cases {
        let line = error_line(&path).to_lowercase();
        assert!(
            reasons.iter().any(|r| line.contains(r)),
            "{}: reason not given: {line}",
            path.display()
        );
    }
}

/// A RIFF/WAVE header claiming zero channels at 4 GHz.
fn absurd_wav() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36u32 + 64).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&0u16.to_le_bytes()); // channels
    b.extend_from_slice(&4_000_000_000u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&64u32.to_le_bytes());
    b.extend_from_slice(&[0u8; 64]);
    b
}

#[test]
fn good_inputs_are_done_beside_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let bad = write(dir.path(), "bad.mp3", b"garbage garbage garbage");
    let good = sample("jfk/jfk.wav");
    let output = transcribe(&[&bad, &good], &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(out.join("jfk.json").is_file());
    assert!(!out.join("bad.json").exists());
}

#[test]
fn playlist_entries_outside_its_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, entry) in [
        ("url.m3u8", "https://example.com/chunk_1_0_a.aac"),
        ("abs.m3u8", "/etc/passwd"),
        ("up.m3u8", "../secret.aac"),
    ] {
        let body =
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n{entry}\n#EXT-X-ENDLIST\n");
        let path = write(dir.path(), name, body.as_bytes());
        let line = error_line(&path);
        assert!(
            line.contains(entry) || line.to_lowercase().contains("refus"),
            "{line}"
        );
    }
}

/// Copies the sample playlist and its chunks into `dir`.
fn copy_space_playlist(dir: &Path) -> PathBuf {
    let src = sample("space");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".aac") || name.ends_with(".m3u8") {
            std::fs::copy(&path, dir.join(&name)).unwrap();
        }
    }
    dir.join("playlist.m3u8")
}

fn playlist_chunks(playlist: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(playlist)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| playlist.parent().unwrap().join(l.trim()))
        .collect()
}

#[test]
fn damaged_chunk_is_skipped_reported_and_the_rest_transcribed() {
    let dir = tempfile::tempdir().unwrap();
    let playlist = copy_space_playlist(dir.path());
    let chunks = playlist_chunks(&playlist);
    let victim = &chunks[chunks.len() / 2];
    std::fs::write(
        victim,
        b"\x00\x01 this chunk was damaged in transit \xff\xfe",
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = transcribe(&[&playlist], &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let victim_name = victim.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        stderr.contains(&victim_name),
        "reported on stderr: {stderr}"
    );
    let json: serde_json::Value = read_json(&out.join("playlist.json"));
    let gaps = json["source"]["gaps"].as_array().unwrap();
    assert!(
        gaps.iter()
            .any(|g| g["reason"].as_str().unwrap().contains(&victim_name)),
        "{gaps:?}"
    );
    assert!(words(&json).len() > 50, "the rest is transcribed");
    assert_word_times_sane(&json);
}

#[test]
fn missing_model_is_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let output = spacescribe(&[
        "transcribe",
        "--model",
        "/nonexistent/ggml-x.bin",
        "--out",
        out.path().to_str().unwrap(),
        sample("jfk/jfk.wav").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/ggml-x.bin"), "{stderr}");
}

#[test]
fn truncated_model_is_refused_not_crashed() {
    let dir = tempfile::tempdir().unwrap();
    let model = std::fs::read(models_dir().join("ggml-tiny.en-q8_0.bin")).unwrap();
    let cut = write(dir.path(), "cut.bin", &model[..model.len() / 2]);
    let output = spacescribe(&[
        "transcribe",
        "--model",
        cut.to_str().unwrap(),
        "--out",
        dir.path().join("o").to_str().unwrap(),
        sample("jfk/jfk.wav").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(
        stderr.contains("cut.bin") && stderr.contains("truncat"),
        "{stderr}"
    );
}
