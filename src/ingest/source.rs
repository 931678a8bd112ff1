//! Files as symphonia media sources, with leading ID3v2 tags cut off.
//!
//! Raw ADTS (Spaces chunks saved as `.aac`) must start at a frame sync for symphonia, so
//! the tags are skipped by presenting the file from the first byte after them.

use super::{adts, id3};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use symphonia::core::io::MediaSource;

/// Reads the ID3v2 tags at the start of a file (just their headers and, for small tags,
/// their frames) so the audio can be opened past them.
pub(crate) fn read_leading_tags(file: &mut File, len: u64) -> std::io::Result<id3::Stripped> {
    // Spaces' tags are a few hundred bytes; a large tag is cover art, skipped unread.
    const MAX_PARSED_TAG: usize = 1 << 20;
    let mut out = id3::Stripped::default();
    loop {
        let mut head = [0u8; 10];
        file.seek(SeekFrom::Start(out.tag_len as u64))?;
        if len - (out.tag_len as u64) < head.len() as u64 {
            break;
        }
        file.read_exact(&mut head)?;
        let Some(tag_len) = id3::tag_len(&head) else {
            break;
        };
        if out.timestamp.is_none() && tag_len <= MAX_PARSED_TAG {
            let mut tag = head.to_vec();
            tag.resize(tag_len.min((len - out.tag_len as u64) as usize), 0);
            file.read_exact(&mut tag[head.len()..])?;
            let read = id3::strip(&tag);
            (out.timestamp, out.wall_clock) = (read.timestamp, read.wall_clock);
        }
        out.tag_len = (out.tag_len + tag_len).min(len as usize);
    }
    file.seek(SeekFrom::Start(out.tag_len as u64))?;
    Ok(out)
}

/// A file seen from `start` on: symphonia sees the audio as if the tags were not there.
pub(crate) struct Tail {
    file: File,
    start: u64,
    len: u64,
}

impl Tail {
    pub(crate) fn new(mut file: File, start: u64, file_len: u64) -> std::io::Result<Tail> {
        file.seek(SeekFrom::Start(start))?;
        Ok(Tail {
            file,
            start,
            len: file_len - start,
        })
    }
}

impl Tail {
    /// Whether the audio starts with an ADTS sync word (reads two bytes, then rewinds).
    pub(crate) fn starts_with_adts(&mut self) -> std::io::Result<bool> {
        let mut head = [0u8; 2];
        let n = self.file.read(&mut head)?;
        self.file.seek(SeekFrom::Start(self.start))?;
        Ok(adts::is_sync(&head[..n]))
    }
}

impl Read for Tail {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for Tail {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => SeekFrom::Start(self.start + n),
            other => other,
        };
        let at = self.file.seek(target)?;
        if at < self.start {
            self.file.seek(SeekFrom::Start(self.start))?;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before start of audio",
            ));
        }
        Ok(at - self.start)
    }
}

impl MediaSource for Tail {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
