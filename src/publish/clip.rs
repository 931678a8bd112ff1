//! Clips: a passage of the original recording, for a newsroom to check a quote against
//! or to publish it (`spacescribe quote --clip`). Cut from the original at its own rate
//! and channels (not the 16 kHz copy the models heard), on the transcript's timeline
//! (frame `n` is second `n / rate` of the transcript, as [`SourceAudio`] streams it),
//! sample-exact, with padding around the passage and short fades at the two ends only:
//! every sample between them is the original's, at no other gain.

use super::encode::{self, AudioEncoder};
use super::{AudioFormat, open_original};
use crate::atomic::write_file_atomic;
use crate::error::{Error, Result};
use crate::pipeline::SourceAudio;
use crate::transcript::Transcript;
use std::path::{Path, PathBuf};

/// How a clip is cut.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipOptions {
    /// Seconds kept before the passage and after it.
    pub pad: f64,
    /// Seconds of fade in at the start and out at the end (clicks otherwise).
    pub fade: f64,
}

impl Default for ClipOptions {
    fn default() -> Self {
        ClipOptions {
            pad: 0.5,
            fade: 0.01,
        }
    }
}

/// What [`clip`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub path: PathBuf,
    /// The original it was cut from (its SHA-256 checked against the transcript's).
    pub original: PathBuf,
    /// Seconds of the original (the transcript's timeline) the clip covers, padding
    /// included: its first frame is `start * sample_rate`.
    pub start: f64,
    pub end: f64,
    pub frames: u64,
    pub sample_rate: u32,
    pub channels: u16,
}

/// Cuts seconds `start..end` of the recording `transcript_json` was made from (with
/// `options.pad` on each side, within the recording) into `out`, whose extension
/// (`.wav`, `.flac`, `.mp3`, `.opus`) picks the format; written atomically.
pub fn clip(
    transcript_json: &Path,
    start: f64,
    end: f64,
    out: &Path,
    options: &ClipOptions,
) -> Result<Clip> {
    check(start, end, options)?;
    let format = ClipFormat::of(out)?;
    let transcript = Transcript::read_json(transcript_json)?;
    let (original, source) = open_original(&transcript, transcript_json)?;
    let pcm = source.format().clone();
    let rate = f64::from(pcm.sample_rate);
    let recording_end = (transcript.source.duration * rate).round() as u64;
    let first = ((start - options.pad).max(0.0) * rate).round() as u64;
    let last = (((end + options.pad) * rate).round() as u64).min(recording_end);
    if last <= first {
        return Err(Error::Usage(format!(
            "{start:.3}-{end:.3} s is not inside {} ({:.3} s long)",
            original.display(),
            transcript.source.duration
        )));
    }
    let fade = (options.fade * rate).round() as u64;
    let frames = write_file_atomic(out, |file| {
        let file = file.try_clone().map_err(|e| Error::io(out, e))?;
        let encoder = format.encoder(&pcm, file, out)?;
        cut(&source, Window::new(first, last, fade), encoder)
    })?;
    Ok(Clip {
        path: out.to_path_buf(),
        original,
        start: first as f64 / rate,
        end: (first + frames) as f64 / rate,
        frames,
        sample_rate: pcm.sample_rate,
        channels: pcm.channels,
    })
}

fn check(start: f64, end: f64, options: &ClipOptions) -> Result<()> {
    let finite = [start, end, options.pad, options.fade]
        .iter()
        .all(|v| v.is_finite() && *v >= 0.0);
    if !finite || end <= start {
        return Err(Error::Usage(format!(
            "a clip needs 0 <= start < end and a padding and fade of 0 or more seconds (got {start}-{end}, pad {}, fade {})",
            options.pad, options.fade
        )));
    }
    Ok(())
}

/// The formats a clip is written in, by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClipFormat {
    /// 16-bit PCM: the original's samples as they decode, to 16 bits.
    Wav,
    Encoded(AudioFormat),
}

impl ClipFormat {
    fn of(out: &Path) -> Result<ClipFormat> {
        let extension = out
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("wav") => Ok(ClipFormat::Wav),
            Some(other) => other.parse().map(ClipFormat::Encoded).map_err(|_| {
                Error::Usage(format!(
                    "{}: a clip is written as .wav, .flac, .mp3 or .opus",
                    out.display()
                ))
            }),
            None => Err(Error::Usage(format!(
                "{}: name the clip .wav, .flac, .mp3 or .opus",
                out.display()
            ))),
        }
    }

    fn encoder(
        self,
        pcm: &crate::pipeline::PcmFormat,
        file: std::fs::File,
        path: &Path,
    ) -> Result<Box<dyn AudioEncoder>> {
        match self {
            ClipFormat::Wav => encode::open_wav(pcm, file, path),
            ClipFormat::Encoded(format) => encode::open(format, pcm, file, path),
        }
    }
}

/// Frames `first..last` of the stream, faded in and out over `fade` frames.
#[derive(Debug, Clone, Copy)]
struct Window {
    first: u64,
    last: u64,
    fade: u64,
}

impl Window {
    fn new(first: u64, last: u64, fade: u64) -> Window {
        // Two fades never overlap: a clip shorter than both is faded over half each.
        let fade = fade.min((last - first) / 2);
        Window { first, last, fade }
    }

    /// The gain of frame `frame` (inside the window): a linear ramp at each end, 1
    /// between.
    fn gain(&self, frame: u64) -> f32 {
        if self.fade == 0 {
            return 1.0;
        }
        let from_edge = (frame - self.first).min(self.last - 1 - frame);
        if from_edge >= self.fade {
            1.0
        } else {
            (from_edge as f32 + 0.5) / self.fade as f32
        }
    }
}

/// Streams the source through `window` into `encoder`; returns the frames written.
fn cut(source: &SourceAudio, window: Window, mut encoder: Box<dyn AudioEncoder>) -> Result<u64> {
    let channels = usize::from(source.format().channels);
    let mut position = 0u64; // frames of the stream before the current block
    let mut kept = Vec::new();
    let mut written = 0u64;
    source.stream(&mut |block| {
        let frames = (block.len() / channels) as u64;
        let from = window.first.clamp(position, position + frames);
        let to = window.last.clamp(position, position + frames);
        kept.clear();
        for frame in from..to {
            let gain = window.gain(frame);
            let at = (frame - position) as usize * channels;
            kept.extend(block[at..at + channels].iter().map(|s| s * gain));
        }
        position += frames;
        written += to - from;
        encoder.encode(&kept)
    })?;
    encoder.finish()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fades_only_the_two_ends() {
        let w = Window::new(100, 200, 10);
        assert!(w.gain(100) < 0.1 && w.gain(199) < 0.1);
        assert_eq!(w.gain(110), 1.0);
        assert_eq!(w.gain(150), 1.0);
        assert_eq!(w.gain(189), 1.0);
        assert!(w.gain(105) > w.gain(104));
        let short = Window::new(0, 6, 10);
        assert_eq!(short.fade, 3);
        assert_eq!(Window::new(0, 6, 0).gain(0), 1.0);
    }

    /// A 1 s 8 kHz stereo ramp as the "original", and a transcript naming it.
    fn recording(dir: &Path, sha256: Option<&str>) -> PathBuf {
        let wav = dir.join("rec.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&wav, spec).unwrap();
        for i in 0..8_000i32 {
            w.write_sample((i * 3) as i16).unwrap();
            w.write_sample(-(i * 3) as i16).unwrap();
        }
        w.finalize().unwrap();
        let mut t = crate::export::fixture::two_speakers();
        t.source.path = wav.display().to_string();
        t.source.duration = 1.0;
        t.source.sha256 = match sha256 {
            Some(sha) => sha.into(),
            None => crate::pipeline::open_source_audio(&wav)
                .unwrap()
                .sha256()
                .unwrap(),
        };
        let json = dir.join("rec.json");
        std::fs::write(&json, serde_json::to_string(&t).unwrap()).unwrap();
        json
    }

    #[test]
    fn cuts_the_padded_passage_sample_for_sample_after_checking_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let json = recording(dir.path(), None);
        let out = dir.path().join("clip.wav");
        let options = ClipOptions {
            pad: 0.1,
            fade: 0.0,
        };
        let cut = clip(&json, 0.4, 0.6, &out, &options).unwrap();
        assert_eq!(
            (cut.frames, cut.sample_rate, cut.channels),
            (3_200, 8_000, 2)
        );
        assert!((cut.start - 0.3).abs() < 1e-9 && (cut.end - 0.7).abs() < 1e-9);
        let samples: Vec<i16> = hound::WavReader::open(&out)
            .unwrap()
            .samples::<i16>()
            .map(|s| s.unwrap())
            .collect();
        let expected = |frame: i32| (frame * 3) as i16;
        for (n, pair) in samples.chunks(2).enumerate() {
            let want = expected(2_400 + n as i32);
            assert!(
                (pair[0] - want).abs() <= 1 && (pair[1] + want).abs() <= 1,
                "{n}: {pair:?} for {want}"
            );
        }
        // Padding stops at the recording's ends.
        let edge = clip(&json, 0.0, 0.95, &out, &options).unwrap();
        assert_eq!((edge.start, edge.end), (0.0, 1.0));

        let changed = recording(dir.path(), Some(&"0".repeat(64)));
        let e = clip(&changed, 0.4, 0.6, &out, &options).unwrap_err();
        assert!(e.to_string().contains("changed since"), "{e}");
    }

    #[test]
    fn the_extension_picks_the_format_and_bad_times_are_refused() {
        assert_eq!(ClipFormat::of(Path::new("a.WAV")).unwrap(), ClipFormat::Wav);
        assert_eq!(
            ClipFormat::of(Path::new("a.flac")).unwrap(),
            ClipFormat::Encoded(AudioFormat::Flac)
        );
        for bad in ["a.ogg", "a"] {
            let e = ClipFormat::of(Path::new(bad)).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Usage, "{bad}");
        }
        let options = ClipOptions::default();
        assert!(check(2.0, 1.0, &options).is_err());
        assert!(check(1.0, f64::NAN, &options).is_err());
        let negative = ClipOptions {
            pad: -1.0,
            ..options
        };
        assert!(check(1.0, 2.0, &negative).is_err());
    }
}
