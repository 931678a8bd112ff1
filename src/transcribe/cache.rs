//! Resume after a crash: every finished chunk's words are kept on disk, keyed by
//! everything that decides them (input, model, parameters, speech chunking), so a
//! killed run picks up where it stopped and a changed parameter never reuses them.

use super::RawSegment;
use crate::atomic::write_bytes_atomic;
use crate::error::{Error, Result};
use crate::speech::SpeechSpan;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Revision of what decides a chunk's words besides the input, the model and the
/// parameters: the decoder and resampler, the chunk passes. Bumped whenever those change,
/// so a cache left by an older build is never reused (2: resampler FFT sizes, second
/// pass over a chunk's untranscribed tail; 3: MP4 decoded in ranges, speech detected in
/// fixed pieces; 4: ADTS playlists decoded in laid-out stretches).
pub(crate) const REVISION: &str = "5";

/// A folder of finished chunks for one (input, model, parameters) combination.
#[derive(Debug, Clone)]
pub(crate) struct ChunkCache {
    dir: PathBuf,
}

impl ChunkCache {
    /// The cache under `root` for a run described by `key_parts` (hashed together).
    pub(crate) fn new(root: &Path, label: &str, key_parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in key_parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let key = hex::encode(hasher.finalize());
        ChunkCache {
            dir: root.join(format!("{label}-{}", &key[..16])),
        }
    }

    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, chunk: SpeechSpan) -> PathBuf {
        self.dir
            .join(format!("chunk-{}-{}.json", chunk.start, chunk.end))
    }

    /// True when an earlier run finished this chunk.
    pub(crate) fn has(&self, chunk: SpeechSpan) -> bool {
        self.path(chunk).is_file()
    }

    /// The chunk's words from an earlier run; a missing or unreadable entry is a miss.
    pub(crate) fn load(&self, chunk: SpeechSpan) -> Option<Vec<RawSegment>> {
        let text = std::fs::read(self.path(chunk)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Keeps a finished chunk (atomically, so a kill mid-write leaves no half entry).
    pub(crate) fn store(&self, chunk: SpeechSpan, segments: &[RawSegment]) -> Result<()> {
        let text = serde_json::to_vec(segments)
            .map_err(|e| Error::stage(&self.dir, "resume cache", e.to_string()))?;
        write_bytes_atomic(&self.path(chunk), &text)
    }

    /// Drops the cache once the outputs are written.
    pub(crate) fn remove(&self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("{}: cannot remove resume cache: {e}", self.dir.display());
        }
        if let Some(parent) = self.dir.parent() {
            // Only succeeds when no other run's cache is left in it.
            let _ = std::fs::remove_dir(parent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcribe::TimedWord;

    fn segments() -> Vec<RawSegment> {
        vec![RawSegment {
            words: vec![TimedWord {
                text: "hello".into(),
                start: 10,
                end: 20,
                probability: 0.75,
            }],
            avg_logprob: -0.25,
            no_speech_prob: 0.125,
        }]
    }

    #[test]
    fn stores_loads_and_keys_by_every_part() {
        let root = tempfile::tempdir().unwrap();
        let chunk = SpeechSpan { start: 0, end: 100 };
        let cache = ChunkCache::new(root.path(), "x", &["input", "model", "params"]);
        assert!(cache.load(chunk).is_none());
        cache.store(chunk, &segments()).unwrap();
        assert_eq!(cache.load(chunk).unwrap(), segments());
        let changed = ChunkCache::new(root.path(), "x", &["input", "model", "params2"]);
        assert!(
            changed.load(chunk).is_none(),
            "a changed parameter is a new cache"
        );
        cache.remove();
        assert!(cache.load(chunk).is_none());
    }

    #[test]
    fn a_torn_entry_is_a_miss() {
        let root = tempfile::tempdir().unwrap();
        let chunk = SpeechSpan { start: 5, end: 9 };
        let cache = ChunkCache::new(root.path(), "x", &["k"]);
        std::fs::create_dir_all(cache.dir()).unwrap();
        std::fs::write(cache.path(chunk), b"[{\"words\":[").unwrap();
        assert!(cache.load(chunk).is_none());
    }
}
