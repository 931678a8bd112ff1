//! Transcribes a recording through the library API and prints each speaker's
//! first sentence: `cargo run --release --example first_sentences -- space.m4a`.

use spacescribe::{Models, Pipeline, Transcript};
use std::path::PathBuf;

fn main() -> spacescribe::Result<()> {
    let input: PathBuf = std::env::args_os()
        .nth(1)
        .expect("usage: first_sentences FILE")
        .into();
    let pipeline = Pipeline::builder(Models::locate(None)?).build()?;
    let transcript = pipeline.transcribe(&input)?;
    for speaker in &transcript.speakers {
        println!(
            "{}: {}",
            speaker.name,
            first_sentence(&transcript, &speaker.id)
        );
    }
    Ok(())
}

/// The speaker's words up to the first one that ends a sentence.
fn first_sentence(transcript: &Transcript, speaker: &str) -> String {
    let mut sentence = Vec::new();
    for word in transcript
        .words()
        .filter(|w| w.speaker.as_deref() == Some(speaker))
    {
        sentence.push(word.word.as_str());
        if word.word.ends_with(['.', '?', '!']) {
            break;
        }
    }
    sentence.join(" ")
}
