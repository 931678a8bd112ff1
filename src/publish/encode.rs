//! The published audio's encoders, one per format behind one small trait
//! ([`AudioEncoder`]): MP3 by LAME (`mp3lame-encoder`), FLAC by `flacenc` (pure Rust),
//! and 16-bit WAV by `hound` for clips.
//! Each streams interleaved f32 frames into the file it is given and patches its header
//! at the end (LAME's Info tag with the encoder delay and padding, so players cut them;
//! FLAC's STREAMINFO with the length and MD5), so memory does not grow with length.

use super::AudioFormat;
use crate::error::{Error, Result};
use crate::pipeline::PcmFormat;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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
    })
}

fn encoder_error(path: &Path, codec: &'static str, reason: impl std::fmt::Display) -> Error {
    Error::stage(path, codec, reason.to_string())
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
        if pcm.channels > 2 {
            return Err(Error::Usage(format!(
                "{}: MP3 holds at most 2 channels and this recording has {} (use --audio-format flac)",
                path.display(),
                pcm.channels
            )));
        }
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
