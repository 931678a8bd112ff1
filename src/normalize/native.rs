//! The recording at its own rate and with all its channels, on the timeline the 16 kHz
//! pipeline uses: what `spacescribe publish` turns into the published audio.
//!
//! A file is decoded front to back with its edit list applied, as the pipeline decodes
//! it (so frame `n` here is second `n / rate` of the transcript); a playlist's chunks
//! are decoded in order and placed by the same [`ChunkPlacer`] the pipeline's plans use,
//! so timestamp gaps, missing or damaged chunks and undecodable frames become the same
//! stretches of silence at the same places. Audio streams out in blocks of about a
//! second: nothing holds the whole recording.

use super::playlist::{ChunkPlacer, ChunkToPlace, Placement};
use crate::error::{Error, Result};
use crate::ingest::decode::{Channels, DecodeEvent, Decoder, PcmBlock};
use crate::ingest::{self, Kind, Recording, Silence, chunk};
use std::path::Path;

/// Playlist chunks decoded one after the other by one codec (the pipeline's group size).
const CHUNK_GROUP: usize = 4;

/// What the audio is: its codec, rate and channels (interleaved in every block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcmFormat {
    /// The source's codec, e.g. "aac", "mp3", "flac".
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
}

/// An opened recording whose audio can be streamed, as often as needed, at its own rate.
#[derive(Debug)]
pub struct SourceAudio {
    rec: Recording,
    format: PcmFormat,
}

impl SourceAudio {
    /// Opens a file or a local HLS playlist and reads the format of its audio.
    pub(crate) fn open(path: &Path) -> Result<SourceAudio> {
        let rec = ingest::open(path)?;
        let format = match rec.kind {
            Kind::File => format_of(&Decoder::open_file(path)?, path)?,
            Kind::Hls => first_chunk_format(&rec)?,
        };
        Ok(SourceAudio { rec, format })
    }

    pub fn format(&self) -> &PcmFormat {
        &self.format
    }

    /// SHA-256 (hex) of the input, as the transcript's `source.sha256` records it (for a
    /// playlist: the playlist text, then every chunk in order).
    pub fn sha256(&self) -> Result<String> {
        self.rec.sha256()
    }

    /// Streams the whole recording into `sink` as interleaved frames of
    /// [`format`](Self::format), in blocks of about a second, silence standing in for
    /// what is missing; returns the number of frames. A sink error stops the stream and
    /// is returned.
    pub fn stream(&self, sink: &mut dyn FnMut(&[f32]) -> Result<()>) -> Result<u64> {
        let mut out = Conformed::new(&self.format, &self.rec.path, sink);
        match self.rec.kind {
            Kind::File => {
                let mut decoder = Decoder::open_file(&self.rec.path)?.with_channels(Channels::All);
                let rate = self.format.sample_rate as usize;
                decoder.run(rate, &mut |event| out.event(event))?;
            }
            Kind::Hls => self.stream_playlist(&mut out)?,
        }
        out.finish()
    }

    /// A playlist's chunks in order, with what the pipeline puts between them.
    fn stream_playlist(&self, out: &mut Conformed<'_>) -> Result<()> {
        let parts = &self.rec.parts;
        let mut placer = ChunkPlacer::default();
        for start in (0..parts.len()).step_by(CHUNK_GROUP) {
            let group = start..(start + CHUNK_GROUP).min(parts.len());
            let decoded = chunk::decode_chunks(parts, group.clone(), Channels::All);
            for (part, chunk) in parts[group].iter().zip(decoded) {
                let chunk = chunk.map(|c| ChunkToPlace {
                    seconds: c.seconds(),
                    info: c.info,
                    audio: c.events,
                });
                placer.place(part, chunk, &mut |placed| match placed {
                    Placement::Chunk(events) => {
                        for event in events {
                            out.event(event);
                        }
                    }
                    Placement::Silence(silence) => out.silence(&silence),
                    Placement::Mark(_) | Placement::Clock(_) => {}
                });
                out.check()?;
            }
        }
        placer.into_info(&self.rec).map(|_| ())
    }
}

/// The format a decoder reports once opened.
fn format_of(decoder: &Decoder, path: &Path) -> Result<PcmFormat> {
    let info = decoder.info();
    if info.sample_rate == 0 || info.channels == 0 {
        return Err(Error::input(
            path,
            "its header does not say its sample rate and channels",
        ));
    }
    Ok(PcmFormat {
        codec: info.codec.clone(),
        sample_rate: info.sample_rate,
        channels: info.channels,
    })
}

/// The format of a playlist's first chunk that opens.
fn first_chunk_format(rec: &Recording) -> Result<PcmFormat> {
    let mut first_error = None;
    for part in &rec.parts {
        let opened = std::fs::read(&part.path)
            .map_err(|e| Error::io(&part.path, e))
            .and_then(|data| Decoder::open_bytes(&part.path, data, None))
            .and_then(|decoder| format_of(&decoder, &part.path));
        match opened {
            Ok(format) => return Ok(format),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(Error::input(
        &rec.path,
        format!(
            "no chunk of the playlist could be opened (first failure: {})",
            first_error.map_or_else(|| "none".into(), |e| e.to_string())
        ),
    ))
}

/// The far end of a stream: blocks brought to the recording's one format, silence
/// written as zeros, the sink's first error kept.
struct Conformed<'s> {
    format: PcmFormat,
    path: &'s Path,
    sink: &'s mut dyn FnMut(&[f32]) -> Result<()>,
    frames: u64,
    error: Option<Error>,
    zeros: Vec<f32>,
}

impl<'s> Conformed<'s> {
    fn new(
        format: &PcmFormat,
        path: &'s Path,
        sink: &'s mut dyn FnMut(&[f32]) -> Result<()>,
    ) -> Self {
        Conformed {
            format: format.clone(),
            path,
            sink,
            frames: 0,
            error: None,
            zeros: vec![0.0; format.sample_rate as usize * usize::from(format.channels)],
        }
    }

    /// Takes one decoder event; `false` once the stream has failed (the decoder stops).
    fn event(&mut self, event: DecodeEvent) -> bool {
        match event {
            DecodeEvent::Pcm(block) => self.pcm(block),
            DecodeEvent::Undecodable(silence) => self.silence(&silence),
        }
        self.error.is_none()
    }

    fn pcm(&mut self, block: PcmBlock) {
        if self.error.is_some() {
            return;
        }
        if block.rate != self.format.sample_rate {
            self.error = Some(Error::input(
                self.path,
                format!(
                    "changes its sample rate from {} to {} Hz; publishing needs one rate",
                    self.format.sample_rate, block.rate
                ),
            ));
            return;
        }
        let samples = to_channels(&block, self.format.channels);
        self.write(&samples);
    }

    /// Silence of the length the pipeline's timeline gives it at this rate.
    fn silence(&mut self, silence: &Silence) {
        let rate = f64::from(self.format.sample_rate);
        let mut frames = (silence.seconds.max(0.0) * rate).round() as usize;
        let channels = usize::from(self.format.channels);
        while frames > 0 && self.error.is_none() {
            let n = frames.min(self.zeros.len() / channels);
            let zeros = std::mem::take(&mut self.zeros);
            self.write(&zeros[..n * channels]);
            self.zeros = zeros;
            frames -= n;
        }
    }

    fn write(&mut self, samples: &[f32]) {
        if self.error.is_some() || samples.is_empty() {
            return;
        }
        self.frames += (samples.len() / usize::from(self.format.channels)) as u64;
        if let Err(e) = (self.sink)(samples) {
            self.error = Some(e);
        }
    }

    /// The sink's or the format's error, if one happened.
    fn check(&mut self) -> Result<()> {
        self.error.take().map_or(Ok(()), Err)
    }

    fn finish(mut self) -> Result<u64> {
        self.check()?;
        Ok(self.frames)
    }
}

/// A block's samples with `channels` channels: as they are, or mixed to one, or one
/// (or the mix) copied to each.
fn to_channels(block: &PcmBlock, channels: u16) -> std::borrow::Cow<'_, [f32]> {
    let (have, want) = (usize::from(block.channels.max(1)), usize::from(channels));
    if have == want {
        return std::borrow::Cow::Borrowed(&block.samples);
    }
    let scale = 1.0 / have as f32;
    block
        .samples
        .chunks_exact(have)
        .flat_map(|frame| {
            let mean = frame.iter().sum::<f32>() * scale;
            std::iter::repeat_n(mean, want)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::decode::tests::write_wav;

    #[test]
    fn a_stereo_file_streams_every_channel_at_its_rate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("st.wav");
        write_wav(&path, 44_100, 2, 100_000);
        let audio = SourceAudio::open(&path).unwrap();
        assert_eq!(
            (audio.format().sample_rate, audio.format().channels),
            (44_100, 2)
        );
        let mut samples = Vec::new();
        let frames = audio
            .stream(&mut |block| {
                samples.extend_from_slice(block);
                Ok(())
            })
            .unwrap();
        assert_eq!((frames, samples.len()), (100_000, 200_000));
        // Both channels, in order: each right sample is its left one plus 100 steps.
        let step = 100.0 / 32768.0;
        assert!(samples.chunks(2).all(|f| (f[1] - f[0] - step).abs() < 1e-6));
    }

    #[test]
    fn a_sink_error_stops_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wav");
        write_wav(&path, 16_000, 1, 64_000);
        let audio = SourceAudio::open(&path).unwrap();
        let mut calls = 0;
        let err = audio
            .stream(&mut |_| {
                calls += 1;
                Err(Error::Usage("full".into()))
            })
            .unwrap_err();
        assert_eq!((calls, err.to_string()), (1, "full".to_string()));
    }

    #[test]
    fn channels_are_mixed_or_copied_to_the_recording_s_count() {
        let stereo = PcmBlock {
            rate: 48_000,
            channels: 2,
            samples: vec![1.0, 0.0, 0.5, 0.5],
            peak: 1.0,
        };
        assert_eq!(to_channels(&stereo, 1).as_ref(), [0.5, 0.5]);
        let mono = PcmBlock {
            channels: 1,
            samples: vec![0.25],
            ..stereo.clone()
        };
        assert_eq!(to_channels(&mono, 2).as_ref(), [0.25, 0.25]);
        assert_eq!(to_channels(&stereo, 2).as_ref(), stereo.samples.as_slice());
    }
}
