//! Decoding one part (a file, a playlist chunk, or the ADTS frames of consecutive
//! chunks gathered by [`super::chunk`]) with symphonia into source-rate PCM: mono for
//! the pipeline, or every channel interleaved for publishing the recording as it is
//! ([`Channels`]).
//!
//! For the pipeline the channels are averaged here, while the samples are copied out of
//! the codec's buffers, rather than copied out interleaved and averaged later: on the
//! one thread a file's decoding runs on, that copy was a tenth of the time (perf,
//! 10-minute Space).
//!
//! This is the only place that runs symphonia (with the decoders [`super::codec`]
//! registers). It turns every way a part can be bad into a one-line [`Error`] naming
//! the file (missing, empty, not audio, absurd header, unsupported codec, including
//! HE-AAC which symphonia cannot decode), streams decoded audio to a callback in blocks
//! so a long file is never held whole at the source rate, and reports damaged frames as
//! [`DecodeEvent::Undecodable`] instead of stopping.
//! symphonia is third-party code run on untrusted input, so each call into it is also
//! fenced with `catch_unwind`: a panic there becomes an error, not a crash.

use super::codec::{codec_error, codec_name, codecs, probe_error};
use super::source::{Tail, read_leading_tags};
use super::{adts, id3, mp4};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use std::fs::File;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use symphonia::core::audio::{Audio, GenericAudioBufferRef};
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::TimeBase;

/// Highest sample rate accepted; anything above is a broken or hostile header.
pub(crate) const MAX_SAMPLE_RATE: u32 = 768_000;
/// Lowest sample rate accepted (telephone-band audio is 8 kHz).
pub(crate) const MIN_SAMPLE_RATE: u32 = 1_000;
/// Most channels accepted.
pub(crate) const MAX_CHANNELS: usize = 32;
/// Consecutive demuxer errors after which the rest of a part is given up as unreadable.
const MAX_CONSECUTIVE_ERRORS: usize = 64;
/// Shorter timestamp holes are rounding in the demuxer's packet durations (Vorbis packet
/// lengths are only estimates), not lost audio; one lost AAC or MP3 frame is 21-26 ms.
const MIN_HOLE_SECONDS: f64 = 0.015;

/// What a part holds, known once it is opened.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StreamInfo {
    /// Codec name, e.g. "aac", "mp3", "flac", "pcm_s16le", "vorbis".
    pub(crate) codec: String,
    pub(crate) sample_rate: u32,
    pub(crate) channels: u16,
    /// Transport-stream timestamp from a leading ID3 PRIV frame (90 kHz ticks).
    pub(crate) id3_timestamp: Option<u64>,
    /// The wall clock a leading ID3 TIT3 frame dates the part's first sample with.
    pub(crate) id3_wall_clock: Option<DateTime<Utc>>,
}

/// How a decoder copies a packet's channels out of the codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Channels {
    /// One channel, the mean of the source's: what the models hear.
    #[default]
    Mixed,
    /// Every source channel, interleaved: the recording as it is, to publish it.
    All,
}

/// f32 PCM at the source rate: one channel (the mean of the source's) or, decoded with
/// [`Channels::All`], every channel interleaved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PcmBlock {
    pub(crate) rate: u32,
    /// Channels interleaved in `samples` (1 when mixed).
    pub(crate) channels: u16,
    pub(crate) samples: Vec<f32>,
    /// Largest absolute sample of any source channel in the block (before averaging).
    pub(crate) peak: f32,
}

impl Default for PcmBlock {
    fn default() -> Self {
        PcmBlock {
            rate: 0,
            channels: 1,
            samples: Vec::new(),
            peak: 0.0,
        }
    }
}

impl PcmBlock {
    /// Frames (one sample of every channel) in the block.
    pub(crate) fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }
}

/// Silence standing in for audio that is missing or cannot be decoded, and why: the one
/// form "silence with a reason" takes from the decoder to the joined timeline (damaged
/// frames, a missing or damaged chunk, a timestamp gap between chunks).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Silence {
    /// Its length; for a decoder's undecodable frames, 0 when not known.
    pub(crate) seconds: f64,
    pub(crate) reason: String,
}

/// What decoding a part yields, in stream order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DecodeEvent {
    Pcm(PcmBlock),
    /// Frames that could not be decoded, as the silence that stands in for them (its
    /// length 0 when not known).
    Undecodable(Silence),
}

impl DecodeEvent {
    /// Length in seconds at the source rate.
    pub(crate) fn seconds(&self) -> f64 {
        match self {
            DecodeEvent::Pcm(b) => b.frames() as f64 / f64::from(b.rate),
            DecodeEvent::Undecodable(s) => s.seconds,
        }
    }
}

/// Frames decoded and dropped before a range ([`Decoder::restrict_to`]): two AAC frames.
const RANGE_PREROLL: u64 = 2048;

/// An opened part, ready to stream its audio.
pub(crate) struct Decoder {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    time_base: Option<TimeBase>,
    info: StreamInfo,
    /// Priming and padding to cut, from an MP4 edit list.
    trim: Option<mp4::Trim>,
    /// What to cut instead when the next run covers a range of the file, not all of it.
    range_trim: Option<mp4::Trim>,
    channels: Channels,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish()
    }
}

impl Decoder {
    /// Opens a file, skipping leading ID3v2 tags, and probes it by content (extension as hint).
    pub(crate) fn open_file(path: &Path) -> Result<Decoder> {
        let mut file =
            File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Err(Error::input(path, "empty file"));
        }
        if mp4::lacks_index(path) {
            return Err(Error::input(
                path,
                "truncated or incomplete MP4: its index ('moov' box) is missing, e.g. a download that stopped early",
            ));
        }
        let tags = read_leading_tags(&mut file, len).map_err(|e| Error::io(path, e))?;
        if tags.tag_len as u64 >= len {
            return Err(Error::input(path, "file holds only an ID3 tag, no audio"));
        }
        let mut source =
            Tail::new(file, tags.tag_len as u64, len).map_err(|e| Error::io(path, e))?;
        let adts = source.starts_with_adts().map_err(|e| Error::io(path, e))?;
        let mut decoder = Self::open_source(path, Box::new(source), tags, adts)?;
        decoder.trim = mp4::audio_trim(path, decoder.info.sample_rate);
        Ok(decoder)
    }

    /// Opens an in-memory part (a playlist chunk); `path` names it in errors.
    ///
    /// `preroll` is the last ADTS frame of the previous chunk of the same stream: when
    /// the chunk is ADTS of the same format it is decoded first and its output dropped,
    /// so the chunk's first frame decodes as in a continuous stream (see [`adts`]).
    pub(crate) fn open_bytes(
        path: &Path,
        data: Vec<u8>,
        preroll: Option<&[u8]>,
    ) -> Result<Decoder> {
        let (mut data, tags, adts) = chunk_audio(path, data)?;
        let preroll = preroll.filter(|p| adts && adts::same_format(p, &data));
        if let Some(p) = preroll {
            data.splice(0..0, p.iter().copied());
        }
        let mut decoder = Self::open_source(path, Box::new(Cursor::new(data)), tags, adts)?;
        if preroll.is_some() {
            decoder.trim = Some(mp4::Trim {
                skip: adts::FRAME_SAMPLES,
                keep: None,
            });
        }
        Ok(decoder)
    }

    /// Opens the chunk that follows `previous` in the same stream with `previous`'s codec
    /// decoder, which goes on from where it stopped: the chunk's first frame decodes as in
    /// one continuous stream, and the codec's tables are not built again. A chunk of
    /// another format gets a codec of its own.
    pub(crate) fn open_bytes_after(
        path: &Path,
        data: Vec<u8>,
        previous: Decoder,
    ) -> Result<Decoder> {
        let (data, tags, adts) = chunk_audio(path, data)?;
        let source = Box::new(Cursor::new(data));
        guarded(path, || {
            Self::open_guarded(path, source, tags, adts, Some(previous.decoder))
        })
    }

    fn open_source(
        path: &Path,
        source: Box<dyn MediaSource>,
        tags: id3::Stripped,
        adts: bool,
    ) -> Result<Decoder> {
        guarded(path, || Self::open_guarded(path, source, tags, adts, None))
    }

    fn open_guarded(
        path: &Path,
        source: Box<dyn MediaSource>,
        tags: id3::Stripped,
        adts: bool,
        carried: Option<Box<dyn AudioDecoder>>,
    ) -> Result<Decoder> {
        let format = open_format(path, source, adts).map_err(|e| probe_error(path, e))?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| Error::input(path, "no audio track"))?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| Error::input(path, "no audio track"))?
            .clone();
        let (track_id, time_base) = (track.id, track.time_base);
        let (sample_rate, channels) = check_header(path, &params)?;
        let decoder = match carried.filter(|c| same_stream(c.codec_params(), &params)) {
            Some(decoder) => decoder,
            None => new_codec(path, &params)?,
        };
        let info = StreamInfo {
            codec: codec_name(params.codec),
            sample_rate,
            channels,
            id3_timestamp: tags.timestamp,
            id3_wall_clock: tags.wall_clock,
        };
        Ok(Decoder {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            time_base,
            info,
            trim: None,
            range_trim: None,
            channels: Channels::Mixed,
        })
    }

    pub(crate) fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Makes the runs copy the channels out as `channels` says (mixed to one by default).
    pub(crate) fn with_channels(mut self, channels: Channels) -> Decoder {
        self.channels = channels;
        self
    }

    /// Frames of the recording (after the edit list's trim) when the file can be
    /// decoded in independent ranges ([`Decoder::restrict_to`]): an MP4 whose AAC track
    /// counts time in samples and says how long it is.
    pub(crate) fn range_frames(&self) -> Option<u64> {
        let tb = self.time_base?;
        let per_sample = tb.numer.get() == 1 && tb.denom.get() == self.info.sample_rate;
        let mp4_aac = self.format.format_info().short_name == "isomp4" && self.info.codec == "aac";
        if !(mp4_aac && per_sample) {
            return None;
        }
        // An edit list's kept duration is the recording's length; the track's own frame
        // count may or may not include the priming, so it is only the fallback.
        let skip = self.trim.map_or(0, |t| t.skip);
        self.trim
            .and_then(|t| t.keep)
            .or_else(|| self.track_frames()?.checked_sub(skip))
    }

    /// Makes the next run yield frames `range` of the recording (numbered as
    /// [`Decoder::range_frames`] counts them) and nothing else. The demuxer is sent to a
    /// packet `RANGE_PREROLL` frames early and what comes before the range is decoded
    /// and dropped: AAC's overlapping transform needs the frames before the range's first
    /// one for it to come out as in a front-to-back decode. (Only the random noise AAC
    /// substitutes for some bands differs: its generator starts afresh with each range.)
    pub(crate) fn restrict_to(&mut self, range: std::ops::Range<u64>) -> Result<()> {
        let first = range.start + self.trim.map_or(0, |t| t.skip);
        let ts = i64::try_from(first.saturating_sub(RANGE_PREROLL))
            .map_err(|_| Error::input(&self.path, "range beyond the track"))?;
        let to = SeekTo::Timestamp {
            ts: ts.into(),
            track_id: self.track_id,
        };
        let seeked = self
            .format
            .seek(SeekMode::Accurate, to)
            .map_err(|e| Error::input(&self.path, format!("cannot seek to frame {first}: {e}")))?;
        // A new codec decoder rather than a reset one: a reset keeps the generator of
        // the noise AAC substitutes for some bands, so a range's samples would depend on
        // which ranges this decoder did before, i.e. on the number of cores.
        let params = self.decoder.codec_params().clone();
        self.decoder = new_codec(&self.path, &params)?;
        let at = u64::try_from(seeked.actual_ts.get()).unwrap_or(0);
        self.range_trim = Some(mp4::Trim {
            skip: first.saturating_sub(at),
            keep: Some(range.end - range.start),
        });
        Ok(())
    }

    /// Decodes the whole part (or the range it was restricted to), handing PCM to `sink`
    /// in blocks of about `block_frames` frames (a block also ends where the stream's rate
    /// changes, or before an undecodable stretch). `sink` returns `false` to stop early.
    /// Returns the number of frames decoded; none at all is an error.
    pub(crate) fn run(
        &mut self,
        block_frames: usize,
        sink: &mut dyn FnMut(DecodeEvent) -> bool,
    ) -> Result<u64> {
        let path = self.path.clone();
        let mut run = RunState::new(block_frames.max(1), self.range_trim.or(self.trim));
        run.channels = self.channels;
        run.expected = self.track_frames().filter(|_| self.range_trim.is_none());
        guarded(&path, || self.run_guarded(run, sink))
    }

    fn run_guarded(
        &mut self,
        mut run: RunState,
        sink: &mut dyn FnMut(DecodeEvent) -> bool,
    ) -> Result<u64> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(SymError::ResetRequired) => {
                    tracing::warn!(
                        "{}: stream changes its track layout; decoding stops there",
                        self.path.display()
                    );
                    break;
                }
                // The demuxer skips what it cannot parse and resyncs; holes show up in timestamps.
                Err(SymError::DecodeError(msg)) | Err(SymError::Unsupported(msg)) => {
                    run.errors_in_row += 1;
                    if run.errors_in_row > MAX_CONSECUTIVE_ERRORS {
                        return self.give_up(&mut run, msg, sink);
                    }
                    continue;
                }
                Err(e) => return self.give_up(&mut run, &e.to_string(), sink),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let hole = run.hole_before(packet.pts.get(), packet.dur.get());
            if self.packet_seconds(hole) >= MIN_HOLE_SECONDS
                && !self.report_undecodable(&mut run, hole, sink)
            {
                return Ok(run.decoded);
            }
            let go_on = match self.decoder.decode(&packet) {
                Ok(buf) => {
                    run.errors_in_row = 0;
                    let spec = buf.spec();
                    let (rate, channels) = (spec.rate(), spec.channels().count());
                    check_rate(&self.path, rate)?;
                    check_channels(&self.path, channels)?;
                    if self.info.sample_rate == 0 {
                        // The header left the format to the first frame.
                        self.info.sample_rate = rate;
                        self.info.channels = channels as u16;
                    }
                    run.push_decoded(&buf, rate, sink)
                }
                // Damaged data also shows up as "unsupported feature" from the AAC decoder;
                // it only means an unsupported codec if nothing decodes at all.
                Err(
                    e @ (SymError::DecodeError(_)
                    | SymError::IoError(_)
                    | SymError::LimitError(_)
                    | SymError::Unsupported(_)),
                ) => {
                    tracing::debug!("{}: skipping damaged frame: {e}", self.path.display());
                    if let SymError::Unsupported(what) = e {
                        run.unsupported = Some(what);
                    }
                    run.errors_in_row += 1;
                    self.report_undecodable(&mut run, packet.dur.get(), sink)
                }
                Err(e) => return self.give_up(&mut run, &e.to_string(), sink),
            };
            if !go_on {
                return Ok(run.decoded);
            }
            if run.keep == Some(0) {
                break;
            }
        }
        run.flush(sink);
        if run.decoded > 0 {
            self.warn_if_cut_short(&run);
            return Ok(run.decoded);
        }
        Err(match run.unsupported {
            Some(what) => Error::UnsupportedCodec {
                path: self.path.clone(),
                codec: format!("{} ({what})", self.info.codec),
            },
            None => Error::input(
                &self.path,
                "no audio could be decoded (truncated or damaged file)",
            ),
        })
    }

    /// Reports `dur` time-base units of undecodable audio; `false` when `sink` asked to stop.
    fn report_undecodable(
        &self,
        run: &mut RunState,
        dur: u64,
        sink: &mut dyn FnMut(DecodeEvent) -> bool,
    ) -> bool {
        let seconds = self.packet_seconds(dur);
        // Lost frames count against the trim like decoded ones: lost preroll is not
        // reported, and the edit list's length includes them.
        let frames = (seconds * f64::from(self.info.sample_rate)).round() as u64;
        let skipped = run.skip.min(frames);
        run.skip -= skipped;
        if let Some(keep) = run.keep.as_mut() {
            *keep = keep.saturating_sub(frames - skipped);
        }
        if skipped == frames {
            return true;
        }
        let seconds = (frames - skipped) as f64 / f64::from(self.info.sample_rate);
        let reason = format!("undecodable frames in {}", file_name(&self.path));
        run.flush(sink) && sink(DecodeEvent::Undecodable(Silence { seconds, reason }))
    }

    /// The demuxer cannot go on: keep what was decoded (reporting the unread rest as a gap
    /// when the track says how long it is), or fail if nothing was.
    fn give_up(
        &mut self,
        run: &mut RunState,
        why: &str,
        sink: &mut dyn FnMut(DecodeEvent) -> bool,
    ) -> Result<u64> {
        if run.decoded == 0 {
            return Err(Error::input(
                &self.path,
                format!("no audio could be decoded (truncated or damaged file: {why})"),
            ));
        }
        tracing::debug!("{}: stopped reading: {why}", self.path.display());
        run.flush(sink);
        let rest = self.remaining_seconds(run);
        if rest > 0.0 {
            sink(DecodeEvent::Undecodable(Silence {
                seconds: rest,
                reason: format!(
                    "undecodable frames in {} (unreadable to the end)",
                    file_name(&self.path)
                ),
            }));
        }
        Ok(run.decoded)
    }

    /// A file that ends well before its header says is most likely truncated; the audio
    /// that is there is kept, but the user should know.
    fn warn_if_cut_short(&self, run: &RunState) {
        let missing = self.remaining_seconds(run);
        if missing > 1.0 {
            tracing::warn!(
                "{}: ends {missing:.1} s before the length its header gives (truncated file?)",
                self.path.display()
            );
        }
    }

    /// Seconds the run was expected to yield beyond what it decoded (0 when unknown).
    fn remaining_seconds(&self, run: &RunState) -> f64 {
        match run.expected {
            Some(total) if total > run.decoded && self.info.sample_rate > 0 => {
                (total - run.decoded) as f64 / f64::from(self.info.sample_rate)
            }
            _ => 0.0,
        }
    }

    /// Frames the track header claims.
    fn track_frames(&self) -> Option<u64> {
        let track = self.format.tracks().iter().find(|t| t.id == self.track_id);
        track.and_then(|t| t.num_frames)
    }

    fn packet_seconds(&self, dur: u64) -> f64 {
        match self.time_base {
            Some(tb) => dur as f64 * f64::from(tb.numer.get()) / f64::from(tb.denom.get()),
            None if self.info.sample_rate > 0 => dur as f64 / f64::from(self.info.sample_rate),
            None => 0.0,
        }
    }
}

/// Bookkeeping of one decode run.
struct RunState {
    block_frames: usize,
    /// Decoded audio not yet handed on (less than a block).
    pending: PcmBlock,
    /// Conversion buffers for codecs whose samples are not f32.
    planes: Vec<Vec<f32>>,
    decoded: u64,
    errors_in_row: usize,
    /// Timestamp (time-base units) where the next packet should start.
    next_ts: Option<i64>,
    /// The decoder said "unsupported" for some packet.
    unsupported: Option<&'static str>,
    /// Frames still to drop from the start (encoder priming).
    skip: u64,
    /// Frames still to keep before the rest is dropped (encoder padding).
    keep: Option<u64>,
    /// Frames the run should yield, when known, to report what is missing.
    expected: Option<u64>,
    channels: Channels,
}

impl RunState {
    fn new(block_frames: usize, trim: Option<mp4::Trim>) -> RunState {
        RunState {
            skip: trim.map_or(0, |t| t.skip),
            keep: trim.and_then(|t| t.keep),
            block_frames,
            pending: PcmBlock::default(),
            planes: Vec::new(),
            decoded: 0,
            errors_in_row: 0,
            next_ts: None,
            unsupported: None,
            expected: None,
            channels: Channels::Mixed,
        }
    }

    /// Of a decoded packet of `frames` frames, the ones the container's edit list counts
    /// as part of the recording: (first, count).
    fn apply_trim(&mut self, frames: usize) -> (usize, usize) {
        let drop = self.skip.min(frames as u64) as usize;
        self.skip -= drop as u64;
        let mut left = frames - drop;
        if let Some(keep) = self.keep.as_mut() {
            left = left.min(usize::try_from(*keep).unwrap_or(usize::MAX));
            *keep -= left as u64;
        }
        (drop, left)
    }

    /// Time-base units missing before a packet at `pts` (packets the demuxer skipped over
    /// while resyncing past damage), then notes where the next packet should start.
    fn hole_before(&mut self, pts: i64, dur: u64) -> u64 {
        let hole = self.next_ts.map_or(0, |next| (pts - next).max(0) as u64);
        let end = pts.saturating_add(i64::try_from(dur).unwrap_or(i64::MAX));
        self.next_ts = Some(self.next_ts.map_or(end, |n| n.max(end)));
        hole
    }

    /// Appends a decoded packet (what the edit list keeps of it) to the pending block,
    /// its channels mixed or interleaved, handing full blocks (or a block whose format is
    /// about to change) to `sink`. Returns `false` when `sink` asked to stop.
    fn push_decoded(
        &mut self,
        buf: &GenericAudioBufferRef<'_>,
        rate: u32,
        sink: &mut dyn FnMut(DecodeEvent) -> bool,
    ) -> bool {
        let channels = match self.channels {
            Channels::Mixed => 1,
            Channels::All => buf.spec().channels().count() as u16,
        };
        if self.pending.rate != rate || self.pending.channels != channels {
            if !self.flush(sink) {
                return false;
            }
            self.pending.rate = rate;
            self.pending.channels = channels;
        }
        let block_samples = self.block_frames.min(1 << 22) * usize::from(channels);
        if self.pending.samples.capacity() == 0 {
            // One allocation per block rather than a doubling series of them.
            let samples = block_samples.max(buf.frames() * usize::from(channels));
            self.pending.samples.reserve(samples);
        }
        let (first, count) = self.apply_trim(buf.frames());
        let mode = self.channels;
        let peak = match buf {
            GenericAudioBufferRef::F32(b) => {
                let planes: Vec<&[f32]> =
                    b.iter_planes().map(|p| &p[first..first + count]).collect();
                append_planes(&planes, mode, &mut self.pending.samples)
            }
            other => {
                // Integer and f64 codecs (PCM, FLAC) are converted to f32 planes first.
                let frames = other.frames();
                self.planes
                    .resize_with(other.spec().channels().count(), Vec::new);
                for plane in &mut self.planes {
                    plane.resize(frames, 0.0);
                }
                other.copy_to_slice_planar(&mut self.planes);
                let planes: Vec<&[f32]> = self
                    .planes
                    .iter()
                    .map(|p| &p[first..first + count])
                    .collect();
                append_planes(&planes, mode, &mut self.pending.samples)
            }
        };
        self.pending.peak = self.pending.peak.max(peak);
        self.decoded += count as u64;
        let block_samples = self.block_frames * usize::from(channels);
        while self.pending.samples.len() >= block_samples {
            let mut rest = Vec::with_capacity(block_samples.min(1 << 22));
            rest.extend_from_slice(&self.pending.samples[block_samples..]);
            self.pending.samples.truncate(block_samples);
            let next = PcmBlock {
                rate,
                channels,
                samples: rest,
                peak: 0.0,
            };
            let full = std::mem::replace(&mut self.pending, next);
            if !sink(DecodeEvent::Pcm(full)) {
                return false;
            }
        }
        true
    }

    /// Hands any pending samples to `sink`; `false` when `sink` asked to stop.
    fn flush(&mut self, sink: &mut dyn FnMut(DecodeEvent) -> bool) -> bool {
        if self.pending.samples.is_empty() {
            return true;
        }
        let block = PcmBlock {
            rate: self.pending.rate,
            channels: self.pending.channels,
            samples: std::mem::take(&mut self.pending.samples),
            peak: std::mem::take(&mut self.pending.peak),
        };
        sink(DecodeEvent::Pcm(block))
    }
}

/// The audio of an in-memory chunk behind its ID3 tag: (bytes, what the tag says,
/// whether they are ADTS).
fn chunk_audio(path: &Path, mut data: Vec<u8>) -> Result<(Vec<u8>, id3::Stripped, bool)> {
    if data.is_empty() {
        return Err(Error::input(path, "empty file"));
    }
    let tags = id3::strip(&data);
    data.drain(..tags.tag_len);
    if data.is_empty() {
        return Err(Error::input(path, "file holds only an ID3 tag, no audio"));
    }
    let adts = adts::is_sync(&data);
    Ok((data, tags, adts))
}

/// A codec decoder for `params`, fresh (no state carried over from other audio).
fn new_codec(path: &Path, params: &AudioCodecParameters) -> Result<Box<dyn AudioDecoder>> {
    codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| codec_error(path, params, e))
}

/// Whether a codec decoder set up for `a` can go on decoding a stream described by `b`.
fn same_stream(a: &AudioCodecParameters, b: &AudioCodecParameters) -> bool {
    let channels = |p: &AudioCodecParameters| p.channels.as_ref().map(|c| c.count());
    a.codec == b.codec
        && a.sample_rate == b.sample_rate
        && channels(a) == channels(b)
        && a.extra_data == b.extra_data
}

/// Appends `planes` (equal lengths) to `out` as `mode` says: their mean, or interleaved;
/// returns their largest absolute sample.
fn append_planes(planes: &[&[f32]], mode: Channels, out: &mut Vec<f32>) -> f32 {
    match mode {
        Channels::Mixed => append_mean(planes, out),
        Channels::All => append_interleaved(planes, out),
    }
}

/// Appends `planes` (equal lengths) to `out` frame by frame; returns their largest
/// absolute sample.
fn append_interleaved(planes: &[&[f32]], out: &mut Vec<f32>) -> f32 {
    let peak = planes.iter().map(|p| peak_of(p)).fold(0.0f32, f32::max);
    match planes {
        [mono] => out.extend_from_slice(mono),
        [left, right] => out.extend(left.iter().zip(*right).flat_map(|(l, r)| [*l, *r])),
        _ => {
            let frames = planes.first().map_or(0, |p| p.len());
            out.extend((0..frames).flat_map(|i| planes.iter().map(move |p| p[i])));
        }
    }
    peak
}

/// Appends the mean of `planes` (equal lengths) to `out`; returns their largest
/// absolute sample.
fn append_mean(planes: &[&[f32]], out: &mut Vec<f32>) -> f32 {
    let peak = planes.iter().map(|p| peak_of(p)).fold(0.0f32, f32::max);
    let Some(frames) = planes.first().map(|p| p.len()) else {
        return peak;
    };
    match planes {
        [mono] => out.extend_from_slice(mono),
        // The common case, written so the compiler vectorizes it.
        [left, right] => out.extend(left.iter().zip(*right).map(|(l, r)| (l + r) * 0.5)),
        _ => {
            let scale = 1.0 / planes.len() as f32;
            out.extend((0..frames).map(|i| planes.iter().map(|p| p[i]).sum::<f32>() * scale));
        }
    }
    peak
}

/// Largest absolute sample, in eight lanes so the compiler vectorizes it.
fn peak_of(samples: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = samples.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, s) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(s.abs());
        }
    }
    rest.iter()
        .chain(&lanes)
        .fold(0.0f32, |m, s| m.max(s.abs()))
}

/// Opens the container. Raw ADTS (what Spaces chunks are after their ID3 tag) is opened
/// directly: probing wants more than one frame to be sure, and a playlist's last chunk can
/// be a single frame. Everything else is probed by content, the extension only a hint.
fn open_format(
    path: &Path,
    source: Box<dyn MediaSource>,
    adts: bool,
) -> symphonia::core::errors::Result<Box<dyn FormatReader>> {
    let mss = MediaSourceStream::new(source, Default::default());
    if adts {
        let reader =
            symphonia::default::formats::AdtsReader::try_new(mss, FormatOptions::default())?;
        return Ok(Box::new(reader));
    }
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    symphonia::default::get_probe().probe(
        &hint,
        mss,
        FormatOptions::default(),
        MetadataOptions::default(),
    )
}

/// Runs `f`, turning a panic inside symphonia into an error naming the file.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::input(
            path,
            format!("decoder crashed on damaged data: {what}"),
        ))
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Rejects headers no real recording has (0 Hz, 4 GHz, 0 channels, hundreds of channels).
/// A stream may leave the rate or channels to its first frame; they are checked there.
fn check_header(path: &Path, params: &AudioCodecParameters) -> Result<(u32, u16)> {
    if let Some(rate) = params.sample_rate {
        check_rate(path, rate)?;
    }
    let channels = params.channels.as_ref().map(|c| c.count());
    if let Some(channels) = channels {
        check_channels(path, channels)?;
    }
    Ok((
        params.sample_rate.unwrap_or(0),
        channels.unwrap_or(0) as u16,
    ))
}

fn check_rate(path: &Path, rate: u32) -> Result<()> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        return Ok(());
    }
    Err(Error::input(
        path,
        format!("absurd header: sample rate {rate} Hz"),
    ))
}

fn check_channels(path: &Path, channels: usize) -> Result<()> {
    if (1..=MAX_CHANNELS).contains(&channels) {
        return Ok(());
    }
    Err(Error::input(
        path,
        format!("absurd header: {channels} channels"),
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 16-bit WAV whose `n`-th sample (channels interleaved) is `(n % 100 - 50) * 100`.
    pub(crate) fn write_wav(path: &Path, rate: u32, channels: u16, frames: usize) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..frames * usize::from(channels) {
            w.write_sample(((i % 100) as i16 - 50) * 100).unwrap();
        }
        w.finalize().unwrap();
    }

    fn decode_all(path: &Path) -> Result<(StreamInfo, u64, usize)> {
        let mut dec = Decoder::open_file(path)?;
        let mut blocks = 0;
        let n = dec.run(1000, &mut |e| {
            if let DecodeEvent::Pcm(b) = e {
                assert!(b.samples.len() <= 1000);
                blocks += 1;
            }
            true
        })?;
        Ok((dec.info().clone(), n, blocks))
    }

    #[test]
    fn channels_are_averaged_and_the_peak_is_of_the_source() {
        let mut out = vec![9.0];
        let peak = append_mean(&[&[1.0, -0.5], &[0.0, -0.75]], &mut out);
        assert_eq!(out, vec![9.0, 0.5, -0.625]);
        assert_eq!(peak, 1.0);
        let three: [&[f32]; 3] = [&[0.3], &[0.6], &[-0.9]];
        let mut out = Vec::new();
        assert_eq!(append_mean(&three, &mut out), 0.9);
        assert!(out[0].abs() < 1e-7);
        let long: Vec<f32> = (0..37).map(|i| i as f32 / -100.0).collect();
        assert_eq!(peak_of(&long), 0.36);
        assert_eq!(peak_of(&[]), 0.0);
    }

    #[test]
    fn all_channels_come_out_interleaved_in_blocks_of_frames() {
        let mut out = Vec::new();
        let peak = append_interleaved(&[&[1.0, -0.5], &[0.0, -0.75]], &mut out);
        assert_eq!((out, peak), (vec![1.0, 0.0, -0.5, -0.75], 1.0));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("st.wav");
        write_wav(&p, 22050, 2, 4321);
        let mut dec = Decoder::open_file(&p).unwrap().with_channels(Channels::All);
        let mut frames = 0;
        let n = dec
            .run(1000, &mut |e| {
                let DecodeEvent::Pcm(b) = e else { return true };
                assert_eq!(b.channels, 2);
                assert!(b.frames() <= 1000 && b.samples.len() == 2 * b.frames());
                frames += b.frames();
                true
            })
            .unwrap();
        assert_eq!((n, frames), (4321, 4321));
    }

    #[test]
    fn decodes_wav_in_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        write_wav(&p, 22050, 2, 4321);
        let (info, n, blocks) = decode_all(&p).unwrap();
        assert_eq!(info.codec, "pcm_s16le");
        assert_eq!((info.sample_rate, info.channels), (22050, 2));
        assert_eq!(n, 4321);
        assert_eq!(blocks, 5);
    }

    /// Patches the `fmt ` chunk of a hound WAV (channels at byte 22, rate at byte 24).
    fn patched_wav(dir: &Path, name: &str, channels: u16, rate: u32) -> PathBuf {
        let p = dir.join(name);
        write_wav(&p, 16000, 1, 1600);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[22..24].copy_from_slice(&channels.to_le_bytes());
        bytes[24..28].copy_from_slice(&rate.to_le_bytes());
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn bad_wav_headers_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        for (name, ch, rate) in [
            ("zero_ch.wav", 0, 16000),
            ("zero_hz.wav", 1, 0),
            ("giga.wav", 1, 4_000_000_000),
        ] {
            let p = patched_wav(dir.path(), name, ch, rate);
            let msg = match Decoder::open_file(&p).and_then(|mut d| d.run(1024, &mut |_| true)) {
                Ok(_) => panic!("{name} decoded"),
                Err(e) => e.to_string(),
            };
            assert!(msg.contains(name) && !msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn missing_empty_and_non_audio_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.wav");
        assert!(
            Decoder::open_file(&missing)
                .unwrap_err()
                .to_string()
                .contains("nope.wav")
        );
        let empty = dir.path().join("empty.m4a");
        std::fs::write(&empty, b"").unwrap();
        assert!(
            Decoder::open_file(&empty)
                .unwrap_err()
                .to_string()
                .contains("empty file")
        );
        let text = dir.path().join("notes.m4a");
        std::fs::write(&text, "just some text, not audio at all\n".repeat(50)).unwrap();
        let err = Decoder::open_file(&text).unwrap_err().to_string();
        assert!(
            err.contains("notes.m4a") && err.contains("not a supported audio file"),
            "{err}"
        );
    }

    #[test]
    fn truncated_wav_keeps_what_decodes_or_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cut.wav");
        write_wav(&p, 16000, 1, 16000);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..30]).unwrap();
        assert!(decode_all(&p).is_err());
        std::fs::write(&p, &bytes[..20000]).unwrap();
        let (_, n, _) = decode_all(&p).unwrap();
        assert!(n > 9000 && n < 10000, "{n}");
    }

    /// The fixture is 2 s of mono from ffmpeg's libopus (pre-skip 312, last granule
    /// position 96312): exactly 96000 samples once `opus.rs` has trimmed it.
    #[test]
    fn an_ogg_opus_file_decodes_to_its_exact_length() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opus.ogg");
        let (info, frames, _) = decode_all(&path).unwrap();
        assert_eq!(info.codec, "opus");
        assert_eq!((info.sample_rate, info.channels), (48_000, 1));
        assert_eq!(frames, 96_000);
    }

    #[test]
    fn wav_behind_an_id3_tag_opens_with_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tagged.wav");
        write_wav(&p, 16000, 1, 800);
        let mut bytes = id3::tests::spaces_tag(123_456);
        bytes.extend(std::fs::read(&p).unwrap());
        std::fs::write(&p, &bytes).unwrap();
        let (info, n, _) = decode_all(&p).unwrap();
        assert_eq!(info.id3_timestamp, Some(123_456));
        assert_eq!(n, 800);
        let mut dec = Decoder::open_bytes(&p, bytes, None).unwrap();
        assert_eq!(dec.run(4096, &mut |_| true).unwrap(), 800);
    }
}
