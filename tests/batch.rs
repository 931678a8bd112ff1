//! `spacescribe batch` end to end, with the real models: recordings found in folders,
//! two replays both called `playlist.m3u8` kept apart, the same recording given twice
//! done once, a broken file failed with its reason while the rest go on, a rerun that
//! redoes nothing, failures retried on request, and a killed batch resumed.

mod common;

use common::{run_ok, sample, spacescribe};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// A Space's playlist and the first `chunks` of its chunks, copied into `dir`.
fn copy_space(dir: &Path, chunks: usize) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let text = std::fs::read_to_string(sample("space/playlist.m3u8")).unwrap();
    let mut out = String::new();
    let mut kept = 0;
    for line in text.lines() {
        let is_chunk = line.ends_with(".aac");
        if (kept == chunks && (is_chunk || line.starts_with("#EXTINF"))) || line == "#EXT-X-ENDLIST"
        {
            continue;
        }
        if is_chunk {
            kept += 1;
            std::fs::copy(sample(&format!("space/{line}")), dir.join(line)).unwrap();
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("#EXT-X-ENDLIST\n");
    let playlist = dir.join("playlist.m3u8");
    std::fs::write(&playlist, out).unwrap();
    playlist
}

/// `status` of every row of the archive's manifest, by name.
fn statuses(archive: &Path) -> Vec<(String, String, u32)> {
    let db = Connection::open(archive.join("manifest.sqlite")).unwrap();
    let mut q = db
        .prepare("SELECT name, status, attempts FROM recordings ORDER BY name")
        .unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn batch(args: &[&str]) -> (i32, String) {
    let output = spacescribe(&[&["batch", "--no-diarize", "--threads", "2"], args].concat());
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json_of(archive: &Path, name: &str) -> PathBuf {
    let recordings = std::fs::read_dir(archive.join("recordings")).unwrap();
    let folder = recordings
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().ends_with(name))
        .unwrap_or_else(|| panic!("no folder for {name} in {}", archive.display()));
    folder.join(format!("{name}.json"))
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn a_batch_keeps_books_skips_what_is_done_and_goes_on_past_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    copy_space(&src.join("a/space"), 32);
    copy_space(&src.join("b/replay"), 8);
    std::fs::copy(sample("jfk/jfk.wav"), src.join("jfk.wav")).unwrap();
    std::fs::create_dir_all(src.join("copies")).unwrap();
    std::fs::copy(sample("jfk/jfk.wav"), src.join("copies/jfk-again.wav")).unwrap();
    std::fs::write(src.join("broken.m4a"), b"this is not an m4a at all").unwrap();
    let archive = dir.path().join("archive");
    let (src_arg, arc) = (src.to_str().unwrap(), archive.to_str().unwrap());

    let (code, stderr) = batch(&[src_arg, "--archive", arc, "--formats", "json,txt"]);
    assert_eq!(
        code, 1,
        "a failed recording makes the exit code 1: {stderr}"
    );
    assert!(
        stderr.contains("3 done, 1 skipped, 1 failed"),
        "summary: {stderr}"
    );
    assert!(
        stderr.contains("skipped") && stderr.contains("the same recording as"),
        "{stderr}"
    );
    let failed_line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("failed"))
        .expect("a failed line");
    assert!(failed_line.contains("broken.m4a"), "{failed_line}");
    assert_eq!(
        statuses(&archive),
        [
            ("broken".into(), "failed".into(), 1),
            ("jfk-again".into(), "done".into(), 1),
            ("replay-playlist".into(), "done".into(), 1),
            ("space-playlist".into(), "done".into(), 1),
        ]
    );
    // Two playlists of one name, each in its own folder with its own transcript.
    let space = common::read_json(&json_of(&archive, "space-playlist"));
    let replay = common::read_json(&json_of(&archive, "replay-playlist"));
    let (long, short) = (
        space["source"]["duration"].as_f64().unwrap(),
        replay["source"]["duration"].as_f64().unwrap(),
    );
    assert!(
        long > 90.0 && (20.0..30.0).contains(&short),
        "{long} {short}"
    );
    assert!(!common::words(&replay).is_empty());
    let db = Connection::open(archive.join("manifest.sqlite")).unwrap();
    let (model, params, audio): (String, String, f64) = db
        .query_row(
            "SELECT model, params, audio_seconds FROM recordings WHERE name = 'space-playlist'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(model.contains("tiny.en"), "{model}");
    assert!(params.contains("\"beam_size\""), "{params}");
    assert!((audio - long).abs() < 1e-6);

    // Again: nothing is redone, the failure is still reported.
    let stamp = modified(&json_of(&archive, "jfk-again"));
    let (code, stderr) = batch(&[src_arg, "--archive", arc]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("0 done, 4 skipped, 1 failed") && stderr.contains("failed before"),
        "{stderr}"
    );
    assert_eq!(modified(&json_of(&archive, "jfk-again")), stamp);

    // Failures are retried on request; other parameters redo a recording.
    let (code, stderr) = batch(&[src_arg, "--archive", arc, "--retry-failed"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("0 done, 4 skipped, 1 failed"), "{stderr}");
    let jfk = src.join("jfk.wav");
    let (code, stderr) = batch(&[jfk.to_str().unwrap(), "--archive", arc, "--beam-size", "2"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1 done, 0 skipped, 0 failed"), "{stderr}");
    let rows = statuses(&archive);
    assert!(
        rows.contains(&("broken".into(), "failed".into(), 2)),
        "{rows:?}"
    );
    // Found first as copies/jfk-again.wav, it keeps that name and folder.
    assert!(
        rows.contains(&("jfk-again".into(), "done".into(), 2)),
        "{rows:?}"
    );

    let status = spacescribe(&["batch", "--status", "--archive", arc]);
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success());
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("failed") && l.contains("broken")),
        "{table}"
    );
}

#[test]
fn a_killed_batch_resumes_without_redoing_finished_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(sample("jfk/jfk.wav"), src.join("jfk.wav")).unwrap();
    let space = copy_space(&src.join("space"), 32);
    let archive = dir.path().join("archive");
    let arc = archive.to_str().unwrap();
    // jfk first (the list's order), then the Space, killed while it runs.
    let list = src.join("tonight.txt");
    std::fs::write(&list, "jfk.wav\nspace/playlist.m3u8\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spacescribe"))
        .args(["batch", "--no-diarize", "--threads", "2", "--archive", arc])
        .arg(&list)
        .env("SPACESCRIBE_MODELS", common::models_dir())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let jfk_json = || {
        std::fs::read_dir(archive.join("recordings"))
            .ok()
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path().join("jfk.json"))
            .find(|p| p.is_file())
    };
    while jfk_json().is_none() {
        assert!(Instant::now() < deadline, "jfk never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        statuses(&archive),
        [
            ("jfk".into(), "done".into(), 1),
            ("space-playlist".into(), "running".into(), 1),
        ],
        "killed while the Space ran"
    );
    let stamp = modified(&jfk_json().unwrap());

    run_ok(&[
        "batch",
        "--no-diarize",
        "--threads",
        "2",
        "--archive",
        arc,
        list.to_str().unwrap(),
    ]);
    assert_eq!(
        statuses(&archive),
        [
            ("jfk".into(), "done".into(), 1),
            ("space-playlist".into(), "done".into(), 2),
        ]
    );
    assert_eq!(modified(&jfk_json().unwrap()), stamp, "jfk not redone");
    let json = common::read_json(&json_of(&archive, "space-playlist"));
    assert_eq!(
        json["source"]["path"].as_str().unwrap(),
        space.to_str().unwrap()
    );
    assert!(common::words(&json).len() > 100);
}

#[test]
fn every_shard_of_a_batch_makes_the_archive_one_batch_makes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(sample("jfk/jfk.wav"), src.join("jfk.wav")).unwrap();
    copy_space(&src.join("early"), 4);
    copy_space(&src.join("replay"), 8);
    copy_space(&src.join("late"), 6);
    let src_arg = src.to_str().unwrap();
    let whole = dir.path().join("whole");
    let sharded = dir.path().join("sharded");
    let json_batch = |archive: &Path, shard: &[&str]| {
        let base = [
            "batch",
            "--no-diarize",
            "--threads",
            "2",
            "--formats",
            "json",
        ];
        run_ok(
            &[
                &base[..],
                &["--archive", archive.to_str().unwrap(), src_arg],
                shard,
            ]
            .concat(),
        );
    };
    json_batch(&whole, &[]);
    for shard in ["0/3", "1/3", "2/3"] {
        json_batch(&sharded, &["--shard", shard]);
    }
    assert_eq!(statuses(&sharded), statuses(&whole));
    assert_eq!(statuses(&whole).len(), 4);
    let folders = |archive: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(archive.join("recordings"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(folders(&sharded), folders(&whole));
    for folder in folders(&whole) {
        let name = folder.split_once('-').unwrap().1;
        let file = |archive: &Path| {
            std::fs::read(
                archive
                    .join("recordings")
                    .join(&folder)
                    .join(format!("{name}.json")),
            )
            .unwrap()
        };
        assert!(
            file(&sharded) == file(&whole),
            "{folder}: shards made another transcript"
        );
    }
}
