//! The archive job (`spacescribe batch`): many recordings transcribed once each into
//! one archive folder, with their bookkeeping. It sits on the library's public API: a
//! [`Pipeline`] does each recording; this module finds the recordings, gives each a
//! folder named by its content, keeps the manifest, and carries on past failures.
//!
//! ```text
//! ARCHIVE/manifest.sqlite                       one row per recording (manifest.rs)
//! ARCHIVE/recordings/<sha256:12>-<name>/<name>.*  its outputs (name: the first
//!                                               file name it was given under)
//! ```

mod discover;
mod manifest;

pub use discover::find_recordings;
pub use manifest::{Entry, Manifest, Status};

use crate::error::{Error, Result};
use crate::progress::{Event, Progress, Stage};
use crate::{Output, Pipeline};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// An archive folder and its manifest.
pub struct Archive {
    dir: PathBuf,
    manifest: Manifest,
}

impl Archive {
    /// Opens the archive in `dir`, creating the folder and its manifest if new.
    pub fn open(dir: &Path) -> Result<Archive> {
        std::fs::create_dir_all(dir.join("recordings")).map_err(|e| Error::io(dir, e))?;
        let manifest = Manifest::open(&dir.join("manifest.sqlite"))?;
        Ok(Archive {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The folder of a new recording: its content hash first, so two inputs of one
    /// name never share a folder, then a readable name.
    fn folder_for(&self, id: &str, name: &str) -> PathBuf {
        self.dir
            .join("recordings")
            .join(format!("{}-{name}", &id[..12.min(id.len())]))
    }
}

/// How a batch treats what the archive already has.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Try recordings that failed before again (otherwise they stay failed).
    pub retry_failed: bool,
}

/// What happened to one input of a batch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// Transcribed in this batch.
    Done { audio_seconds: f64, seconds: f64 },
    /// Not transcribed: done before with the same settings, or the same recording
    /// given twice.
    Skipped { reason: String },
    /// Failed in this batch, or failed before and not retried. The reason is the
    /// error's line without the input's path ([`RecordingReport::input`] names it).
    Failed { reason: String },
}

/// One input of a batch and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingReport {
    pub input: PathBuf,
    /// The recording's content hash, when its bytes could be read.
    pub id: Option<String>,
    /// Its folder in the archive.
    pub folder: Option<PathBuf>,
    pub outcome: Outcome,
}

/// A batch's result: every input's outcome, and the batch's wall time.
#[derive(Debug, Clone, Default)]
pub struct BatchSummary {
    pub recordings: Vec<RecordingReport>,
    pub seconds: f64,
}

impl BatchSummary {
    fn count(&self, which: fn(&Outcome) -> bool) -> usize {
        self.recordings.iter().filter(|r| which(&r.outcome)).count()
    }

    pub fn done(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Done { .. }))
    }

    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped { .. }))
    }

    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed { .. }))
    }

    /// Hours of audio transcribed in this batch.
    pub fn audio_hours(&self) -> f64 {
        let seconds: f64 = self
            .recordings
            .iter()
            .filter_map(|r| match r.outcome {
                Outcome::Done { audio_seconds, .. } => Some(audio_seconds),
                _ => None,
            })
            .sum();
        seconds / 3600.0
    }
}

/// Transcribes every recording `sources` name ([`find_recordings`]) into `archive`
/// with `pipeline`, writing `output.formats` (and always the JSON, the archive's record
/// of each) into each recording's folder. A recording done before with the same
/// [`settings_key`](Pipeline::settings_key) is skipped, as is the second of two
/// inputs with the same content; one killed mid-run (left `running`) is taken up again
/// and resumes from its finished chunks. A failed recording is recorded with its
/// reason and the batch goes on. Progress: [`Stage::Batch`] events on `progress`
/// (one step per input), the pipeline's own events within each recording.
pub fn run_batch(
    pipeline: &Pipeline,
    archive: &Archive,
    sources: &[PathBuf],
    output: &Output,
    options: &BatchOptions,
    progress: &dyn Progress,
) -> Result<BatchSummary> {
    let started = Instant::now();
    let inputs = find_recordings(sources, Some(archive.dir()))?;
    let mut output = output.clone();
    if !output.formats.contains(&crate::Format::Json) {
        output.formats.insert(0, crate::Format::Json);
    }
    let run = BatchRun {
        pipeline,
        archive,
        output,
        options,
        settings: pipeline.settings_key(),
    };
    let queued = run.enqueue(&inputs)?;
    let mut summary = BatchSummary::default();
    let here = archive.dir();
    progress.event(Event::Started {
        input: here,
        stage: Stage::Batch,
        total: Some(queued.len() as u64),
    });
    let mut first_of: HashMap<String, PathBuf> = HashMap::new();
    for (n, (input, id)) in queued.into_iter().enumerate() {
        let report = match id {
            Err(reason) => RecordingReport {
                input,
                id: None,
                folder: None,
                outcome: Outcome::Failed { reason },
            },
            Ok(id) => match first_of.get(&id) {
                Some(first) => RecordingReport {
                    outcome: Outcome::Skipped {
                        reason: format!("the same recording as {}", first.display()),
                    },
                    folder: archive.manifest.get(&id)?.map(|e| e.folder),
                    id: Some(id),
                    input,
                },
                None => {
                    first_of.insert(id.clone(), input.clone());
                    run.one(input, id)?
                }
            },
        };
        if let Outcome::Failed { reason } = &report.outcome {
            progress.event(Event::Warning {
                input: &report.input,
                message: format!("not transcribed: {reason}"),
            });
        }
        summary.recordings.push(report);
        progress.event(Event::Advanced {
            input: here,
            stage: Stage::Batch,
            done: n as u64 + 1,
        });
    }
    progress.event(Event::Finished {
        input: here,
        stage: Stage::Batch,
    });
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// One batch's settings, shared by its recordings.
struct BatchRun<'a> {
    pipeline: &'a Pipeline,
    archive: &'a Archive,
    output: Output,
    options: &'a BatchOptions,
    settings: String,
}

impl BatchRun<'_> {
    /// Every input's content hash (or why its bytes cannot be read), the new ones
    /// queued in the manifest before any work, so the manifest shows the whole batch.
    fn enqueue(
        &self,
        inputs: &[PathBuf],
    ) -> Result<Vec<(PathBuf, std::result::Result<String, String>)>> {
        let mut queued = Vec::with_capacity(inputs.len());
        for input in inputs {
            let id = crate::pipeline::recording_sha256(input)
                .map_err(|e| reason_for(input, &e.to_string()));
            if let Ok(id) = &id {
                let name = readable_name(input);
                let folder = match self.archive.manifest.get(id)? {
                    Some(entry) => entry.folder,
                    None => self.archive.folder_for(id, &name),
                };
                self.archive.manifest.enqueue(id, &name, input, &folder)?;
            }
            queued.push((input.clone(), id));
        }
        Ok(queued)
    }

    /// One recording: skipped if the archive has it done with these settings (or
    /// failed, unless retrying), else transcribed into its folder and recorded. Only a
    /// manifest that cannot be written stops the batch.
    fn one(&self, input: PathBuf, id: String) -> Result<RecordingReport> {
        let manifest = &self.archive.manifest;
        let entry = manifest
            .get(&id)?
            .ok_or_else(|| Error::stage(manifest.path(), "archive manifest", "row vanished"))?;
        let report = |outcome| RecordingReport {
            input: input.clone(),
            id: Some(id.clone()),
            folder: Some(entry.folder.clone()),
            outcome,
        };
        let same_settings = entry.settings.as_deref() == Some(self.settings.as_str());
        match entry.status {
            Status::Done if same_settings && outputs_exist(&entry) => {
                return Ok(report(Outcome::Skipped {
                    reason: "done before with the same model and parameters".into(),
                }));
            }
            Status::Failed if same_settings && !self.options.retry_failed => {
                let reason = entry.reason.clone().unwrap_or_default();
                return Ok(report(Outcome::Failed {
                    reason: format!("{reason} (failed before; --retry-failed tries again)"),
                }));
            }
            _ => {}
        }
        let model = self.pipeline.model_info();
        let params = serde_json::to_string(self.pipeline.params()).unwrap_or_default();
        manifest.start(
            &id,
            &self.settings,
            &format!("{} {}", model.name, model.sha256),
            &params,
        )?;
        let started = Instant::now();
        let mut output = self.output.clone();
        output.dir = entry.folder.clone();
        output.stem = Some(entry.name.clone());
        let result = self.pipeline.transcribe_and_write(&input, &output);
        let seconds = started.elapsed().as_secs_f64();
        Ok(report(match result {
            Ok((transcript, _)) => {
                manifest.finish(&id, transcript.source.duration, seconds)?;
                Outcome::Done {
                    audio_seconds: transcript.source.duration,
                    seconds,
                }
            }
            Err(e) => {
                let reason = reason_for(&input, &e.to_string());
                manifest.fail(&id, &reason, seconds)?;
                Outcome::Failed { reason }
            }
        }))
    }
}

/// The JSON a finished recording left (a folder emptied by hand is done again).
fn outputs_exist(entry: &Entry) -> bool {
    entry.folder.join(format!("{}.json", entry.name)).is_file()
}

/// An error's one line without the input's path in front: the reports name the input.
fn reason_for(input: &Path, error: &str) -> String {
    let prefix = format!("{}: ", input.display());
    error.strip_prefix(&prefix).unwrap_or(error).to_string()
}

/// A recording's readable name for its folder: the file's stem, with a playlist's
/// folder before it (X replays are all `playlist.m3u8`), in safe characters.
fn readable_name(input: &Path) -> String {
    let stem = crate::pipeline::output_stem(input);
    let is_playlist = input
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("m3u8") || e.eq_ignore_ascii_case("m3u"));
    let parent = input
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let name = match parent {
        Some(parent) if is_playlist => format!("{parent}-{stem}"),
        _ => stem,
    };
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_names_keep_a_playlists_folder_and_safe_characters() {
        assert_eq!(
            readable_name(Path::new("/x/1vOGwAbc/playlist.m3u8")),
            "1vOGwAbc-playlist"
        );
        assert_eq!(
            readable_name(Path::new("/x/Call in show #3.m4a")),
            "Call_in_show__3"
        );
        assert_eq!(readable_name(Path::new("a/b/space.m4a")), "space");
    }

    #[test]
    fn a_summary_counts_outcomes_and_hours() {
        let r = |outcome| RecordingReport {
            input: PathBuf::from("x"),
            id: None,
            folder: None,
            outcome,
        };
        let summary = BatchSummary {
            recordings: vec![
                r(Outcome::Done {
                    audio_seconds: 5400.0,
                    seconds: 600.0,
                }),
                r(Outcome::Skipped { reason: "s".into() }),
                r(Outcome::Failed { reason: "f".into() }),
                r(Outcome::Done {
                    audio_seconds: 1800.0,
                    seconds: 200.0,
                }),
            ],
            seconds: 800.0,
        };
        assert_eq!(
            (summary.done(), summary.skipped(), summary.failed()),
            (2, 1, 1)
        );
        assert!((summary.audio_hours() - 2.0).abs() < 1e-9);
    }
}
