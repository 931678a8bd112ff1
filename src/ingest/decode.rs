//! Decoding one part (a file or one playlist chunk) with symphonia into source-rate PCM.
//!
//! This is the only place that talks to symphonia. It turns every way a part can be bad
//! into a one-line [`Error`] naming the file (missing, empty, not audio, absurd header,
//! unsupported codec, including HE-AAC which symphonia cannot decode), streams decoded
//! audio to a callback in blocks so a long file is never held whole at the source rate,
//! and reports damaged frames as [`DecodeEvent::Undecodable`] instead of stopping.
//! symphonia is third-party code run on untrusted input, so each call into it is also
//! fenced with `catch_unwind`: a panic there becomes an error, not a crash.

use super::codec::{codec_error, codec_name, probe_error};
use super::source::{Tail, read_leading_tags};
use super::{adts, id3, mp4};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::TimeBase;

/// Highest sample rate accepted; anything above is a broken or hostile header.
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// Lowest sample rate accepted (telephone-band audio is 8 kHz).
pub const MIN_SAMPLE_RATE: u32 = 1_000;
/// Most channels accepted.
pub const MAX_CHANNELS: usize = 32;
/// Consecutive demuxer errors after which the rest of a part is given up as unreadable.
const MAX_CONSECUTIVE_ERRORS: usize = 64;
/// Shorter timestamp holes are rounding in the demuxer's packet durations (Vorbis packet
/// lengths are only estimates), not lost audio; one lost AAC or MP3 frame is 21-26 ms.
const MIN_HOLE_SECONDS: f64 = 0.015;

/// What a part holds, known once it is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// Codec name, e.g. "aac", "mp3", "flac", "pcm_s16le", "vorbis".
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    /// Transport-stream timestamp from a leading ID3 PRIV frame (90 kHz ticks).
    pub id3_timestamp: Option<u64>,
}

/// Interleaved f32 PCM at the source rate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PcmBlock {
    pub rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
}

impl PcmBlock {
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }
}

/// What decoding a part yields, in stream order.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeEvent {
    Pcm(PcmBlock),
    /// A stretch that could not be decoded; `seconds` is its length when known (else 0).
    Undecodable {
        seconds: f64,
        reason: String,
    },
}

/// An opened part, ready to stream its audio.
pub struct Decoder {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    time_base: Option<TimeBase>,
    info: StreamInfo,
    /// Priming and padding to cut, from an MP4 edit list.
    trim: Option<mp4::Trim>,
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
    pub fn open_file(path: &Path) -> Result<Decoder> {
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
        let mut decoder = Self::open_source(path, Box::new(source), tags.timestamp, adts)?;
        decoder.trim = mp4::audio_trim(path, decoder.info.sample_rate);
        Ok(decoder)
    }

    /// Opens an in-memory part (a playlist chunk); `path` names it in errors.
    ///
    /// `preroll` is the last ADTS frame of the previous chunk of the same stream: when
    /// the chunk is ADTS of the same format it is decoded first and its output dropped,
    /// so the chunk's first frame decodes as in a continuous stream (see [`adts`]).
    pub fn open_bytes(path: &Path, mut data: Vec<u8>, preroll: Option<&[u8]>) -> Result<Decoder> {
        if data.is_empty() {
            return Err(Error::input(path, "empty file"));
        }
        let tags = id3::strip(&data);
        data.drain(..tags.tag_len);
        if data.is_empty() {
            return Err(Error::input(path, "file holds only an ID3 tag, no audio"));
        }
        let adts = adts::is_sync(&data);
        let preroll = preroll.filter(|p| adts && adts::same_format(p, &data));
        if let Some(p) = preroll {
            data.splice(0..0, p.iter().copied());
        }
        let mut decoder =
            Self::open_source(path, Box::new(Cursor::new(data)), tags.timestamp, adts)?;
        if preroll.is_some() {
            decoder.trim = Some(mp4::Trim {
                skip: adts::FRAME_SAMPLES,
                keep: None,
            });
        }
        Ok(decoder)
    }

    fn open_source(
        path: &Path,
        source: Box<dyn MediaSource>,
        ts: Option<u64>,
        adts: bool,
    ) -> Result<Decoder> {
        guarded(path, || Self::open_guarded(path, source, ts, adts))
    }

    fn open_guarded(
        path: &Path,
        source: Box<dyn MediaSource>,
        ts: Option<u64>,
        adts: bool,
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
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| codec_error(path, &params, e))?;
        let info = StreamInfo {
            codec: codec_name(params.codec),
            sample_rate,
            channels,
            id3_timestamp: ts,
        };
        Ok(Decoder {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            time_base,
            info,
            trim: None,
        })
    }

    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Length in seconds the container claims (for sizing buffers; not trusted otherwise).
    pub fn claimed_seconds(&self) -> Option<f64> {
        let track = self
            .format
            .tracks()
            .iter()
            .find(|t| t.id == self.track_id)?;
        let frames = track.num_frames?;
        (self.info.sample_rate > 0).then(|| frames as f64 / f64::from(self.info.sample_rate))
    }

    /// Decodes the whole part, handing PCM to `sink` in blocks of about `block_frames`
    /// frames (a block also ends where the stream's rate or channel count changes, or
    /// before an undecodable stretch). `sink` returns `false` to stop early.
    /// Returns the number of frames decoded; none at all is an error.
    pub fn run(
        &mut self,
        block_frames: usize,
        sink: &mut dyn FnMut(DecodeEvent) -> bool,
    ) -> Result<u64> {
        let path = self.path.clone();
        let mut run = RunState::new(block_frames.max(1), self.trim);
        run.expected = self.track_frames();
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
                    buf.copy_to_vec_interleaved(&mut run.scratch);
                    run.decoded += run.apply_trim(channels) as u64;
                    run.push_scratch(rate, channels as u16, sink)
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
        run.flush(sink) && sink(DecodeEvent::Undecodable { seconds, reason })
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
            sink(DecodeEvent::Undecodable {
                seconds: rest,
                reason: format!(
                    "undecodable frames in {} (unreadable to the end)",
                    file_name(&self.path)
                ),
            });
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
    scratch: Vec<f32>,
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
}

impl RunState {
    fn new(block_frames: usize, trim: Option<mp4::Trim>) -> RunState {
        RunState {
            skip: trim.map_or(0, |t| t.skip),
            keep: trim.and_then(|t| t.keep),
            block_frames,
            pending: PcmBlock::default(),
            scratch: Vec::new(),
            decoded: 0,
            errors_in_row: 0,
            next_ts: None,
            unsupported: None,
            expected: None,
        }
    }

    /// Drops from `scratch` what the container's edit list says is not part of the
    /// recording; returns the frames left.
    fn apply_trim(&mut self, channels: usize) -> usize {
        let frames = self.scratch.len() / channels;
        let drop = self.skip.min(frames as u64) as usize;
        self.skip -= drop as u64;
        self.scratch.drain(..drop * channels);
        let mut left = frames - drop;
        if let Some(keep) = self.keep.as_mut() {
            left = left.min(usize::try_from(*keep).unwrap_or(usize::MAX));
            *keep -= left as u64;
            self.scratch.truncate(left * channels);
        }
        left
    }

    /// Time-base units missing before a packet at `pts` (packets the demuxer skipped over
    /// while resyncing past damage), then notes where the next packet should start.
    fn hole_before(&mut self, pts: i64, dur: u64) -> u64 {
        let hole = self.next_ts.map_or(0, |next| (pts - next).max(0) as u64);
        let end = pts.saturating_add(i64::try_from(dur).unwrap_or(i64::MAX));
        self.next_ts = Some(self.next_ts.map_or(end, |n| n.max(end)));
        hole
    }

    /// Appends `scratch` to the pending block, handing full blocks (or a block whose format
    /// is about to change) to `sink`. Returns `false` when `sink` asked to stop.
    fn push_scratch(
        &mut self,
        rate: u32,
        channels: u16,
        sink: &mut dyn FnMut(DecodeEvent) -> bool,
    ) -> bool {
        if (self.pending.rate, self.pending.channels) != (rate, channels) {
            if !self.flush(sink) {
                return false;
            }
            self.pending.rate = rate;
            self.pending.channels = channels;
        }
        self.pending.samples.extend_from_slice(&self.scratch);
        let block_len = self.block_frames.saturating_mul(usize::from(channels));
        while self.pending.samples.len() >= block_len {
            let mut rest = Vec::with_capacity(block_len);
            rest.extend_from_slice(&self.pending.samples[block_len..]);
            self.pending.samples.truncate(block_len);
            let full = std::mem::replace(&mut self.pending.samples, rest);
            if !sink(DecodeEvent::Pcm(PcmBlock {
                rate,
                channels,
                samples: full,
            })) {
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
        };
        sink(DecodeEvent::Pcm(block))
    }
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
mod tests {
    use super::*;

    fn write_wav(path: &Path, rate: u32, channels: u16, frames: usize) {
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
                assert!(b.frames() <= 1000);
                blocks += 1;
            }
            true
        })?;
        Ok((dec.info().clone(), n, blocks))
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
