//! spacescribe: a recorded Space in, a speaker-ready, word-timed transcript out.
//!
//! The data flows one way through the stages, each a module:
//!
//! ```text
//! ingest -> normalize -> speech -> transcribe -> (diarize) -> assign -> export
//! ```
//!
//! [`pipeline`] strings them together; [`transcript`] is the one model they share.

pub mod assign;
pub mod atomic;
pub mod audio;
pub mod diarize;
pub mod error;
pub mod export;
pub mod ingest;
pub mod models;
pub mod naming;
pub mod normalize;
pub mod pipeline;
pub mod speech;
pub mod transcribe;
pub mod transcript;
pub mod workers;

pub use error::{Error, Result};
