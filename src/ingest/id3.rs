//! ID3v2 tags in front of raw ADTS streams (X Spaces HLS chunks carry one each).
//!
//! symphonia's ADTS reader expects the stream to start at a sync word, so the tag is
//! cut off before probing. The tag is not thrown away unread: Apple's HLS packager puts
//! the chunk's MPEG-TS presentation time in a PRIV frame
//! (`com.apple.streaming.transportStreamTimestamp`), which is how timestamp gaps
//! between chunks are found. Some recordings also date each chunk in a `TIT3` text frame
//! (NTP time), one of the anchors of the recording's wall clock.

use chrono::{DateTime, Utc};

/// Owner string of the PRIV frame holding the 33-bit 90 kHz transport-stream timestamp.
const TIMESTAMP_OWNER: &[u8] = b"com.apple.streaming.transportStreamTimestamp";

/// The 90 kHz clock wraps at 2^33 ticks (MPEG-TS PTS width).
pub(crate) const CLOCK_MASK: u64 = (1 << 33) - 1;

/// Ticks per second of the transport-stream clock.
pub(crate) const CLOCK_HZ: u64 = 90_000;

const HEADER_LEN: usize = 10;

/// What stripping the leading ID3v2 tags of a buffer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Stripped {
    /// Bytes of tag(s) at the start; the audio begins at this offset.
    pub(crate) tag_len: usize,
    /// The PRIV transport-stream timestamp (90 kHz ticks, 33 bits), when present.
    pub(crate) timestamp: Option<u64>,
    /// The wall clock a `TIT3` frame gives, when present and readable.
    pub(crate) wall_clock: Option<DateTime<Utc>>,
}

/// Seconds from the NTP era (1900-01-01) to the Unix epoch.
const NTP_TO_UNIX: i64 = 2_208_988_800;

/// Length of the ID3v2 tag starting at `head` (header, body and optional footer), or
/// `None` when `head` does not start with a well-formed ID3v2 header.
pub(crate) fn tag_len(head: &[u8]) -> Option<usize> {
    if head.len() < HEADER_LEN || &head[..3] != b"ID3" {
        return None;
    }
    let (major, flags) = (head[3], head[5]);
    if !(2..=4).contains(&major) || head[6..10].iter().any(|b| b & 0x80 != 0) {
        return None;
    }
    let body = syncsafe(&head[6..10]);
    // ID3v2.4 may append a 10-byte footer (flag bit 4).
    let footer = if major == 4 && flags & 0x10 != 0 {
        HEADER_LEN
    } else {
        0
    };
    Some(HEADER_LEN + body + footer)
}

/// Finds every ID3v2 tag at the start of `data` (packagers sometimes write more than one)
/// and reads the transport-stream timestamp and the TIT3 clock from the first one that
/// has each.
pub(crate) fn strip(data: &[u8]) -> Stripped {
    let mut out = Stripped::default();
    while let Some(len) = tag_len(&data[out.tag_len..]) {
        let tag = &data[out.tag_len..data.len().min(out.tag_len + len)];
        for (id, body) in frames(tag) {
            match id {
                b"PRIV" if out.timestamp.is_none() => out.timestamp = priv_timestamp(body),
                b"TIT3" if out.wall_clock.is_none() => out.wall_clock = tit3_clock(body),
                _ => {}
            }
        }
        out.tag_len = (out.tag_len + len).min(data.len());
    }
    out
}

/// The frames of one whole tag (header included), as (id, body), stopping at padding
/// or at the first frame that does not fit.
fn frames(tag: &[u8]) -> Vec<(&[u8; 4], &[u8])> {
    let mut found = Vec::new();
    let (major, flags) = (tag[3], tag[5]);
    // ID3v2.2 uses 3-byte ids and sizes; Apple writes v2.4, v2.3 is accepted too.
    let Some(mut pos) = extended_header_len(tag, major, flags)
        .filter(|_| major >= 3)
        .map(|len| HEADER_LEN + len)
    else {
        return found;
    };
    while pos + HEADER_LEN <= tag.len() {
        let id = &tag[pos..pos + 4];
        if id[0] == 0 {
            break; // padding
        }
        let size_bytes = &tag[pos + 4..pos + 8];
        let size = if major == 4 {
            syncsafe(size_bytes)
        } else {
            u32::from_be_bytes(size_bytes.try_into().expect("four bytes")) as usize
        };
        let Some(body) = tag.get(pos + HEADER_LEN..pos + HEADER_LEN + size) else {
            break;
        };
        found.push((id.try_into().expect("four bytes"), body));
        pos += HEADER_LEN + size;
    }
    found
}

/// A TIT3 text frame's clock: an NTP timestamp (the 64-bit fixed-point value, seconds
/// since 1900 in the high half, written in decimal, optionally after `ntp`) or an
/// RFC 3339 time. Anything else is not a clock and is ignored.
fn tit3_clock(body: &[u8]) -> Option<DateTime<Utc>> {
    let (&encoding, text) = body.split_first()?;
    // Latin-1 and UTF-8 (encodings 0 and 3) are the ones that can hold the digits as bytes.
    if encoding != 0 && encoding != 3 {
        return None;
    }
    let text = std::str::from_utf8(text)
        .ok()?
        .trim_matches(char::from(0))
        .trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    let digits = text
        .strip_prefix("ntp")
        .or_else(|| text.strip_prefix("NTP"))
        .unwrap_or(text)
        .trim();
    ntp_to_utc(digits.parse().ok()?)
}

/// A 64-bit NTP timestamp (32.32 fixed point, seconds since 1900) as UTC; `None` for
/// values before 2000, which no recording of a Space carries.
fn ntp_to_utc(ntp: u64) -> Option<DateTime<Utc>> {
    let seconds = (ntp >> 32) as i64 - NTP_TO_UNIX;
    let nanos = (((ntp & 0xffff_ffff) * 1_000_000_000) >> 32) as u32;
    DateTime::from_timestamp(seconds, nanos).filter(|t| t.timestamp() >= 946_684_800)
}

/// Size of the extended header that follows the tag header (flag bit 6), if any.
fn extended_header_len(tag: &[u8], major: u8, flags: u8) -> Option<usize> {
    if flags & 0x40 == 0 {
        return Some(0);
    }
    let raw = tag.get(HEADER_LEN..HEADER_LEN + 4)?;
    // v2.4 counts the size field itself and stores it syncsafe; v2.3 does neither.
    Some(if major == 4 {
        syncsafe(raw)
    } else {
        u32::from_be_bytes(raw.try_into().ok()?) as usize + 4
    })
}

/// PRIV body: owner identifier, NUL, then private data (here 8 bytes big-endian).
fn priv_timestamp(body: &[u8]) -> Option<u64> {
    let nul = body.iter().position(|&b| b == 0)?;
    if &body[..nul] != TIMESTAMP_OWNER {
        return None;
    }
    let value: [u8; 8] = body.get(nul + 1..nul + 9)?.try_into().ok()?;
    Some(u64::from_be_bytes(value) & CLOCK_MASK)
}

/// Decodes a 4-byte syncsafe integer (7 significant bits per byte).
fn syncsafe(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 7) | usize::from(b & 0x7f))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn syncsafe_bytes(n: usize) -> [u8; 4] {
        [
            ((n >> 21) & 0x7f) as u8,
            ((n >> 14) & 0x7f) as u8,
            ((n >> 7) & 0x7f) as u8,
            (n & 0x7f) as u8,
        ]
    }

    /// An ID3v2.4 tag like the ones Spaces chunks start with: a TIT3 text frame, then PRIV.
    pub(crate) fn spaces_tag(timestamp: u64) -> Vec<u8> {
        spaces_tag_dated(b"\x03ntp 123", timestamp)
    }

    /// [`spaces_tag`] with `text` (encoding byte first) in its TIT3 frame.
    pub(crate) fn spaces_tag_dated(text: &[u8], timestamp: u64) -> Vec<u8> {
        let mut frames = Vec::new();
        frames.extend_from_slice(b"TIT3");
        frames.extend_from_slice(&syncsafe_bytes(text.len()));
        frames.extend_from_slice(&[0, 0]);
        frames.extend_from_slice(text);
        let mut body = TIMESTAMP_OWNER.to_vec();
        body.push(0);
        body.extend_from_slice(&timestamp.to_be_bytes());
        frames.extend_from_slice(b"PRIV");
        frames.extend_from_slice(&syncsafe_bytes(body.len()));
        frames.extend_from_slice(&[0, 0]);
        frames.extend_from_slice(&body);
        frames.extend_from_slice(&[0; 7]); // padding
        let mut tag = b"ID3\x04\x00\x00".to_vec();
        tag.extend_from_slice(&syncsafe_bytes(frames.len()));
        tag.extend_from_slice(&frames);
        tag
    }

    #[test]
    fn strips_tag_and_reads_priv_timestamp() {
        let mut data = spaces_tag(0x1_2345_6789);
        let tag_len = data.len();
        data.extend_from_slice(&[0xff, 0xf1, 0x50, 0x80]);
        let s = strip(&data);
        assert_eq!(s.tag_len, tag_len);
        assert_eq!(s.timestamp, Some(0x1_2345_6789));
        assert_eq!(&data[s.tag_len..], &[0xff, 0xf1, 0x50, 0x80]);
    }

    #[test]
    fn reads_the_tit3_clock_as_ntp_or_rfc3339() {
        // 2024-08-13T00:00:00.5Z: Unix 1723507200 + NTP era, half a second of fraction.
        let ntp = ((1_723_507_200u64 + 2_208_988_800) << 32) | (1 << 31);
        let text = format!("\x03ntp {ntp}");
        let s = strip(&spaces_tag_dated(text.as_bytes(), 7));
        assert_eq!(s.timestamp, Some(7));
        let when = s.wall_clock.unwrap().to_rfc3339();
        assert_eq!(when, "2024-08-13T00:00:00.500+00:00");
        let s = strip(&spaces_tag_dated(b"\x002024-08-13T02:00:00+02:00\0", 7));
        assert_eq!(
            s.wall_clock.unwrap().to_rfc3339(),
            "2024-08-13T00:00:00+00:00"
        );
        for not_a_clock in [
            &b"\x03ntp 123"[..],
            b"\x03Launch recap",
            b"\x01\xff\xfe1\x00",
        ] {
            assert_eq!(strip(&spaces_tag_dated(not_a_clock, 7)).wall_clock, None);
        }
    }

    #[test]
    fn timestamp_is_masked_to_33_bits() {
        let s = strip(&spaces_tag(u64::MAX));
        assert_eq!(s.timestamp, Some(CLOCK_MASK));
    }

    #[test]
    fn no_tag_means_nothing_stripped() {
        let s = strip(&[0xff, 0xf1, 0x50, 0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(s, Stripped::default());
        assert_eq!(strip(b"ID3"), Stripped::default());
    }

    #[test]
    fn truncated_tag_never_reads_past_the_end() {
        let tag = spaces_tag(42);
        let s = strip(&tag[..20]);
        assert_eq!(s.tag_len, 20);
        assert_eq!(s.timestamp, None);
    }

    #[test]
    fn v23_tag_with_plain_sizes_is_read() {
        let mut body = TIMESTAMP_OWNER.to_vec();
        body.push(0);
        body.extend_from_slice(&900_000u64.to_be_bytes());
        let mut frames = b"PRIV".to_vec();
        frames.extend_from_slice(&(body.len() as u32).to_be_bytes());
        frames.extend_from_slice(&[0, 0]);
        frames.extend_from_slice(&body);
        let mut tag = b"ID3\x03\x00\x00".to_vec();
        tag.extend_from_slice(&syncsafe_bytes(frames.len()));
        tag.extend_from_slice(&frames);
        assert_eq!(strip(&tag).timestamp, Some(900_000));
    }
}
