//! The Space's metadata file next to a recording (twspace-dl's GraphQL dump or
//! yt-dlp's `.info.json`): title, creator and the roster of people who could speak.

use crate::error::{Error, Result};
use crate::transcript::{Participant, SpaceMetadata};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The metadata file for `input`, if one sits beside it: `STEM.metadata.json`,
/// `STEM.info.json` (yt-dlp), or `metadata.json` in the same folder (twspace-dl).
pub(crate) fn find_for(input: &Path) -> Option<PathBuf> {
    let dir = input.parent().unwrap_or(Path::new("."));
    let stem = input.file_stem()?.to_string_lossy().into_owned();
    [
        format!("{stem}.metadata.json"),
        format!("{stem}.info.json"),
        "metadata.json".to_string(),
    ]
    .into_iter()
    .map(|name| dir.join(name))
    .find(|p| p.is_file())
}

pub(crate) fn read(path: &Path) -> Result<SpaceMetadata> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| Error::input(path, format!("not a metadata JSON file: {e}")))?;
    Ok(parse(&json, path))
}

fn parse(json: &Value, path: &Path) -> SpaceMetadata {
    let space = &json["data"]["audioSpace"];
    let meta = &space["metadata"];
    let text = |v: &Value| v.as_str().map(str::to_string);
    let creator_legacy = &meta["creator_results"]["result"]["legacy"];
    let creator = person(&creator_legacy["name"], &creator_legacy["screen_name"]).or_else(|| {
        person(&json["uploader"], &json["uploader_id"])
            .or_else(|| person(&json["creator"], &Value::Null))
    });
    let mut participants: Vec<Participant> = ["admins", "speakers"]
        .iter()
        .flat_map(|group| {
            space["participants"][*group]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| person(&p["display_name"], &p["twitter_screen_name"]))
        .collect();
    if participants.is_empty() {
        participants.extend(creator.clone());
    }
    SpaceMetadata {
        file: path.display().to_string(),
        title: text(&meta["title"]).or_else(|| text(&json["title"])),
        space_id: text(&meta["rest_id"]).or_else(|| text(&json["id"])),
        creator,
        participants,
        started_at: started_at(&meta["started_at"], 1_000)
            .or_else(|| started_at(&json["release_timestamp"], 1))
            .or_else(|| started_at(&json["timestamp"], 1)),
    }
}

/// A start time given as a count of Unix time units (`per_second` of them to the second:
/// twspace-dl writes milliseconds, as a number or a string; yt-dlp seconds), as RFC 3339
/// UTC with milliseconds.
fn started_at(value: &Value, per_second: i64) -> Option<String> {
    let count = value
        .as_i64()
        .or_else(|| value.as_f64().map(|f| f as i64))
        .or_else(|| value.as_str()?.trim().parse().ok())?;
    let millis = count.checked_mul(1_000 / per_second)?;
    let utc = chrono::DateTime::from_timestamp_millis(millis)?;
    Some(utc.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn person(name: &Value, handle: &Value) -> Option<Participant> {
    let name = name.as_str()?.trim();
    (!name.is_empty()).then(|| Participant {
        name: name.to_string(),
        handle: handle
            .as_str()
            .map(|h| h.trim_start_matches('@').to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_twspace_dl_shape() {
        let json: Value = serde_json::from_str(
            r#"{"data":{"audioSpace":{"metadata":{"rest_id":"1Yq","title":"Launch recap",
            "creator_results":{"result":{"legacy":{"name":"Marcus Reed","screen_name":"marcus"}}}},
            "participants":{"admins":[{"display_name":"Marcus Reed","twitter_screen_name":"marcus"}],
            "speakers":[{"display_name":"Priya N","twitter_screen_name":"priya"}],
            "listeners":[{"display_name":"Lurker","twitter_screen_name":"lurk"}]}}}}"#,
        )
        .unwrap();
        let m = parse(&json, Path::new("m.json"));
        assert_eq!(m.title.as_deref(), Some("Launch recap"));
        assert_eq!(m.space_id.as_deref(), Some("1Yq"));
        assert_eq!(m.creator.unwrap().handle.as_deref(), Some("marcus"));
        let names: Vec<_> = m.participants.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Marcus Reed", "Priya N"]);
    }

    #[test]
    fn reads_yt_dlp_shape() {
        let json: Value = serde_json::from_str(
            r#"{"id":"1Yq","title":"T","uploader":"Ann","uploader_id":"ann","timestamp":1723507200}"#,
        )
        .unwrap();
        let m = parse(&json, Path::new("x.info.json"));
        assert_eq!(m.title.as_deref(), Some("T"));
        assert_eq!(m.participants.len(), 1);
        assert_eq!(m.started_at.as_deref(), Some("2024-08-13T00:00:00.000Z"));
    }

    #[test]
    fn bundled_sample_has_a_roster() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/space/metadata.json");
        let m = read(&path).unwrap();
        assert!(m.title.is_some());
        assert!(m.participants.len() >= 3, "{:?}", m.participants);
        // twspace-dl's milliseconds.
        assert_eq!(m.started_at.as_deref(), Some("2024-08-13T00:00:00.000Z"));
        assert_eq!(find_for(&path.with_file_name("playlist.m3u8")), Some(path));
    }
}
