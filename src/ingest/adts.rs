//! Just enough ADTS framing to carry decoder state across playlist chunks.
//!
//! Spaces chunks are cuts of one continuous AAC stream. AAC output for a frame is the
//! overlap of that frame with the one before, so a chunk decoded on its own starts
//! with one frame (~21 ms) of half-built audio: an audible click at every chunk seam.
//! Chunks are decoded in parallel, so instead of decoding them in one pass each chunk
//! gets the last frame of the chunk before it prepended as preroll, and the preroll's
//! output is dropped ([`FRAME_SAMPLES`] frames). The seam then decodes exactly as a
//! continuous stream would.

/// PCM frames one AAC-LC frame decodes to.
pub const FRAME_SAMPLES: u64 = 1024;
const HEADER_LEN: usize = 7;

/// Whether `data` starts with an ADTS sync word (12 one-bits, then layer bits 00, which
/// MPEG audio layers I-III sharing the sync word never have).
pub fn is_sync(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0xff && data[1] & 0xf6 == 0xf0
}

/// Length of the ADTS frame at the start of `data` (header included), if well-formed.
fn frame_len(data: &[u8]) -> Option<usize> {
    if data.len() < HEADER_LEN || !is_sync(data) {
        return None;
    }
    let len = (usize::from(data[3] & 0x03) << 11)
        | (usize::from(data[4]) << 3)
        | usize::from(data[5] >> 5);
    (len >= HEADER_LEN && len <= data.len()).then_some(len)
}

/// The last complete frame of an ADTS stream that is well-formed from its start.
pub fn last_frame(data: &[u8]) -> Option<&[u8]> {
    let mut pos = 0;
    let mut last = None;
    while let Some(len) = frame_len(&data[pos..]) {
        last = Some(&data[pos..pos + len]);
        pos += len;
    }
    last
}

/// Whether two frames share profile, sample rate and channel layout, so one can prime a
/// decoder for the other.
pub fn same_format(a: &[u8], b: &[u8]) -> bool {
    // Byte 2 holds profile, sample-rate index and the high channel bit; byte 3's top two
    // bits hold the rest of the channel configuration.
    a.len() >= 4
        && b.len() >= 4
        && is_sync(a)
        && is_sync(b)
        && a[2] == b[2]
        && a[3] & 0xc0 == b[3] & 0xc0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An ADTS frame header for 48 kHz stereo AAC-LC with a payload of `payload` bytes.
    pub(crate) fn frame(payload: usize, fill: u8) -> Vec<u8> {
        let len = payload + HEADER_LEN;
        let mut f = vec![
            0xff,
            0xf1,
            0x4c,
            0x80 | ((len >> 11) as u8 & 0x03),
            (len >> 3) as u8,
            ((len & 7) << 5) as u8 | 0x1f,
            0xfc,
        ];
        f.extend(std::iter::repeat_n(fill, payload));
        f
    }

    #[test]
    fn finds_last_frame_and_stops_at_damage() {
        let stream = [frame(10, 1), frame(20, 2), frame(5, 3)].concat();
        assert_eq!(last_frame(&stream), Some(&frame(5, 3)[..]));
        let mut cut = stream.clone();
        cut.truncate(stream.len() - 2);
        assert_eq!(last_frame(&cut), Some(&frame(20, 2)[..]));
        assert_eq!(last_frame(b"ID3 not adts"), None);
    }

    #[test]
    fn compares_formats() {
        let a = frame(4, 0);
        let mut b = frame(9, 0);
        assert!(same_format(&a, &b));
        b[2] = 0x50; // 44.1 kHz
        assert!(!same_format(&a, &b));
        assert!(is_sync(&a) && !is_sync(&[0xff, 0xfb]));
    }
}
