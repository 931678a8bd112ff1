//! The module graph keeps its shape: every stage depends only on the shared types and
//! on the stages before it, the shared types on no stage, and no two files of one
//! module import each other (directly or round a longer loop). Read from the sources,
//! so a `use` against the flow fails the tests, not a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages, in the order data flows through them.
const STAGES: [&str; 9] = [
    "ingest",
    "normalize",
    "speech",
    "transcribe",
    "diarize",
    "assign",
    "naming",
    "clock",
    "export",
];

/// Shared by every stage: the model, the audio value, errors, progress, utilities.
const SHARED: [&str; 7] = [
    "error",
    "transcript",
    "audio",
    "atomic",
    "workers",
    "progress",
    "models",
];

/// The top: strings the stages together (the library's API).
const TOP: [&str; 1] = ["pipeline"];

/// Jobs on finished transcripts, above the API: they use the shared modules, the
/// pipeline's public functions and the public stage modules, never a stage's insides.
const JOBS: [&str; 3] = ["archive", "publish", "quote"];

/// Stage modules `lib.rs` makes public, whose public items a job may use.
const PUBLIC_STAGES: [&str; 1] = ["export"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level module a file under src/ belongs to (`normalize/join.rs` -> `normalize`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Names that follow `prefix` in `text` (`crate::audio::x` -> `audio`), comments skipped.
fn referenced(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
        // `use crate::{a, b}` names several at once.
        if let Some(at) = line.find(&format!("{prefix}{{")) {
            let inner = &line[at + prefix.len() + 1..];
            let inner = inner.split('}').next().unwrap_or("");
            for part in inner.split(',') {
                let name = part.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    found.insert(name.to_string());
                }
            }
        }
    }
    found
}

fn rank(module: &str) -> Option<usize> {
    if SHARED.contains(&module) {
        Some(0)
    } else if let Some(i) = STAGES.iter().position(|s| *s == module) {
        Some(1 + i)
    } else if TOP.contains(&module) {
        Some(1 + STAGES.len())
    } else if JOBS.contains(&module) {
        Some(2 + STAGES.len())
    } else {
        None
    }
}

#[test]
fn every_dependency_runs_with_the_flow() {
    let mut against = Vec::new();
    for file in rust_files(&src()) {
        let module = module_of(&file);
        if module == "lib" || module == "cli" {
            continue;
        }
        let own = rank(&module).unwrap_or_else(|| panic!("{module}: not in the layer table"));
        let text = std::fs::read_to_string(&file).unwrap();
        for used in referenced(&text, "crate::") {
            let Some(theirs) = rank(&used) else {
                continue; // crate-root items (`crate::Result`) re-exported from shared modules
            };
            let allowed = if own == 0 {
                // Shared modules may use each other, never a stage.
                theirs == 0
            } else {
                theirs < own || used == module
            };
            if !allowed {
                against.push(format!("{} uses {used}", file.display()));
            }
        }
    }
    assert!(
        against.is_empty(),
        "against the flow:\n{}",
        against.join("\n")
    );
}

#[test]
fn jobs_use_only_the_api_and_the_shared_modules() {
    for job in JOBS {
        for file in rust_files(&src().join(job)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for used in referenced(&text, "crate::") {
                let allowed = used == job
                    || SHARED.contains(&used.as_str())
                    || TOP.contains(&used.as_str())
                    || PUBLIC_STAGES.contains(&used.as_str())
                    || used.chars().next().is_some_and(|c| c.is_uppercase());
                assert!(
                    allowed,
                    "{}: crate::{used} is a stage's insides",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn the_cli_uses_only_the_public_api() {
    for file in rust_files(&src().join("cli")) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("crate::"),
            "{}: the CLI is a binary",
            file.display()
        );
        for used in referenced(&text, "spacescribe::") {
            let public = [
                "archive",
                "export",
                "models",
                "publish",
                "quote",
                "transcript",
            ]
            .contains(&used.as_str())
                || used.chars().next().is_some_and(|c| c.is_uppercase())
                || ["decode_to_wav", "rename", "output_stem", "Result"].contains(&used.as_str());
            assert!(public, "{}: spacescribe::{used}", file.display());
        }
    }
}

#[test]
fn no_two_files_of_a_module_import_each_other() {
    // Sibling edges inside each module folder: `super::x` and `crate::module::x`.
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in rust_files(&src()) {
        let Some(dir) = file.parent() else { continue };
        if dir == src() || file.file_name().is_some_and(|n| n == "mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let module = module_of(&file);
        let mut siblings = referenced(&text, "super::");
        siblings.extend(referenced(&text, &format!("crate::{module}::")));
        for name in siblings {
            let sibling = dir.join(format!("{name}.rs"));
            if sibling.is_file() && sibling != file {
                edges.entry(file.clone()).or_default().insert(sibling);
            }
        }
    }
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&PathBuf> = edges[start].iter().collect();
        while let Some(next) = stack.pop() {
            assert!(
                next != start,
                "{} imports itself round a loop",
                start.display()
            );
            if seen.insert(next) {
                stack.extend(edges.get(next).into_iter().flatten());
            }
        }
    }
}
