//! `spacescribe index` and `spacescribe search` end to end, with the real models: a
//! batch indexes as it goes; words, phrases, prefixes and fuzzy terms are found and
//! timed to the word the transcript has; speaker, clock and recording filters; an index
//! rebuilt from the transcripts answers the same; shards' own indexes merged give the
//! archive a one-process batch gives.

mod common;

use common::{read_json, sample, spacescribe};
use serde_json::Value;
use std::path::Path;

const SAMPLES: [&str; 3] = [
    "jfk/jfk.wav",
    "names/chip-talk.m4a",
    "names/festival-line.m4a",
];

fn batch(archive: &Path, extra: &[&str]) {
    let samples: Vec<String> = SAMPLES
        .iter()
        .map(|s| sample(s).to_string_lossy().into_owned())
        .collect();
    let samples: Vec<&str> = samples.iter().map(String::as_str).collect();
    let archive = archive.to_str().unwrap();
    let args = [
        &[
            "batch",
            "--threads",
            "2",
            "--formats",
            "json",
            "--archive",
            archive,
        ],
        extra,
        &samples[..],
    ]
    .concat();
    let output = spacescribe(&args);
    assert!(
        output.status.success(),
        "batch failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `spacescribe search QUERY --archive DIR --json ARGS`: exit code, JSON, stderr.
fn search(archive: &Path, query: &str, args: &[&str]) -> (i32, Value, String) {
    let output = spacescribe(
        &[
            &[
                "search",
                query,
                "--archive",
                archive.to_str().unwrap(),
                "--json",
            ],
            args,
        ]
        .concat(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), json, stderr)
}

fn hits(archive: &Path, query: &str, args: &[&str]) -> Vec<Value> {
    let (code, json, stderr) = search(archive, query, args);
    assert_eq!(code, 0, "search {query} {args:?}: {stderr}");
    json["hits"].as_array().unwrap().clone()
}

fn names(hits: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = hits.iter().map(|h| h["name"].as_str().unwrap()).collect();
    names.sort();
    names.dedup();
    names
}

fn index(archive: &Path, extra: &[&str]) -> String {
    let output = spacescribe(&[&["index", archive.to_str().unwrap()], extra].concat());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "index: {stderr}");
    stderr
}

/// Each hit's matched words are words of its transcript, with the same times, and
/// `at` is the first one's start.
fn assert_timed_to_the_word(archive: &Path, hit: &Value) {
    let transcript = read_json(&archive.join(hit["transcript"].as_str().unwrap()));
    let words: Vec<&Value> = transcript["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["words"].as_array().unwrap())
        .collect();
    let matched = hit["matched"].as_array().unwrap();
    assert!(!matched.is_empty(), "a hit with no matched word: {hit}");
    for m in matched {
        assert!(
            words
                .iter()
                .any(|w| w["word"] == m["word"] && w["start"] == m["start"]),
            "{m} is not a word of {}",
            hit["transcript"]
        );
    }
    assert_eq!(hit["at"], matched[0]["start"]);
}

fn sorted_hits(mut hits: Vec<Value>) -> Vec<Value> {
    for hit in &mut hits {
        hit.as_object_mut().unwrap().remove("score");
    }
    hits.sort_by_key(|h| {
        (
            h["recording"].to_string(),
            h["start"].as_f64().unwrap() as i64,
        )
    });
    hits
}

#[test]
fn a_batch_indexes_as_it_goes_and_search_finds_words_timed_with_filters() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    batch(&archive, &[]);

    // Words, a phrase, a prefix, a fuzzy term; every hit timed to the word.
    let raspberry = hits(&archive, "Raspberry", &[]);
    assert_eq!(names(&raspberry), ["chip-talk"]);
    for hit in &raspberry {
        assert_timed_to_the_word(&archive, hit);
        assert!(
            hit["wall_clock"]
                .as_str()
                .unwrap()
                .starts_with("2024-09-02T22:")
        );
        assert!(hit["speaker_id"].as_str().unwrap().starts_with("SPEAKER_"));
        assert!(hit["snippet"].as_str().unwrap().contains("[Raspberry"));
    }
    let phrase = hits(&archive, "\"raspberry pi\"", &[]);
    assert!(!phrase.is_empty());
    assert!(
        phrase[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("[Raspberry] [Pi")
    );
    assert!(hits(&archive, "\"pi raspberry\"", &[]).is_empty());
    assert_eq!(names(&hits(&archive, "volk*", &[])), ["chip-talk"]);
    assert_eq!(names(&hits(&archive, "Dmitri~", &[])), ["chip-talk"]);
    let without = hits(&archive, "raspberry -solar", &[]);
    assert!(!without.is_empty());
    for hit in &without {
        assert!(
            !hit["text"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("solar")
        );
    }
    let country = hits(&archive, "country", &[]);
    assert_eq!(names(&country), ["jfk"]);
    assert_timed_to_the_word(&archive, &country[0]);

    // Filters: the clock (jfk has none, so a date leaves it out), speaker, recording.
    let late = ["--after", "2024-09-02T22:30:00Z"];
    assert_eq!(names(&hits(&archive, "the", &late)), ["festival-line"]);
    let early = ["--before", "2024-09-02T22:30:00Z"];
    assert_eq!(names(&hits(&archive, "the", &early)), ["chip-talk"]);
    assert!(hits(&archive, "country", &["--after", "2000-01-01"]).is_empty());
    let speaker = country[0]["speaker_id"].as_str().unwrap().to_lowercase();
    assert_eq!(
        names(&hits(&archive, "country", &["--speaker", &speaker])),
        ["jfk"]
    );
    assert!(hits(&archive, "country", &["--speaker", "Nobody Here"]).is_empty());
    let only_chip = ["--recording", "chip-talk", "--limit", "100"];
    assert_eq!(names(&hits(&archive, "the", &only_chip)), ["chip-talk"]);
    let (code, _, stderr) = search(&archive, "the", &["--recording", "nosuch"]);
    assert_eq!((code, stderr.lines().count()), (2, 1), "{stderr}");
    let (code, _, stderr) = search(&archive, "\"unclosed", &[]);
    assert_eq!((code, stderr.lines().count()), (2, 1), "{stderr}");

    // The text output has the snippet and the clip command.
    let output = spacescribe(&["search", "country", "--archive", archive.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("[country.]"), "{text}");
    assert!(text.contains("clip: spacescribe quote"), "{text}");

    // Incremental: nothing to redo; rebuilt from the transcripts, the same answers.
    let everything = ["--limit", "1000"];
    let before = sorted_hits(hits(&archive, "the", &everything));
    assert!(index(&archive, &[]).contains("0 recording(s) indexed (0 segments), 3 unchanged"));
    std::fs::remove_dir_all(archive.join("index")).unwrap();
    assert!(index(&archive, &[]).contains("3 recording(s) indexed"));
    assert_eq!(sorted_hits(hits(&archive, "the", &everything)), before);

    // Shards write their own indexes, unsearched until merged; merged, the same.
    let sharded = dir.path().join("sharded");
    batch(&sharded, &["--shard", "0/2"]);
    batch(&sharded, &["--shard", "1/2"]);
    let (_, json, stderr) = search(&sharded, "the", &everything);
    assert!(stderr.contains("not merged"), "{stderr}");
    assert_eq!(json["unmerged_shards"], 2);
    let merged = index(&sharded, &["--merge"]);
    assert!(merged.contains("2 shard index(es) merged"), "{merged}");
    assert!(
        merged.contains("0 recording(s) indexed"),
        "merged, nothing to redo: {merged}"
    );
    assert!(!sharded.join("index-shards").exists());
    assert_eq!(sorted_hits(hits(&sharded, "the", &everything)), before);
}
