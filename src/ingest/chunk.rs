//! Reading a playlist's chunk files for the joining stage: what a chunk holds before it
//! is decoded ([`scan`]: its ID3 clock stamp, its ADTS frames and their format), the
//! ADTS frames of consecutive chunks gathered into one stream and decoded as one
//! ([`AdtsFrames`]), and chunks decoded one after another with the codec carried across
//! their seams ([`decode_chunks`]). Where a chunk goes on the timeline is
//! [`crate::normalize`]'s business; this module only reads chunks.

use super::decode::{Channels, DecodeEvent, Decoder, StreamInfo};
use super::{Part, adts, id3};
use crate::error::{Error, Result};
use std::ops::Range;

/// A chunk as read before decoding.
#[derive(Debug)]
pub(crate) enum ChunkScan {
    Adts(AdtsChunk),
    /// Something else (another format, or bytes that are no audio at all).
    Other,
    Unreadable(Error),
}

/// An ADTS chunk as its ID3 tag and frame headers describe it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AdtsChunk {
    /// The 90 kHz transport-stream stamp of its first frame, and its TIT3 clock.
    pub(crate) tags: id3::Stripped,
    /// Well-formed ADTS frames in it.
    pub(crate) frames: u64,
    /// Sample rate and channel configuration of its first frame.
    pub(crate) rate: u32,
    pub(crate) channels: u16,
}

impl AdtsChunk {
    /// The format a decoder will report for it.
    pub(crate) fn info(&self) -> StreamInfo {
        StreamInfo {
            codec: "aac".into(),
            sample_rate: self.rate,
            channels: self.channels,
            id3_timestamp: self.tags.timestamp,
            id3_wall_clock: self.tags.wall_clock,
        }
    }

    /// PCM frames its ADTS frames decode to.
    pub(crate) fn samples(&self) -> u64 {
        self.frames * adts::FRAME_SAMPLES
    }
}

/// Reads `part` and looks at what it holds, without decoding it.
pub(crate) fn scan(part: &Part) -> ChunkScan {
    let data = match std::fs::read(&part.path) {
        Ok(data) => data,
        Err(e) => return ChunkScan::Unreadable(Error::io(&part.path, e)),
    };
    let tags = id3::strip(&data);
    let audio = &data[tags.tag_len..];
    let frames = adts::frames(audio);
    let first = frames.first().map(|f| &audio[f.clone()]);
    match first.and_then(|f| Some((adts::sample_rate(f)?, adts::channels(f)?))) {
        Some((rate, channels)) if adts::is_sync(audio) => ChunkScan::Adts(AdtsChunk {
            tags,
            frames: frames.len() as u64,
            rate,
            channels,
        }),
        _ => ChunkScan::Other,
    }
}

/// What of a chunk's gathered ADTS frames is wanted, in decoded PCM frames: `keep`
/// frames from frame `lead` of the `whole` its gathered frames decode to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameCut {
    pub(crate) lead: u64,
    pub(crate) keep: u64,
    pub(crate) whole: u64,
}

/// ADTS frames gathered from consecutive chunks of one stream, to be decoded as one
/// stream (one codec going on from chunk to chunk).
#[derive(Default)]
pub(crate) struct AdtsFrames {
    bytes: Vec<u8>,
    /// The frame before the first one wanted, to prime the codec.
    priming: Option<Vec<u8>>,
    /// The part whose path names the stream in errors.
    named: Option<usize>,
}

impl AdtsFrames {
    /// Reads part `part` of `parts` and appends the whole ADTS frames holding its PCM
    /// frames `wanted`; the first chunk added also brings the frame that primes the codec.
    pub(crate) fn add(
        &mut self,
        parts: &[Part],
        part: usize,
        wanted: &Range<u64>,
    ) -> Result<FrameCut> {
        let path = &parts[part].path;
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let audio = &data[id3::strip(&data).tag_len..];
        let frames = adts::frames(audio);
        let first = (wanted.start / adts::FRAME_SAMPLES) as usize;
        let last = (wanted.end.div_ceil(adts::FRAME_SAMPLES) as usize).min(frames.len());
        if first >= last {
            return Err(Error::input(path, "fewer AAC frames than when first read"));
        }
        if self.named.is_none() {
            self.named = Some(part);
            self.priming = match first.checked_sub(1) {
                Some(before) => Some(audio[frames[before].clone()].to_vec()),
                None => previous_last_frame(parts, part),
            };
        }
        self.bytes
            .extend_from_slice(&audio[frames[first].start..frames[last - 1].end]);
        Ok(FrameCut {
            lead: wanted.start - first as u64 * adts::FRAME_SAMPLES,
            keep: wanted.end - wanted.start,
            whole: (last - first) as u64 * adts::FRAME_SAMPLES,
        })
    }

    /// Decodes the gathered frames (without the priming frame's output) into `feed`, in
    /// blocks of a second at `rate`; returns the frames decoded (none gathered decode to
    /// none).
    pub(crate) fn decode(
        self,
        parts: &[Part],
        rate: u32,
        feed: &mut dyn FnMut(DecodeEvent),
    ) -> Result<u64> {
        let Some(named) = self.named else {
            return Ok(0);
        };
        let path = &parts[named].path;
        let mut decoder = Decoder::open_bytes(path, self.bytes, self.priming.as_deref())?;
        decoder.run(rate as usize, &mut |e| {
            feed(e);
            true
        })
    }
}

/// The last ADTS frame of the chunk before `part` in the same stream, if it has one (an
/// unreadable one simply primes nothing).
fn previous_last_frame(parts: &[Part], part: usize) -> Option<Vec<u8>> {
    let data = std::fs::read(&previous_part(parts, part)?.path).ok()?;
    adts::last_frame(&data[id3::strip(&data).tag_len..]).map(<[u8]>::to_vec)
}

/// The part before part `index` in the same stream (none after a discontinuity).
fn previous_part(parts: &[Part], index: usize) -> Option<&Part> {
    if parts[index].discontinuity {
        return None;
    }
    index.checked_sub(1).map(|i| &parts[i])
}

/// One chunk decoded whole (chunks are a few seconds long).
#[derive(Debug)]
pub(crate) struct DecodedChunk {
    pub(crate) info: StreamInfo,
    /// What the decoder yielded, in one-second blocks.
    pub(crate) events: Vec<DecodeEvent>,
}

impl DecodedChunk {
    /// Its length, undecodable stretches included.
    pub(crate) fn seconds(&self) -> f64 {
        self.events.iter().map(DecodeEvent::seconds).sum()
    }
}

/// Chunks `run` of `parts` decoded one after the other, each with the codec the one
/// before it left off with when that one decoded ([`Decoder::open_bytes_after`]); the
/// first of the run, or one after a failure or a discontinuity, starts a codec afresh,
/// primed with the previous chunk's last frame. `channels` says how the channels come out.
pub(crate) fn decode_chunks(
    parts: &[Part],
    run: Range<usize>,
    channels: Channels,
) -> Vec<Result<DecodedChunk>> {
    let mut carried: Option<Decoder> = None;
    run.map(|i| {
        let part = &parts[i];
        let opened = match carried.take().filter(|_| !part.discontinuity) {
            Some(previous) => std::fs::read(&part.path)
                .map_err(|e| Error::io(&part.path, e))
                .and_then(|data| Decoder::open_bytes_after(&part.path, data, previous)),
            None => open_chunk(parts, i),
        };
        let mut decoder = opened?.with_channels(channels);
        let events = decode_events(&mut decoder)?;
        let info = decoder.info().clone();
        carried = Some(decoder);
        Ok(DecodedChunk { info, events })
    })
    .collect()
}

/// Part `index` with a codec of its own, primed with the last frame of the chunk before.
fn open_chunk(parts: &[Part], index: usize) -> Result<Decoder> {
    let part = &parts[index];
    let data = std::fs::read(&part.path).map_err(|e| Error::io(&part.path, e))?;
    let preroll = previous_last_frame(parts, index);
    Decoder::open_bytes(&part.path, data, preroll.as_deref())
}

/// Everything a decoder yields (a playlist chunk: a few seconds), in one-second blocks.
fn decode_events(decoder: &mut Decoder) -> Result<Vec<DecodeEvent>> {
    let block_frames = decoder.info().sample_rate.max(1) as usize;
    let mut events = Vec::new();
    decoder.run(block_frames, &mut |e| {
        events.push(e);
        true
    })?;
    Ok(events)
}
