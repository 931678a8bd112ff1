//! End to end: a transcription killed with SIGKILL resumes from its finished
//! chunks, and the resumed output is identical to an uninterrupted run's.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn finished_chunks(out: &Path) -> Vec<PathBuf> {
    let Ok(runs) = std::fs::read_dir(out.join(".spacescribe-resume")) else {
        return Vec::new();
    };
    runs.flatten()
        .flat_map(|run| {
            std::fs::read_dir(run.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect()
}

#[test]
fn killed_run_resumes_to_the_same_output() {
    let input = sample("space/space.m4a");
    let whole = tempfile::tempdir().unwrap();
    let uninterrupted = transcribe_json(&input, whole.path());
    assert!(
        finished_chunks(whole.path()).is_empty(),
        "cache removed after success"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_spacescribe"))
        .args([
            "transcribe",
            "--threads",
            "2",
            "--out",
            out.to_str().unwrap(),
        ])
        .arg(&input)
        .env("SPACESCRIBE_MODELS", models_dir())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while finished_chunks(&out).is_empty() {
        assert!(Instant::now() < deadline, "no chunk finished in time");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = finished_chunks(&out);
    assert!(!kept.is_empty());
    assert!(
        !out.join("space.json").exists(),
        "killed before writing outputs"
    );

    let output = spacescribe(&[
        "transcribe",
        "-v",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("resumed {} of", kept.len())),
        "the finished chunks are reused: {stderr}"
    );
    assert_eq!(read_json(&out.join("space.json")), uninterrupted);
    assert!(
        finished_chunks(&out).is_empty(),
        "cache removed after success"
    );
}
