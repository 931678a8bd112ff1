//! Normalize: any supported input in, 16 kHz mono f32 out, with its provenance.
//!
//! Owns resampling ([`resample`]), loudness ([`loudness`]) and the parallel,
//! sample-exact join of a recording into one 16 kHz [`timeline`]. Every input is joined
//! through one seam, a [`stretch::StretchPlan`] (a recording laid out as stretches that
//! lanes decode and resample), chosen in [`decode_and_join`]: an MP4's ranges
//! ([`file::Mp4Ranges`]), an ADTS playlist laid out from its frame headers
//! ([`adts_playlist::AdtsPlaylist`]), a playlist of other chunks in groups
//! ([`chunk_groups::ChunkGroups`]), any other file front to back ([`file::FrontToBack`]);
//! [`playlist`] places a playlist's chunks, gaps and discontinuities for both playlist
//! plans. [`native`] streams the recording at its own rate and channels on the same
//! timeline (to publish it). Opening files and playlists, reading chunk files and decoding are
//! [`crate::ingest`]'s job, and so is averaging the channels, which the decoder does
//! while copying samples out of the codec (see [`crate::ingest::decode`]).

mod adts_playlist;
mod chunk_groups;
mod file;
pub(crate) mod loudness;
pub(crate) mod native;
mod playlist;
pub(crate) mod resample;
mod stretch;
mod timeline;

use crate::atomic::WriteBehind;
use crate::audio::{Audio, AudioBuilder, SAMPLE_RATE, SampleSink, seconds};
use crate::error::{Error, Result};
use crate::ingest::decode::Decoder;
use crate::ingest::{self, Kind, Recording};
use crate::transcript::{ClockSource, RecordingClock, SourceInfo};
use adts_playlist::AdtsPlaylist;
use chrono::{DateTime, Utc};
use chunk_groups::ChunkGroups;
use file::{FrontToBack, Mp4Ranges};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use timeline::Joined;

/// A decoded, normalized recording and what is known about its source.
#[derive(Debug)]
pub(crate) struct LoadedRecording {
    pub(crate) audio: Audio,
    pub(crate) source: SourceInfo,
    /// Where the input dates its timeline, in order (the clock stage makes the
    /// recording's clock of them).
    pub(crate) clock: Vec<ClockMark>,
}

/// A point where the input ties its timeline to the wall clock.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClockMark {
    /// 16 kHz samples into the recording.
    pub(crate) at: u64,
    pub(crate) event: ClockEvent,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ClockEvent {
    /// The part that starts here is dated (by its playlist entry or its ID3 tag).
    Dated {
        source: ClockSource,
        utc: DateTime<Utc>,
        part: String,
    },
    /// The playlist marks a discontinuity before this part: time may be missing here.
    Discontinuity { part: String },
}

/// Opens any supported input, decodes and normalizes it (in parallel), measures loudness.
/// With `spill_dir` the 16 kHz audio goes to an unlinked file there instead of memory,
/// so a recording of any length costs the same memory.
pub(crate) fn load_recording(path: &Path, spill_dir: Option<&Path>) -> Result<LoadedRecording> {
    let mut builder = match spill_dir {
        Some(dir) => AudioBuilder::spill_in(dir)?,
        None => AudioBuilder::Memory(Vec::new()),
    };
    let (source, clock) = normalize_into(path, &mut builder)?;
    Ok(LoadedRecording {
        audio: builder.finish()?,
        source,
        clock,
    })
}

/// Decodes and normalizes `input` straight into a 16 kHz mono 16-bit PCM WAV at `out`,
/// written atomically (a temporary file beside it, renamed over it when complete).
pub(crate) fn decode_to_wav(input: &Path, out: &Path) -> Result<(SourceInfo, Vec<ClockMark>)> {
    crate::atomic::write_file_atomic(out, |file| {
        let file = file.try_clone().map_err(|e| Error::io(out, e))?;
        let file = WriteBehind::new(file);
        let mut wav = WavSink::new(BufWriter::with_capacity(1 << 20, file), out)?;
        let source = normalize_into(input, &mut wav)?;
        wav.finalize()?;
        Ok(source)
    })
}

fn normalize_into(
    path: &Path,
    sink: &mut (dyn SampleSink + Send),
) -> Result<(SourceInfo, Vec<ClockMark>)> {
    let rec = ingest::open(path)?;
    // Hashing rereads the input; it runs beside the decode rather than after it.
    let (sha256, joined) = std::thread::scope(|s| {
        let hasher = s.spawn(|| rec.sha256());
        let joined = decode_and_join(&rec, sink);
        let sha = hasher
            .join()
            .unwrap_or_else(|_| Err(Error::crashed(path, "hashing")));
        (sha, joined)
    });
    let mut joined = joined?;
    if let (Kind::File, Some(utc)) = (rec.kind, joined.info.id3_wall_clock) {
        let part = rec.parts[0].name.clone();
        let source = ClockSource::Id3;
        let event = ClockEvent::Dated { source, utc, part };
        joined.clock.insert(0, ClockMark { at: 0, event });
    }
    let source = SourceInfo {
        path: path.display().to_string(),
        sha256: sha256?,
        kind: rec.kind.as_str().to_string(),
        duration: seconds(joined.length),
        samples: joined.length,
        codec: joined.info.codec,
        sample_rate: joined.info.sample_rate,
        channels: joined.info.channels,
        loudness: joined.loudness,
        wall_clock_start: None,
        clock: RecordingClock::default(),
        gaps: joined.gaps,
        published_from: None,
    };
    Ok((source, joined.clock))
}

/// Decodes every part of `rec` and joins them into `sink`, through the one plan that
/// fits it: the only place a decode strategy is chosen.
fn decode_and_join(rec: &Recording, sink: &mut (dyn SampleSink + Send)) -> Result<Joined> {
    match rec.kind {
        Kind::File => {
            let part = &rec.parts[0];
            let decoder = Decoder::open_file(&part.path)?;
            // Ranges on any number of lanes, one included: decoding front to back
            // would give other samples (AAC's noise substitution starts afresh per
            // range), and the output must not depend on the thread count.
            match decoder.range_frames() {
                Some(frames) if frames > 0 => {
                    stretch::join(Mp4Ranges::new(part, decoder, frames), sink)
                }
                _ => stretch::join(FrontToBack::new(part, decoder), sink),
            }
        }
        Kind::Hls => match AdtsPlaylist::lay_out(rec) {
            Some(plan) => stretch::join(plan?, sink),
            None => stretch::join(ChunkGroups::new(rec), sink),
        },
    }
}

/// A streaming 16 kHz mono 16-bit WAV writer (hound patches the header's lengths by
/// seeking back at the end, hence a file of its own).
struct WavSink {
    writer: hound::WavWriter<BufWriter<WriteBehind>>,
    path: PathBuf,
}

impl WavSink {
    fn new(out: BufWriter<WriteBehind>, path: &Path) -> Result<WavSink> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::new(out, spec).map_err(|e| wav_error(path, e))?;
        Ok(WavSink {
            writer,
            path: path.to_path_buf(),
        })
    }

    fn finalize(self) -> Result<()> {
        self.writer.finalize().map_err(|e| wav_error(&self.path, e))
    }
}

impl SampleSink for WavSink {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        // A WAV data chunk's length is a u32 of bytes: 2^31 samples is 37 hours at 16 kHz.
        if u64::from(self.writer.len()) + samples.len() as u64 > u64::from(u32::MAX / 2) {
            return Err(Error::io(
                &self.path,
                std::io::Error::other("too long for a WAV file (over 2^31 samples)"),
            ));
        }
        let mut pcm = self.writer.get_i16_writer(samples.len() as u32);
        for &s in samples {
            pcm.write_sample(to_i16(s));
        }
        pcm.flush().map_err(|e| wav_error(&self.path, e))
    }
}

fn to_i16(s: f32) -> i16 {
    // Rounds half away from zero like `f32::round`, without its libm call (the cast
    // truncates toward zero and saturates).
    let v = s.clamp(-1.0, 1.0) * 32767.0;
    (v + 0.5f32.copysign(v)) as i16
}

fn wav_error(path: &Path, e: hound::Error) -> Error {
    match e {
        hound::Error::IoError(io) => Error::io(path, io),
        other => Error::io(path, std::io::Error::other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Manual check on real files: `SPACESCRIBE_PROBE=a.m4a:b.m3u8 cargo test --lib -- --ignored --nocapture probe_files`.
    #[test]
    #[ignore = "manual probe of files named in SPACESCRIBE_PROBE"]
    fn probe_files() {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .try_init();
        let list = std::env::var("SPACESCRIBE_PROBE").unwrap_or_default();
        for p in list.split(':').filter(|p| !p.is_empty()) {
            let t = std::time::Instant::now();
            if std::env::var("SPACESCRIBE_PROBE_WAV").is_ok() {
                decode_to_wav(Path::new(p), Path::new(&format!("{p}.norm.wav"))).unwrap();
                continue;
            }
            match load_recording(Path::new(p), None) {
                Ok(r) => println!(
                    "OK {p}: {} [{:.2?}] peak at sample {}",
                    serde_json::to_string(&r.source).unwrap(),
                    t.elapsed(),
                    peak_index(&r.audio.read_all().unwrap())
                ),
                Err(e) => println!("ERR {e}"),
            }
        }
    }

    fn peak_index(x: &[f32]) -> usize {
        (0..x.len())
            .max_by(|&a, &b| x[a].abs().total_cmp(&x[b].abs()))
            .unwrap_or(0)
    }

    #[test]
    fn wav_round_trip_keeps_length_and_rate() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&src, spec).unwrap();
        for i in 0..48_001 * 2 {
            w.write_sample(((i as f32 * 0.05).sin() * 8000.0) as i16)
                .unwrap();
        }
        w.finalize().unwrap();
        let rec = load_recording(&src, None).unwrap();
        assert_eq!(rec.audio.len(), 16_000);
        assert_eq!(rec.source.kind, "file");
        assert_eq!(rec.source.codec, "pcm_s16le");
        assert_eq!((rec.source.sample_rate, rec.source.channels), (48_000, 2));
        assert_eq!(rec.source.sha256.len(), 64);
        let out = dir.path().join("out/norm.wav");
        let (source, clock) = decode_to_wav(&src, &out).unwrap();
        assert_eq!(source.samples, 16_000);
        assert!(clock.is_empty(), "a WAV file dates nothing");
        let r = hound::WavReader::open(&out).unwrap();
        assert_eq!(r.spec().sample_rate, SAMPLE_RATE);
        assert_eq!(r.len(), 16_000);
    }

    /// A 48 kHz stereo WAV chunk of `frames` frames behind a Spaces-style ID3 tag.
    fn tagged_wav_chunk(path: &Path, frames: usize, timestamp: u64) {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut bytes = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut bytes, spec).unwrap();
        for i in 0..frames * 2 {
            w.write_sample(((i as f32 * 0.03).sin() * 9000.0) as i16)
                .unwrap();
        }
        w.finalize().unwrap();
        let mut data = crate::ingest::id3::tests::spaces_tag(timestamp);
        data.extend(bytes.into_inner());
        std::fs::write(path, data).unwrap();
    }

    /// Chunks of 3 s with a 2 s timestamp jump before chunk 1, chunk 2 damaged, chunk 3
    /// missing and a discontinuity before chunk 4: everything keeps its true offset.
    #[test]
    fn playlist_with_gaps_damage_and_missing_chunks_keeps_true_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let three_s = 144_000usize;
        let ticks = 270_000u64;
        tagged_wav_chunk(&dir.path().join("c0.aac"), three_s, 1_000);
        tagged_wav_chunk(&dir.path().join("c1.aac"), three_s, 1_000 + ticks + 180_000);
        std::fs::write(
            dir.path().join("c2.aac"),
            b"ID3 no, just garbage".repeat(20),
        )
        .unwrap();
        tagged_wav_chunk(&dir.path().join("c4.aac"), three_s, 5);
        let list = "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXT-X-PROGRAM-DATE-TIME:2024-08-12T20:14:03.120Z\n\
                    #EXTINF:3.0,\nc0.aac\n#EXTINF:3.0,\nc1.aac\n#EXTINF:3.0,\nc2.aac\n#EXTINF:3.0,\nc3.aac\n\
                    #EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2024-08-12T20:30:00.000Z\n\
                    #EXTINF:3.0,\nc4.aac\n#EXT-X-ENDLIST\n";
        let path = dir.path().join("space.m3u8");
        std::fs::write(&path, list).unwrap();
        let rec = load_recording(&path, Some(dir.path())).unwrap();
        let samples = rec.audio.read_all().unwrap();
        let src = &rec.source;
        assert_eq!(src.kind, "hls");
        assert_eq!(src.samples, 16_000 * 17);
        let clock: Vec<_> = rec
            .clock
            .iter()
            .map(|m| match &m.event {
                ClockEvent::Dated { utc, part, .. } => (m.at, part.as_str(), Some(*utc)),
                ClockEvent::Discontinuity { part } => (m.at, part.as_str(), None),
            })
            .collect();
        let utc = |s: &str| Some(DateTime::parse_from_rfc3339(s).unwrap().to_utc());
        assert_eq!(
            clock,
            [
                (0, "c0.aac", utc("2024-08-12T20:14:03.120Z")),
                (16_000 * 14, "c4.aac", None),
                (16_000 * 14, "c4.aac", utc("2024-08-12T20:30:00Z")),
            ]
        );
        let gaps: Vec<_> = src
            .gaps
            .iter()
            .map(|g| (g.start, g.end, g.reason.as_str()))
            .collect();
        assert_eq!(gaps.len(), 4, "{gaps:?}");
        assert_eq!((gaps[0].0, gaps[0].1), (3.0, 5.0));
        assert!(gaps[0].2.contains("timestamp gap before c1.aac"));
        assert_eq!((gaps[1].0, gaps[1].1), (8.0, 11.0));
        assert!(gaps[1].2.starts_with("damaged chunk c2.aac"));
        assert_eq!(
            (gaps[2].0, gaps[2].1, gaps[2].2),
            (11.0, 14.0, "missing chunk c3.aac")
        );
        assert_eq!((gaps[3].0, gaps[3].1), (14.0, 14.0));
        assert!(gaps[3].2.contains("discontinuity"));
        // The silence really is silent, the audio really is audio.
        let at = |s: f64| samples[(s * 16_000.0) as usize].abs();
        let loud = |a: f64, b: f64| {
            samples[(a * 16_000.0) as usize..(b * 16_000.0) as usize]
                .iter()
                .any(|x| x.abs() > 0.1)
        };
        assert!(at(4.0) == 0.0 && at(12.0) == 0.0);
        assert!(loud(0.0, 3.0) && loud(5.0, 8.0) && loud(14.0, 17.0));
        assert_eq!(src.sample_rate, 48_000);
        assert!(src.loudness.integrated_lufs.is_some());
    }

    /// The bundled Space as an HLS playlist (laid out, decoded in stretches in parallel)
    /// and as an m4a (in ranges, in parallel) come out the same length and the same audio, but
    /// for AAC's randomly substituted noise: every join lands where it belongs.
    #[test]
    fn playlist_and_m4a_forms_of_a_space_decode_alike() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/space");
        let hls = load_recording(&root.join("playlist.m3u8"), None).unwrap();
        let m4a = load_recording(&root.join("space.m4a"), None).unwrap();
        let (a, b) = (hls.audio.read_all().unwrap(), m4a.audio.read_all().unwrap());
        assert_eq!(a.len(), b.len());
        let energy =
            |x: &mut dyn Iterator<Item = f32>| x.map(|v| f64::from(v).powi(2)).sum::<f64>();
        let noise = energy(&mut a.iter().zip(&b).map(|(x, y)| x - y));
        let snr = 10.0 * (energy(&mut b.iter().copied()) / noise).log10();
        assert!(snr > 25.0, "SNR {snr:.1} dB");
    }

    #[test]
    fn playlist_where_nothing_decodes_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.aac"), b"junk junk junk").unwrap();
        let path = dir.path().join("l.m3u8");
        std::fs::write(
            &path,
            "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\na.aac\n#EXTINF:3,\nb.aac\n",
        )
        .unwrap();
        let err = load_recording(&path, None).unwrap_err().to_string();
        assert!(err.contains("l.m3u8") && err.contains("no chunk"), "{err}");
    }
}
