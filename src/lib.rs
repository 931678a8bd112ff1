//! spacescribe: a recorded Space in, a speaker-tagged, word-timed transcript out,
//! offline.
//!
//! ```no_run
//! use spacescribe::export::ExportOptions;
//! use spacescribe::{Format, Models, Pipeline, SpeakerNames};
//! use std::path::Path;
//!
//! # fn main() -> spacescribe::Result<()> {
//! let pipeline = Pipeline::builder(Models::locate(None)?)
//!     .threads(2)
//!     .names(SpeakerNames::new().speaker("SPEAKER_00", "Elon Musk"))
//!     .build()?;
//! let transcript = pipeline.transcribe(Path::new("space.m4a"))?;
//! for segment in &transcript.segments {
//!     println!("{:?} {:.2}: {}", segment.speaker, segment.start, segment.text);
//! }
//! let options = ExportOptions::default();
//! spacescribe::export::write(&transcript, Format::Vtt, Path::new("space.vtt"), &options)?;
//! # Ok(())
//! # }
//! ```
//!
//! The data flows one way through the stages, each a private module that depends
//! only on the shared types ([`transcript`], `audio`, [`Error`]) and on the stages
//! before it:
//!
//! ```text
//! ingest -> normalize -> speech -> transcribe -> diarize -> assign -> naming -> export
//! ```
//!
//! [`Pipeline`] strings them together; [`transcript`] is the one model they share and
//! the value every caller gets back; [`export`] renders it; progress is reported as
//! [`Event`]s to a [`Progress`] sink, never printed. Jobs for finished transcripts sit
//! on top of that API: [`publish`] makes publish-ready audio and its transcripts,
//! [`quote`] finds and checks quotes, [`archive`] transcribes many recordings into an
//! archive with their bookkeeping.

pub mod archive;
mod assign;
mod atomic;
mod audio;
mod clock;
mod diarize;
mod error;
pub mod export;
mod ingest;
pub mod models;
mod naming;
mod normalize;
mod pipeline;
mod progress;
pub mod publish;
pub mod quote;
mod speech;
mod transcribe;
pub mod transcript;
mod workers;

pub use diarize::SpeakerCount;
pub use error::{Error, ErrorKind, Result};
pub use export::Format;
pub use models::Models;
pub use naming::{KnownSpeaker, SpeakerLibrary, SpeakerNames};
pub use pipeline::{
    Output, PcmFormat, Pipeline, PipelineBuilder, ProgramMeter, SourceAudio, TruePeakMeter,
    decode_to_wav, open_source_audio, output_stem, recording_files, recording_sha256, rename,
};
pub use progress::{Event, Progress, Silent, Stage};
pub use transcript::{Segment, Speaker, Transcript, Word};
