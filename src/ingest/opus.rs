//! Opus, which symphonia reads out of Ogg but has no decoder for: libopus (the `opus`
//! crate) behind symphonia's decoder trait, registered beside symphonia's own decoders
//! ([`super::codec::codecs`]), so an Opus file runs through [`super::decode`] like any
//! other codec. This is how `publish` measures the Opus it wrote, and what makes Opus
//! an input.
//!
//! RFC 7845's trimming is done here. symphonia's Ogg reader counts the encoder's
//! pre-skip in its timestamps but does not cut it, so the first `pre_skip` decoded
//! samples (read from the OpusHead) are dropped here; the end trimming that the last
//! page's granule position declares it hands on as the last packet's `trim_end`, which
//! is cut here too. What comes out is the encoder's input, sample for sample.

use std::sync::{Mutex, PoisonError};
use symphonia::core::audio::{AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec};
use symphonia::core::audio::{Channels, GenericAudioBufferRef};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::FinalizeResult;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Result, decode_error, unsupported_error};
use symphonia::core::packet::PacketRef;

/// The rate every Opus stream decodes at.
const RATE: u32 = 48_000;
/// Most frames one packet decodes to: 120 ms at 48 kHz (RFC 6716, section 3.2.5).
const MAX_PACKET_FRAMES: usize = 5760;

const SUPPORTED: [SupportedAudioCodec; 1] = [SupportedAudioCodec {
    id: CODEC_ID_OPUS,
    info: CodecInfo {
        short_name: "opus",
        long_name: "Opus (libopus)",
        profiles: &[],
    },
}];

/// What the decoder needs from the OpusHead (RFC 7845, section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    channels: u8,
    pre_skip: u16,
    /// Q7.8 dB, applied by libopus.
    gain: i16,
    mapping_family: u8,
}

impl Head {
    /// Reads the identification header symphonia hands over as the track's extra data.
    fn parse(bytes: &[u8]) -> Option<Head> {
        if bytes.len() < 19 || !bytes.starts_with(b"OpusHead") || bytes[8] >> 4 != 0 {
            return None;
        }
        Some(Head {
            channels: bytes[9],
            pre_skip: u16::from_le_bytes([bytes[10], bytes[11]]),
            gain: i16::from_le_bytes([bytes[16], bytes[17]]),
            mapping_family: bytes[18],
        })
    }
}

/// libopus decoding one mono or stereo Opus stream (channel mapping family 0; more
/// channels take libopus's multistream decoder, which the binding does not offer).
pub(crate) struct OpusDecoder {
    params: AudioCodecParameters,
    /// In a mutex only for symphonia's `Sync` bound: libopus is reached through `&mut
    /// self` alone (`get_mut`), so it is never locked.
    opus: Mutex<opus::Decoder>,
    buf: AudioBuffer<f32>,
    /// libopus's interleaved output of the packet at hand.
    interleaved: Vec<f32>,
    channels: usize,
    /// Decoded frames still to drop from the start: what is left of the pre-skip.
    skip: usize,
}

impl OpusDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<OpusDecoder> {
        let Some(head) = params.extra_data.as_deref().and_then(Head::parse) else {
            return unsupported_error("opus: no OpusHead");
        };
        let layout = match (head.channels, head.mapping_family) {
            (1, 0) => opus::Channels::Mono,
            (2, 0) => opus::Channels::Stereo,
            _ => return unsupported_error("opus: more than two channels (multistream)"),
        };
        let channels = usize::from(head.channels);
        let mut opus = opus::Decoder::new(RATE, layout)
            .or_else(|_| unsupported_error("opus: libopus refused the stream"))?;
        opus.set_gain(i32::from(head.gain))
            .or_else(|_| unsupported_error("opus: output gain out of range"))?;
        let spec = AudioSpec::new(RATE, Channels::Discrete(u16::from(head.channels)));
        Ok(OpusDecoder {
            params: params.clone(),
            opus: Mutex::new(opus),
            buf: AudioBuffer::new(spec, MAX_PACKET_FRAMES),
            interleaved: vec![0.0; MAX_PACKET_FRAMES * channels],
            channels,
            skip: usize::from(head.pre_skip),
        })
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        let opus = self.opus.get_mut().unwrap_or_else(PoisonError::into_inner);
        let frames = match opus.decode_float(packet.data, &mut self.interleaved, false) {
            Ok(frames) => frames,
            Err(e) => {
                tracing::debug!("opus: {e}");
                return decode_error("opus: undecodable packet");
            }
        };
        self.buf.render_uninit(Some(frames));
        self.buf
            .copy_from_slice_interleaved(&&self.interleaved[..frames * self.channels]);
        let start = self.skip.min(frames);
        self.skip -= start;
        let end = usize::try_from(packet.trim_end.get()).unwrap_or(usize::MAX);
        self.buf.trim(start, end);
        Ok(())
    }
}

impl AudioDecoder for OpusDecoder {
    fn reset(&mut self) {
        // After a seek: the pre-skip belongs to the stream's start, not to here.
        if let Ok(opus) = self.opus.get_mut() {
            let _ = opus.reset_state();
        }
    }

    fn codec_info(&self) -> &CodecInfo {
        &SUPPORTED[0].info
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        self.buf.clear();
        if let Err(e) = self.decode_packet(packet) {
            self.buf.clear();
            return Err(e);
        }
        Ok(self.buf.as_generic_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        self.buf.as_generic_audio_buffer_ref()
    }
}

impl RegisterableAudioDecoder for OpusDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(OpusDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        &SUPPORTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opus_head_is_read_and_odd_ones_refused() {
        let mut head = b"OpusHead\x01\x02\x38\x01\x44\xac\x00\x00\x00\x01\x00".to_vec();
        let read = Head::parse(&head).unwrap();
        assert_eq!((read.channels, read.pre_skip, read.gain), (2, 312, 256));
        assert_eq!(read.mapping_family, 0);
        head[8] = 0x10;
        assert_eq!(
            Head::parse(&head),
            None,
            "a major version this does not know"
        );
        assert_eq!(Head::parse(&head[..18]), None);
        let mut params = AudioCodecParameters::new();
        params.for_codec(CODEC_ID_OPUS).with_extra_data(Box::from(
            &b"OpusHead\x01\x06\x38\x01\x80\xbb\x00\x00\x00\x00\x01"[..],
        ));
        assert!(
            OpusDecoder::try_new(&params).is_err(),
            "5.1 needs a multistream decoder"
        );
    }
}
