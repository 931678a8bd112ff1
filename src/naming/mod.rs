//! Naming: real names on diarized speakers, from the user (`--speaker`,
//! `--speaker-names`), from voiceprints (`--enroll`), with the Space's roster
//! ([`metadata`]) used only to resolve `@handles` the user wrote — a name is
//! never guessed from the roster alone.

mod library;
pub(crate) mod metadata;

pub use library::{KnownSpeaker, SpeakerLibrary};

use crate::diarize::{SpeakerTurn, voice_similarity};
use crate::error::{Error, Result};
use crate::transcript::{SpaceMetadata, Speaker, Transcript, Turn};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Below this cosine similarity a voiceprint does not name a speaker.
pub(crate) const ENROLL_MIN_SIMILARITY: f32 = 0.5;

/// The names a caller asks for: speaker ids mapped to names, and voices to
/// recognise. Names may be `@handles`, resolved through the Space's roster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpeakerNames {
    /// Speaker id -> name.
    pub map: Vec<(String, String)>,
    /// Name -> clip of that person's voice.
    pub enroll: Vec<(String, PathBuf)>,
    /// Voices known from earlier recordings (`--speaker-library`); a clip enrolled
    /// under the same name wins.
    pub library: Option<SpeakerLibrary>,
}

impl SpeakerNames {
    pub fn new() -> Self {
        Self::default()
    }

    /// Names speaker `id` (`SPEAKER_00`) `name` (`Elon Musk` or `@handle`).
    pub fn speaker(mut self, id: impl Into<String>, name: impl Into<String>) -> Self {
        self.map.push((id.into(), name.into()));
        self
    }

    /// Recognises `name` by the voice in `clip` (matched one to one, above a floor).
    pub fn enroll(mut self, name: impl Into<String>, clip: impl Into<PathBuf>) -> Self {
        self.enroll.push((name.into(), clip.into()));
        self
    }

    /// Adds `ID=Name` (as `--speaker` takes it).
    pub fn add_pair(&mut self, pair: &str) -> Result<()> {
        self.map.push(parse_pair(pair)?);
        Ok(())
    }

    /// Adds `Name=clip.wav` (as `--enroll` takes it).
    pub fn add_enroll_pair(&mut self, pair: &str) -> Result<()> {
        let (name, clip) = parse_pair(pair)?;
        self.enroll.push((name, PathBuf::from(clip)));
        Ok(())
    }

    /// Adds every name of a names file (`ID=Name` lines or a JSON object).
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        self.map.extend(read_names_file(path)?);
        Ok(())
    }

    /// Recognises every voice of `library` (matched one to one, above a floor).
    pub fn library(mut self, library: SpeakerLibrary) -> Self {
        self.library = Some(library);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && !self.recognises_voices()
    }

    /// Whether voices are to be recognised (clips or a library): that needs diarization.
    pub(crate) fn recognises_voices(&self) -> bool {
        !self.enroll.is_empty() || self.library.is_some()
    }
}

/// A name decided for one speaker id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Naming {
    pub(crate) name: String,
    pub(crate) named_by: &'static str,
    pub(crate) similarity: Option<f32>,
}

/// Parses `LEFT=RIGHT` (used by `--speaker ID=Name` and `--enroll Name=clip.wav`).
pub(crate) fn parse_pair(text: &str) -> Result<(String, String)> {
    let (left, right) = text
        .split_once('=')
        .ok_or_else(|| Error::Usage(format!("'{text}': expected LEFT=RIGHT")))?;
    let (left, right) = (left.trim(), right.trim());
    if left.is_empty() || right.is_empty() {
        return Err(Error::Usage(format!(
            "'{text}': both sides of '=' are needed"
        )));
    }
    Ok((left.to_string(), right.to_string()))
}

/// Reads a names file: `SPEAKER_00=Name` lines (`#` comments) or a JSON object.
pub(crate) fn read_names_file(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    if text.trim_start().starts_with('{') {
        let map: BTreeMap<String, String> = serde_json::from_str(&text)
            .map_err(|e| Error::input(path, format!("not a JSON object of names: {e}")))?;
        return Ok(map.into_iter().collect());
    }
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| parse_pair(l).map_err(|e| Error::input(path, e.to_string())))
        .collect()
}

/// `@handle` -> the roster's display name; any other name is taken as written.
pub(crate) fn resolve_handle(name: &str, roster: Option<&SpaceMetadata>) -> Result<String> {
    let Some(handle) = name.strip_prefix('@') else {
        return Ok(name.to_string());
    };
    roster
        .into_iter()
        .flat_map(|m| m.participants.iter().chain(m.creator.iter()))
        .find(|p| {
            p.handle
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(handle))
        })
        .map(|p| p.name.clone())
        .ok_or_else(|| Error::Usage(format!("{name}: no such handle in the Space's metadata")))
}

/// One-to-one matching of enrolled voiceprints to speakers, most similar pairs
/// first; pairs below [`ENROLL_MIN_SIMILARITY`] are left unnamed.
pub(crate) fn match_voiceprints(
    speakers: &[(String, Vec<f32>)],
    enrolled: &[(String, Vec<f32>)],
) -> BTreeMap<String, Naming> {
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    for (s, (_, print)) in speakers.iter().enumerate() {
        for (e, (_, voice)) in enrolled.iter().enumerate() {
            pairs.push((voice_similarity(print, voice), s, e));
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut named = BTreeMap::new();
    let mut used_enrolled = vec![false; enrolled.len()];
    for (similarity, s, e) in pairs {
        let id = &speakers[s].0;
        if similarity < ENROLL_MIN_SIMILARITY || named.contains_key(id) || used_enrolled[e] {
            continue;
        }
        used_enrolled[e] = true;
        named.insert(
            id.clone(),
            Naming {
                name: enrolled[e].0.clone(),
                named_by: "voiceprint",
                similarity: Some(similarity),
            },
        );
    }
    named
}

/// The stretches (seconds) in which `speaker` talks and nobody else does, each at
/// least a second long and cut to at most ten (the length CAM++ embeds best), the
/// longest two minutes of them: what a voiceprint is learnt from.
pub(crate) fn lone_stretches(turns: &[Turn], speaker: &str) -> Vec<(f64, f64)> {
    const SHORTEST: f64 = 1.0;
    const LONGEST: f64 = 10.0;
    const ENOUGH: f64 = 120.0;
    let others: Vec<&Turn> = turns.iter().filter(|t| t.speaker != speaker).collect();
    let mut pieces = Vec::new();
    for turn in turns.iter().filter(|t| t.speaker == speaker) {
        let mut free = vec![(turn.start, turn.end)];
        for other in &others {
            free = free
                .into_iter()
                .flat_map(|(a, b)| {
                    let cut = [(a, other.start.min(b)), (other.end.max(a), b)];
                    let overlaps = other.start < b && other.end > a;
                    if overlaps { cut.to_vec() } else { vec![(a, b)] }
                })
                .filter(|(a, b)| b > a)
                .collect();
        }
        for (a, b) in free.into_iter().filter(|(a, b)| b - a >= SHORTEST) {
            let n = ((b - a) / LONGEST).ceil();
            let step = (b - a) / n;
            pieces
                .extend((0..n as usize).map(|i| (a + step * i as f64, a + step * (i + 1) as f64)));
        }
    }
    pieces.sort_by(|x, y| (y.1 - y.0).total_cmp(&(x.1 - x.0)));
    let mut total = 0.0;
    pieces.retain(|(a, b)| {
        let keep = total < ENOUGH;
        total += b - a;
        keep
    });
    pieces.sort_by(|x, y| x.0.total_cmp(&y.0));
    pieces
}

/// The user's map, with handles resolved; unknown ids are an error so a typo
/// does not silently leave a speaker unnamed.
pub(crate) fn names_from_map(
    map: &[(String, String)],
    known_ids: &[String],
    roster: Option<&SpaceMetadata>,
) -> Result<BTreeMap<String, Naming>> {
    let mut named = BTreeMap::new();
    for (id, name) in map {
        if !known_ids.contains(id) {
            return Err(Error::Usage(format!(
                "--speaker {id}: no such speaker (found: {})",
                known_ids.join(", ")
            )));
        }
        named.insert(
            id.clone(),
            Naming {
                name: resolve_handle(name, roster)?,
                named_by: "user",
                similarity: None,
            },
        );
    }
    Ok(named)
}

/// Writes names onto the transcript's speaker list (ids stay in segments and words).
pub(crate) fn apply(transcript: &mut Transcript, names: &BTreeMap<String, Naming>) {
    for speaker in &mut transcript.speakers {
        if let Some(n) = names.get(&speaker.id) {
            speaker.name = n.name.clone();
            speaker.named_by = n.named_by.to_string();
            speaker.voiceprint_similarity = n.similarity;
        }
    }
}

/// The speaker list with total speaking time, names defaulting to the ids.
pub(crate) fn speaker_list(ids: &[String], turns: &[SpeakerTurn]) -> Vec<Speaker> {
    ids.iter()
        .map(|id| Speaker {
            id: id.clone(),
            name: id.clone(),
            total_time: turns
                .iter()
                .filter(|t| &t.speaker == id)
                .map(|t| crate::audio::seconds(t.end - t.start))
                .sum(),
            named_by: "diarization".into(),
            voiceprint_similarity: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_voice_is_learnt_where_its_speaker_talks_alone() {
        let turn = |start, end, speaker: &str| Turn {
            start,
            end,
            speaker: speaker.into(),
        };
        let turns = [
            turn(0.0, 25.0, "A"),
            turn(4.0, 4.5, "B"),
            turn(24.5, 30.0, "B"),
            turn(31.0, 31.5, "A"),
        ];
        // 0-4, then 4.5-24.5 in two halves; the half-second turn is too short.
        assert_eq!(
            lone_stretches(&turns, "A"),
            [(0.0, 4.0), (4.5, 14.5), (14.5, 24.5)]
        );
        assert_eq!(lone_stretches(&turns, "B"), [(25.0, 30.0)]);
        assert!(lone_stretches(&turns, "C").is_empty());
    }

    use super::*;
    use crate::transcript::Participant;

    fn roster() -> SpaceMetadata {
        SpaceMetadata {
            participants: vec![Participant {
                name: "Priya Nair".into(),
                handle: Some("priya".into()),
            }],
            ..SpaceMetadata::default()
        }
    }

    #[test]
    fn pairs_and_files_parse() {
        assert_eq!(
            parse_pair("SPEAKER_00=Elon Musk").unwrap(),
            ("SPEAKER_00".into(), "Elon Musk".into())
        );
        assert!(parse_pair("SPEAKER_00").is_err());
        assert!(parse_pair("=x").is_err());
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("names.txt");
        std::fs::write(&txt, "# who\nSPEAKER_00 = Ann\nSPEAKER_01=Bob\n").unwrap();
        assert_eq!(read_names_file(&txt).unwrap().len(), 2);
        let json = dir.path().join("names.json");
        std::fs::write(&json, r#"{"SPEAKER_01":"Bob"}"#).unwrap();
        assert_eq!(
            read_names_file(&json).unwrap(),
            vec![("SPEAKER_01".into(), "Bob".into())]
        );
    }

    #[test]
    fn handles_resolve_only_through_the_roster() {
        assert_eq!(
            resolve_handle("@Priya", Some(&roster())).unwrap(),
            "Priya Nair"
        );
        assert!(resolve_handle("@nobody", Some(&roster())).is_err());
        assert_eq!(resolve_handle("Ann", None).unwrap(), "Ann");
    }

    #[test]
    fn map_naming_rejects_unknown_ids() {
        let ids = vec!["SPEAKER_00".to_string()];
        let ok = names_from_map(
            &[("SPEAKER_00".into(), "@priya".into())],
            &ids,
            Some(&roster()),
        );
        assert_eq!(ok.unwrap()["SPEAKER_00"].name, "Priya Nair");
        assert!(names_from_map(&[("SPEAKER_07".into(), "X".into())], &ids, None).is_err());
    }

    #[test]
    fn voiceprints_match_one_to_one_above_threshold() {
        let speakers = vec![
            ("SPEAKER_00".to_string(), vec![1.0, 0.0, 0.0]),
            ("SPEAKER_01".to_string(), vec![0.0, 1.0, 0.0]),
            ("SPEAKER_02".to_string(), vec![0.0, 0.0, 1.0]),
        ];
        let enrolled = vec![
            ("Bob".to_string(), vec![0.1, 0.9, 0.0]),
            ("Ann".to_string(), vec![0.9, 0.2, 0.0]),
            ("Nobody".to_string(), vec![-1.0, 0.0, 0.0]),
        ];
        let named = match_voiceprints(&speakers, &enrolled);
        assert_eq!(named["SPEAKER_00"].name, "Ann");
        assert_eq!(named["SPEAKER_01"].name, "Bob");
        assert!(!named.contains_key("SPEAKER_02"));
    }
}
