//! The audio value passed from normalization to the model stages: 16 kHz mono f32,
//! read by range.
//!
//! A long recording is not held in memory: normalization spills it to an unlinked
//! temporary file (`tempfile::tempfile_in`, gone when the process ends, even on a
//! kill) and each stage reads the ranges it works on (a 30 s chunk, a 10 s window).
//! That keeps peak memory flat in the recording's length: 3 hours at 16 kHz would be
//! 690 MB of f32. Reads go through the page cache with `pread`, not `mmap`, so the
//! audio is never counted in the process's resident memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Sample rate every model stage works at.
pub(crate) const SAMPLE_RATE: u32 = 16_000;
const BYTES_PER_SAMPLE: u64 = 4;

/// Normalized audio of a whole recording, sample 0 being the recording's first instant.
#[derive(Debug)]
pub(crate) struct Audio {
    store: Store,
    len: u64,
}

#[derive(Debug)]
enum Store {
    Memory(Vec<f32>),
    /// Little-endian f32 samples in an unlinked file; the path is its folder, for errors.
    Spill(File, PathBuf),
}

impl Audio {
    /// Audio held in memory (short clips, tests).
    pub(crate) fn from_samples(samples: Vec<f32>) -> Audio {
        Audio {
            len: samples.len() as u64,
            store: Store::Memory(samples),
        }
    }

    /// Number of samples.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn duration_seconds(&self) -> f64 {
        seconds(self.len)
    }

    /// Samples `start..end`, clamped to the recording.
    pub(crate) fn read(&self, start: u64, end: u64) -> crate::error::Result<Vec<f32>> {
        let end = end.min(self.len);
        let start = start.min(end);
        match &self.store {
            Store::Memory(v) => Ok(v[start as usize..end as usize].to_vec()),
            Store::Spill(file, dir) => read_spilled(file, start, end)
                .map_err(|e| crate::error::Error::io(dir, spill_error(e))),
        }
    }

    /// The whole recording (short clips only: this is the one call that holds it all).
    pub(crate) fn read_all(&self) -> crate::error::Result<Vec<f32>> {
        self.read(0, self.len)
    }
}

fn read_spilled(file: &File, start: u64, end: u64) -> std::io::Result<Vec<f32>> {
    let mut bytes = vec![0u8; ((end - start) * BYTES_PER_SAMPLE) as usize];
    file.read_exact_at(&mut bytes, start * BYTES_PER_SAMPLE)?;
    Ok(bytes
        .chunks_exact(BYTES_PER_SAMPLE as usize)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn spill_error(e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("normalized audio spill file: {e}"))
}

/// Where normalized samples go as they are produced, in order.
pub(crate) trait SampleSink {
    /// Appends samples; a failure names the file being written.
    fn write(&mut self, samples: &[f32]) -> crate::error::Result<()>;
}

impl SampleSink for Vec<f32> {
    fn write(&mut self, samples: &[f32]) -> crate::error::Result<()> {
        self.extend_from_slice(samples);
        Ok(())
    }
}

/// Builds an [`Audio`] from samples written in order: in memory, or spilled to a file.
pub(crate) enum AudioBuilder {
    Memory(Vec<f32>),
    Spill {
        out: BufWriter<File>,
        dir: PathBuf,
        len: u64,
    },
}

impl AudioBuilder {
    /// Spills to an unlinked temporary file in `dir` (the output folder: a real disk,
    /// where /tmp may be RAM).
    pub(crate) fn spill_in(dir: &Path) -> crate::error::Result<AudioBuilder> {
        std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
        let file =
            tempfile::tempfile_in(dir).map_err(|e| crate::error::Error::io(dir, spill_error(e)))?;
        Ok(AudioBuilder::Spill {
            out: BufWriter::with_capacity(1 << 20, file),
            dir: dir.to_path_buf(),
            len: 0,
        })
    }

    pub(crate) fn finish(self) -> crate::error::Result<Audio> {
        match self {
            AudioBuilder::Memory(v) => Ok(Audio::from_samples(v)),
            AudioBuilder::Spill { out, dir, len } => {
                let file = out
                    .into_inner()
                    .map_err(|e| crate::error::Error::io(&dir, spill_error(e.into_error())))?;
                Ok(Audio {
                    store: Store::Spill(file, dir),
                    len,
                })
            }
        }
    }
}

impl SampleSink for AudioBuilder {
    fn write(&mut self, samples: &[f32]) -> crate::error::Result<()> {
        match self {
            AudioBuilder::Memory(v) => v.write(samples),
            AudioBuilder::Spill { out, len, dir } => {
                *len += samples.len() as u64;
                let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
                out.write_all(&bytes)
                    .map_err(|e| crate::error::Error::io(dir, spill_error(e)))
            }
        }
    }
}

/// Seconds from a 16 kHz sample index.
pub(crate) fn seconds(sample: u64) -> f64 {
    sample as f64 / f64::from(SAMPLE_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_audio_reads_back_exact_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = AudioBuilder::spill_in(dir.path()).unwrap();
        let x: Vec<f32> = (0..50_000).map(|i| (i as f32 * 0.37).sin()).collect();
        for piece in x.chunks(7_777) {
            b.write(piece).unwrap();
        }
        let a = b.finish().unwrap();
        assert_eq!(a.len(), 50_000);
        assert_eq!(a.read(1_000, 1_010).unwrap(), x[1_000..1_010]);
        assert_eq!(a.read(49_990, 60_000).unwrap(), x[49_990..]);
        assert!(a.read(70_000, 80_000).unwrap().is_empty());
        assert_eq!(a.read_all().unwrap(), x);
        // Nothing is left in the folder: the spill file was never linked there.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
