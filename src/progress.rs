//! Progress as events: the library reports what it is doing to a [`Progress`]
//! sink the caller gives, and never prints. The CLI turns the events into
//! progress bars; another program may log them, or ignore them ([`Silent`]).

use std::path::Path;

/// The stage a run is in, in the order a transcription passes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Reading, decoding and resampling the input (no known total).
    Decode,
    /// Finding speech: pieces of the recording through the VAD.
    DetectSpeech,
    /// Speech chunks through Whisper.
    Transcribe,
    /// Segmentation windows and speaker embeddings (no known total).
    Diarize,
    /// Writing the output files.
    Write,
    /// A batch's recordings, one after another (the archive job, around the stages).
    Batch,
}

impl Stage {
    /// A short name for messages and progress bars.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Decode => "decoding",
            Stage::DetectSpeech => "finding speech",
            Stage::Transcribe => "transcribing",
            Stage::Diarize => "diarizing",
            Stage::Write => "writing",
            Stage::Batch => "recordings",
        }
    }

    /// What the stage counts, for "3/12 chunks".
    pub fn unit(self) -> &'static str {
        match self {
            Stage::Transcribe => "chunks",
            Stage::Write => "files",
            Stage::Batch => "recordings",
            _ => "steps",
        }
    }
}

/// One thing that happened in a run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// `stage` starts on `input`; `total` is how many steps it will take, when known.
    Started {
        input: &'a Path,
        stage: Stage,
        total: Option<u64>,
    },
    /// `done` of the stage's steps are finished (counts up, never down).
    Advanced {
        input: &'a Path,
        stage: Stage,
        done: u64,
    },
    /// The stage is over for this input.
    Finished { input: &'a Path, stage: Stage },
    /// Something the user should know that did not stop the run (a broken metadata
    /// file, a resumed run). One line, naming the file.
    Warning { input: &'a Path, message: String },
    /// A note for verbose output (how much speech was found, how much was resumed).
    Info { input: &'a Path, message: String },
}

/// Where a run reports its progress. Called from worker threads, hence `Sync`.
pub trait Progress: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: Event<'_>) {}
}

/// A stage of one input, reporting to a sink: `start`, then `advance` per step,
/// and `Finished` when dropped (so an early return by `?` still closes the bar).
pub(crate) struct StageReport<'p> {
    sink: &'p dyn Progress,
    input: &'p Path,
    stage: Stage,
    done: std::sync::atomic::AtomicU64,
}

impl<'p> StageReport<'p> {
    pub(crate) fn start(
        sink: &'p dyn Progress,
        input: &'p Path,
        stage: Stage,
        total: Option<u64>,
    ) -> Self {
        sink.event(Event::Started {
            input,
            stage,
            total,
        });
        StageReport {
            sink,
            input,
            stage,
            done: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// One more step done (thread-safe).
    pub(crate) fn advance(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        self.sink.event(Event::Advanced {
            input: self.input,
            stage: self.stage,
            done,
        });
    }
}

impl Drop for StageReport<'_> {
    fn drop(&mut self) {
        self.sink.event(Event::Finished {
            input: self.input,
            stage: self.stage,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Progress for Recorder {
        fn event(&self, event: Event<'_>) {
            self.0.lock().unwrap().push(format!("{event:?}"));
        }
    }

    #[test]
    fn a_stage_reports_start_steps_and_end_even_on_early_exit() {
        let sink = Recorder::default();
        let input = Path::new("x.wav");
        let run = || -> Result<(), ()> {
            let report = StageReport::start(&sink, input, Stage::Transcribe, Some(3));
            report.advance();
            report.advance();
            Err(())
        };
        assert!(run().is_err());
        let events = sink.0.into_inner().unwrap();
        assert_eq!(events.len(), 4, "{events:?}");
        assert!(events[0].contains("Started") && events[0].contains("Some(3)"));
        assert!(events[2].contains("done: 2"));
        assert!(events[3].contains("Finished"));
    }
}
