//! Playlists: local HLS chunk files joined into one timeline, in playlist order, with
//! timestamp gaps, missing and damaged chunks filled with silence and discontinuities
//! marked.
//!
//! A Spaces playlist's chunks are ADTS AAC cut from one stream. Their frame headers and
//! ID3 timestamps give the whole timeline before any audio is decoded (a [`Layout`]):
//! every chunk's length, the silences, where the sample rate changes. The timeline is
//! then decoded and resampled in fixed stretches on every core, as an m4a's ranges are
//! ([`Stretch`]): a stretch's lane reads the chunks under it, decodes their frames as
//! one ADTS stream and resamples them where the layout puts them. Playlists of other
//! chunks (anything symphonia reads) are decoded in fixed groups of chunks on every
//! core, then placed, resampled and written in order ([`join_chunk_groups`]).

use super::join::{Assembler, Joined, Piece, Stretch, Timeline, join_stretches};
use super::resample::{ResampleStream, out_len};
use crate::audio::{SAMPLE_RATE, SampleSink};
use crate::error::{Error, Result};
use crate::ingest::decode::{DecodeEvent, Decoder, StreamInfo};
use crate::ingest::{Part, Recording, adts, id3};
use crate::workers;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::mpsc;

/// Playlist chunks decoded one after the other by one codec (a group is decoded on one
/// core; groups in parallel).
const CHUNK_GROUP: usize = 4;
/// Decoded groups of playlist chunks that may wait, per lane, to be placed.
const GROUPS_AHEAD: usize = 2;
/// A timestamp jump between chunks larger than this is a gap.
const GAP_THRESHOLD_SECONDS: f64 = 0.5;
/// Longest silence put in for one timestamp gap; beyond this the clock is not trusted.
const MAX_GAP_SECONDS: f64 = 3600.0;

/// Decodes and joins a playlist's chunks: in stretches laid out beforehand when they are
/// ADTS, else in groups of chunks.
pub(super) fn join_playlist(rec: &Recording, sink: &mut (dyn SampleSink + Send)) -> Result<Joined> {
    let scans: Vec<Scanned> = rec.parts.par_iter().map(scan_chunk).collect();
    match Layout::of(rec, scans) {
        Some(layout) => join_layout(rec, layout, sink),
        None => join_chunk_groups(rec, sink),
    }
}

/// A chunk as read before decoding.
enum Scanned {
    /// ADTS audio: its clock stamp, its frame count and the format of its first frame.
    Adts {
        timestamp: Option<u64>,
        frames: u64,
        rate: u32,
        channels: u16,
    },
    /// Something else (another format, or bytes that are no audio at all).
    Other,
    Unreadable(Error),
}

fn scan_chunk(part: &Part) -> Scanned {
    let data = match std::fs::read(&part.path) {
        Ok(data) => data,
        Err(e) => return Scanned::Unreadable(Error::io(&part.path, e)),
    };
    let tags = id3::strip(&data);
    let audio = &data[tags.tag_len..];
    let frames = adts::frames(audio);
    let first = frames.first().map(|f| &audio[f.clone()]);
    match first.and_then(|f| Some((adts::sample_rate(f)?, adts::channels(f)?))) {
        Some((rate, channels)) if adts::is_sync(audio) => Scanned::Adts {
            timestamp: tags.timestamp,
            frames: frames.len() as u64,
            rate,
            channels,
        },
        _ => Scanned::Other,
    }
}

/// The timeline of a playlist of ADTS chunks, known before decoding: runs of one sample
/// rate, each a sequence of chunks and silences, and the discontinuity marks.
#[derive(Debug)]
struct Layout {
    runs: Vec<Run>,
    /// Output positions (16 kHz samples) and reasons of zero-length marks.
    marks: Vec<(u64, String)>,
    /// The format of the first usable chunk, or why there is none.
    info: Result<StreamInfo>,
}

/// Audio at one sample rate, placed from output position `base` on.
#[derive(Debug)]
struct Run {
    rate: u32,
    base: u64,
    frames: u64,
    spans: Vec<Span>,
}

/// `frames` frames of a run from frame `start` on.
#[derive(Debug)]
struct Span {
    start: u64,
    frames: u64,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// The audio of the chunk that is this part (an index into the playlist's parts).
    Chunk(usize),
    /// Silence, and why.
    Silence(String),
}

impl Layout {
    /// The layout of `rec`'s parts, when the first readable one is ADTS; a chunk that is not
    /// ADTS among ADTS chunks counts as damaged. `None` for playlists of other chunks.
    fn of(rec: &Recording, scans: Vec<Scanned>) -> Option<Layout> {
        let first = scans.iter().find(|s| !matches!(s, Scanned::Unreadable(_)));
        if !matches!(first, Some(Scanned::Adts { .. })) {
            return None;
        }
        let mut layout = Layout {
            runs: Vec::new(),
            marks: Vec::new(),
            info: Err(Error::input(&rec.path, "not laid out yet")),
        };
        let mut order = PlaylistOrder::default();
        for (index, (part, scan)) in rec.parts.iter().zip(scans).enumerate() {
            let chunk = match scan {
                Scanned::Adts {
                    timestamp,
                    frames,
                    rate,
                    channels,
                } => Ok(Placeable {
                    info: StreamInfo {
                        codec: "aac".into(),
                        sample_rate: rate,
                        channels,
                        id3_timestamp: timestamp,
                    },
                    seconds: (frames * adts::FRAME_SAMPLES) as f64 / f64::from(rate),
                    audio: (index, frames * adts::FRAME_SAMPLES, rate),
                }),
                Scanned::Other => Err(Error::input(
                    &part.path,
                    "no AAC frames like the playlist's other chunks",
                )),
                Scanned::Unreadable(e) => Err(e),
            };
            order.place(part, chunk, &mut |placed| layout.put(placed));
        }
        layout.info = order.into_info(rec);
        Some(layout)
    }

    /// Lays out what placing a chunk yields, as the timeline of decoded pieces would
    /// place it ([`Timeline::push`]): silence is counted at the current run's rate.
    fn put(&mut self, placed: Placed<(usize, u64, u32)>) {
        match placed {
            Placed::Chunk((part, frames, rate)) => self.extend(rate, frames, Source::Chunk(part)),
            Placed::Silence(Silence { seconds, reason }) => {
                let rate = self.runs.last().map_or(SAMPLE_RATE, |r| r.rate);
                let frames = (seconds.max(0.0) * f64::from(rate)).round() as u64;
                // No stretch holds an empty span; its gap is reported as a mark.
                if frames == 0 {
                    self.marks.push((self.position(), reason));
                } else {
                    self.extend(rate, frames, Source::Silence(reason));
                }
            }
            Placed::Mark(reason) => self.marks.push((self.position(), reason)),
        }
    }

    fn extend(&mut self, rate: u32, frames: u64, source: Source) {
        if self.runs.last().is_none_or(|r| r.rate != rate) {
            let base = self.position();
            self.runs.push(Run {
                rate,
                base,
                frames: 0,
                spans: Vec::new(),
            });
        }
        let run = self.runs.last_mut().expect("a run was just made");
        run.spans.push(Span {
            start: run.frames,
            frames,
            source,
        });
        run.frames += frames;
    }

    /// Output position where the next span would start.
    fn position(&self) -> u64 {
        self.runs
            .last()
            .map_or(0, |r| r.base + out_len(r.frames, r.rate))
    }
}

/// An ADTS playlist decoded and resampled in stretches on every core
/// ([`join_stretches`]), this thread only metering and writing them in order. The
/// stretches' bounds come from the layout alone, so the output does not depend on the
/// number of cores.
///
/// Measured on the 10-minute Space as 201 chunks on 2 cores (`perf stat`): 0.26 s and
/// 0.48 CPU-s, against 0.30 s and 0.52 CPU-s for groups of chunks placed and resampled
/// in order, where the resampling thread lagged behind the decoding and the 48 kHz audio
/// crossed between threads.
fn join_layout(
    rec: &Recording,
    layout: Layout,
    sink: &mut (dyn SampleSink + Send),
) -> Result<Joined> {
    let Layout { runs, marks, info } = layout;
    let info = info?;
    let stretches: Vec<(&Run, Stretch)> = runs
        .iter()
        .flat_map(|run| {
            let cut = Stretch::cut_run(run.rate, run.base, run.frames);
            cut.into_iter().map(move |stretch| (run, stretch))
        })
        .collect();
    let lanes = rayon::current_num_threads().clamp(1, stretches.len().max(1));
    let playlist_name = rec.path.display().to_string();
    let resample = |stream: &mut Option<ResampleStream>, i: usize| {
        let (run, stretch) = &stretches[i];
        stretch.resample(stream, &playlist_name, |timeline, span| {
            run.fill(&rec.parts, span, timeline)
        })
    };
    let lanes = (0..lanes).map(|_| None).collect();
    let mut asm = join_stretches(lanes, stretches.len(), resample, sink, &rec.path)?;
    asm.add_marks(marks);
    asm.finish(info)
}

impl Run {
    /// Pushes this run's frames `span` into `timeline`: silences as silence, and the
    /// chunks under the span decoded as one ADTS stream (one codec going on from chunk
    /// to chunk) primed with the frame before the first one wanted, streamed into the
    /// timeline as they decode. A chunk that cannot be read now, or frames that do not
    /// decode, become silence naming the chunk. Returns the frames decoded; an error
    /// when the chunks' frames could not be decoded at all.
    fn fill(&self, parts: &[Part], span: Range<u64>, timeline: &mut Timeline) -> Result<u64> {
        let first = self
            .spans
            .partition_point(|s| s.start + s.frames <= span.start);
        let mut stream = AdtsStream::default();
        let mut steps = Vec::new();
        for s in self.spans[first..]
            .iter()
            .take_while(|s| s.start < span.end)
        {
            let wanted =
                span.start.max(s.start) - s.start..span.end.min(s.start + s.frames) - s.start;
            let silence = |reason| Step::Silence {
                frames: wanted.end - wanted.start,
                reason,
            };
            steps.push(match &s.source {
                Source::Silence(reason) => silence(reason.clone()),
                Source::Chunk(part) => match stream.add(parts, *part, &wanted) {
                    Ok(cut) => cut,
                    Err(e) => silence(chunk_failure(&parts[*part], &e)),
                },
            });
        }
        let mut walker = Walker {
            steps,
            next: 0,
            done: 0,
            rate: self.rate,
            timeline,
        };
        let decoded = stream.decode(parts, self.rate, &mut |e| walker.feed(&e));
        walker.finish();
        decoded
    }
}

/// What a stretch is made of, in order.
enum Step {
    Silence {
        frames: u64,
        reason: String,
    },
    /// `keep` frames from frame `lead` of a chunk's `whole` decoded frames.
    Cut {
        name: String,
        lead: u64,
        keep: u64,
        whole: u64,
    },
}

/// ADTS frames gathered from chunks to be decoded as one stream.
#[derive(Default)]
struct AdtsStream {
    bytes: Vec<u8>,
    /// The frame before the first one wanted, to prime the codec.
    priming: Option<Vec<u8>>,
    /// The part whose path names the stream in errors.
    named: Option<usize>,
}

impl AdtsStream {
    /// Appends the whole frames holding frames `wanted` of part `part`.
    fn add(&mut self, parts: &[Part], part: usize, wanted: &Range<u64>) -> Result<Step> {
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
        let lead = wanted.start - first as u64 * adts::FRAME_SAMPLES;
        Ok(Step::Cut {
            name: parts[part].name.clone(),
            lead,
            keep: wanted.end - wanted.start,
            whole: (last - first) as u64 * adts::FRAME_SAMPLES,
        })
    }

    /// Decodes the gathered frames (without the priming frame's output) into `feed`;
    /// returns the frames decoded (none gathered decode to none).
    fn decode(self, parts: &[Part], rate: u32, feed: &mut dyn FnMut(DecodeEvent)) -> Result<u64> {
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

/// Hands decoded audio to a timeline as a stretch's [`Step`]s say: what is kept of
/// each chunk's frames, with the silences between them in their places.
struct Walker<'t> {
    steps: Vec<Step>,
    next: usize,
    /// Frames of the current cut already handed out or dropped.
    done: u64,
    rate: u32,
    timeline: &'t mut Timeline,
}

impl Walker<'_> {
    fn feed(&mut self, event: &DecodeEvent) {
        let total = match event {
            DecodeEvent::Pcm(b) => b.samples.len() as u64,
            DecodeEvent::Undecodable { seconds, .. } => {
                (seconds * f64::from(self.rate)).round() as u64
            }
        };
        let mut at = 0;
        while at < total {
            self.push_silences();
            let Some(&Step::Cut {
                lead, keep, whole, ..
            }) = self.steps.get(self.next)
            else {
                return; // Frames beyond the last one wanted.
            };
            let n = (whole - self.done).min(total - at);
            let (from, to) = (self.done.max(lead), (self.done + n).min(lead + keep));
            if from < to {
                let (a, b) = (
                    (at + from - self.done) as usize,
                    (at + to - self.done) as usize,
                );
                match event {
                    // Audio at another rate than the headers said cannot be placed.
                    DecodeEvent::Pcm(block) if block.rate == self.rate => {
                        self.timeline
                            .push_samples(block.rate, &block.samples[a..b], block.peak);
                    }
                    _ => self.push_undecodable(to - from),
                }
            }
            (at, self.done) = (at + n, self.done + n);
            if self.done == whole {
                (self.next, self.done) = (self.next + 1, 0);
            }
        }
    }

    /// What decoding did not yield of the cuts left is silence.
    fn finish(mut self) {
        while self.next < self.steps.len() {
            self.push_silences();
            if let Some(&Step::Cut { lead, keep, .. }) = self.steps.get(self.next) {
                let missing = (lead + keep).saturating_sub(self.done.max(lead));
                if missing > 0 {
                    self.push_undecodable(missing);
                }
                (self.next, self.done) = (self.next + 1, 0);
            }
        }
    }

    fn push_silences(&mut self) {
        while let Some(Step::Silence { frames, reason }) = self.steps.get(self.next) {
            self.timeline.push(Piece::Silence {
                seconds: *frames as f64 / f64::from(self.rate),
                reason: reason.clone(),
            });
            self.next += 1;
        }
    }

    fn push_undecodable(&mut self, frames: u64) {
        let Some(Step::Cut { name, .. }) = self.steps.get(self.next) else {
            return;
        };
        let reason = format!("undecodable frames in {name}");
        self.timeline.push(Piece::Silence {
            seconds: frames as f64 / f64::from(self.rate),
            reason,
        });
    }
}

/// Chunks decoded in fixed groups ([`decode_group`]) on every core, placed in order on
/// this thread (gaps, discontinuities), resampled on another and metered and written on
/// a third ([`Assembler::assemble`]).
fn join_chunk_groups(rec: &Recording, sink: &mut (dyn SampleSink + Send)) -> Result<Joined> {
    let groups: Vec<Range<usize>> = (0..rec.parts.len())
        .step_by(CHUNK_GROUP)
        .map(|g| g..(g + CHUNK_GROUP).min(rec.parts.len()))
        .collect();
    let mut asm = Assembler::new(sink);
    let mut order = PlaylistOrder::default();
    let mut placing = groups.iter();
    std::thread::scope(|s| {
        let (to_assembler, placed) = mpsc::sync_channel::<Vec<Piece>>(GROUPS_AHEAD);
        let assembler = s.spawn(move || asm.assemble(placed.into_iter().flatten()).map(|()| asm));
        let decoded = workers::run_ordered(
            vec![(); rayon::current_num_threads().max(1)],
            groups.len(),
            GROUPS_AHEAD,
            |(), i| decode_group(&rec.parts, groups[i].clone()),
            |decoded| {
                let group = placing.next().cloned().unwrap_or_default();
                let mut pieces = Vec::new();
                for (part, chunk) in rec.parts[group].iter().zip(decoded) {
                    let chunk = chunk.map(DecodedChunk::placeable);
                    order.place(part, chunk, &mut |placed| match placed {
                        Placed::Chunk(decoded) => pieces.extend(decoded),
                        Placed::Silence(silence) => pieces.push(silence.into()),
                        Placed::Mark(reason) => pieces.push(Piece::Mark { reason }),
                    });
                }
                // Fails only when the assembler stopped, on an error reported below.
                to_assembler
                    .send(pieces)
                    .map_err(|_| Error::input(&rec.path, "assembling stopped"))
            },
            || Error::input(&rec.path, "decoder thread crashed"),
        );
        drop(to_assembler);
        let assembled = assembler
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // The assembler's error (a failed write) is the cause of any error in placing.
        assembled.and_then(|asm| decoded.map(|()| asm))
    })
    .and_then(|asm| {
        let info = order.into_info(rec)?;
        asm.finish(info)
    })
}

/// Puts decoded chunks on the timeline in playlist order: marks discontinuities,
/// fills timestamp gaps and failed chunks with silence.
#[derive(Default)]
struct PlaylistOrder {
    clock: ChunkClock,
    first_info: Option<StreamInfo>,
    first_error: Option<Error>,
}

/// A chunk that can be placed: its format (with its clock stamp), its length, and what
/// stands for its audio (decoded pieces, or where to find them).
struct Placeable<T> {
    info: StreamInfo,
    seconds: f64,
    audio: T,
}

/// What placing a chunk puts on the timeline, in order.
enum Placed<T> {
    /// A discontinuity: nothing on the timeline, a zero-length gap in the report.
    Mark(String),
    /// Standing in for a timestamp gap or an unusable chunk.
    Silence(Silence),
    Chunk(T),
}

/// `seconds` of silence and why.
#[derive(Debug)]
struct Silence {
    seconds: f64,
    reason: String,
}

impl From<Silence> for Piece {
    fn from(s: Silence) -> Piece {
        Piece::Silence {
            seconds: s.seconds,
            reason: s.reason,
        }
    }
}

impl PlaylistOrder {
    /// Places `part` (decoded or laid out as `chunk`, or why it cannot be) after the
    /// parts placed before it, handing what goes on the timeline to `put`.
    fn place<T>(
        &mut self,
        part: &Part,
        chunk: Result<Placeable<T>>,
        put: &mut impl FnMut(Placed<T>),
    ) {
        if part.discontinuity {
            put(Placed::Mark(format!("discontinuity before {}", part.name)));
            self.clock.reset();
        }
        match chunk {
            Ok(chunk) => {
                let ts = chunk.info.id3_timestamp;
                if let Some(gap) = self.clock.gap_before(&part.name, ts) {
                    put(Placed::Silence(gap));
                }
                self.clock.advance(ts, chunk.seconds);
                self.first_info.get_or_insert(chunk.info);
                put(Placed::Chunk(chunk.audio));
            }
            Err(e) => {
                let seconds = part.nominal_seconds.unwrap_or(0.0);
                self.clock.skip(seconds);
                put(Placed::Silence(Silence {
                    seconds,
                    reason: chunk_failure(part, &e),
                }));
                self.first_error.get_or_insert(e);
            }
        }
    }

    /// The format of the first usable chunk; none at all is an error.
    fn into_info(self, rec: &Recording) -> Result<StreamInfo> {
        self.first_info.ok_or_else(|| {
            Error::input(
                &rec.path,
                format!(
                    "no chunk of the playlist could be decoded (first failure: {})",
                    self.first_error
                        .map_or_else(|| "none".into(), |e| e.to_string())
                ),
            )
        })
    }
}

/// One chunk decoded whole (chunks are a few seconds long).
struct DecodedChunk {
    info: StreamInfo,
    pieces: Vec<Piece>,
}

impl DecodedChunk {
    /// Its length counts undecodable stretches.
    fn placeable(self) -> Placeable<Vec<Piece>> {
        Placeable {
            seconds: self.pieces.iter().map(Piece::seconds).sum(),
            info: self.info,
            audio: self.pieces,
        }
    }
}

/// The part before part `index` in the same stream (none after a discontinuity).
fn previous_part(parts: &[Part], index: usize) -> Option<&Part> {
    if parts[index].discontinuity {
        return None;
    }
    index.checked_sub(1).map(|i| &parts[i])
}

/// Chunks `group` of `parts` decoded one after the other, each with the codec the one
/// before it left off with when that one decoded ([`Decoder::open_bytes_after`]); the
/// first of a group, or one after a failure or a discontinuity, starts a codec afresh,
/// primed with the previous chunk's last frame. Groups are fixed runs of
/// [`CHUNK_GROUP`] chunks, so the output never depends on the number of cores.
fn decode_group(parts: &[Part], group: Range<usize>) -> Vec<Result<DecodedChunk>> {
    let mut carried: Option<Decoder> = None;
    group
        .map(|i| {
            let part = &parts[i];
            let opened = match carried.take().filter(|_| !part.discontinuity) {
                Some(previous) => std::fs::read(&part.path)
                    .map_err(|e| Error::io(&part.path, e))
                    .and_then(|data| Decoder::open_bytes_after(&part.path, data, previous)),
                None => open_chunk(parts, i),
            };
            let mut decoder = opened?;
            let pieces = decode_pieces(&mut decoder)?;
            let info = decoder.info().clone();
            carried = Some(decoder);
            Ok(DecodedChunk { info, pieces })
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
fn decode_pieces(decoder: &mut Decoder) -> Result<Vec<Piece>> {
    let block_frames = decoder.info().sample_rate.max(1) as usize;
    let mut pieces = Vec::new();
    decoder.run(block_frames, &mut |e| {
        pieces.push(Piece::from(e));
        true
    })?;
    Ok(pieces)
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
    fn gap_before(&self, name: &str, ts: Option<u64>) -> Option<Silence> {
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
        Some(Silence {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// The bundled Space's chunks, in playlist order.
    fn space_chunks() -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/space");
        let list = std::fs::read_to_string(root.join("playlist.m3u8")).unwrap();
        list.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| root.join(l.trim()))
            .collect()
    }

    /// Copies a Space chunk's ADTS frames behind a new Spaces-style ID3 tag; returns its
    /// length in seconds.
    fn restamped_chunk(from: &Path, to: &Path, timestamp: u64) -> f64 {
        let data = std::fs::read(from).unwrap();
        let audio = &data[id3::strip(&data).tag_len..];
        let mut out = crate::ingest::id3::tests::spaces_tag(timestamp);
        out.extend_from_slice(audio);
        std::fs::write(to, out).unwrap();
        (adts::frames(audio).len() as u64 * adts::FRAME_SAMPLES) as f64 / 48_000.0
    }

    /// Five Space chunks: a 2 s timestamp jump before c1, c2 damaged, c3 missing, a
    /// discontinuity before c4. Returns the playlist and the three good chunks' lengths.
    fn troubled_playlist(dir: &Path) -> (PathBuf, [f64; 3]) {
        let chunks = space_chunks();
        let d0 = restamped_chunk(&chunks[0], &dir.join("c0.aac"), 1_000);
        let jump = 1_000 + (d0 * 90_000.0).round() as u64 + 180_000;
        let d1 = restamped_chunk(&chunks[1], &dir.join("c1.aac"), jump);
        std::fs::write(dir.join("c2.aac"), b"ID3 no, just garbage".repeat(20)).unwrap();
        let d4 = restamped_chunk(&chunks[4], &dir.join("c4.aac"), 5);
        let list = "#EXTM3U\n#EXT-X-TARGETDURATION:3\n\
                    #EXTINF:3.0,\nc0.aac\n#EXTINF:3.0,\nc1.aac\n#EXTINF:3.0,\nc2.aac\n#EXTINF:3.0,\nc3.aac\n\
                    #EXT-X-DISCONTINUITY\n#EXTINF:3.0,\nc4.aac\n#EXT-X-ENDLIST\n";
        let path = dir.join("space.m3u8");
        std::fs::write(&path, list).unwrap();
        (path, [d0, d1, d4])
    }

    fn joined_with(
        lanes: usize,
        run: impl Fn(&mut Vec<f32>) -> Joined + Send + Sync,
    ) -> (Vec<f32>, Joined) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(lanes)
            .build()
            .unwrap();
        pool.install(|| {
            let mut out = Vec::new();
            let joined = run(&mut out);
            (out, joined)
        })
    }

    /// Laid out from the frame headers, decoded in stretches on any number of lanes, an
    /// ADTS playlist keeps every chunk and every gap where decoding the chunks one by
    /// one puts them, and the same audio.
    #[test]
    fn adts_playlist_is_laid_out_like_its_decoded_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let (path, [d0, d1, d4]) = troubled_playlist(dir.path());
        let rec = crate::ingest::open(&path).unwrap();
        let scans: Vec<Scanned> = rec.parts.iter().map(scan_chunk).collect();
        assert!(Layout::of(&rec, scans).is_some(), "laid out");
        let (one, laid) = joined_with(1, |out| join_playlist(&rec, out).unwrap());
        let (three, _) = joined_with(3, |out| join_playlist(&rec, out).unwrap());
        assert!(one == three, "the output depends on the number of lanes");
        let (chunked, groups) = joined_with(2, |out| join_chunk_groups(&rec, out).unwrap());
        let seconds = d0 + 2.0 + d1 + 3.0 + 3.0 + d4;
        assert_eq!(laid.length, (seconds * 16_000.0).round() as u64);
        assert_eq!(laid.length, groups.length);
        assert_eq!(one.len() as u64, laid.length);
        // The same gaps, but for how a damaged chunk is described.
        let spans = |j: &Joined| {
            let what = |r: &str| r.split(':').next().unwrap_or_default().to_string();
            j.gaps
                .iter()
                .map(|g| (g.start, g.end, what(&g.reason)))
                .collect::<Vec<_>>()
        };
        assert_eq!(spans(&laid), spans(&groups));
        let reasons: Vec<&str> = laid.gaps.iter().map(|g| g.reason.as_str()).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].contains("timestamp gap before c1.aac"));
        assert!(reasons[1].starts_with("damaged chunk c2.aac"));
        assert_eq!(reasons[2], "missing chunk c3.aac");
        assert!(reasons[3].contains("discontinuity before c4.aac"));
        assert_eq!((laid.gaps[0].start, laid.gaps[0].end), (d0, d0 + 2.0));
        let energy =
            |x: &mut dyn Iterator<Item = f32>| x.map(|v| f64::from(v).powi(2)).sum::<f64>();
        let noise = energy(&mut one.iter().zip(&chunked).map(|(a, b)| a - b));
        let snr = 10.0 * (energy(&mut chunked.iter().copied()) / noise).log10();
        assert!(snr > 25.0, "SNR {snr:.1} dB");
        assert_eq!(laid.info.sample_rate, 48_000);
        assert_eq!(laid.info.codec, "aac");
    }

    #[test]
    fn chunk_clock_finds_late_chunks_only() {
        let mut c = ChunkClock::default();
        assert!(c.gap_before("a", Some(1000)).is_none());
        c.advance(Some(1000), 3.0);
        assert!(c.gap_before("b", Some(1000 + 270_000 + 9_000)).is_none());
        let Some(Silence { seconds, reason }) = c.gap_before("b", Some(1000 + 270_000 + 180_000))
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
        let Some(Silence { seconds, .. }) = c.gap_before("w", Some(90_000)) else {
            panic!()
        };
        assert!((seconds - 1.0).abs() < 1e-4);
    }
}
