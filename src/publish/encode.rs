//! The published audio's encoders, one per format behind one small trait
//! ([`AudioEncoder`]): MP3 by LAME (`mp3lame-encoder`), FLAC by `flacenc` (pure Rust),
//! Opus by libopus (`opus`) in Ogg pages (`ogg`, RFC 7845), and 16-bit WAV by `hound`
//! for clips. Each streams interleaved f32 frames into the file it is given and
//! completes its headers at the end (LAME's Info tag with the encoder delay and padding,
//! so players cut them; FLAC's STREAMINFO with the length and MD5; Opus's last page,
//! whose granule position trims the padding; the WAV lengths), so memory does not grow
//! with length. Opus codes 48 kHz only here: other rates are resampled ([`To48k`]).

use super::AudioFormat;
use crate::error::{Error, Result};
use crate::pipeline::PcmFormat;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Frames per FLAC frame (the reference encoder's default).
const FLAC_BLOCK: usize = 4096;
/// Bits per FLAC sample: the originals are lossy speech recordings, 16 bits hold all of it.
const FLAC_BITS: usize = 16;

/// Turns interleaved f32 frames into a file of one format.
pub(crate) trait AudioEncoder {
    /// Encodes the next interleaved frames.
    fn encode(&mut self, interleaved: &[f32]) -> Result<()>;
    /// Flushes what the codec holds and completes the file's headers.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// What a format's encoder records about itself in the published transcript.
pub(crate) fn codec_name(format: AudioFormat) -> &'static str {
    match format {
        AudioFormat::Mp3 => "mp3",
        AudioFormat::Flac => "flac",
        AudioFormat::Opus => "opus",
    }
}

/// An encoder of `format` for audio of `pcm`, writing into `file` (`path` names it).
pub(crate) fn open(
    format: AudioFormat,
    pcm: &PcmFormat,
    file: File,
    path: &Path,
) -> Result<Box<dyn AudioEncoder>> {
    let out = BufWriter::with_capacity(1 << 20, file);
    Ok(match format {
        AudioFormat::Mp3 => Box::new(Mp3::new(pcm, out, path)?),
        AudioFormat::Flac => Box::new(Flac::new(pcm, out, path)?),
        AudioFormat::Opus => Box::new(Opus::new(pcm, out, path)?),
    })
}

fn encoder_error(path: &Path, codec: &'static str, reason: impl std::fmt::Display) -> Error {
    Error::stage(path, codec, reason.to_string())
}

/// Refuses more than two channels: what MP3 holds, and all that Opus's mapping family 0
/// (the one every player knows) does.
fn at_most_stereo(pcm: &PcmFormat, path: &Path, codec: &str) -> Result<()> {
    if pcm.channels <= 2 {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{}: {codec} holds at most 2 channels and this recording has {} (use --audio-format flac)",
        path.display(),
        pcm.channels
    )))
}

/// MP3 at a constant bit rate: 128 kb/s for stereo, 64 kb/s for mono (what podcast
/// hosts ask for; constant so every player seeks right without an index).
struct Mp3 {
    lame: mp3lame_encoder::Encoder,
    out: BufWriter<File>,
    bytes: Vec<u8>,
    path: PathBuf,
}

impl Mp3 {
    fn new(pcm: &PcmFormat, out: BufWriter<File>, path: &Path) -> Result<Mp3> {
        use mp3lame_encoder::{Bitrate, Builder, Mode, Quality};
        let fail = |e: mp3lame_encoder::BuildError| encoder_error(path, "mp3 encoder", e);
        at_most_stereo(pcm, path, "MP3")?;
        let mut builder = Builder::new()
            .ok_or_else(|| encoder_error(path, "mp3 encoder", "LAME could not start"))?;
        let stereo = pcm.channels == 2;
        builder.set_num_channels(pcm.channels as u8).map_err(fail)?;
        builder.set_sample_rate(pcm.sample_rate).map_err(fail)?;
        builder
            .set_brate(if stereo {
                Bitrate::Kbps128
            } else {
                Bitrate::Kbps64
            })
            .map_err(fail)?;
        builder
            .set_mode(if stereo {
                Mode::JointStereo
            } else {
                Mode::Mono
            })
            .map_err(fail)?;
        builder.set_quality(Quality::NearBest).map_err(fail)?;
        builder.set_to_write_vbr_tag(true).map_err(fail)?;
        Ok(Mp3 {
            lame: builder.build().map_err(fail)?,
            out,
            bytes: Vec::new(),
            path: path.to_path_buf(),
        })
    }

    fn write_out(&mut self) -> Result<()> {
        self.out
            .write_all(&self.bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.bytes.clear();
        Ok(())
    }
}

impl AudioEncoder for Mp3 {
    fn encode(&mut self, interleaved: &[f32]) -> Result<()> {
        use mp3lame_encoder::{InterleavedPcm, MonoPcm, max_required_buffer_size};
        let channels = usize::from(self.lame.num_channels().max(1));
        self.bytes
            .reserve(max_required_buffer_size(interleaved.len() / channels));
        let encoded = if channels == 1 {
            self.lame
                .encode_to_vec(MonoPcm(interleaved), &mut self.bytes)
        } else {
            self.lame
                .encode_to_vec(InterleavedPcm(interleaved), &mut self.bytes)
        };
        encoded.map_err(|e| encoder_error(&self.path, "mp3 encoder", e))?;
        self.write_out()
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.bytes.reserve(7200);
        self.lame
            .flush_to_vec::<mp3lame_encoder::FlushGap>(&mut self.bytes)
            .map_err(|e| encoder_error(&self.path, "mp3 encoder", e))?;
        self.write_out()?;
        // The first frame was kept for the Info tag: frame count, delay, padding.
        let mut tag = Vec::with_capacity(self.lame.lame_tag_size());
        if self.lame.lame_tag_encode_to_vec(&mut tag).is_some() {
            let path = self.path.clone();
            let io = |e| Error::io(&path, e);
            self.out.seek(SeekFrom::Start(0)).map_err(io)?;
            self.out.write_all(&tag).map_err(io)?;
        }
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// FLAC, 16-bit with TPDF dither, frames of a fixed size; STREAMINFO written first as a
/// placeholder and again, complete, at the end.
struct Flac {
    config: flacenc::error::Verified<flacenc::config::Encoder>,
    /// Holds only the header; its STREAMINFO is updated frame by frame.
    header: flacenc::component::Stream,
    block: (flacenc::source::FrameBuf, flacenc::source::Context),
    pending: Vec<i32>,
    channels: usize,
    dither: Dither,
    out: BufWriter<File>,
    sink: flacenc::bitsink::ByteSink,
    path: PathBuf,
}

impl Flac {
    fn new(pcm: &PcmFormat, out: BufWriter<File>, path: &Path) -> Result<Flac> {
        use flacenc::error::Verify;
        let fail = |e: &dyn std::fmt::Display| encoder_error(path, "flac encoder", e);
        let channels = usize::from(pcm.channels);
        let config = flacenc::config::Encoder::default()
            .into_verified()
            .map_err(|(_, e)| fail(&e))?;
        let mut header =
            flacenc::component::Stream::new(pcm.sample_rate as usize, channels, FLAC_BITS)
                .map_err(|e| fail(&e))?;
        header
            .stream_info_mut()
            .set_block_sizes(FLAC_BLOCK, FLAC_BLOCK)
            .map_err(|e| fail(&e))?;
        let frame_buf =
            flacenc::source::FrameBuf::with_size(channels, FLAC_BLOCK).map_err(|e| fail(&e))?;
        let mut flac = Flac {
            config,
            header,
            block: (
                frame_buf,
                flacenc::source::Context::new(FLAC_BITS, channels),
            ),
            pending: Vec::with_capacity(2 * FLAC_BLOCK * channels),
            channels,
            dither: Dither::default(),
            out,
            sink: flacenc::bitsink::ByteSink::new(),
            path: path.to_path_buf(),
        };
        flac.write_header()?;
        Ok(flac)
    }

    /// "fLaC" and STREAMINFO as they stand (the same size every time).
    fn write_header(&mut self) -> Result<()> {
        use flacenc::component::BitRepr;
        self.sink.clear();
        self.header
            .write(&mut self.sink)
            .map_err(|e| encoder_error(&self.path, "flac encoder", e))?;
        let path = self.path.clone();
        self.out
            .write_all(self.sink.as_slice())
            .map_err(|e| Error::io(&path, e))
    }

    /// Encodes the first `frames` frames of `pending` as one FLAC frame.
    fn encode_block(&mut self, frames: usize) -> Result<()> {
        use flacenc::component::BitRepr;
        use flacenc::source::Fill;
        let fail = |e: &dyn std::fmt::Display| encoder_error(&self.path, "flac encoder", e);
        let samples = frames * self.channels;
        self.block
            .fill_interleaved(&self.pending[..samples])
            .map_err(|e| fail(&e))?;
        let number = self.block.1.current_frame_number().unwrap_or(0);
        let frame = flacenc::encode_fixed_size_frame(
            &self.config,
            &self.block.0,
            number,
            self.header.stream_info(),
        )
        .map_err(|e| fail(&e))?;
        self.header.stream_info_mut().update_frame_info(&frame);
        self.sink.clear();
        frame.write(&mut self.sink).map_err(|e| fail(&e))?;
        self.out
            .write_all(self.sink.as_slice())
            .map_err(|e| Error::io(&self.path, e))?;
        self.pending.drain(..samples);
        Ok(())
    }
}

impl AudioEncoder for Flac {
    fn encode(&mut self, interleaved: &[f32]) -> Result<()> {
        let dither = &mut self.dither;
        self.pending
            .extend(interleaved.iter().map(|&s| dither.quantize_16(s)));
        while self.pending.len() >= FLAC_BLOCK * self.channels {
            self.encode_block(FLAC_BLOCK)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let rest = self.pending.len() / self.channels;
        if rest > 0 {
            let mut last = flacenc::source::FrameBuf::with_size(self.channels, rest)
                .map_err(|e| encoder_error(&self.path, "flac encoder", e))?;
            std::mem::swap(&mut self.block.0, &mut last);
            self.encode_block(rest)?;
        }
        let md5 = self.block.1.md5_digest();
        let fail = |e: &dyn std::fmt::Display| encoder_error(&self.path, "flac encoder", e);
        // The last frame's size does not count as the smallest (a decoder takes unequal
        // sizes for a variable block size and cannot find the fixed-size frames); a
        // stream of one short frame has that one size.
        let total = self.header.stream_info().total_samples();
        let size = if total < FLAC_BLOCK {
            total.max(1)
        } else {
            FLAC_BLOCK
        };
        let info = self.header.stream_info_mut();
        info.set_block_sizes(size, size).map_err(|e| fail(&e))?;
        info.set_md5_digest(&md5);
        let path = self.path.clone();
        self.out
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&path, e))?;
        self.write_header()?;
        self.out.flush().map_err(|e| Error::io(&path, e))
    }
}

/// A 16-bit PCM WAV (hound patches its lengths at the end): a clip's samples as the
/// original decodes them, to 16 bits.
pub(crate) fn open_wav(pcm: &PcmFormat, file: File, path: &Path) -> Result<Box<dyn AudioEncoder>> {
    let spec = hound::WavSpec {
        channels: pcm.channels,
        sample_rate: pcm.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let out = BufWriter::with_capacity(1 << 20, file);
    let writer =
        hound::WavWriter::new(out, spec).map_err(|e| encoder_error(path, "wav writer", e))?;
    Ok(Box::new(Wav {
        writer,
        dither: Dither::default(),
        path: path.to_path_buf(),
    }))
}

struct Wav {
    writer: hound::WavWriter<BufWriter<File>>,
    dither: Dither,
    path: PathBuf,
}

impl AudioEncoder for Wav {
    fn encode(&mut self, interleaved: &[f32]) -> Result<()> {
        for &sample in interleaved {
            let value = self.dither.quantize_16(sample) as i16;
            self.writer
                .write_sample(value)
                .map_err(|e| encoder_error(&self.path, "wav writer", e))?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let path = self.path.clone();
        self.writer
            .finalize()
            .map_err(|e| encoder_error(&path, "wav writer", e))
    }
}

/// Triangular dither of one 16-bit step (two uniform draws), from a fixed seed so the
/// same input gives the same file.
struct Dither(u64);

impl Default for Dither {
    fn default() -> Self {
        Dither(0x9E37_79B9_7F4A_7C15)
    }
}

impl Dither {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    fn next(&mut self) -> f64 {
        self.uniform() + self.uniform()
    }

    /// `sample` (full scale ±1) as a dithered 16-bit value.
    /// The scale is 2^15, the one decoders read 16-bit samples with (symphonia divides
    /// by it), so samples that came from 16 bits go back to the same values.
    fn quantize_16(&mut self, sample: f32) -> i32 {
        let v = f64::from(sample) * 32_768.0 + self.next();
        (v.round() as i32).clamp(i32::from(i16::MIN), i32::from(i16::MAX))
    }
}

/// The rate Opus is coded at here: every decoder outputs 48 kHz, and the OpusHead keeps
/// the original's rate for information only.
const OPUS_RATE: u32 = 48_000;
/// Samples (48 kHz, per channel) in one Opus packet: 20 ms, the frame size libopus is
/// tuned for (longer frames save little, shorter ones cost bits).
const OPUS_FRAME: u64 = 960;
/// Room for one packet: libopus's recommended `max_data_bytes`.
const OPUS_MAX_PACKET: usize = 4000;
/// Audio packets per Ogg page: one second, so a player seeking by granule position
/// lands close to where it aims.
const OPUS_PAGE_PACKETS: u64 = 50;
/// The Ogg stream's serial number. It only tells the streams of one file apart and there
/// is one; fixed rather than random so the same input gives the same file.
const OGG_SERIAL: u32 = 0x5353_4f50;
/// Input frames per resampler call before rubato rounds it (a few ms of delay).
const RESAMPLE_CHUNK: usize = 1024;

/// RFC 7845's arithmetic for an Ogg Opus stream of `samples` 48 kHz frames from an
/// encoder whose output lags its input by `pre_skip` samples. Granule positions count
/// decoded samples, pre-skip included; a decoder drops the first `pre_skip` samples and
/// stops the last packet where the last page's granule position says, so it gives back
/// exactly `samples` (the zeros that fill the last packet are cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OpusLength {
    pre_skip: u64,
    samples: u64,
}

impl OpusLength {
    /// Packets the stream needs: the input's last sample leaves the encoder `pre_skip`
    /// samples late; at least one, so that there is a last page to end the stream.
    fn packets(self) -> u64 {
        (self.pre_skip + self.samples).div_ceil(OPUS_FRAME).max(1)
    }

    /// The last page's granule position: the end trimming.
    fn end_granule(self) -> u64 {
        self.pre_skip + self.samples
    }
}

/// The granule position of a page whose last packet is the `packets`-th of the audio,
/// for any page but the last: every sample decoded so far.
fn granule_after(packets: u64) -> u64 {
    packets * OPUS_FRAME
}

/// Opus in Ogg (RFC 7845): libopus at 64 kb/s for stereo, 32 kb/s for mono, VBR (the
/// default; a file is not a network call that needs a steady rate), in 20 ms packets.
struct Opus {
    encoder: opus::Encoder,
    /// `None` when the source is at 48 kHz already.
    resampler: Option<To48k>,
    ogg: ogg::PacketWriter<'static, BufWriter<File>>,
    channels: usize,
    /// 48 kHz interleaved samples not yet a whole packet's worth.
    pending: Vec<f32>,
    /// What the resampler gave back for the block at hand.
    resampled: Vec<f32>,
    packet: Vec<u8>,
    pre_skip: u64,
    /// 48 kHz frames taken in so far.
    samples: u64,
    /// Audio packets written so far.
    packets: u64,
    path: PathBuf,
}

impl Opus {
    fn new(pcm: &PcmFormat, out: BufWriter<File>, path: &Path) -> Result<Opus> {
        at_most_stereo(pcm, path, "Opus")?;
        let fail = |e: opus::Error| encoder_error(path, "opus encoder", e);
        let stereo = pcm.channels == 2;
        let layout = if stereo {
            opus::Channels::Stereo
        } else {
            opus::Channels::Mono
        };
        // AUDIO rather than VOIP: this is a file to listen to, not a call. VOIP tunes the
        // codec for intelligibility (a high-pass, speech emphasis) and for loss and delay
        // on a network, neither of which a file has; AUDIO keeps the voices as recorded
        // and the music, laughter and crosstalk that Spaces carry beside them.
        let mut encoder =
            opus::Encoder::new(OPUS_RATE, layout, opus::Application::Audio).map_err(fail)?;
        let bits = if stereo { 64_000 } else { 32_000 };
        encoder
            .set_bitrate(opus::Bitrate::Bits(bits))
            .map_err(fail)?;
        let lookahead = encoder.get_lookahead().map_err(fail)?;
        let pre_skip = u16::try_from(lookahead)
            .map_err(|_| encoder_error(path, "opus encoder", format!("lookahead {lookahead}")))?;
        let resampler = (pcm.sample_rate != OPUS_RATE)
            .then(|| To48k::new(pcm.sample_rate, usize::from(pcm.channels), path))
            .transpose()?;
        let mut opus = Opus {
            encoder,
            resampler,
            ogg: ogg::PacketWriter::new(out),
            channels: usize::from(pcm.channels),
            pending: Vec::new(),
            resampled: Vec::new(),
            packet: vec![0; OPUS_MAX_PACKET],
            pre_skip: u64::from(pre_skip),
            samples: 0,
            packets: 0,
            path: path.to_path_buf(),
        };
        // Each header on a page of its own, as RFC 7845 asks.
        opus.write(
            opus_head(pcm, pre_skip),
            ogg::PacketWriteEndInfo::EndPage,
            0,
        )?;
        opus.write(opus_tags(), ogg::PacketWriteEndInfo::EndPage, 0)?;
        Ok(opus)
    }

    fn write(&mut self, packet: Vec<u8>, end: ogg::PacketWriteEndInfo, granule: u64) -> Result<()> {
        self.ogg
            .write_packet(packet, OGG_SERIAL, end, granule)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Encodes the packet's worth of `pending` from sample `at` as audio packet
    /// `packets + 1`; `last` is the granule position that ends the stream with it.
    fn encode_packet(&mut self, at: usize, last: Option<u64>) -> Result<()> {
        let samples = OPUS_FRAME as usize * self.channels;
        let len = self
            .encoder
            .encode_float(&self.pending[at..at + samples], &mut self.packet)
            .map_err(|e| encoder_error(&self.path, "opus encoder", e))?;
        self.packets += 1;
        let packet = self.packet[..len].to_vec();
        match last {
            Some(granule) => self.write(packet, ogg::PacketWriteEndInfo::EndStream, granule),
            None => {
                let end = if self.packets.is_multiple_of(OPUS_PAGE_PACKETS) {
                    ogg::PacketWriteEndInfo::EndPage
                } else {
                    ogg::PacketWriteEndInfo::NormalPacket
                };
                self.write(packet, end, granule_after(self.packets))
            }
        }
    }

    /// Queues 48 kHz frames and encodes every whole packet's worth of what is queued.
    fn queue(&mut self, interleaved: &[f32]) -> Result<()> {
        self.samples += (interleaved.len() / self.channels) as u64;
        self.pending.extend_from_slice(interleaved);
        let samples = OPUS_FRAME as usize * self.channels;
        let mut at = 0;
        while self.pending.len() - at >= samples {
            self.encode_packet(at, None)?;
            at += samples;
        }
        self.pending.drain(..at);
        Ok(())
    }
}

impl AudioEncoder for Opus {
    fn encode(&mut self, interleaved: &[f32]) -> Result<()> {
        let Some(resampler) = self.resampler.as_mut() else {
            return self.queue(interleaved);
        };
        let mut resampled = std::mem::take(&mut self.resampled);
        resampled.clear();
        resampler.push(interleaved, &mut resampled)?;
        self.queue(&resampled)?;
        self.resampled = resampled;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        if let Some(mut resampler) = self.resampler.take() {
            let mut tail = Vec::new();
            resampler.finish(&mut tail)?;
            self.queue(&tail)?;
        }
        let length = OpusLength {
            pre_skip: self.pre_skip,
            samples: self.samples,
        };
        // Zeros push the input's end out through the encoder's lookahead and fill the
        // last packet; the last page's granule position cuts them again.
        let last = length.packets().max(self.packets + 1);
        while self.packets < last {
            self.pending
                .resize(OPUS_FRAME as usize * self.channels, 0.0);
            let end = (self.packets + 1 == last).then(|| length.end_granule());
            self.encode_packet(0, end)?;
            self.pending.clear();
        }
        let Opus { ogg, path, .. } = *self;
        ogg.into_inner().flush().map_err(|e| Error::io(&path, e))
    }
}

/// The identification header (RFC 7845 section 5.1): version 1, the channels, the
/// pre-skip, the original's rate (for information: a decoder outputs 48 kHz), no gain,
/// channel mapping family 0 (mono or stereo, no mapping table).
fn opus_head(pcm: &PcmFormat, pre_skip: u16) -> Vec<u8> {
    let mut head = Vec::with_capacity(19);
    head.extend_from_slice(b"OpusHead");
    head.push(1);
    head.push(pcm.channels as u8);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&pcm.sample_rate.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0);
    head
}

/// The comment header (RFC 7845 section 5.2): libopus's version as the vendor, and who
/// wrote the file.
fn opus_tags() -> Vec<u8> {
    let vendor = opus::version().as_bytes();
    let comments: [&[u8]; 1] = [b"ENCODER=spacescribe"];
    let mut tags = Vec::new();
    tags.extend_from_slice(b"OpusTags");
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    for comment in comments {
        tags.extend_from_slice(&(comment.len() as u32).to_le_bytes());
        tags.extend_from_slice(comment);
    }
    tags
}

/// Streams interleaved frames at another rate to 48 kHz with rubato's FFT resampler,
/// its delay cut and the length exact: `n` frames in come out as
/// `round(n * 48000 / rate)`, so the stream's end is known to the sample.
struct To48k {
    fft: Fft<f32>,
    rate: u32,
    channels: usize,
    /// Input not yet resampled: less than one call's worth.
    pending: Vec<f32>,
    output: Vec<f32>,
    /// Output frames still to drop: the resampler's delay.
    delay: usize,
    frames_in: u64,
    frames_out: u64,
    path: PathBuf,
}

impl To48k {
    fn new(rate: u32, channels: usize, path: &Path) -> Result<To48k> {
        let fft = Fft::<f32>::new(
            rate as usize,
            OPUS_RATE as usize,
            RESAMPLE_CHUNK,
            channels,
            FixedSync::Input,
        )
        .map_err(|e| encoder_error(path, "opus resampler", e))?;
        Ok(To48k {
            output: vec![0.0; fft.output_frames_max() * channels],
            delay: fft.output_delay(),
            fft,
            rate,
            channels,
            pending: Vec::new(),
            frames_in: 0,
            frames_out: 0,
            path: path.to_path_buf(),
        })
    }

    /// 48 kHz frames that `frames` frames at the source rate become, rounded half up.
    fn out_len(&self, frames: u64) -> u64 {
        let num = u128::from(frames) * u128::from(OPUS_RATE);
        let den = u128::from(self.rate);
        ((2 * num + den) / (2 * den)) as u64
    }

    /// Resamples `interleaved`, appending to `out` what is ready.
    fn push(&mut self, interleaved: &[f32], out: &mut Vec<f32>) -> Result<()> {
        self.frames_in += (interleaved.len() / self.channels) as u64;
        self.pending.extend_from_slice(interleaved);
        let call = self.fft.input_frames_next() * self.channels;
        let mut used = 0;
        while self.pending.len() - used >= call {
            self.process(used, out)?;
            used += call;
        }
        self.pending.drain(..used);
        Ok(())
    }

    /// Pushes zeros after the input until the last of it is out of the filter.
    fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let call = self.fft.input_frames_next() * self.channels;
        while self.frames_out < self.out_len(self.frames_in) {
            self.pending.resize(call, 0.0);
            self.process(0, out)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// One resampler call on the call's worth of `pending` from sample `at`; appends its
    /// output less the delay still to drop, never past the input's exact length.
    fn process(&mut self, at: usize, out: &mut Vec<f32>) -> Result<()> {
        let fail = |e: &dyn std::fmt::Display| encoder_error(&self.path, "opus resampler", e);
        let room = self.out_len(self.frames_in) - self.frames_out;
        let frames = self.fft.input_frames_next();
        let input = InterleavedSlice::new(&self.pending[at..], self.channels, frames)
            .map_err(|e| fail(&e))?;
        let capacity = self.output.len() / self.channels;
        let mut output = InterleavedSlice::new_mut(&mut self.output, self.channels, capacity)
            .map_err(|e| fail(&e))?;
        let (_, written) = self
            .fft
            .process_into_buffer(&input, &mut output, None)
            .map_err(|e| fail(&e))?;
        let skip = self.delay.min(written);
        self.delay -= skip;
        let kept = (written - skip).min(usize::try_from(room).unwrap_or(usize::MAX));
        out.extend_from_slice(&self.output[skip * self.channels..(skip + kept) * self.channels]);
        self.frames_out += kept as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granule_positions_count_the_pre_skip_and_trim_the_padding() {
        // libopus's usual lookahead at 48 kHz, and 2 s of input.
        let two_seconds = OpusLength {
            pre_skip: 312,
            samples: 96_000,
        };
        // 96 312 samples leave the encoder: 101 packets, the last one mostly zeros.
        assert_eq!(two_seconds.packets(), 101);
        assert_eq!(granule_after(100), 96_000);
        assert_eq!(two_seconds.end_granule(), 96_312);
        let decoded = two_seconds.packets() * OPUS_FRAME;
        let trimmed = decoded - (decoded - two_seconds.end_granule()) - two_seconds.pre_skip;
        assert_eq!(trimmed, two_seconds.samples);
        // Input that fills its last packet exactly needs no padding; no input still
        // ends the stream with a packet.
        let exact = OpusLength {
            pre_skip: 312,
            samples: 2 * 960 - 312,
        };
        assert_eq!((exact.packets(), exact.end_granule()), (2, 1920));
        let empty = OpusLength {
            pre_skip: 312,
            samples: 0,
        };
        assert_eq!((empty.packets(), empty.end_granule()), (1, 312));
    }

    #[test]
    fn resampling_to_48k_is_exact_in_length_and_keeps_the_signal_in_place() {
        let path = Path::new("test.opus");
        for channels in [1, 2] {
            let mut to48k = To48k::new(44_100, channels, path).unwrap();
            // Silence, then a 1 kHz tone from 0.25 s: its onset must stay at 0.25 s.
            let input: Vec<f32> = (0..44_100 * 3 / 4)
                .flat_map(|i| {
                    let t = i as f32 / 44_100.0;
                    let s = if t < 0.25 {
                        0.0
                    } else {
                        0.5 * (std::f32::consts::TAU * 1000.0 * t).sin()
                    };
                    std::iter::repeat_n(s, channels)
                })
                .collect();
            let mut out = Vec::new();
            for piece in input.chunks(777 * channels) {
                to48k.push(piece, &mut out).unwrap();
            }
            to48k.finish(&mut out).unwrap();
            assert_eq!(out.len(), 36_000 * channels, "0.75 s at 48 kHz");
            let onset = out.iter().position(|s| s.abs() > 0.05).unwrap() / channels;
            assert!(
                (onset as i64 - 12_000).abs() <= 12,
                "tone starts at {onset}"
            );
            let tone = &out[18_000 * channels..30_000 * channels];
            let rms = (tone.iter().map(|s| s * s).sum::<f32>() / tone.len() as f32).sqrt();
            assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.01, "rms {rms}");
        }
    }

    /// Encodes `seconds` of a tone at `rate` into an Opus file in `dir`.
    fn encode_tone(dir: &Path, rate: u32, channels: u16, seconds: f64) -> PathBuf {
        let path = dir.join(format!("tone-{rate}-{channels}.opus"));
        let pcm = PcmFormat {
            codec: "pcm_f32le".into(),
            sample_rate: rate,
            channels,
        };
        let file = File::create(&path).unwrap();
        let mut encoder = open(AudioFormat::Opus, &pcm, file, &path).unwrap();
        let frames = (seconds * f64::from(rate)).round() as usize;
        let tone: Vec<f32> = (0..frames)
            .flat_map(|i| {
                let s = 0.3 * (std::f32::consts::TAU * 440.0 * i as f32 / rate as f32).sin();
                std::iter::repeat_n(s, usize::from(channels))
            })
            .collect();
        for block in tone.chunks(rate as usize * usize::from(channels)) {
            encoder.encode(block).unwrap();
        }
        encoder.finish().unwrap();
        path
    }

    #[test]
    fn opus_files_decode_to_the_length_put_in() {
        let dir = tempfile::tempdir().unwrap();
        for (rate, channels, seconds, frames_48k) in [
            (48_000, 2, 1.234, 59_232),
            (44_100, 2, 2.5, 120_000),
            (16_000, 1, 0.5, 24_000),
        ] {
            let path = encode_tone(dir.path(), rate, channels, seconds);
            let bytes = std::fs::read(&path).unwrap();
            // OpusHead on the first page: version 1, channels, the original's rate.
            let head = &bytes[28..47];
            assert_eq!(
                &head[..10],
                &[b"OpusHead".as_slice(), &[1, channels as u8]].concat()[..]
            );
            assert_eq!(u32::from_le_bytes(head[12..16].try_into().unwrap()), rate);
            let audio = crate::pipeline::open_source_audio(&path).unwrap();
            assert_eq!(
                (audio.format().sample_rate, audio.format().channels),
                (48_000, channels)
            );
            let decoded = audio.stream(&mut |_| Ok(())).unwrap();
            assert_eq!(decoded, frames_48k, "{rate} Hz, {channels} channels");
        }
    }

    #[test]
    fn more_than_two_channels_are_a_usage_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("surround.opus");
        let pcm = PcmFormat {
            codec: "aac".into(),
            sample_rate: 48_000,
            channels: 6,
        };
        let file = File::create(&path).unwrap();
        let err = open(AudioFormat::Opus, &pcm, file, &path).err().unwrap();
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
        assert!(err.to_string().contains("surround.opus"), "{err}");
    }
}
