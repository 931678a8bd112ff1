//! A speaker library: named voiceprints kept in a JSON file (an archive's
//! `speakers.json`, or any file), so the same person gets the same name in every
//! recording. Its voices are matched like enrolled clips: one to one, only above
//! [`ENROLL_MIN_SIMILARITY`](super::ENROLL_MIN_SIMILARITY), the similarity recorded.
//! A voiceprint only compares with prints of the same embedding model, so the file
//! names the model (its SHA-256) and refuses another.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FORMAT: &str = "spacescribe speaker library v1";

/// The voices of a library file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerLibrary {
    format: String,
    /// SHA-256 of the speaker-embedding model the voiceprints came from; empty while
    /// the library has none.
    embedding_model: String,
    speakers: Vec<KnownSpeaker>,
    #[serde(skip)]
    path: PathBuf,
}

/// One person's voice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KnownSpeaker {
    pub name: String,
    /// Unit-length mean of the embeddings of everything learnt of this voice.
    pub voiceprint: Vec<f32>,
    /// Seconds of speech behind the voiceprint.
    pub seconds: f64,
    /// Where it was learnt: clips, or `transcript.json#SPEAKER_01`.
    pub sources: Vec<String>,
}

impl SpeakerLibrary {
    /// The library in `path`; empty when the file does not exist yet.
    pub fn open(path: &Path) -> Result<SpeakerLibrary> {
        let mut library = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice::<SpeakerLibrary>(&bytes)
                .map_err(|e| Error::input(path, format!("not a speaker library: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SpeakerLibrary {
                format: FORMAT.into(),
                embedding_model: String::new(),
                speakers: Vec::new(),
                path: PathBuf::new(),
            },
            Err(e) => return Err(Error::io(path, e)),
        };
        if library.format != FORMAT {
            return Err(Error::input(
                path,
                format!("not a speaker library ('{}')", library.format),
            ));
        }
        library.path = path.to_path_buf();
        Ok(library)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn speakers(&self) -> &[KnownSpeaker] {
        &self.speakers
    }

    /// Writes the library back, atomically.
    pub fn save(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("a library serializes");
        crate::atomic::write_bytes_atomic(&self.path, &json)
    }

    /// Takes `name` out; false when it was not there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.speakers.len();
        self.speakers.retain(|s| s.name != name);
        self.speakers.len() < before
    }

    /// Adds `seconds` of `name`'s voice with this voiceprint (from the embedding model
    /// `model_sha256`), merged into what the library knows of `name` already, weighted
    /// by seconds of speech.
    pub(crate) fn learn(
        &mut self,
        name: &str,
        voiceprint: &[f32],
        seconds: f64,
        source: String,
        model_sha256: &str,
    ) -> Result<()> {
        self.check_model(model_sha256)?;
        self.embedding_model = model_sha256.to_string();
        match self.speakers.iter_mut().find(|s| s.name == name) {
            Some(known) => {
                let total = known.seconds + seconds;
                let mixed: Vec<f32> = known
                    .voiceprint
                    .iter()
                    .zip(voiceprint)
                    .map(|(a, b)| {
                        ((*a as f64 * known.seconds + *b as f64 * seconds) / total.max(1e-9)) as f32
                    })
                    .collect();
                known.voiceprint = unit(&mixed);
                known.seconds = total;
                known.sources.push(source);
            }
            None => self.speakers.push(KnownSpeaker {
                name: name.to_string(),
                voiceprint: unit(voiceprint),
                seconds,
                sources: vec![source],
            }),
        }
        Ok(())
    }

    /// The voices to match, checked to come from the embedding model in use.
    pub(crate) fn voices(&self, model_sha256: &str) -> Result<Vec<(String, Vec<f32>)>> {
        self.check_model(model_sha256)?;
        Ok(self
            .speakers
            .iter()
            .map(|s| (s.name.clone(), s.voiceprint.clone()))
            .collect())
    }

    fn check_model(&self, model_sha256: &str) -> Result<()> {
        if !self.embedding_model.is_empty() && self.embedding_model != model_sha256 {
            return Err(Error::input(
                &self.path,
                format!(
                    "its voiceprints come from another speaker-embedding model ({}), not comparable with this one ({})",
                    short(&self.embedding_model),
                    short(model_sha256)
                ),
            ));
        }
        Ok(())
    }
}

fn short(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

fn unit(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / norm).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voices_merge_by_seconds_persist_and_refuse_another_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("speakers.json");
        let mut library = SpeakerLibrary::open(&path).unwrap();
        assert!(library.speakers().is_empty());
        library
            .learn("Ada", &[2.0, 0.0], 30.0, "a.wav".into(), "m1")
            .unwrap();
        library
            .learn("Ada", &[0.0, 1.0], 10.0, "b.json#SPEAKER_01".into(), "m1")
            .unwrap();
        library
            .learn("Bo", &[0.0, 3.0], 5.0, "c.wav".into(), "m1")
            .unwrap();
        library.save().unwrap();
        let library = SpeakerLibrary::open(&path).unwrap();
        let ada = &library.speakers()[0];
        assert_eq!((ada.seconds, ada.sources.len()), (40.0, 2));
        // (0.75, 0.25) made unit length.
        assert!((ada.voiceprint[0] / ada.voiceprint[1] - 3.0).abs() < 1e-5);
        assert_eq!(library.voices("m1").unwrap().len(), 2);
        let error = library.voices("m2").unwrap_err().to_string();
        assert!(error.contains("another speaker-embedding model"), "{error}");
        let mut library = library;
        assert!(library.remove("Bo") && !library.remove("Bo"));
    }

    #[test]
    fn a_file_that_is_not_a_library_is_a_one_line_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("speakers.json");
        std::fs::write(
            &path,
            "{\"format\": \"something else\", \"embedding_model\": \"\", \"speakers\": []}",
        )
        .unwrap();
        let error = SpeakerLibrary::open(&path).unwrap_err().to_string();
        assert!(error.contains("not a speaker library"), "{error}");
        std::fs::write(&path, "[1, 2]").unwrap();
        assert!(SpeakerLibrary::open(&path).is_err());
    }
}
