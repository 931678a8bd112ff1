//! Local HLS media playlists (`.m3u8`), as X Spaces replays are published.
//!
//! Only a media playlist whose segments are files beside it is accepted: a
//! transcript must never be built from something fetched over the network or read
//! from elsewhere on disk because a playlist said so. Every entry is checked before
//! any chunk is read, and one bad entry refuses the whole playlist.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use m3u8_rs::Playlist;
use std::path::{Component, Path, PathBuf};

/// One entry (HLS: a "media segment") of a media playlist, resolved to a file inside the
/// playlist's folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The URI as written in the playlist (used to name the chunk in gaps and errors).
    pub(crate) uri: String,
    /// The chunk file (it may not exist: a missing chunk becomes a gap, not an error).
    pub(crate) path: PathBuf,
    /// `#EXTINF` duration in seconds.
    pub(crate) duration: f64,
    /// `#EXT-X-DISCONTINUITY` precedes this entry.
    pub(crate) discontinuity: bool,
    /// The entry's own `#EXT-X-PROGRAM-DATE-TIME`: the wall clock at its first sample.
    pub(crate) program_date_time: Option<DateTime<Utc>>,
}

/// A parsed local media playlist.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MediaPlaylist {
    /// The playlist file as read (hashed for provenance).
    pub(crate) bytes: Vec<u8>,
    pub(crate) entries: Vec<Entry>,
}

/// Reads and checks the playlist at `path`.
pub(crate) fn read(path: &Path) -> Result<MediaPlaylist> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, bytes)
}

/// Parses playlist `bytes` read from `path`; segment files resolve against its folder.
pub(crate) fn parse(path: &Path, bytes: Vec<u8>) -> Result<MediaPlaylist> {
    let media = match m3u8_rs::parse_playlist_res(&bytes) {
        Ok(Playlist::MediaPlaylist(media)) => media,
        Ok(Playlist::MasterPlaylist(_)) => {
            return Err(Error::input(
                path,
                "master playlist (a list of variant streams) is not supported; pass the media playlist of one audio rendition",
            ));
        }
        Err(_) => return Err(Error::input(path, "not a valid HLS playlist")),
    };
    if media.segments.is_empty() {
        return Err(Error::input(path, "HLS playlist lists no segments"));
    }
    let dir = playlist_dir(path);
    let entries = media
        .segments
        .iter()
        .map(|s| {
            Ok(Entry {
                uri: s.uri.clone(),
                path: resolve_entry(path, &dir, &s.uri)?,
                duration: f64::from(s.duration).max(0.0),
                discontinuity: s.discontinuity,
                program_date_time: s.program_date_time.map(|t| t.with_timezone(&Utc)),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MediaPlaylist { bytes, entries })
}

fn playlist_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Resolves a segment URI to a file inside `dir`, or refuses the playlist.
fn resolve_entry(playlist: &Path, dir: &Path, uri: &str) -> Result<PathBuf> {
    let refuse =
        |why: &str| Error::input(playlist, format!("refusing playlist: entry {uri:?} {why}"));
    if uri.contains("://") {
        return Err(refuse("is a URL; only local chunk files are read"));
    }
    let rel = Path::new(uri);
    if rel.is_absolute() || uri.starts_with('/') || uri.starts_with('\\') {
        return Err(refuse("is an absolute path"));
    }
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(refuse("leads outside the playlist's folder"));
    }
    let joined = dir.join(rel);
    // A symlink inside the folder may still point elsewhere: compare real paths. A chunk
    // that does not exist cannot be followed anywhere and is reported later as missing.
    if let (Ok(real), Ok(real_dir)) = (joined.canonicalize(), dir.canonicalize())
        && !real.starts_with(&real_dir)
    {
        return Err(refuse(
            "resolves (through a symlink) outside the playlist's folder",
        ));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n";

    fn playlist(body: &str) -> Vec<u8> {
        format!("{HEADER}{body}#EXT-X-ENDLIST\n").into_bytes()
    }

    fn refusal(body: &str) -> String {
        let err = parse(Path::new("/tmp/space/list.m3u8"), playlist(body)).unwrap_err();
        err.to_string()
    }

    #[test]
    fn parses_segments_in_order_with_date_and_discontinuity() {
        let body = "#EXT-X-PROGRAM-DATE-TIME:2024-08-12T20:14:03.120Z\n#EXTINF:3.0,\nchunk_1_0_a.aac\n\
                    #EXTINF:2.5,\nchunk_1_1_a.aac\n#EXT-X-DISCONTINUITY\n#EXTINF:3.0,\nsub/chunk_1_2_a.aac\n";
        let list = parse(Path::new("/tmp/space/list.m3u8"), playlist(body)).unwrap();
        let uris: Vec<_> = list.entries.iter().map(|s| s.uri.as_str()).collect();
        assert_eq!(
            uris,
            ["chunk_1_0_a.aac", "chunk_1_1_a.aac", "sub/chunk_1_2_a.aac"]
        );
        assert_eq!(
            list.entries[2].path,
            Path::new("/tmp/space/sub/chunk_1_2_a.aac")
        );
        assert_eq!(list.entries[1].duration, 2.5);
        let disc: Vec<_> = list.entries.iter().map(|s| s.discontinuity).collect();
        assert_eq!(disc, [false, false, true]);
        let when: Vec<_> = list.entries.iter().map(|s| s.program_date_time).collect();
        let first = when[0].unwrap().to_rfc3339();
        assert!(first.starts_with("2024-08-12T20:14:03.120"), "{first}");
        assert_eq!(
            when[1..],
            [None, None],
            "a date belongs to the entry it precedes"
        );
    }

    #[test]
    fn refuses_url_entries() {
        let e = refusal("#EXTINF:3.0,\nok.aac\n#EXTINF:3.0,\nhttps://evil.example/chunk.aac\n");
        assert!(
            e.contains("list.m3u8")
                && e.contains("https://evil.example/chunk.aac")
                && e.contains("URL"),
            "{e}"
        );
    }

    #[test]
    fn refuses_absolute_entries() {
        let e = refusal("#EXTINF:3.0,\n/etc/passwd\n");
        assert!(e.contains("/etc/passwd") && e.contains("absolute"), "{e}");
    }

    #[test]
    fn refuses_parent_dir_entries() {
        let e = refusal("#EXTINF:3.0,\nsub/../../secret.aac\n");
        assert!(e.contains("secret.aac") && e.contains("outside"), "{e}");
    }

    #[test]
    fn refuses_symlink_leading_outside() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("secret.aac");
        std::fs::write(&target, b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("link.aac")).unwrap();
        let list_path = dir.path().join("list.m3u8");
        let err = parse(&list_path, playlist("#EXTINF:3.0,\nlink.aac\n")).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
    }

    #[test]
    fn refuses_master_playlist() {
        let master =
            b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\"\naudio/list.m3u8\n";
        let err = parse(Path::new("m.m3u8"), master.to_vec()).unwrap_err();
        assert!(err.to_string().contains("master playlist"), "{err}");
    }

    #[test]
    fn refuses_garbage_and_empty_playlists() {
        assert!(parse(Path::new("x.m3u8"), b"hello".to_vec()).is_err());
        let err = parse(Path::new("x.m3u8"), playlist("")).unwrap_err();
        assert!(err.to_string().contains("no segments"), "{err}");
    }
}
