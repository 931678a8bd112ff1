//! The library API end to end, as a program built on it uses it: transcribe,
//! diarize only, rename, progress events and error kinds, with the real models on
//! the bundled samples.

mod common;

use common::*;
use spacescribe::{
    ErrorKind, Event, Format, Models, Pipeline, Progress, SpeakerNames, Stage, Transcript,
};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn models() -> Models {
    Models::from_dir(&models_dir())
}

/// Keeps every event as (stage, what) so the test can check the order.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Option<Stage>, String)>>);

impl Progress for Recorder {
    fn event(&self, event: Event<'_>) {
        let entry = match event {
            Event::Started { stage, total, .. } => (Some(stage), format!("start {total:?}")),
            Event::Advanced { stage, done, .. } => (Some(stage), format!("done {done}")),
            Event::Finished { stage, .. } => (Some(stage), "finish".into()),
            Event::Warning { message, .. } => (None, format!("warning {message}")),
            Event::Info { message, .. } => (None, format!("info {message}")),
            other => (None, format!("{other:?}")),
        };
        self.0.lock().unwrap().push(entry);
    }
}

#[test]
fn transcribe_through_the_api_with_progress() {
    let recorder = Arc::new(Recorder::default());
    let pipeline = Pipeline::builder(models())
        .threads(2)
        .progress(recorder.clone())
        .names(SpeakerNames::new().speaker("SPEAKER_00", "John F. Kennedy"))
        .build()
        .unwrap();
    let transcript = pipeline.transcribe(&sample("jfk/jfk.wav")).unwrap();
    let text: Vec<&str> = transcript.words().map(|w| w.word.as_str()).collect();
    let reference = std::fs::read_to_string(sample("jfk/jfk.txt")).unwrap();
    assert_eq!(normalize(&text.join(" ")), normalize(&reference));
    assert!(
        transcript
            .words()
            .all(|w| w.speaker.as_deref() == Some("SPEAKER_00"))
    );
    assert_eq!(transcript.speaker_name("SPEAKER_00"), "John F. Kennedy");

    let events = recorder.0.lock().unwrap().clone();
    let stages: Vec<Stage> = events
        .iter()
        .filter(|(_, what)| what.starts_with("start"))
        .filter_map(|(stage, _)| *stage)
        .collect();
    assert_eq!(
        stages,
        [
            Stage::Decode,
            Stage::DetectSpeech,
            Stage::Transcribe,
            Stage::Diarize
        ]
    );
    let chunks = events
        .iter()
        .find(|(s, what)| *s == Some(Stage::Transcribe) && what.starts_with("start"))
        .map(|(_, what)| what.clone())
        .unwrap();
    let total: u64 = chunks
        .trim_start_matches("start Some(")
        .trim_end_matches(')')
        .parse()
        .unwrap();
    let last_done = events
        .iter()
        .filter(|(s, what)| *s == Some(Stage::Transcribe) && what.starts_with("done"))
        .count() as u64;
    assert_eq!(last_done, total, "one step per chunk: {events:?}");
    let finished = events.iter().filter(|(_, what)| what == "finish").count();
    assert_eq!(finished, stages.len(), "every stage closed: {events:?}");

    // Export and read back through the API: the same transcript.
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("jfk.json");
    assert!(
        spacescribe::export::write(&transcript, Format::Json, &json, &Default::default()).unwrap()
    );
    assert_eq!(Transcript::read_json(&json).unwrap(), transcript);
}

#[test]
fn diarize_only_loads_no_whisper_and_gives_turns() {
    // A Whisper path that does not exist: a diarize-only pipeline must not need it.
    let pipeline = Pipeline::builder(models().with_whisper("/nonexistent/whisper.bin"))
        .transcription(false)
        .threads(2)
        .build()
        .unwrap();
    let transcript = pipeline
        .diarize(&sample("pyannote-call/sample.wav"))
        .unwrap();
    assert!(transcript.segments.is_empty());
    assert_eq!(transcript.speakers.len(), 2, "{:?}", transcript.speakers);
    assert!(transcript.turns.len() >= 4);
    let err = pipeline.transcribe(&sample("jfk/jfk.wav")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
}

#[test]
fn rename_through_the_api() {
    let pipeline = Pipeline::builder(models())
        .transcription(false)
        .threads(2)
        .build()
        .unwrap();
    let mut transcript = pipeline
        .diarize(&sample("pyannote-call/sample.wav"))
        .unwrap();
    spacescribe::rename(
        &mut transcript,
        &SpeakerNames::new().speaker("SPEAKER_01", "Caller"),
    )
    .unwrap();
    assert_eq!(transcript.speaker_name("SPEAKER_01"), "Caller");
    assert_eq!(transcript.speaker_name("SPEAKER_00"), "SPEAKER_00");
    let unknown = SpeakerNames::new().speaker("SPEAKER_09", "Nobody");
    let err = spacescribe::rename(&mut transcript, &unknown).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
}

#[test]
fn errors_have_kinds_and_name_the_file() {
    let pipeline = Pipeline::builder(models())
        .diarize(false)
        .threads(1)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "not audio at all").unwrap();
    for (input, kind) in [
        (dir.path().join("missing.m4a"), ErrorKind::InputUnreadable),
        (text, ErrorKind::InputUnreadable),
    ] {
        let err = pipeline.transcribe(&input).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        let name = input.file_name().unwrap().to_string_lossy().to_string();
        assert!(err.to_string().contains(&name), "{err}");
    }
    let err = Pipeline::builder(Models::from_dir(Path::new("/nonexistent")))
        .build()
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Model, "{err}");
}

#[test]
fn the_example_prints_each_speakers_first_sentence() {
    // `cargo test` builds the examples beside the binary.
    let bin = Path::new(env!("CARGO_BIN_EXE_spacescribe"));
    let example = bin.parent().unwrap().join("examples/first_sentences");
    assert!(
        example.is_file(),
        "{} built by cargo test",
        example.display()
    );
    let output = std::process::Command::new(&example)
        .arg(sample("jfk/jfk.wav"))
        .env("SPACESCRIBE_MODELS", models_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one speaker, one line: {stdout}");
    let sentence = lines[0]
        .strip_prefix("SPEAKER_00: ")
        .expect("the speaker first");
    assert!(
        sentence.ends_with(['.', '?', '!']),
        "a whole sentence: {sentence}"
    );
    let reference = normalize(&std::fs::read_to_string(sample("jfk/jfk.txt")).unwrap());
    let said = normalize(sentence);
    assert!(said.len() >= 5 && reference.starts_with(&said), "{said:?}");
}
