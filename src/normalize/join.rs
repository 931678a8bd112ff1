//! Joining decoded parts into one 16 kHz timeline, in order, sample-exact, streamed to
//! a sink (memory, a spill file, a WAV file).
//!
//! Producers turn a [`Recording`] into an ordered stream of [`Piece`]s: audio blocks,
//! silence standing in for what is missing or undecodable, and zero-length marks. The
//! [`Assembler`] consumes them in batches: it resamples a batch in order through one
//! continuous [`ResampleStream`] (so there is no seam between blocks, ranges or chunks
//! and each piece starts at the 16 kHz sample its cumulative source position maps to)
//! while the previous batch's output is measured for loudness and written out.
//!
//! - Single files are decoded front to back on a producer thread and handed over
//!   through a small bounded channel; the assembler works alongside on the other core.
//! - Playlists are decoded a batch of chunks at a time in parallel (chunks are
//!   independent ADTS streams), with timestamp gaps and damaged or missing chunks filled
//!   with silence.
//!
//! Only a few batches ever exist at the source rate, so memory does not grow with length.

use super::loudness;
use super::resample::{ResampleStream, downmix};
use crate::audio::{SAMPLE_RATE, SampleSink, seconds};
use crate::error::{Error, Result};
use crate::ingest::decode::{DecodeEvent, Decoder, PcmBlock, StreamInfo};
use crate::ingest::{Part, Recording, adts, id3};
use crate::transcript::{Gap, Loudness};
use rayon::prelude::*;
use std::sync::mpsc;

/// 16 kHz samples per loudness meter (10 s).
const METER_BLOCK: usize = 10 * SAMPLE_RATE as usize;
/// Source seconds per decoded block of a single file.
const BLOCK_SECONDS: usize = 10;
/// Blocks that may wait between the decode thread and the assembler.
const QUEUE_BLOCKS: usize = 4;
/// A timestamp jump between chunks larger than this is a gap.
const GAP_THRESHOLD_SECONDS: f64 = 0.5;
/// Longest silence put in for one timestamp gap; beyond this the clock is not trusted.
const MAX_GAP_SECONDS: f64 = 3600.0;

/// One ordered element of a recording's timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Pcm(PcmBlock),
    /// Stands in for `seconds` of missing or undecodable audio.
    Silence {
        seconds: f64,
        reason: String,
    },
    /// A zero-length event worth reporting (a playlist discontinuity).
    Mark {
        reason: String,
    },
}

impl From<DecodeEvent> for Piece {
    fn from(e: DecodeEvent) -> Piece {
        match e {
            DecodeEvent::Pcm(b) => Piece::Pcm(b),
            DecodeEvent::Undecodable { seconds, reason } => Piece::Silence { seconds, reason },
        }
    }
}

/// The joined result.
pub struct Joined {
    /// Number of 16 kHz samples written to the sink.
    pub length: u64,
    pub gaps: Vec<Gap>,
    pub loudness: Loudness,
    /// Format of the (first decoded) source.
    pub info: StreamInfo,
}

/// Decodes every part of `rec` and joins them into `sink`.
pub fn decode_and_join(rec: &Recording, sink: &mut (dyn SampleSink + Send)) -> Result<Joined> {
    match rec.kind {
        crate::ingest::Kind::File => join_file(&rec.parts[0], sink),
        crate::ingest::Kind::Hls => join_playlist(rec, sink),
    }
}

/// Single file, front to back: decode on a producer thread, assemble on this one.
///
/// Decoding ranges of an MP4 in parallel (a decoder per range, seeked just before it)
/// was tried and dropped: on 2 cores it took the same wall time (this pipeline already
/// keeps both cores busy, the decoder on one, resampling, loudness and writing on the
/// other) with twice the memory.
fn join_file(part: &Part, sink: &mut (dyn SampleSink + Send)) -> Result<Joined> {
    let mut decoder = Decoder::open_file(&part.path)?;
    // The rate may only be known from the first frame; 48 kHz sizes blocks until then.
    let rate = Some(decoder.info().sample_rate)
        .filter(|&r| r > 0)
        .unwrap_or(48_000);
    let block_frames = rate as usize * BLOCK_SECONDS;
    let (tx, rx) = mpsc::sync_channel::<Piece>(QUEUE_BLOCKS);
    let mut asm = Assembler::new(sink);
    let (decoded, info) = std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let decoded = decoder.run(block_frames, &mut |e| tx.send(e.into()).is_ok())?;
            Ok((decoded, decoder.info().clone()))
        });
        let mut assembled = Ok(());
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            batch.extend(rx.try_iter().take(rayon::current_num_threads().max(2)));
            assembled = asm.push_batch(batch);
            if assembled.is_err() {
                break;
            }
        }
        // Dropping the receiver stops the producer at its next block.
        drop(rx);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(Error::input(&part.path, "decoder thread crashed")));
        assembled.and(produced)
    })?;
    tracing::debug!("{}: decoded {decoded} frames", part.path.display());
    asm.finish(info)
}

/// Playlist: decode chunks in parallel batches; each batch is assembled in order
/// while the next one decodes.
fn join_playlist(rec: &Recording, sink: &mut (dyn SampleSink + Send)) -> Result<Joined> {
    let batch_len = rayon::current_num_threads().max(1) * 2;
    let mut asm = Assembler::new(sink);
    let mut order = PlaylistOrder::default();
    let mut ready: Vec<Piece> = Vec::new();
    for (batch, parts) in rec.parts.chunks(batch_len).enumerate() {
        let first = batch * batch_len;
        let (decoded, assembled) = rayon::join(
            || {
                (first..first + parts.len())
                    .into_par_iter()
                    .map(|i| decode_chunk(&rec.parts[i], previous_part(&rec.parts, i)))
                    .collect::<Vec<_>>()
            },
            || asm.push_batch(std::mem::take(&mut ready)),
        );
        assembled?;
        ready = order.place(parts, decoded);
    }
    asm.push_batch(ready)?;
    match order.first_info {
        Some(info) => asm.finish(info),
        None => Err(Error::input(
            &rec.path,
            format!(
                "no chunk of the playlist could be decoded (first failure: {})",
                order
                    .first_error
                    .map_or_else(|| "none".into(), |e| e.to_string())
            ),
        )),
    }
}

/// Puts decoded chunks on the timeline in playlist order: marks discontinuities,
/// fills timestamp gaps and failed chunks with silence.
#[derive(Default)]
struct PlaylistOrder {
    clock: ChunkClock,
    first_info: Option<StreamInfo>,
    first_error: Option<Error>,
}

impl PlaylistOrder {
    fn place(&mut self, parts: &[Part], decoded: Vec<Result<DecodedChunk>>) -> Vec<Piece> {
        let mut pieces = Vec::new();
        for (part, chunk) in parts.iter().zip(decoded) {
            if part.discontinuity {
                pieces.push(Piece::Mark {
                    reason: format!("discontinuity before {}", part.name),
                });
                self.clock.reset();
            }
            match chunk {
                Ok(chunk) => {
                    let ts = chunk.info.id3_timestamp;
                    pieces.extend(self.clock.gap_before(&part.name, ts));
                    self.clock.advance(ts, chunk.seconds());
                    self.first_info.get_or_insert_with(|| chunk.info.clone());
                    pieces.extend(chunk.events.into_iter().map(Piece::from));
                }
                Err(e) => {
                    let seconds = part.nominal_seconds.unwrap_or(0.0);
                    self.clock.skip(seconds);
                    pieces.push(Piece::Silence {
                        seconds,
                        reason: chunk_failure(part, &e),
                    });
                    self.first_error.get_or_insert(e);
                }
            }
        }
        pieces
    }
}

/// One chunk decoded whole (chunks are a few seconds long).
struct DecodedChunk {
    info: StreamInfo,
    events: Vec<DecodeEvent>,
}

impl DecodedChunk {
    /// Length in seconds, counting undecodable stretches.
    fn seconds(&self) -> f64 {
        self.events
            .iter()
            .map(|e| match e {
                DecodeEvent::Pcm(b) => b.frames() as f64 / f64::from(b.rate),
                DecodeEvent::Undecodable { seconds, .. } => *seconds,
            })
            .sum()
    }
}

/// The part before part `index` in the same stream (none after a discontinuity).
fn previous_part(parts: &[Part], index: usize) -> Option<&Part> {
    if parts[index].discontinuity {
        return None;
    }
    index.checked_sub(1).map(|i| &parts[i])
}

fn decode_chunk(part: &Part, previous: Option<&Part>) -> Result<DecodedChunk> {
    let data = std::fs::read(&part.path).map_err(|e| Error::io(&part.path, e))?;
    // The previous chunk's last frame primes the decoder; unreadable, it is simply not used.
    let before = previous.and_then(|p| std::fs::read(&p.path).ok());
    let preroll = before
        .as_deref()
        .and_then(|b| adts::last_frame(&b[id3::strip(b).tag_len..]));
    let mut decoder = Decoder::open_bytes(&part.path, data, preroll)?;
    let mut events = Vec::new();
    decoder.run(usize::MAX / 64, &mut |e| {
        events.push(e);
        true
    })?;
    Ok(DecodedChunk {
        info: decoder.info().clone(),
        events,
    })
}

/// Gap reason for a chunk that could not be used at all.
fn chunk_failure(part: &Part, e: &Error) -> String {
    match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            format!("missing chunk {}", part.name)
        }
        Error::Io { source, .. } => format!("damaged chunk {}: {source}", part.name),
        Error::Input { reason, .. } => format!("damaged chunk {}: {reason}", part.name),
        Error::UnsupportedCodec { codec, .. } => {
            format!("damaged chunk {}: unsupported codec {codec}", part.name)
        }
        other => format!("damaged chunk {}: {other}", part.name),
    }
}

/// Follows the chunks' 90 kHz transport-stream clock to spot time missing between them.
#[derive(Debug, Default)]
struct ChunkClock {
    /// Where the next chunk should start, when known.
    expected: Option<u64>,
}

impl ChunkClock {
    fn reset(&mut self) {
        self.expected = None;
    }

    /// Silence to insert before a chunk stamped `ts`, when it starts later than expected.
    fn gap_before(&self, name: &str, ts: Option<u64>) -> Option<Piece> {
        let (expected, ts) = (self.expected?, ts?);
        let ahead = ts.wrapping_sub(expected) & id3::CLOCK_MASK;
        // Half the clock range or more means the chunk starts early (overlap), not late.
        if ahead >= 1 << 32 {
            return None;
        }
        let seconds = ahead as f64 / id3::CLOCK_HZ as f64;
        if seconds <= GAP_THRESHOLD_SECONDS {
            return None;
        }
        let filled = seconds.min(MAX_GAP_SECONDS);
        let capped = if filled < seconds {
            format!(" (capped from {seconds:.1} s)")
        } else {
            String::new()
        };
        Some(Piece::Silence {
            seconds: filled,
            reason: format!("timestamp gap before {name}{capped}"),
        })
    }

    /// A chunk stamped `ts` lasting `seconds` was placed.
    fn advance(&mut self, ts: Option<u64>, seconds: f64) {
        self.expected = ts.map(|t| add_ticks(t, seconds));
    }

    /// A chunk of `seconds` was replaced by silence.
    fn skip(&mut self, seconds: f64) {
        self.expected = self.expected.map(|t| add_ticks(t, seconds));
    }
}

fn add_ticks(ts: u64, seconds: f64) -> u64 {
    (ts + (seconds * id3::CLOCK_HZ as f64).round() as u64) & id3::CLOCK_MASK
}

/// The 16 kHz timeline being built, and what was found along it.
#[derive(Default)]
struct Timeline {
    /// Output not yet handed to the sink.
    out: Vec<f32>,
    /// Output samples already handed to the sink.
    flushed: u64,
    stream: Option<ResampleStream>,
    /// Gaps in 16 kHz samples: (start, end, reason).
    gaps: Vec<(u64, u64, String)>,
    /// Largest absolute source sample, over all channels.
    peak: f32,
}

impl Timeline {
    fn position(&self) -> u64 {
        self.stream
            .as_ref()
            .map_or(self.flushed + self.out.len() as u64, |s| s.position())
    }

    /// The resampler for `rate`, starting a new run when the rate changes.
    fn stream_for(&mut self, rate: u32) -> &mut ResampleStream {
        if self.stream.as_ref().is_some_and(|s| s.rate() != rate)
            && let Some(old) = self.stream.take()
        {
            old.finish(&mut self.out);
        }
        let at = self.flushed + self.out.len() as u64;
        self.stream
            .get_or_insert_with(|| ResampleStream::new(rate, at))
    }

    fn push(&mut self, piece: &Piece) {
        match piece {
            Piece::Pcm(block) => {
                self.peak = block.samples.iter().fold(self.peak, |m, s| m.max(s.abs()));
                let mono = downmix(&block.samples, usize::from(block.channels));
                let mut out = std::mem::take(&mut self.out);
                self.stream_for(block.rate).push(&mono, &mut out);
                self.out = out;
            }
            Piece::Silence { seconds, reason } => {
                let rate = self.stream.as_ref().map_or(SAMPLE_RATE, |s| s.rate());
                let frames = (seconds.max(0.0) * f64::from(rate)).round() as u64;
                let start = self.position();
                let mut out = std::mem::take(&mut self.out);
                self.stream_for(rate).push_silence(frames, &mut out);
                self.out = out;
                self.add_gap(start, self.position(), reason);
            }
            Piece::Mark { reason } => {
                let at = self.position();
                self.add_gap(at, at, reason);
            }
        }
    }

    /// Records a gap, merging it into the previous one when it continues it for the same reason.
    fn add_gap(&mut self, start: u64, end: u64, reason: &str) {
        if let Some(last) = self.gaps.last_mut()
            && last.2 == reason
            && last.1 == start
        {
            last.1 = end;
            return;
        }
        self.gaps.push((start, end, reason.to_string()));
    }

    /// Output ready for the sink, taken out of the timeline.
    fn take_ready(&mut self) -> Vec<f32> {
        let next = Vec::with_capacity(self.out.len());
        let ready = std::mem::replace(&mut self.out, next);
        self.flushed += ready.len() as u64;
        ready
    }

    fn finish_stream(&mut self) {
        if let Some(stream) = self.stream.take() {
            stream.finish(&mut self.out);
        }
    }

    fn gaps(&self) -> Vec<Gap> {
        self.gaps
            .iter()
            .map(|(s, e, reason)| Gap {
                start: seconds(*s),
                end: seconds(*e),
                reason: reason.clone(),
            })
            .collect()
    }
}

/// Consumes pieces in order and streams the 16 kHz result to a sink. Each batch is
/// resampled while the previous batch's output is measured for loudness and written,
/// on the other core.
pub struct Assembler<'s> {
    timeline: Timeline,
    output: Output<'s>,
}

/// The far end of the timeline: loudness meters and the sink.
struct Output<'s> {
    sink: &'s mut (dyn SampleSink + Send),
    meters: Vec<loudness::Measured>,
    /// Output not yet metered (less than a [`METER_BLOCK`]).
    unmetered: Vec<f32>,
    /// End of the last metered block, to continue its loudness gating.
    history: Option<PcmBlock>,
}

impl Output<'_> {
    /// Writes `ready` out and meters it in fixed blocks: how output arrives in batches
    /// depends on thread timing, and blocks cut along batches would make the loudness
    /// differ in its last digits from run to run.
    fn measure_and_write(&mut self, ready: Vec<f32>) -> Result<()> {
        self.sink.write(&ready)?;
        self.unmetered.extend_from_slice(&ready);
        let whole = self.unmetered.len() / METER_BLOCK * METER_BLOCK;
        let blocks: Vec<f32> = self.unmetered.drain(..whole).collect();
        for block in blocks.chunks(METER_BLOCK) {
            self.meter(block.to_vec());
        }
        Ok(())
    }

    fn meter(&mut self, samples: Vec<f32>) {
        if samples.is_empty() {
            return;
        }
        let block = PcmBlock {
            rate: SAMPLE_RATE,
            channels: 1,
            samples,
        };
        self.meters
            .extend(loudness::measure(&block, self.history.as_ref()));
        self.history = Some(loudness::history_of(&block));
    }

    fn finish(&mut self) {
        let rest = std::mem::take(&mut self.unmetered);
        self.meter(rest);
    }
}

impl<'s> Assembler<'s> {
    pub fn new(sink: &'s mut (dyn SampleSink + Send)) -> Self {
        Assembler {
            timeline: Timeline::default(),
            output: Output {
                sink,
                meters: Vec::new(),
                unmetered: Vec::new(),
                history: None,
            },
        }
    }

    pub fn push_batch(&mut self, batch: Vec<Piece>) -> Result<()> {
        let ready = self.timeline.take_ready();
        let (output, timeline) = (&mut self.output, &mut self.timeline);
        let (written, ()) = rayon::join(
            || output.measure_and_write(ready),
            || batch.iter().for_each(|p| timeline.push(p)),
        );
        written
    }

    pub fn finish(mut self, info: StreamInfo) -> Result<Joined> {
        self.timeline.finish_stream();
        let ready = self.timeline.take_ready();
        self.output.measure_and_write(ready)?;
        self.output.finish();
        let gaps = self.timeline.gaps();
        for g in &gaps {
            tracing::warn!("gap {:.3}-{:.3} s: {}", g.start, g.end, g.reason);
        }
        Ok(Joined {
            length: self.timeline.flushed,
            gaps,
            loudness: loudness::combine(&self.output.meters, self.timeline.peak),
            info,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::resample::out_len;

    fn info() -> StreamInfo {
        StreamInfo {
            codec: "pcm_s16le".into(),
            sample_rate: 48_000,
            channels: 2,
            id3_timestamp: None,
        }
    }

    fn stereo(frames: usize, click_at: Option<usize>) -> PcmBlock {
        let mut samples = vec![0.0; frames * 2];
        if let Some(i) = click_at {
            samples[2 * i] = 1.0;
            samples[2 * i + 1] = 1.0;
        }
        PcmBlock {
            rate: 48_000,
            channels: 2,
            samples,
        }
    }

    fn peak_index(x: &[f32]) -> usize {
        x.iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap()
            .0
    }

    #[test]
    fn three_odd_parts_join_to_exact_length_and_click_position() {
        let lens = [48_001usize, 95_999, 33_333];
        let click_part = 1;
        let click = 50_017;
        let mut out = Vec::new();
        let mut asm = Assembler::new(&mut out);
        for (i, &n) in lens.iter().enumerate() {
            let block = stereo(n, (i == click_part).then_some(click));
            asm.push_batch(vec![Piece::Pcm(block)]).unwrap();
        }
        let joined = asm.finish(info()).unwrap();
        let total: u64 = lens.iter().map(|&n| n as u64).sum();
        assert_eq!(joined.length, out_len(total, 48_000));
        assert_eq!(out.len() as u64, joined.length);
        assert_eq!(joined.loudness.sample_peak_dbfs, Some(0.0));
        let src_pos = lens[0] + click;
        let expect = (src_pos as f64 / 3.0).round() as i64;
        let got = peak_index(&out) as i64;
        assert!(
            (got - expect).abs() <= 1,
            "click at {got}, expected {expect}"
        );
        assert!(joined.gaps.is_empty());
    }

    #[test]
    fn silence_gaps_are_placed_and_merged() {
        let mut out = Vec::new();
        let mut asm = Assembler::new(&mut out);
        let bad = "undecodable frames in x.m4a".to_string();
        asm.push_batch(vec![
            Piece::Pcm(stereo(48_000, None)),
            Piece::Silence {
                seconds: 0.5,
                reason: bad.clone(),
            },
            Piece::Silence {
                seconds: 0.25,
                reason: bad.clone(),
            },
            Piece::Pcm(stereo(24_000, None)),
            Piece::Mark {
                reason: "discontinuity before c.aac".into(),
            },
            Piece::Pcm(stereo(24_000, None)),
        ])
        .unwrap();
        let j = asm.finish(info()).unwrap();
        assert_eq!(j.length, 16_000 + 12_000 + 8_000 + 8_000);
        assert_eq!(out.len() as u64, j.length);
        assert_eq!(j.gaps.len(), 2);
        assert_eq!((j.gaps[0].start, j.gaps[0].end), (1.0, 1.75));
        assert_eq!(j.gaps[0].reason, bad);
        assert_eq!((j.gaps[1].start, j.gaps[1].end), (2.25, 2.25));
    }

    #[test]
    fn chunk_clock_finds_late_chunks_only() {
        let mut c = ChunkClock::default();
        assert!(c.gap_before("a", Some(1000)).is_none());
        c.advance(Some(1000), 3.0);
        assert!(c.gap_before("b", Some(1000 + 270_000 + 9_000)).is_none());
        let Some(Piece::Silence { seconds, reason }) =
            c.gap_before("b", Some(1000 + 270_000 + 180_000))
        else {
            panic!("no gap")
        };
        assert!((seconds - 2.0).abs() < 1e-9 && reason.contains("timestamp gap before b"));
        assert!(
            c.gap_before("b", Some(500)).is_none(),
            "overlap is not a gap"
        );
        // Wrap-around of the 33-bit clock.
        c.advance(Some(id3::CLOCK_MASK - 90_000), 1.0);
        assert!(c.gap_before("w", Some(0)).is_none());
        let Some(Piece::Silence { seconds, .. }) = c.gap_before("w", Some(90_000)) else {
            panic!()
        };
        assert!((seconds - 1.0).abs() < 1e-4);
    }
}
