//! Just enough ADTS framing to lay out playlist chunks and prime their decoders.
//!
//! Spaces chunks are cuts of one continuous AAC stream. AAC output for a frame is the
//! overlap of that frame with the one before, so audio decoded from a cut on its own
//! starts with one frame (~21 ms) of half-built audio: an audible click at every seam.
//! Wherever decoding starts inside the stream, the frame before is decoded first as
//! priming and its output dropped ([`FRAME_SAMPLES`] frames): for a stretch of an ADTS
//! playlist, the frame before the stretch's first one (in the same chunk, or the last
//! frame of the chunk before, see [`super::chunk`]); for a chunk that starts a codec of
//! its own, the last frame of the chunk before. The seam then decodes exactly as a
//! continuous stream would. The frame headers also give a chunk's length and format
//! before anything is decoded ([`frames`], [`sample_rate`], [`channels`]).

/// PCM frames one AAC-LC frame decodes to.
pub(crate) const FRAME_SAMPLES: u64 = 1024;
const HEADER_LEN: usize = 7;

/// Whether `data` starts with an ADTS sync word (12 one-bits, then layer bits 00, which
/// MPEG audio layers I-III sharing the sync word never have).
pub(crate) fn is_sync(data: &[u8]) -> bool {
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
pub(crate) fn last_frame(data: &[u8]) -> Option<&[u8]> {
    let mut pos = 0;
    let mut last = None;
    while let Some(len) = frame_len(&data[pos..]) {
        last = Some(&data[pos..pos + len]);
        pos += len;
    }
    last
}

/// Where the well-formed frames of an ADTS stream lie, in order. Bytes that do not start
/// a frame are skipped up to the next sync word that does (a damaged stretch), as a
/// demuxer would resync.
pub(crate) fn frames(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        match frame_len(&data[pos..]) {
            Some(len) => {
                found.push(pos..pos + len);
                pos += len;
            }
            None => pos += 1,
        }
    }
    found
}

/// Sample rate a frame's header declares (the sampling-frequency index of ISO 14496-3).
pub(crate) fn sample_rate(frame: &[u8]) -> Option<u32> {
    const RATES: [u32; 13] = [
        96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025,
        8_000, 7_350,
    ];
    let index = usize::from(frame.get(2)? >> 2 & 0x0f);
    (is_sync(frame))
        .then(|| RATES.get(index).copied())
        .flatten()
}

/// Channel configuration a frame's header declares (0: given inside the stream).
pub(crate) fn channels(frame: &[u8]) -> Option<u16> {
    let (high, low) = (frame.get(2)?, frame.get(3)?);
    is_sync(frame).then(|| u16::from((high & 0x01) << 2 | low >> 6))
}

/// Whether two frames share profile, sample rate and channel layout, so one can prime a
/// decoder for the other.
pub(crate) fn same_format(a: &[u8], b: &[u8]) -> bool {
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
    fn lists_frames_and_resyncs_after_damage() {
        let (a, b, c) = (frame(10, 1), frame(20, 2), frame(5, 3));
        let stream = [a.clone(), b"junk".to_vec(), b.clone(), c.clone()].concat();
        let at = a.len() + 4;
        assert_eq!(
            frames(&stream),
            vec![0..a.len(), at..at + b.len(), at + b.len()..stream.len()]
        );
        assert_eq!(sample_rate(&a), Some(48_000));
        assert_eq!(channels(&a), Some(2));
        assert!(frames(b"ID3 not adts").is_empty());
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
