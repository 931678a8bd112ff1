//! The archive's manifest: one SQLite row per recording (its content hash, where its
//! outputs are, its status and why, the model and parameters that made it, timings).
//! SQLite makes every change atomic, so a killed batch leaves the rows as they were
//! after the last finished step, and two processes may share one archive.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a recording is in the archive's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Found by a batch, not started.
    Queued,
    /// Started and not finished: a batch is on it, or one was killed on it.
    Running,
    /// Transcribed; its outputs are in its folder.
    Done,
    /// Tried and failed; the reason is kept.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Done => "done",
            Status::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Status {
        match text {
            "running" => Status::Running,
            "done" => Status::Done,
            "failed" => Status::Failed,
            _ => Status::Queued,
        }
    }
}

/// One recording's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// SHA-256 (hex) of the recording's content ([`crate::pipeline::recording_sha256`]).
    pub id: String,
    /// A readable name (from the file or playlist folder).
    pub name: String,
    /// The path it was last given as.
    pub source: PathBuf,
    /// Its folder inside the archive.
    pub folder: PathBuf,
    pub status: Status,
    /// Why it failed, for [`Status::Failed`].
    pub reason: Option<String>,
    /// The pipeline's [`settings_key`](crate::Pipeline::settings_key) of the last try.
    pub settings: Option<String>,
    /// The Whisper model of the last try: name and SHA-256.
    pub model: Option<String>,
    /// The transcription parameters of the last try, as JSON.
    pub params: Option<String>,
    /// Seconds of audio, once done.
    pub audio_seconds: Option<f64>,
    /// How many times a batch has started it.
    pub attempts: u32,
    /// RFC 3339 UTC times.
    pub queued_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Wall seconds the last try took.
    pub seconds: Option<f64>,
}

/// The manifest of one archive folder.
pub struct Manifest {
    path: PathBuf,
    db: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS recordings (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    folder TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    settings TEXT,
    model TEXT,
    params TEXT,
    audio_seconds REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    seconds REAL
);
PRAGMA user_version = 1;
";

const COLUMNS: &str = "id, name, source, folder, status, reason, settings, model, params, \
                       audio_seconds, attempts, queued_at, started_at, finished_at, seconds";

impl Manifest {
    /// Opens (creating if new) the manifest at `path`.
    pub fn open(path: &Path) -> Result<Manifest> {
        let db = Connection::open(path).map_err(|e| failed(path, e))?;
        // Another batch on the same archive (a shard) holds the lock only for one
        // short write; wait for it rather than fail.
        db.busy_timeout(Duration::from_secs(60))
            .and_then(|()| db.execute_batch(SCHEMA))
            .map_err(|e| failed(path, e))?;
        Ok(Manifest {
            path: path.to_path_buf(),
            db,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The row of recording `id`, if the archive has it.
    pub fn get(&self, id: &str) -> Result<Option<Entry>> {
        self.db
            .query_row(
                &format!("SELECT {COLUMNS} FROM recordings WHERE id = ?1"),
                [id],
                read_entry,
            )
            .optional()
            .map_err(|e| failed(&self.path, e))
    }

    /// Every row, by name then id.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let mut query = self
            .db
            .prepare(&format!(
                "SELECT {COLUMNS} FROM recordings ORDER BY name, id"
            ))
            .map_err(|e| failed(&self.path, e))?;
        let rows = query
            .query_map([], read_entry)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| failed(&self.path, e))
    }

    /// Adds a recording as queued, or, if the archive has it, notes where it was given
    /// from this time (its status and history stay).
    pub fn enqueue(&self, id: &str, name: &str, source: &Path, folder: &Path) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO recordings (id, name, source, folder, status, queued_at)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5)
                 ON CONFLICT(id) DO UPDATE SET source = excluded.source",
                params![id, name, path_text(source), path_text(folder), now()],
            )
            .map(drop)
            .map_err(|e| failed(&self.path, e))
    }

    /// A try begins: running, with the settings, model and parameters it runs with.
    pub fn start(&self, id: &str, settings: &str, model: &str, params: &str) -> Result<()> {
        self.update(
            "UPDATE recordings SET status = 'running', reason = NULL, settings = ?2, model = ?3,
             params = ?4, attempts = attempts + 1, started_at = ?5, finished_at = NULL,
             seconds = NULL WHERE id = ?1",
            params![id, settings, model, params, now()],
        )
    }

    /// The try finished: done, with the audio's length and the time it took.
    pub fn finish(&self, id: &str, audio_seconds: f64, seconds: f64) -> Result<()> {
        self.update(
            "UPDATE recordings SET status = 'done', audio_seconds = ?2, seconds = ?3,
             finished_at = ?4 WHERE id = ?1",
            params![id, audio_seconds, seconds, now()],
        )
    }

    /// The try failed, for `reason`.
    pub fn fail(&self, id: &str, reason: &str, seconds: f64) -> Result<()> {
        self.update(
            "UPDATE recordings SET status = 'failed', reason = ?2, seconds = ?3,
             finished_at = ?4 WHERE id = ?1",
            params![id, reason, seconds, now()],
        )
    }

    fn update(&self, sql: &str, values: impl rusqlite::Params) -> Result<()> {
        self.db
            .execute(sql, values)
            .map(drop)
            .map_err(|e| failed(&self.path, e))
    }
}

fn read_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: row.get(0)?,
        name: row.get(1)?,
        source: PathBuf::from(row.get::<_, String>(2)?),
        folder: PathBuf::from(row.get::<_, String>(3)?),
        status: Status::parse(&row.get::<_, String>(4)?),
        reason: row.get(5)?,
        settings: row.get(6)?,
        model: row.get(7)?,
        params: row.get(8)?,
        audio_seconds: row.get(9)?,
        attempts: row.get(10)?,
        queued_at: row.get(11)?,
        started_at: row.get(12)?,
        finished_at: row.get(13)?,
        seconds: row.get(14)?,
    })
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn now() -> String {
    crate::transcript::rfc3339_millis(std::time::SystemTime::now().into())
}

fn failed(path: &Path, e: rusqlite::Error) -> Error {
    Error::stage(path, "archive manifest", e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_goes_queued_running_done_and_keeps_its_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.sqlite");
        let m = Manifest::open(&path).unwrap();
        m.enqueue(
            "abc",
            "space",
            Path::new("/in/space.m4a"),
            Path::new("r/abc-space"),
        )
        .unwrap();
        assert_eq!(m.get("abc").unwrap().unwrap().status, Status::Queued);
        m.start("abc", "key1", "tiny.en", "{}").unwrap();
        m.fail("abc", "broken", 1.0).unwrap();
        m.start("abc", "key1", "tiny.en", "{}").unwrap();
        m.finish("abc", 90.5, 12.0).unwrap();
        // Given again from elsewhere: the new source is noted, the status kept.
        m.enqueue(
            "abc",
            "space",
            Path::new("/b/space.m4a"),
            Path::new("r/abc-space"),
        )
        .unwrap();
        drop(m);
        let e = Manifest::open(&path).unwrap().get("abc").unwrap().unwrap();
        assert_eq!(e.status, Status::Done);
        assert_eq!(e.attempts, 2);
        assert_eq!(e.reason, None);
        assert_eq!(e.audio_seconds, Some(90.5));
        assert_eq!(e.source, Path::new("/b/space.m4a"));
        assert_eq!(e.settings.as_deref(), Some("key1"));
    }

    #[test]
    fn a_manifest_that_is_not_a_database_is_a_one_line_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.sqlite");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let err = Manifest::open(&path).err().expect("refused");
        let text = err.to_string();
        assert!(
            text.contains("manifest.sqlite") && !text.contains('\n'),
            "{text}"
        );
    }
}
