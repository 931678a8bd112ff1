//! The transcript page in a real browser. The release binary transcribes the pyannote
//! call (two speakers, a WAV Chromium plays) into JSON and HTML with the audio beside
//! the page, as a publisher uploads them; `tests/browser/check-page.mjs` then drives
//! headless Chromium over the page through the DevTools protocol (puppeteer-core):
//! nothing fetched but the page and its audio, no console or page errors, a clicked
//! word seeks to its start, the highlight follows playback, search finds a word of
//! the transcript, the speaker timeline seeks, a turn copies with speaker and time.
//! Then the JSON is given hostile names, title and words and re-rendered by
//! `spacescribe rename`: that page must run nothing and show them as text.
//!
//! Chromium, node and the npm packages come from `./scripts/setup`; when one is
//! missing this test fails, it does not skip. `SPACESCRIBE_PAGE_SCREENSHOT=FILE` also
//! saves a 1280x900 screenshot of the first page (how `docs/page.png` is made).

mod common;

use common::{normalize, read_json, repo, run_ok, sample, words};
use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";
const HOSTILE_NAME: &str = r#"<img src=x onerror="window.__pwned=1">"#;
const HOSTILE_TITLE: &str = "</title><script>window.__pwned=2</script>";
const HOSTILE_WORD: &str = "</script><script>window.__pwned=3</script>";

#[test]
fn the_page_plays_searches_and_seeks_in_chromium_and_runs_nothing_from_its_data() {
    let browser_tests = browser_tests_ready();
    let out = tempfile::tempdir().unwrap();
    let audio = out.path().join("pyannote-call.wav");
    std::fs::copy(sample("pyannote-call/sample.wav"), &audio).unwrap();
    run_ok(&[
        "transcribe",
        "--threads",
        "2",
        "--formats",
        "json,html",
        "--speaker",
        "SPEAKER_00=Diane",
        "--speaker",
        "SPEAKER_01=Sheila",
        "--out",
        path_str(out.path()),
        path_str(&audio),
    ]);
    let page = out.path().join("pyannote-call.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(r#"<audio id="player" controls preload="metadata" src="pyannote-call.wav">"#),
        "the player plays the recording beside the page"
    );
    let json = out.path().join("pyannote-call.json");
    let word = longest_word(&read_json(&json));
    let mut args = vec!["--find".to_string(), word.clone()];
    if let Some(shot) = std::env::var_os("SPACESCRIBE_PAGE_SCREENSHOT") {
        let shot = repo().join(shot); // a relative path is taken from the checkout
        args.extend(["--screenshot".into(), shot.to_string_lossy().into_owned()]);
    }
    check_page(&browser_tests, &page, &args);

    let hostile = out.path().join("hostile.json");
    write_hostile(&json, &hostile);
    run_ok(&[
        "rename",
        path_str(&hostile),
        "--formats",
        "html",
        "--speaker",
        &format!("SPEAKER_00={HOSTILE_NAME}"),
    ]);
    let mut args = vec!["--find".to_string(), word];
    for text in [HOSTILE_NAME, HOSTILE_TITLE, HOSTILE_WORD] {
        args.extend(["--expect-text".into(), text.into()]);
    }
    check_page(&browser_tests, &out.path().join("hostile.html"), &args);
}

/// tests/browser, once Chromium, node and its packages are there (or a failure
/// saying what to run).
fn browser_tests_ready() -> PathBuf {
    let dir = repo().join("tests/browser");
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} missing: run ./scripts/setup (it installs Debian chromium)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node missing: run ./scripts/setup (it installs Debian nodejs)"
    );
    assert!(
        dir.join("node_modules/puppeteer-core").is_dir(),
        "{}/node_modules missing: run ./scripts/setup (npm ci there)",
        dir.display()
    );
    dir
}

/// Runs check-page.mjs on `page`; its lines say what failed.
fn check_page(browser_tests: &Path, page: &Path, args: &[String]) {
    let output = Command::new("node")
        .current_dir(browser_tests)
        .arg("check-page.mjs")
        .arg(page)
        .args(args)
        .env("CHROMIUM", CHROMIUM)
        .output()
        .expect("node runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{}:\n{report}", page.display());
    eprint!("{report}");
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// The transcript's longest word (letters only): one the search must find.
fn longest_word(json: &serde_json::Value) -> String {
    words(json)
        .iter()
        .flat_map(|w| normalize(w["word"].as_str().unwrap()))
        .filter(|w| w.chars().all(char::is_alphabetic))
        .fold(String::new(), |longest, w| {
            if w.len() > longest.len() { w } else { longest }
        })
}

/// The transcript at `from` with a hostile title and word, written to `to`; the
/// hostile speaker name comes through `rename --speaker`.
fn write_hostile(from: &Path, to: &Path) {
    let mut json = read_json(from);
    json["metadata"] = serde_json::json!({ "file": "metadata.json", "title": HOSTILE_TITLE });
    json["segments"][0]["words"][1]["word"] = HOSTILE_WORD.into();
    std::fs::write(to, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}
