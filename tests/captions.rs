//! Captions that meet broadcast rules, measured on real transcripts of bundled samples
//! (three recordings: the synthetic Space, the real two-speaker call with overlaps, a
//! fast three-voice dialogue), read back from the files the binary wrote:
//! at most 2 lines of at most 42 characters (32 with `--caption-chars 32`), cues of 1 to
//! 7 seconds, about 20 characters a second, cues that end at sentence or clause ends,
//! one speaker a cue, in start order, none overlapping the next. Every `.vtt` goes
//! through the W3C validator's parser (npm `webvtt-parser`, run by node) and every
//! `.srt` through the strict parser of PyPI `srt` (both installed by ./scripts/setup).
//! The figures are printed as a table (`cargo test --release --test captions -- --nocapture`).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone)]
struct Cue {
    start: f64,
    end: f64,
    lines: Vec<String>,
    /// Voice names (`<v Name>`) in the cue, or the SRT `Name:` prefix.
    voices: Vec<String>,
    /// Characters of the SRT `Name: ` label and `[overlap: …]` marks: shown, but read
    /// at a glance, not at the words' pace.
    label_chars: usize,
}

fn seconds(stamp: &str) -> f64 {
    let stamp = stamp.trim().replace(',', ".");
    let parts: Vec<f64> = stamp.split(':').map(|p| p.parse().unwrap()).collect();
    parts.iter().fold(0.0, |acc, p| acc * 60.0 + p)
}

/// Cue text without WebVTT markup, entities unescaped: what a viewer reads.
fn visible(line: &str) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut voices = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let close = rest[open..].find('>').unwrap() + open;
        let tag = &rest[open + 1..close];
        if let Some(name) = tag.strip_prefix("v ") {
            voices.push(name.to_string());
        }
        rest = &rest[close + 1..];
    }
    text.push_str(rest);
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    (text, voices)
}

fn parse_blocks(text: &str) -> Vec<Vec<&str>> {
    text.split("\n\n")
        .map(|b| b.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>())
        .filter(|b| b.iter().any(|l| l.contains("-->")))
        .collect()
}

fn timing(line: &str) -> (f64, f64) {
    let (a, b) = line.split_once("-->").unwrap();
    (seconds(a), seconds(b.split_whitespace().next().unwrap()))
}

fn read_vtt(path: &Path) -> Vec<Cue> {
    let text = std::fs::read_to_string(path).unwrap();
    parse_blocks(&text)
        .into_iter()
        .map(|block| {
            let at = block.iter().position(|l| l.contains("-->")).unwrap();
            let (start, end) = timing(block[at]);
            let mut voices = Vec::new();
            let lines = block[at + 1..]
                .iter()
                .map(|l| {
                    let (text, v) = visible(l);
                    voices.extend(v);
                    text
                })
                .collect();
            Cue {
                start,
                end,
                lines,
                voices,
                label_chars: 0,
            }
        })
        .collect()
}

fn read_srt(path: &Path, names: &[String]) -> Vec<Cue> {
    let text = std::fs::read_to_string(path).unwrap();
    parse_blocks(&text)
        .into_iter()
        .map(|block| {
            let (start, end) = timing(block[1]);
            let lines: Vec<String> = block[2..].iter().map(|l| l.to_string()).collect();
            let voices: Vec<String> = names
                .iter()
                .filter(|n| lines[0].starts_with(&format!("{n}: ")))
                .cloned()
                .collect();
            Cue {
                start,
                end,
                label_chars: voices.first().map_or(0, |n| n.chars().count() + 2)
                    + lines
                        .iter()
                        .map(|l| l.matches("[overlap: ").count())
                        .sum::<usize>()
                        * "[overlap: ]".len(),
                lines,
                voices,
            }
        })
        .collect()
}

fn ends_sentence(word: &str) -> bool {
    word.trim_end_matches(['"', '\'', ')', ']'])
        .ends_with(['.', '?', '!'])
}

fn ends_clause(word: &str) -> bool {
    word.trim_end_matches(['"', '\'', ')', ']'])
        .ends_with([',', ';', ':', '—'])
}

fn opens_clause(word: &str) -> bool {
    let w = word
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    [
        "and", "but", "or", "so", "because", "while", "which", "who", "that", "if", "when", "then",
    ]
    .contains(&w.as_str())
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[rank]
}

/// The figures the issue asks for, over a set of cues from several files.
#[derive(Debug)]
struct Figures {
    cues: usize,
    max_line: usize,
    p95_line: f64,
    max_lines: usize,
    min_duration: f64,
    p5_duration: f64,
    max_duration: f64,
    under_one_second: f64,
    p95_cps: f64,
    over_20_cps: f64,
    /// Share of all cues that end at a sentence or clause end (or the file's end).
    sentence_or_clause_end: f64,
    /// The same, over the breaks the cue builder chose: not where the speaker changes.
    chosen_breaks_at_clause: f64,
    overlapping_pairs: usize,
    out_of_order: usize,
    multi_voice: usize,
}

fn figures(files: &[Vec<Cue>]) -> Figures {
    let all: Vec<&Cue> = files.iter().flatten().collect();
    let line_lengths: Vec<f64> = all
        .iter()
        .flat_map(|c| c.lines.iter().map(|l| l.chars().count() as f64))
        .collect();
    let durations: Vec<f64> = all.iter().map(|c| c.end - c.start).collect();
    let cps: Vec<f64> = all
        .iter()
        .map(|c| {
            let read = c.lines.join(" ").chars().count() - c.label_chars;
            read as f64 / (c.end - c.start).max(0.001)
        })
        .collect();
    let mut clause_ends = 0;
    let (mut chosen, mut chosen_at_clause) = (0, 0);
    let mut overlapping_pairs = 0;
    let mut out_of_order = 0;
    for cues in files {
        for (i, c) in cues.iter().enumerate() {
            let last = c.lines.last().unwrap().split_whitespace().last().unwrap();
            let next = cues.get(i + 1);
            let next_first = next.and_then(|n| n.lines[0].split_whitespace().next());
            let at_clause = next.is_none()
                || ends_sentence(last)
                || ends_clause(last)
                || next_first.is_some_and(opens_clause);
            clause_ends += usize::from(at_clause);
            let speaker_changes =
                next.is_some_and(|n| !n.voices.is_empty() && n.voices != c.voices);
            if next.is_some() && !speaker_changes {
                chosen += 1;
                chosen_at_clause += usize::from(at_clause);
            }
            if let Some(next) = cues.get(i + 1) {
                overlapping_pairs += usize::from(c.end > next.start + 1e-9);
                out_of_order += usize::from(next.start < c.start);
            }
        }
    }
    let share = |n: usize| n as f64 / all.len() as f64;
    Figures {
        cues: all.len(),
        max_line: line_lengths.iter().cloned().fold(0.0, f64::max) as usize,
        p95_line: percentile(&line_lengths, 95.0),
        max_lines: all.iter().map(|c| c.lines.len()).max().unwrap(),
        min_duration: durations.iter().cloned().fold(f64::INFINITY, f64::min),
        p5_duration: percentile(&durations, 5.0),
        max_duration: durations.iter().cloned().fold(0.0, f64::max),
        under_one_second: share(durations.iter().filter(|&&d| d < 1.0 - 1e-9).count()),
        p95_cps: percentile(&cps, 95.0),
        over_20_cps: share(cps.iter().filter(|&&r| r > 20.0).count()),
        sentence_or_clause_end: share(clause_ends),
        chosen_breaks_at_clause: chosen_at_clause as f64 / chosen.max(1) as f64,
        overlapping_pairs,
        out_of_order,
        multi_voice: all.iter().filter(|c| c.voices.len() > 1).count(),
    }
}

fn print_table(label: &str, f: &Figures) {
    eprintln!(
        "| {label} | {} | {} | {:.0} | {} | {:.2} / {:.2} / {:.2} | {:.0} % | {:.1} | {:.0} % | {:.0} % | {:.0} % | {} | {} |",
        f.cues,
        f.max_line,
        f.p95_line,
        f.max_lines,
        f.min_duration,
        f.p5_duration,
        f.max_duration,
        f.under_one_second * 100.0,
        f.p95_cps,
        f.over_20_cps * 100.0,
        f.sentence_or_clause_end * 100.0,
        f.chosen_breaks_at_clause * 100.0,
        f.overlapping_pairs,
        f.out_of_order,
    );
}

/// The rules every set of cues keeps; `max_chars` is the line limit asked for.
fn assert_rules(label: &str, f: &Figures, max_chars: usize) {
    assert!(
        f.max_line <= max_chars,
        "{label}: a line of {} chars",
        f.max_line
    );
    assert!(f.max_lines <= 2, "{label}: a cue of {} lines", f.max_lines);
    assert!(f.max_duration <= 7.0 + 1e-6, "{label}: {f:?}");
    assert_eq!(f.overlapping_pairs, 0, "{label}: overlapping cues");
    assert_eq!(f.out_of_order, 0, "{label}: cues out of start order");
    assert_eq!(f.multi_voice, 0, "{label}: a cue with two speakers");
    // Where the words allow: a one-word answer between two turns cannot be held for a
    // second without covering the next speaker, so these are shares, with a margin.
    // Two of the three samples are quick-fire talk (turns under a second, answers
    // spoken at 20+ characters a second), hence the margins.
    assert!(f.under_one_second <= 0.15, "{label}: {f:?}");
    assert!(f.p95_cps <= 22.0, "{label}: {f:?}");
    // Where the speaker changes the cue must end, wherever the sentence is (speaker
    // turns found mid-sentence, transcripts without punctuation): the builder is held
    // to the breaks it chose, the whole share is reported.
    // Two lines of 32 hold a sentence less often than two of 42, so more breaks must
    // fall inside one.
    let chosen_floor = if max_chars >= 42 { 0.85 } else { 0.70 };
    assert!(f.chosen_breaks_at_clause >= chosen_floor, "{label}: {f:?}");
    assert!(f.sentence_or_clause_end >= 0.65, "{label}: {f:?}");
}

const SAMPLES: [&str; 3] = [
    "space/space.m4a",
    "pyannote-call/sample.wav",
    "dialogues/quickfire-three.m4a",
];

fn stem(input: &str) -> String {
    Path::new(input)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn speaker_names(json: &serde_json::Value) -> Vec<String> {
    json["speakers"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The Podcasting 2.0 files `transcribe` writes by default: the transcript's phrases
/// carry every word in order, with speakers and speech times; the chapters start at 0,
/// in order, each on a word's start and with a title.
fn assert_podcast_files(dir: &Path, stem: &str, json: &serde_json::Value) {
    let podcast = read_json(&dir.join(format!("{stem}.podcast.json")));
    assert_eq!(podcast["version"], "1.0.0");
    let segments = podcast["segments"].as_array().unwrap();
    let bodies: Vec<&str> = segments
        .iter()
        .map(|s| s["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies.join(" "),
        transcript_text(json),
        "{stem}: words lost or moved"
    );
    let mut last = 0.0;
    for s in segments {
        let (start, end) = (
            s["startTime"].as_f64().unwrap(),
            s["endTime"].as_f64().unwrap(),
        );
        assert!(start >= last && end >= start, "{stem}: {s}");
        assert!(s["speaker"].is_string(), "{stem}: {s}");
        last = start;
    }
    let chapters = read_json(&dir.join(format!("{stem}.chapters.json")));
    assert_eq!(chapters["version"], "1.2.0");
    let chapters = chapters["chapters"].as_array().unwrap();
    assert_eq!(chapters[0]["startTime"], 0.0, "{stem}");
    let starts: Vec<f64> = words(json)
        .iter()
        .map(|w| (w["start"].as_f64().unwrap() * 1000.0).round() / 1000.0)
        .collect();
    for c in &chapters[1..] {
        let t = c["startTime"].as_f64().unwrap();
        assert!(
            starts.contains(&t),
            "{stem}: chapter at {t} is not on a word's start"
        );
    }
    assert!(
        chapters
            .iter()
            .all(|c| !c["title"].as_str().unwrap().is_empty())
    );
}

/// Runs a checker that must accept every file it is given.
fn assert_checker_accepts(program: &str, script: &Path, files: &[PathBuf]) {
    let out = Command::new(program)
        .arg(script)
        .args(files)
        .env("PYTHONPATH", test_python_path())
        .output()
        .unwrap_or_else(|e| panic!("{program} does not run ({e}): run ./scripts/setup"));
    assert!(
        out.status.success(),
        "{} rejects: {}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where ./scripts/setup installs the Python checkers (`pip install --target`).
fn test_python_path() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
    cache.join("spacescribe/test-python")
}

#[test]
fn captions_meet_broadcast_rules_and_validate() {
    let out = tempfile::tempdir().unwrap();
    let narrow = out.path().join("narrow");
    let (mut vtt, mut srt, mut srt32) = (Vec::new(), Vec::new(), Vec::new());
    let mut files = Vec::new();
    for input in SAMPLES {
        let json = transcribe_json(&sample(input), out.path());
        let stem = stem(input);
        let json_path = out.path().join(format!("{stem}.json"));
        let renamed = spacescribe(&[
            "rename",
            "--caption-chars",
            "32",
            "--formats",
            "srt,vtt",
            "--out",
            narrow.to_str().unwrap(),
            json_path.to_str().unwrap(),
        ]);
        assert!(renamed.status.success(), "{renamed:?}");
        assert_podcast_files(out.path(), &stem, &json);
        let names = speaker_names(&json);
        vtt.push(read_vtt(&out.path().join(format!("{stem}.vtt"))));
        srt.push(read_srt(&out.path().join(format!("{stem}.srt")), &names));
        srt32.push(read_srt(&narrow.join(format!("{stem}.srt")), &names));
        for dir in [out.path(), narrow.as_path()] {
            files.push(dir.join(format!("{stem}.vtt")));
            files.push(dir.join(format!("{stem}.srt")));
        }
    }
    eprintln!(
        "| captions | cues | max line | p95 line | max lines | duration min / p5 / max (s) | under 1 s | p95 chars/s | over 20 chars/s | end at sentence or clause | chosen breaks at sentence or clause | overlapping pairs | out of order |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, cues, chars) in [
        ("VTT, 42", &vtt, 42),
        ("SRT, 42", &srt, 42),
        ("SRT, 32", &srt32, 32),
    ] {
        let f = figures(cues);
        print_table(label, &f);
        assert_rules(label, &f, chars);
    }
    let (vtts, srts): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|p| p.extension().is_some_and(|e| e == "vtt"));
    let tools = repo().join("tests/tools");
    assert_checker_accepts("node", &tools.join("validate-vtt.mjs"), &vtts);
    assert_checker_accepts("python3", &tools.join("validate_srt.py"), &srts);
}
