//! Ingest: what the input is and how to read it.
//!
//! Owns containers, codecs and chunk files: [`open`] turns a path into a [`Recording`]
//! (one part for a plain audio file, one part per entry of a local HLS playlist),
//! [`hls`] reads playlists, [`id3`] reads the ID3 tags Spaces chunks start with (and
//! their clock stamps), [`adts`] parses ADTS frame headers, [`chunk`] reads playlist
//! chunks for the joining stage (what a chunk holds before it is decoded, its ADTS
//! frames gathered into one stream, chunks decoded one after another), and [`decode`]
//! runs symphonia on one part (with MP4 edit lists applied and failures named) and
//! averages the channels while copying samples out of the codec, with the decoders of
//! [`codec`] (symphonia's, and libopus for Opus in [`opus`]); [`Silence`] (silence
//! with a reason) is how it and every later stage describe audio that is not there.
//! Resampling, loudness and placing the parts on one timeline belong to
//! [`crate::normalize`].

pub(crate) mod adts;
pub(crate) mod chunk;
mod codec;
pub(crate) mod decode;
pub(crate) mod hls;
pub(crate) mod id3;
mod mp4;
mod opus;
mod source;

pub(crate) use decode::Silence;

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// How the input was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One audio file.
    File,
    /// A local HLS media playlist of chunk files.
    Hls,
}

impl Kind {
    /// The name recorded in `SourceInfo.kind`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Hls => "hls",
        }
    }
}

/// One separately decodable piece of the input, in recording order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Part {
    pub(crate) path: PathBuf,
    /// How the input names it (the playlist URI, or the file path).
    pub(crate) name: String,
    /// Nominal duration in seconds (`#EXTINF`); used to fill the part with silence
    /// when it cannot be decoded.
    pub(crate) nominal_seconds: Option<f64>,
    /// The playlist marks a discontinuity before this part.
    pub(crate) discontinuity: bool,
    /// The wall clock at the part's first sample, as the playlist dates it.
    pub(crate) program_date_time: Option<DateTime<Utc>>,
}

/// An input, opened and checked, not yet decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recording {
    pub(crate) path: PathBuf,
    pub(crate) kind: Kind,
    pub(crate) parts: Vec<Part>,
    /// The playlist text, hashed before the chunks.
    playlist_bytes: Option<Vec<u8>>,
}

/// Opens `path`: a `.m3u8` is read as a local HLS media playlist, anything else as one
/// audio file (whose format is probed by content when it is decoded).
pub(crate) fn open(path: &Path) -> Result<Recording> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    if meta.is_dir() {
        return Err(Error::input(
            path,
            "is a directory, not an audio file or playlist",
        ));
    }
    if is_playlist(path) {
        return open_playlist(path);
    }
    Ok(Recording {
        path: path.to_path_buf(),
        kind: Kind::File,
        parts: vec![Part {
            path: path.to_path_buf(),
            name: path.display().to_string(),
            nominal_seconds: None,
            discontinuity: false,
            program_date_time: None,
        }],
        playlist_bytes: None,
    })
}

fn is_playlist(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("m3u8") || e.eq_ignore_ascii_case("m3u"))
}

fn open_playlist(path: &Path) -> Result<Recording> {
    let list = hls::read(path)?;
    let parts = list
        .entries
        .into_iter()
        .map(|e| Part {
            path: e.path,
            name: e.uri,
            nominal_seconds: Some(e.duration),
            discontinuity: e.discontinuity,
            program_date_time: e.program_date_time,
        })
        .collect();
    Ok(Recording {
        path: path.to_path_buf(),
        kind: Kind::Hls,
        parts,
        playlist_bytes: Some(list.bytes),
    })
}

impl Recording {
    /// SHA-256 (hex) of the input: the file, or the playlist bytes followed by every chunk
    /// that exists, in order (missing chunks are gaps, reported elsewhere).
    pub(crate) fn sha256(&self) -> Result<String> {
        let mut hasher = Sha256::new();
        if let Some(bytes) = &self.playlist_bytes {
            hasher.update(bytes);
        }
        for part in &self.parts {
            match std::fs::File::open(&part.path) {
                Ok(file) => hash_reader(&mut hasher, file).map_err(|e| Error::io(&part.path, e))?,
                Err(_) if self.kind == Kind::Hls => continue,
                Err(e) => return Err(Error::io(&part.path, e)),
            }
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

fn hash_reader(hasher: &mut Sha256, mut r: impl Read) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_hash_covers_playlist_then_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let list = b"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\na.aac\n#EXTINF:3.0,\nb.aac\n#EXT-X-ENDLIST\n";
        std::fs::write(dir.path().join("l.m3u8"), list).unwrap();
        std::fs::write(dir.path().join("a.aac"), b"AAA").unwrap();
        std::fs::write(dir.path().join("b.aac"), b"BB").unwrap();
        let rec = open(&dir.path().join("l.m3u8")).unwrap();
        assert_eq!(rec.kind, Kind::Hls);
        assert_eq!(rec.parts.len(), 2);
        let mut expect = Sha256::new();
        expect.update(list);
        expect.update(b"AAABB");
        assert_eq!(rec.sha256().unwrap(), hex::encode(expect.finalize()));
    }

    #[test]
    fn missing_input_names_the_file() {
        let err = open(Path::new("/nonexistent/space.m4a"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/space.m4a") && err.contains("cannot open"),
            "{err}"
        );
    }
}
