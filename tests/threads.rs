//! `--threads` bounds every stage: with one thread the process uses about one core
//! (CPU time within 1.1x its wall time, measured by the kernel for that process),
//! and the output is the same, byte for byte, on one thread and on two.

#![cfg(target_os = "linux")]

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `spacescribe transcribe --threads N` and returns (wall, user + system CPU).
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also gives its CPU time"
)]
fn transcribe_timed(input: &Path, out: &Path, threads: &str) -> (Duration, Duration) {
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_spacescribe"))
        .args(["transcribe", "-q", "--threads", threads, "--out"])
        .arg(out)
        .arg(input)
        .env("SPACESCRIBE_MODELS", models_dir())
        .spawn()
        .expect("binary runs");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; wait4 reaps exactly this child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(pid, child.id() as i32, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "exit {status}"
    );
    let cpu = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (wall, cpu(usage.ru_utime) + cpu(usage.ru_stime))
}

#[test]
fn one_thread_uses_one_core_and_gives_the_same_output_as_two() {
    let input = sample("space/space.m4a");
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let (wall, cpu) = transcribe_timed(&input, &one, "1");
    let ratio = cpu.as_secs_f64() / wall.as_secs_f64();
    eprintln!("--threads 1: wall {wall:.2?}, CPU {cpu:.2?}, ratio {ratio:.3}");
    assert!(
        ratio <= 1.1,
        "CPU {cpu:?} over wall {wall:?}: more than one core used"
    );
    transcribe_timed(&input, &two, "2");
    for ext in ["json", "vtt", "srt", "txt", "rttm"] {
        let name = format!("space.{ext}");
        let a = std::fs::read(one.join(&name)).unwrap();
        let b = std::fs::read(two.join(&name)).unwrap();
        assert!(a == b, "{name} differs between --threads 1 and 2");
    }
}
