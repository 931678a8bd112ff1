//! The edit list of an MP4/M4A audio track: how much encoder priming to drop.
//!
//! AAC encoders put ~1024 frames of priming before the first real sample, and MP4 files
//! say so in the audio track's edit list (`moov/trak/edts/elst`). symphonia 0.6 does not
//! apply it, so without this every time in an `.m4a` transcript would be ~21 ms late
//! and the file a little longer than it is. Only the first edit of the sound track is
//! read (what AAC encoders write); anything unusual is ignored rather than guessed at.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Largest `moov` box read (its sample tables grow with duration: a few MB for hours).
const MAX_MOOV: u64 = 64 << 20;

/// Frames to drop at the start and frames to keep, at the track's sample rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trim {
    pub(crate) skip: u64,
    pub(crate) keep: Option<u64>,
}

/// Reads the sound track's edit list of an MP4 file, converted to frames at `rate`.
/// `None` when the file is not MP4, has no edit list, or the edit list says nothing to trim.
pub(crate) fn audio_trim(path: &Path, rate: u32) -> Option<Trim> {
    let Ok(Moov::Found(moov)) = find_moov(path) else {
        return None;
    };
    let movie_scale = u64::from(timescale(child(&moov, b"mvhd")?)?);
    children(&moov)
        .filter(|(kind, _)| kind == b"trak")
        .find_map(|(_, trak)| sound_trim(trak, movie_scale, rate))
}

fn sound_trim(trak: &[u8], movie_scale: u64, rate: u32) -> Option<Trim> {
    let mdia = child(trak, b"mdia")?;
    let hdlr = child(mdia, b"hdlr")?;
    if hdlr.get(8..12)? != b"soun" {
        return None;
    }
    let media_scale = u64::from(timescale(child(mdia, b"mdhd")?)?);
    let (duration, media_time) = first_edit(child(child(trak, b"edts")?, b"elst")?)?;
    let rate = u64::from(rate);
    let skip = u64::try_from(media_time).ok()? * rate / media_scale.max(1);
    let keep = (duration > 0).then(|| duration * rate / movie_scale.max(1));
    (skip > 0 || keep.is_some()).then_some(Trim { skip, keep })
}

/// `(segment_duration, media_time)` of the first non-empty edit.
fn first_edit(elst: &[u8]) -> Option<(u64, i64)> {
    let version = *elst.first()?;
    let count = be_u32(elst.get(4..8)?) as usize;
    let entry_len = if version == 1 { 20 } else { 12 };
    (0..count).find_map(|i| {
        let e = elst.get(8 + i * entry_len..8 + (i + 1) * entry_len)?;
        let (duration, media_time) = if version == 1 {
            (be_u64(&e[0..8]), be_u64(&e[8..16]) as i64)
        } else {
            (
                u64::from(be_u32(&e[0..4])),
                i64::from(be_u32(&e[4..8]) as i32),
            )
        };
        // -1 is an empty edit (a delay before the media starts); skip over it.
        (media_time >= 0).then_some((duration, media_time))
    })
}

/// Timescale field of an `mvhd` or `mdhd` body (after its version and flags).
fn timescale(body: &[u8]) -> Option<u32> {
    let at = if *body.first()? == 1 { 20 } else { 12 };
    body.get(at..at + 4).map(be_u32)
}

/// What the top level of a file says about its MP4 index.
enum Moov {
    /// Not an MP4 file (it does not start with `ftyp`).
    NotMp4,
    /// An MP4 file with no complete `moov` box: cut short, or still being written.
    Missing,
    /// Present but larger than we are willing to read.
    TooLarge,
    Found(Vec<u8>),
}

/// Whether `path` is an MP4 file without its index, which no demuxer can play: the usual
/// result of a download that stopped early (ffmpeg writes `moov` after the audio).
pub(crate) fn lacks_index(path: &Path) -> bool {
    matches!(find_moov(path), Ok(Moov::Missing))
}

/// Walks the top-level boxes of a file that starts with `ftyp` and reads the `moov` body.
fn find_moov(path: &Path) -> std::io::Result<Moov> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut pos = 0u64;
    while pos + 8 <= len {
        file.seek(SeekFrom::Start(pos))?;
        let mut head = [0u8; 16];
        let n = file.read(&mut head)?;
        let parsed = box_header(&head[..n], len - pos);
        match parsed {
            Some((kind, _, _)) if pos == 0 && &kind != b"ftyp" => return Ok(Moov::NotMp4),
            None if pos == 0 => return Ok(Moov::NotMp4),
            None => return Ok(Moov::Missing),
            Some((kind, header, size)) if &kind == b"moov" => {
                if size - header > MAX_MOOV {
                    return Ok(Moov::TooLarge);
                }
                let mut body = vec![0u8; (size - header) as usize];
                file.seek(SeekFrom::Start(pos + header))?;
                file.read_exact(&mut body)?;
                return Ok(Moov::Found(body));
            }
            Some((_, _, size)) => pos += size,
        }
    }
    Ok(if pos == 0 {
        Moov::NotMp4
    } else {
        Moov::Missing
    })
}

/// `(type, header length, box length)` of the box starting at `head`; `room` bytes remain.
fn box_header(head: &[u8], room: u64) -> Option<([u8; 4], u64, u64)> {
    let size32 = be_u32(head.get(0..4)?);
    let kind: [u8; 4] = head.get(4..8)?.try_into().ok()?;
    let (header, size) = match size32 {
        0 => (8, room),
        1 => (16, be_u64(head.get(8..16)?)),
        n => (8, u64::from(n)),
    };
    (size >= header && size <= room).then_some((kind, header, size))
}

/// The boxes inside a container box's body.
fn children(body: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let rest = body.get(pos..)?;
        let (kind, header, size) = box_header(rest, rest.len() as u64)?;
        let inner = &rest[header as usize..size as usize];
        pos += size as usize;
        Some((kind, inner))
    })
}

fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(body).find(|(k, _)| k == kind).map(|(_, b)| b)
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_u64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn v0_scale(scale: u32) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        b.extend_from_slice(&scale.to_be_bytes());
        b.extend_from_slice(&[0; 8]);
        b
    }

    /// An M4A skeleton like ffmpeg writes: 5 s at 48 kHz after 1024 frames of priming.
    fn m4a() -> Vec<u8> {
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(b"soun");
        hdlr.extend_from_slice(&[0; 12]);
        let mut elst = vec![0, 0, 0, 0, 0, 0, 0, 1];
        elst.extend_from_slice(&5000u32.to_be_bytes());
        elst.extend_from_slice(&1024u32.to_be_bytes());
        elst.extend_from_slice(&[0, 1, 0, 0]);
        let mdia = [boxed(b"mdhd", &v0_scale(48_000)), boxed(b"hdlr", &hdlr)].concat();
        let trak = [
            boxed(b"edts", &boxed(b"elst", &elst)),
            boxed(b"mdia", &mdia),
        ]
        .concat();
        let moov = [boxed(b"mvhd", &v0_scale(1000)), boxed(b"trak", &trak)].concat();
        [
            boxed(b"ftyp", b"M4A \0\0\0\0"),
            boxed(b"mdat", &[0; 100]),
            boxed(b"moov", &moov),
        ]
        .concat()
    }

    #[test]
    fn reads_priming_and_duration_from_edit_list() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.m4a");
        std::fs::write(&p, m4a()).unwrap();
        let t = audio_trim(&p, 48_000).unwrap();
        assert_eq!(
            t,
            Trim {
                skip: 1024,
                keep: Some(240_000)
            }
        );
    }

    #[test]
    fn non_mp4_and_truncated_files_give_none() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.m4a");
        std::fs::write(&p, b"RIFF....WAVEfmt ").unwrap();
        assert_eq!(audio_trim(&p, 48_000), None);
        let whole = m4a();
        assert!(!lacks_index(&p));
        std::fs::write(&p, &whole[..whole.len() - 30]).unwrap();
        assert_eq!(audio_trim(&p, 48_000), None);
        assert!(lacks_index(&p));
    }
}
