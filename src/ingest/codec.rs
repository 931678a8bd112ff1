//! Naming codecs, and saying precisely why a file's audio cannot be decoded.
//!
//! symphonia reports "unsupported" with internal wording ("aac: aac too complex"); users
//! need to hear *which* codec or profile it is (HE-AAC, AC-3, ...) to know what to do.
//! Also holds the registry of decoders every file is decoded with ([`codecs`]).

use super::opus::OpusDecoder;
use crate::error::Error;
use std::path::Path;
use std::sync::LazyLock;
use symphonia::core::codecs::audio::well_known::*;
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymError;

/// The decoders: symphonia's, and Opus by libopus ([`super::opus`]), which symphonia
/// lacks.
pub(crate) fn codecs() -> &'static CodecRegistry {
    static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_audio_decoder::<OpusDecoder>();
        registry
    });
    &CODECS
}

/// Maps a probe failure to why the file is not usable audio.
pub(crate) fn probe_error(path: &Path, e: SymError) -> Error {
    match e {
        SymError::Unsupported(_) => Error::input(
            path,
            "not a supported audio file (no known audio format found in its content)",
        ),
        SymError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::input(path, "truncated file (ended inside its header)")
        }
        other => Error::input(path, format!("not a readable audio file: {other}")),
    }
}

/// Maps a failure to create a decoder to the codec (or codec profile) we cannot decode.
pub(crate) fn codec_error(path: &Path, params: &AudioCodecParameters, e: SymError) -> Error {
    match e {
        SymError::Unsupported(_) | SymError::DecodeError(_) => Error::UnsupportedCodec {
            path: path.to_path_buf(),
            codec: unsupported_codec_name(params),
        },
        other => Error::input(
            path,
            format!(
                "cannot set up the {} decoder: {other}",
                codec_name(params.codec)
            ),
        ),
    }
}

/// Names what is unsupported as precisely as the parameters allow.
fn unsupported_codec_name(params: &AudioCodecParameters) -> String {
    if params.codec == CODEC_ID_AAC {
        let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
        return match params.extra_data.as_deref().and_then(aac_object_type) {
            Some(5) => "HE-AAC (AAC object type 5, SBR); only AAC-LC is decoded".into(),
            Some(29) => "HE-AACv2 (AAC object type 29, SBR+PS); only AAC-LC is decoded".into(),
            Some(2) if channels > 2 => {
                format!("AAC-LC with {channels} channels; at most 2 are decoded")
            }
            Some(2) => "AAC-LC with SBR signalled (HE-AAC); only plain AAC-LC is decoded".into(),
            Some(n) => format!("AAC object type {n}; only AAC-LC (2) is decoded"),
            None => "AAC (profile not decodable)".into(),
        };
    }
    if params.codec == CODEC_ID_OPUS {
        let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
        return format!("Opus with {channels} channels (multistream); at most 2 are decoded");
    }
    codec_name(params.codec)
}

/// Audio object type from an MPEG-4 AudioSpecificConfig (5 bits, 31 escapes to 32 + 6 bits).
pub(crate) fn aac_object_type(asc: &[u8]) -> Option<u8> {
    let first = *asc.first()? >> 3;
    if first != 31 {
        return Some(first);
    }
    let bits = u16::from_be_bytes([asc[0], *asc.get(1)?]);
    Some(32 + ((bits >> 5) & 0x3f) as u8)
}

/// Short, ffmpeg-like name of a codec (symphonia's own name when it has a decoder for it).
pub(crate) fn codec_name(id: AudioCodecId) -> String {
    if let Some(reg) = codecs().get_audio_decoder(id) {
        return reg.codec.info.short_name.to_string();
    }
    let known = [
        (CODEC_ID_SPEEX, "speex"),
        (CODEC_ID_AC3, "ac3"),
        (CODEC_ID_EAC3, "eac3"),
        (CODEC_ID_AC4, "ac4"),
        (CODEC_ID_DCA, "dts"),
        (CODEC_ID_TRUEHD, "truehd"),
        (CODEC_ID_WMA, "wma"),
        (CODEC_ID_WAVPACK, "wavpack"),
        (CODEC_ID_MONKEYS_AUDIO, "ape"),
        (CODEC_ID_TTA, "tta"),
        (CODEC_ID_MUSEPACK, "musepack"),
        (CODEC_ID_ATRAC3, "atrac3"),
        (CODEC_ID_ATRAC3PLUS, "atrac3plus"),
        (CODEC_ID_COOK, "cook"),
        (CODEC_ID_SBC, "sbc"),
        (CODEC_ID_APTX, "aptx"),
        (CODEC_ID_LDAC, "ldac"),
        (CODEC_ID_ADPCM_G722, "g722"),
        (CODEC_ID_ADPCM_G726, "g726"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| format!("unknown audio codec {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aac_object_type_reads_escape() {
        assert_eq!(aac_object_type(&[0x12, 0x10]), Some(2));
        assert_eq!(aac_object_type(&[0x2b, 0x92]), Some(5));
        assert_eq!(aac_object_type(&[0xe9, 0x92]), Some(29));
        assert_eq!(aac_object_type(&[0xf8, 0x20]), Some(33));
        assert_eq!(aac_object_type(&[]), None);
    }
}
