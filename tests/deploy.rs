//! The Kubernetes deployment, without a cluster (none can run here):
//! deploy/kubernetes/indexed-job.yaml validates against the Kubernetes 1.33 API
//! schemas (PyPI kubernetes-validate, strict), and its container's command, run
//! here once per completion index with the env the Job gives each pod, makes a whole
//! archive whose exit codes the Job's podFailurePolicy expects.

mod common;

use common::{models_dir, repo, sample};
use rusqlite::Connection;
use std::path::PathBuf;
use std::process::{Command, Output};

const MANIFEST: &str = "deploy/kubernetes/indexed-job.yaml";

/// Where ./scripts/setup installs the Python checkers (srt, kubernetes-validate).
fn test_python() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
    cache.join("spacescribe/test-python")
}

/// `python3 ARGS` with the test-python folder on its path.
fn python(args: &[&str]) -> Output {
    let output = Command::new("python3")
        .args(args)
        .env("PYTHONPATH", test_python())
        .current_dir(repo())
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named"),
        "a checker is missing from {}: run ./scripts/setup ({stderr})",
        test_python().display()
    );
    output
}

#[test]
fn the_indexed_job_validates_against_kubernetes_1_33() {
    let output = python(&[
        "-m",
        "kubernetes_validate",
        "--strict",
        "-k",
        "1.33.0",
        MANIFEST,
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{}", text.trim_end());
    assert!(output.status.success(), "kubernetes-validate: {text}");
    for resource in [
        "persistentvolumeclaim/spacescribe-data",
        "job/spacescribe-archive",
    ] {
        assert!(
            text.contains(&format!("passed for resource {resource}")),
            "{resource} checked: {text}"
        );
    }
}

/// What a pod of the Job runs, read from the manifest (PyYAML comes with
/// kubernetes-validate): completions, the container's command and args, its env,
/// the volume's mount path, and the exit codes of each podFailurePolicy action.
fn job_spec() -> serde_json::Value {
    let script = r#"
import json, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
job = next(d for d in docs if d["kind"] == "Job")["spec"]
pod = job["template"]["spec"]
c = pod["containers"][0]
print(json.dumps({
    "mode": job["completionMode"],
    "completions": job["completions"],
    "parallelism": job["parallelism"],
    "argv": c["command"] + c["args"],
    "env": {e["name"]: e["value"] for e in c["env"]},
    "mount": c["volumeMounts"][0]["mountPath"],
    "policy": {r["action"]: r["onExitCodes"]["values"] for r in job["podFailurePolicy"]["rules"]},
}))
"#;
    let output = python(&["-c", script, MANIFEST]);
    assert!(
        output.status.success(),
        "reading {MANIFEST}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn each_index_of_the_job_runs_its_part_of_one_archive() {
    let spec = job_spec();
    assert_eq!(spec["mode"], "Indexed");
    let completions = spec["completions"].as_u64().unwrap();
    assert!(spec["parallelism"].as_u64().unwrap() <= completions);
    assert_eq!(
        spec["env"]["SPACESCRIBE_SHARDS"].as_str(),
        Some(completions.to_string().as_str()),
        "SPACESCRIBE_SHARDS must equal completions"
    );
    let argv: Vec<String> = spec["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(argv[0], "spacescribe");

    // The shared volume, here a folder: recordings (one good, one broken), the
    // models, and the archive the pods fill.
    let mount = spec["mount"].as_str().unwrap();
    let data = tempfile::tempdir().unwrap();
    let recordings = data.path().join("recordings");
    std::fs::create_dir_all(&recordings).unwrap();
    std::fs::copy(sample("jfk/jfk.wav"), recordings.join("jfk.wav")).unwrap();
    std::fs::write(recordings.join("broken.m4a"), b"this is not an m4a at all").unwrap();
    std::os::unix::fs::symlink(models_dir(), data.path().join("models")).unwrap();
    let on_volume = |s: &str| s.replace(mount, data.path().to_str().unwrap());

    let policy = &spec["policy"];
    let fail_index: Vec<i32> = serde_json::from_value(policy["FailIndex"].clone()).unwrap();
    let mut codes = Vec::new();
    for index in 0..completions {
        let mut pod = Command::new(env!("CARGO_BIN_EXE_spacescribe"));
        pod.args(argv[1..].iter().map(|a| on_volume(a)));
        for (name, value) in spec["env"].as_object().unwrap() {
            pod.env(name, on_volume(value.as_str().unwrap()));
        }
        // What Kubernetes sets in each pod of an Indexed Job.
        let output = pod
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("--- index {index} ---\n{}", stderr.trim_end());
        let code = output.status.code().unwrap();
        let broken = stderr
            .lines()
            .any(|l| l.trim_start().starts_with("failed") && l.contains("broken.m4a"));
        assert_eq!(code, i32::from(broken), "index {index}: {stderr}");
        codes.push(code);
    }
    // The index that met the broken file stops at once (FailIndex), not retried.
    assert_eq!(codes.iter().filter(|&&c| c == 1).count(), 1, "{codes:?}");
    assert!(fail_index.contains(&1), "exit 1 is FailIndex: {policy}");

    let db = Connection::open(data.path().join("archive/manifest.sqlite")).unwrap();
    let mut q = db
        .prepare("SELECT name, status FROM recordings ORDER BY name")
        .unwrap();
    let rows: Vec<(String, String)> = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        [
            ("broken".into(), "failed".into()),
            ("jfk".into(), "done".into())
        ]
    );
}
