//! The archive job (`spacescribe batch`): many recordings transcribed once each into
//! one archive folder, with their bookkeeping. It sits on the library's public API: a
//! [`Pipeline`] does each recording; this module finds the recordings, gives each a
//! folder named by its content, keeps the manifest, and carries on past failures.
//!
//! ```text
//! ARCHIVE/manifest.sqlite                       one row per recording (manifest.rs)
//! ARCHIVE/recordings/<sha256:12>-<name>/<name>.*  its outputs (name: the first
//!                                               file name it was given under)
//! ARCHIVE/index/                                the full-text index (index.rs),
//!                                               searched by search.rs
//! ```

mod discover;
mod index;
mod manifest;
mod search;

pub use discover::find_recordings;
pub use index::{IndexReport, IndexUpdater, SearchIndex, unmerged_shards, update_index};
pub use manifest::{Entry, Manifest, Status};
pub use search::{
    Hit, MatchedWord, SearchQuery, SearchResults, parse_date, resolve_recording, search,
};

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

    /// Where a recording's transcript JSON is: in its folder, found from the archive
    /// (so an archive that moved, or is reached from another folder, still finds it).
    pub fn transcript_path(&self, entry: &Entry) -> PathBuf {
        let folder = entry.folder.file_name().map_or_else(
            || entry.folder.clone(),
            |f| self.dir.join("recordings").join(f),
        );
        folder.join(format!("{}.json", entry.name))
    }

    /// The archive's speaker library (`speakers.json`), which its batches use.
    pub fn speaker_library_path(&self) -> PathBuf {
        self.dir.join("speakers.json")
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
    /// Only this part of the work (a scheduler's array task); `None`: all of it.
    pub shard: Option<Shard>,
}

/// Part `index` of `count` (from 0) of a batch's recordings, split by content hash, so
/// the split does not depend on the order or the paths the recordings are found by,
/// and every recording is in exactly one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `I/N`, as `--shard` takes it.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || Error::Usage(format!("--shard {text}: expected I/N with 0 <= I < N"));
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let shard = Shard {
            index: i.trim().parse().map_err(|_| bad())?,
            count: n.trim().parse().map_err(|_| bad())?,
        };
        if shard.index >= shard.count {
            return Err(bad());
        }
        Ok(shard)
    }

    /// The part a scheduler gives this process: a Slurm job array
    /// (`SLURM_ARRAY_TASK_ID` from `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`)
    /// or a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, of `SPACESCRIBE_SHARDS`,
    /// which the Job sets to its `completions`). `None` outside both.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let number = |name: &str| -> Result<Option<u32>> {
            var(name)
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|_| Error::Usage(format!("{name}={v}: not a number")))
                })
                .transpose()
        };
        let (index, count) = match (
            number("SLURM_ARRAY_TASK_ID")?,
            number("SLURM_ARRAY_TASK_COUNT")?,
        ) {
            (Some(id), Some(count)) => {
                let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                (id.checked_sub(min), count)
            }
            _ => match (
                number("JOB_COMPLETION_INDEX")?,
                number("SPACESCRIBE_SHARDS")?,
            ) {
                (Some(index), Some(count)) => (Some(index), count),
                _ => return Ok(None),
            },
        };
        match index {
            Some(index) if index < count => Ok(Some(Shard { index, count })),
            _ => Err(Error::Usage(format!(
                "the scheduler's task index is outside its {count} tasks"
            ))),
        }
    }

    /// Whether recording `id` (a hex SHA-256) is in this part.
    pub fn contains(&self, id: &str) -> bool {
        let head = u64::from_str_radix(&id[..16.min(id.len())], 16).unwrap_or(0);
        head % u64::from(self.count) == u64::from(self.index)
    }
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
        // An empty sum of floats is -0.0, which would print as "-0.00 h".
        (seconds + 0.0) / 3600.0
    }
}

/// Transcribes `recordings` (as [`find_recordings`] finds them) into `archive`
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
    recordings: &[PathBuf],
    output: &Output,
    options: &BatchOptions,
    progress: &dyn Progress,
) -> Result<BatchSummary> {
    let started = Instant::now();
    let mut inputs: Vec<(PathBuf, std::result::Result<String, String>)> = recordings
        .iter()
        .map(|input| {
            let id = crate::pipeline::recording_sha256(input)
                .map_err(|e| reason_for(input, &e.to_string()));
            (input.clone(), id)
        })
        .collect();
    if let Some(shard) = options.shard {
        // An input whose bytes cannot be read goes to part 0, which reports it.
        inputs.retain(|(_, id)| match id {
            Ok(id) => shard.contains(id),
            Err(_) => shard.index == 0,
        });
    }
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
    run.enqueue(&inputs)?;
    let search_index = match options.shard {
        Some(shard) => SearchIndex::for_shard(archive, shard),
        None => SearchIndex::open(archive),
    };
    let mut indexer = match &search_index {
        Ok(index) => index.writer().map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = &indexer {
        progress.event(Event::Warning {
            input: archive.dir(),
            message: format!(
                "the search index is not updated ({e}); `spacescribe index` catches up"
            ),
        });
    }
    let mut summary = BatchSummary::default();
    let here = archive.dir();
    progress.event(Event::Started {
        input: here,
        stage: Stage::Batch,
        total: Some(inputs.len() as u64),
    });
    let mut first_of: HashMap<String, PathBuf> = HashMap::new();
    for (n, (input, id)) in inputs.into_iter().enumerate() {
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
        if let (Outcome::Done { .. }, Ok(indexer), Some(id)) =
            (&report.outcome, &mut indexer, &report.id)
        {
            index_one(archive, indexer, id, &report.input, progress)?;
        }
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

/// Puts a recording the batch finished in the search index; a failure there is a
/// warning (the transcript is kept, `spacescribe index` catches up).
fn index_one(
    archive: &Archive,
    indexer: &mut IndexUpdater,
    id: &str,
    input: &Path,
    progress: &dyn Progress,
) -> Result<()> {
    let entry = archive.manifest.get(id)?;
    let put = entry
        .map(|entry| indexer.put(archive, &entry).and_then(|_| indexer.commit()))
        .transpose();
    if let Err(e) = put {
        progress.event(Event::Warning {
            input,
            message: format!("not in the search index ({e}); `spacescribe index` catches up"),
        });
    }
    Ok(())
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
    /// The new inputs queued in the manifest before any work, so the manifest shows
    /// the whole batch.
    fn enqueue(&self, inputs: &[(PathBuf, std::result::Result<String, String>)]) -> Result<()> {
        for (input, id) in inputs {
            if let Ok(id) = id {
                let name = readable_name(input);
                let folder = match self.archive.manifest.get(id)? {
                    Some(entry) => entry.folder,
                    None => self.archive.folder_for(id, &name),
                };
                self.archive.manifest.enqueue(id, &name, input, &folder)?;
            }
        }
        Ok(())
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
            Status::Done if same_settings && outputs_exist(self.archive, &entry) => {
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
fn outputs_exist(archive: &Archive, entry: &Entry) -> bool {
    archive.transcript_path(entry).is_file()
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
    let parent = input
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let name = match parent {
        Some(parent) if discover::is_playlist(input) => format!("{parent}-{stem}"),
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
    fn shards_split_every_recording_into_exactly_one_part() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        for n in 0..300u64 {
            let id = format!(
                "{:016x}{}",
                n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                "ab".repeat(24)
            );
            assert_eq!(shards.iter().filter(|s| s.contains(&id)).count(), 1);
        }
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
        for bad in ["3/3", "1", "a/2", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_come_from_slurm_arrays_and_kubernetes_indexed_jobs() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(
            Shard::from_env(slurm).unwrap(),
            Some(Shard { index: 1, count: 3 })
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "2"), ("SPACESCRIBE_SHARDS", "4")]);
        assert_eq!(
            Shard::from_env(k8s).unwrap(),
            Some(Shard { index: 2, count: 4 })
        );
        assert_eq!(Shard::from_env(env(&[])).unwrap(), None);
        let outside = env(&[("JOB_COMPLETION_INDEX", "4"), ("SPACESCRIBE_SHARDS", "4")]);
        assert!(Shard::from_env(outside).is_err());
    }

    #[test]
    fn a_summary_counts_outcomes_and_hours() {
        assert!(BatchSummary::default().audio_hours().is_sign_positive());
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
