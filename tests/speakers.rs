//! The speaker library end to end, with the real models: voices added from a clip,
//! listed and removed; two voices learnt from one bundled recording's transcript; in
//! other recordings of the same voice the speaker is named (with its similarity), in
//! a batch through the archive's library too, so `search --speaker` finds them; a
//! voice the library does not have stays unnamed.

mod common;

use common::{read_json, sample, spacescribe};
use serde_json::Value;
use std::path::Path;

fn ok(args: &[&str]) -> String {
    let output = spacescribe(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "spacescribe {args:?}: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `spacescribe transcribe` of a sample into `out`, JSON only.
fn transcribe(out: &Path, extra: &[&str], name: &str) {
    let input = sample(name);
    let head = [
        "transcribe",
        "--threads",
        "2",
        "--formats",
        "json",
        "--out",
        s(out),
    ];
    ok(&[&head[..], extra, &[s(&input)]].concat());
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The transcript's speaker who talks most during `who`'s turns in the truth RTTM.
fn speaker_of(transcript: &Value, rttm: &Path, who: &str) -> String {
    let truth: Vec<(f64, f64)> = std::fs::read_to_string(rttm)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f[7] == who)
        .map(|f| {
            let start: f64 = f[3].parse().unwrap();
            (start, start + f[4].parse::<f64>().unwrap())
        })
        .collect();
    let mut best = (0.0, String::new());
    for speaker in transcript["speakers"].as_array().unwrap() {
        let id = speaker["id"].as_str().unwrap();
        let shared: f64 = transcript["turns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["speaker"] == id)
            .map(|t| {
                let (a, b) = (t["start"].as_f64().unwrap(), t["end"].as_f64().unwrap());
                truth
                    .iter()
                    .map(|(x, y)| (b.min(*y) - a.max(*x)).max(0.0))
                    .sum::<f64>()
            })
            .sum();
        if shared > best.0 {
            best = (shared, id.to_string());
        }
    }
    best.1
}

fn speaker<'a>(transcript: &'a Value, id: &str) -> &'a Value {
    transcript["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
}

/// Names the speaker of `who` (truth) `expected`, by voiceprint, and leaves `stranger`
/// as the diarization left them.
fn assert_named(transcript: &Value, name: &str, who: &str, expected: &str, stranger: &str) {
    let rttm = sample(&format!("names/{name}.rttm"));
    let known = speaker(transcript, &speaker_of(transcript, &rttm, who)).clone();
    assert_eq!(known["name"], expected, "{name}: {known}");
    assert_eq!(known["named_by"], "voiceprint");
    assert!(
        known["voiceprint_similarity"].as_f64().unwrap() >= 0.5,
        "{known}"
    );
    let other = speaker(transcript, &speaker_of(transcript, &rttm, stranger));
    assert_eq!(
        other["name"], other["id"],
        "{name}: a stranger was named: {other}"
    );
    assert!(other.get("voiceprint_similarity").is_none());
}

#[test]
fn voices_learnt_in_one_recording_are_named_in_others_and_strangers_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("voices.json");

    // add / list / remove, with a clip.
    let jfk = sample("jfk/jfk.wav");
    ok(&[
        "speakers",
        "add",
        "John F. Kennedy",
        s(&jfk),
        "--library",
        s(&library),
    ]);
    let listed: Value = serde_json::from_str(&ok(&[
        "speakers",
        "list",
        "--library",
        s(&library),
        "--json",
    ]))
    .unwrap();
    assert_eq!(listed[0]["name"], "John F. Kennedy");
    assert_eq!(listed[0]["voiceprint"].as_array().unwrap().len(), 192);
    ok(&[
        "speakers",
        "remove",
        "John F. Kennedy",
        "--library",
        s(&library),
    ]);
    assert_eq!(ok(&["speakers", "list", "--library", s(&library)]), "");
    let again = spacescribe(&[
        "speakers",
        "remove",
        "John F. Kennedy",
        "--library",
        s(&library),
    ]);
    assert_eq!(again.status.code(), Some(2));

    // Learn both voices of orbit-desk (Piper joe, hibari heart) from its transcript.
    let out = dir.path().join("out");
    transcribe(&out, &[], "names/orbit-desk.m4a");
    let orbit_json = out.join("orbit-desk.json");
    let orbit = read_json(&orbit_json);
    let rttm = sample("names/orbit-desk.rttm");
    for (who, name) in [
        ("Siobhan", "Siobhan O'Sullivan"),
        ("Tadeusz", "Tadeusz Kowalczyk"),
    ] {
        let id = speaker_of(&orbit, &rttm, who);
        ok(&[
            "speakers",
            "learn",
            s(&orbit_json),
            &id,
            name,
            "--library",
            s(&library),
        ]);
    }
    let unnamed = spacescribe(&[
        "speakers",
        "learn",
        s(&orbit_json),
        "SPEAKER_00",
        "--library",
        s(&library),
    ]);
    assert_eq!(unnamed.status.code(), Some(2), "a voice needs a name");

    // chip-talk: Xiomara is the heart voice, Dmitri a flite voice nobody learnt.
    transcribe(
        &out,
        &["--speaker-library", s(&library)],
        "names/chip-talk.m4a",
    );
    let chip = read_json(&out.join("chip-talk.json"));
    assert_named(
        &chip,
        "chip-talk",
        "Xiomara",
        "Siobhan O'Sullivan",
        "Dmitri",
    );

    // A batch uses the archive's library: festival-line's Thandiwe is the joe voice,
    // Saoirse a flite voice; search then finds them by name across the archive.
    let archive = dir.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    std::fs::copy(&library, archive.join("speakers.json")).unwrap();
    ok(&[
        "batch",
        "--threads",
        "2",
        "--formats",
        "json",
        "--archive",
        s(&archive),
        s(&sample("names/festival-line.m4a")),
    ]);
    let folder = std::fs::read_dir(archive.join("recordings"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let festival = read_json(&folder.path().join("festival-line.json"));
    assert_named(
        &festival,
        "festival-line",
        "Thandiwe",
        "Tadeusz Kowalczyk",
        "Saoirse",
    );
    let hits: Value = serde_json::from_str(&ok(&[
        "search",
        "the",
        "--archive",
        s(&archive),
        "--speaker",
        "tadeusz kowalczyk",
        "--json",
    ]))
    .unwrap();
    let hits = hits["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["speaker"] == "Tadeusz Kowalczyk"));

    // A library from another embedding model is refused in one line.
    let mut foreign = read_json(&library);
    foreign["embedding_model"] = Value::from("0".repeat(64));
    let foreign_file = dir.path().join("foreign.json");
    std::fs::write(&foreign_file, foreign.to_string()).unwrap();
    let refused = spacescribe(&[
        "transcribe",
        "--out",
        s(&out),
        "--speaker-library",
        s(&foreign_file),
        s(&jfk),
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        stderr.contains("another speaker-embedding model"),
        "{stderr}"
    );
}
