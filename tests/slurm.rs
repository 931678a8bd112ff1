//! The Slurm deployment end to end, on a real single-node Slurm that
//! scripts/slurm-local brings up on localhost: deploy/slurm/archive.sbatch as a
//! 3-task job array over a few samples (one of them broken), two tasks at a time
//! into one archive, makes the archive one local batch makes, and each task's log
//! says which part it ran and how it ended. Needs root and Debian's slurm-wlm and
//! munge (./scripts/setup installs them).

mod common;

use common::{models_dir, repo, sample, spacescribe};
use rusqlite::Connection;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The array's size, as the test submits it (`--array=0-2`).
const TASKS: usize = 3;

/// The local Slurm, up while this lives: down again on drop, pass or panic, unless
/// it was already up before the test (someone's own, left as it was). Jobs the test
/// submitted are cancelled on drop, so a failed test leaves nothing running.
struct Cluster {
    conf: PathBuf,
    started: bool,
    jobs: RefCell<Vec<String>>,
}

impl Cluster {
    fn up() -> Cluster {
        let state = std::env::var_os("SPACESCRIBE_SLURM_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp/spacescribe-slurm"));
        let was_up = slurm_local("status").status.success();
        let up = slurm_local("up");
        assert!(
            up.status.success(),
            "scripts/slurm-local up failed (root and ./scripts/setup needed): {}",
            String::from_utf8_lossy(&up.stderr)
        );
        Cluster {
            conf: state.join("slurm.conf"),
            started: !was_up,
            jobs: RefCell::new(Vec::new()),
        }
    }

    /// A Slurm client command (sbatch, squeue…) for this cluster.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", &self.conf);
        command
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let output = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for job in self.jobs.borrow().iter() {
            let _ = self.command("scancel").arg(job).output();
        }
        if self.started {
            let down = slurm_local("down");
            eprintln!("{}", String::from_utf8_lossy(&down.stdout).trim_end());
        }
    }
}

fn slurm_local(verb: &str) -> Output {
    Command::new(repo().join("scripts/slurm-local"))
        .arg(verb)
        .output()
        .expect("scripts/slurm-local runs")
}

/// `status` and `attempts` of every row of the archive's manifest, by name.
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

fn folders(archive: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(archive.join("recordings"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_slurm_array_makes_the_archive_one_local_batch_makes() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // Four recordings, 11 to 30 s, and a file that is no audio at all.
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(sample("jfk/jfk.wav"), src.join("jfk.wav")).unwrap();
    std::fs::copy(sample("pyannote-call/sample.wav"), src.join("call.wav")).unwrap();
    for clip in ["newsroom-south", "festival-line"] {
        let name = format!("{clip}.m4a");
        std::fs::copy(sample(&format!("names/{name}")), src.join(&name)).unwrap();
    }
    std::fs::write(src.join("broken.m4a"), b"this is not an m4a at all").unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let (slurm_archive, local_archive) = (dir.path().join("slurm"), dir.path().join("local"));
    let src_arg = src.to_str().unwrap();

    let cluster = Cluster::up();
    let cluster_up = started.elapsed();
    // One CPU a task, so two of the three run at once on a 2-core machine, both
    // writing the one manifest. The job's working folder holds the script's default
    // `spacescribe-%A_%a.log`.
    let submitted = cluster
        .command("sbatch")
        .args(["--parsable", "--array=0-2", "--cpus-per-task=1"])
        .arg(format!("--chdir={}", logs.display()))
        .arg(repo().join("deploy/slurm/archive.sbatch"))
        .arg(&slurm_archive)
        .args([src_arg, "--formats", "json"])
        .env("SPACESCRIBE", env!("CARGO_BIN_EXE_spacescribe"))
        .env("SPACESCRIBE_MODELS", models_dir())
        .output()
        .expect("sbatch runs");
    assert!(
        submitted.status.success(),
        "sbatch: {}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    let stdout = String::from_utf8_lossy(&submitted.stdout);
    // --parsable: "ID" or "ID;CLUSTER".
    let job = stdout.trim().split(';').next().unwrap().to_string();
    assert!(job.parse::<u64>().is_ok(), "sbatch said {stdout:?}");
    cluster.jobs.borrow_mut().push(job.clone());

    // Accounting is off, so sacct knows nothing: the job is done when squeue no
    // longer lists any of its tasks.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let queued = cluster.run("squeue", &["-h", "-j", &job]);
        if queued.stdout.iter().all(u8::is_ascii_whitespace) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} still queued after 10 minutes: {}",
            String::from_utf8_lossy(&queued.stdout)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let slurm_done = started.elapsed();

    // Each task's log: which part it ran, on which host, and how batch ended.
    let mut failed_in = Vec::new();
    for task in 0..TASKS {
        let log = logs.join(format!("spacescribe-{job}_{task}.log"));
        let text = std::fs::read_to_string(&log)
            .unwrap_or_else(|e| panic!("no log {} for task {task}: {e}", log.display()));
        eprintln!("--- {} ---\n{}", log.display(), text.trim_end());
        let ours = format!("task {task} of {TASKS} on ");
        assert!(
            text.lines().next().is_some_and(|l| l.starts_with(&ours)),
            "task {task}'s log opens with {ours:?}: {text}"
        );
        let exit = text
            .lines()
            .filter(|l| l.starts_with(&ours))
            .find_map(|l| l.split_once(": batch exited "))
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("task {task}'s log has no exit line: {text}"));
        let broken = text
            .lines()
            .any(|l| l.trim_start().starts_with("failed") && l.contains("broken.m4a"));
        // batch exits 1 for a failed recording, and only for that here.
        assert_eq!(exit, if broken { "1" } else { "0" }, "task {task}: {text}");
        if broken {
            failed_in.push(task);
        }
    }
    assert_eq!(failed_in.len(), 1, "one task met broken.m4a: {failed_in:?}");

    // The same sources in one local process, the way tests/batch.rs does it.
    let local = spacescribe(&[
        "batch",
        "--threads",
        "2",
        "--formats",
        "json",
        "--archive",
        local_archive.to_str().unwrap(),
        src_arg,
    ]);
    assert_eq!(
        local.status.code(),
        Some(1),
        "the broken file fails the local batch: {}",
        String::from_utf8_lossy(&local.stderr)
    );
    let local_done = started.elapsed();

    let done = |name: &str| (name.to_string(), "done".to_string(), 1);
    assert_eq!(
        statuses(&local_archive),
        [
            ("broken".into(), "failed".into(), 1),
            done("call"),
            done("festival-line"),
            done("jfk"),
            done("newsroom-south"),
        ]
    );
    assert_eq!(statuses(&slurm_archive), statuses(&local_archive));
    assert_eq!(folders(&slurm_archive), folders(&local_archive));
    // A failed recording has a folder without a transcript; every other one has
    // the same transcript, to the byte, whichever task and thread count made it.
    let mut compared = 0;
    for folder in folders(&local_archive) {
        let name = folder.split_once('-').unwrap().1;
        let json = |archive: &Path| {
            std::fs::read(
                archive
                    .join("recordings")
                    .join(&folder)
                    .join(format!("{name}.json")),
            )
            .ok()
        };
        let (slurm, local) = (json(&slurm_archive), json(&local_archive));
        assert!(
            slurm == local,
            "{folder}: the Slurm task made another transcript"
        );
        compared += usize::from(local.is_some());
    }
    assert_eq!(compared, 4, "four transcripts compared");
    // Each task indexed what it did into its own shard index; merged, the archive
    // answers a search as the local batch's does.
    let merged = spacescribe(&["index", slurm_archive.to_str().unwrap(), "--merge"]);
    let merged_log = String::from_utf8_lossy(&merged.stderr);
    eprintln!("{merged_log}");
    assert!(merged.status.success(), "index --merge: {merged_log}");
    assert!(
        merged_log.contains("3 shard index(es) merged"),
        "{merged_log}"
    );
    assert!(
        merged_log.contains("0 recording(s) indexed"),
        "merged, nothing to read again: {merged_log}"
    );
    assert_eq!(search_hits(&slurm_archive), search_hits(&local_archive));

    eprintln!(
        "slurm test: cluster up {:.1} s, array done {:.1} s, local batch {:.1} s",
        cluster_up.as_secs_f64(),
        (slurm_done - cluster_up).as_secs_f64(),
        (local_done - slurm_done).as_secs_f64()
    );
}

/// Every hit of a common word in the archive, without scores, in a fixed order.
fn search_hits(archive: &Path) -> Vec<serde_json::Value> {
    let output = spacescribe(&[
        "search",
        "the",
        "--archive",
        archive.to_str().unwrap(),
        "--limit",
        "1000",
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["unmerged_shards"], 0);
    let mut hits = json["hits"].as_array().unwrap().clone();
    assert!(!hits.is_empty());
    for hit in &mut hits {
        hit.as_object_mut().unwrap().remove("score");
    }
    hits.sort_by_key(|h| format!("{} {:012.3}", h["recording"], h["start"].as_f64().unwrap()));
    hits
}
