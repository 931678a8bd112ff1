//! `spacescribe publish` end to end: the bundled Space (95 s, 20 s of dead air and
//! music before the talk) transcribed with the real binary, published as MP3, FLAC and
//! Opus, each file decoded again (symphonia; the Opus, which symphonia cannot decode, by
//! the `ogg` crate's reader and libopus) and measured with an independent meter (the
//! `ebur128` crate): loudness, true peak, the trim against the words, every word's time
//! against its original less the cuts before it; a changed original refused; the HLS
//! replay of the same Space published on the timeline its transcript uses.

mod common;

use common::{read_json, sample, spacescribe, transcribe_json, words};
use serde_json::Value;
use std::path::Path;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// The CLI's defaults.
const LEAD_IN: f64 = 0.5;
const LEAD_OUT: f64 = 1.0;

/// A published file decoded with symphonia: rate, channels, interleaved samples
/// (symphonia cuts the encoder delay and padding an MP3's LAME tag declares, as a
/// gapless player does).
struct Decoded {
    rate: u32,
    channels: usize,
    samples: Vec<f32>,
}

impl Decoded {
    fn seconds(&self) -> f64 {
        (self.samples.len() / self.channels) as f64 / f64::from(self.rate)
    }
}

/// A published file decoded: Opus as [`decode_opus`] does, the rest by symphonia.
fn decode(path: &Path) -> Decoded {
    if path.extension().is_some_and(|e| e == "opus") {
        return decode_opus(path).1;
    }
    let file = std::fs::File::open(path).unwrap();
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(path.extension().unwrap().to_str().unwrap());
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .unwrap();
    let track = format.default_track(TrackType::Audio).unwrap();
    let id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .unwrap()
        .audio()
        .unwrap()
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .unwrap();
    let (mut samples, mut rate, mut channels) = (Vec::new(), 0, 0);
    while let Ok(Some(packet)) = format.next_packet() {
        if packet.track_id != id {
            continue;
        }
        let buf = decoder.decode(&packet).unwrap();
        rate = buf.spec().rate();
        channels = buf.spec().channels().count();
        let mut block: Vec<f32> = Vec::new();
        buf.copy_to_vec_interleaved(&mut block);
        samples.extend(block);
    }
    Decoded {
        rate,
        channels,
        samples,
    }
}

/// The OpusHead fields a published file sets (RFC 7845, section 5.1).
#[derive(Debug, PartialEq)]
struct OpusHead {
    version: u8,
    channels: u8,
    pre_skip: u16,
    input_rate: u32,
    gain: i16,
    mapping_family: u8,
}

impl OpusHead {
    fn parse(packet: &[u8]) -> OpusHead {
        assert_eq!(packet.len(), 19);
        assert_eq!(&packet[..8], b"OpusHead");
        OpusHead {
            version: packet[8],
            channels: packet[9],
            pre_skip: u16::from_le_bytes([packet[10], packet[11]]),
            input_rate: u32::from_le_bytes(packet[12..16].try_into().unwrap()),
            gain: i16::from_le_bytes([packet[16], packet[17]]),
            mapping_family: packet[18],
        }
    }
}

/// An Ogg Opus file decoded without the code under test: the `ogg` crate's page reader
/// and libopus, trimmed as RFC 7845 says (the OpusHead's pre-skip off the start, the
/// last page's granule position where the audio ends). Checks on the way that every
/// page but the last counts every sample decoded so far, and that the last page ends
/// the stream and trims less than one packet.
fn decode_opus(path: &Path) -> (OpusHead, Decoded) {
    let mut pages = ogg::PacketReader::new(std::fs::File::open(path).unwrap());
    let head = OpusHead::parse(&pages.read_packet_expected().unwrap().data);
    let tags = pages.read_packet_expected().unwrap().data;
    assert!(tags.starts_with(b"OpusTags"));
    assert!(
        tags.windows(19).any(|w| w == b"ENCODER=spacescribe"),
        "{}",
        String::from_utf8_lossy(&tags)
    );
    let channels = usize::from(head.channels);
    let layout = match channels {
        1 => opus::Channels::Mono,
        _ => opus::Channels::Stereo,
    };
    let mut decoder = opus::Decoder::new(48_000, layout).unwrap();
    let mut packet_samples = vec![0.0f32; 5760 * channels];
    let (mut samples, mut end_granule, mut ended) = (Vec::new(), 0, false);
    while let Some(packet) = pages.read_packet().unwrap() {
        let n = decoder
            .decode_float(&packet.data, &mut packet_samples, false)
            .unwrap();
        assert_eq!(n, 960, "20 ms packets");
        samples.extend_from_slice(&packet_samples[..n * channels]);
        let decoded = (samples.len() / channels) as u64;
        ended = packet.last_in_stream();
        if ended {
            end_granule = packet.absgp_page();
            assert!(end_granule <= decoded && decoded - end_granule < 960);
        } else if packet.last_in_page() {
            assert_eq!(packet.absgp_page(), decoded, "granule position");
        }
    }
    assert!(ended, "no page ends the stream");
    samples.truncate(end_granule as usize * channels);
    samples.drain(..usize::from(head.pre_skip) * channels);
    let decoded = Decoded {
        rate: 48_000,
        channels,
        samples,
    };
    (head, decoded)
}

/// Integrated loudness (LUFS) and the largest true peak of any channel (dBTP), by
/// the `ebur128` crate.
fn measure(decoded: &Decoded) -> (f64, f64) {
    let mode = ebur128::Mode::I | ebur128::Mode::TRUE_PEAK;
    let mut meter = ebur128::EbuR128::new(decoded.channels as u32, decoded.rate, mode).unwrap();
    meter.add_frames_f32(&decoded.samples).unwrap();
    let peak = (0..decoded.channels as u32)
        .map(|c| meter.true_peak(c).unwrap())
        .fold(0.0f64, f64::max);
    (meter.loudness_global().unwrap(), 20.0 * peak.log10())
}

/// `spacescribe publish JSON ARGS`, which must succeed; returns the published JSON.
fn publish(json: &Path, args: &[&str]) -> Value {
    let mut all = vec!["publish", json.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = spacescribe(&all);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "publish failed: {stderr}");
    assert!(
        stderr.contains("LUFS") && stderr.contains("dBTP"),
        "{stderr}"
    );
    let stem = json.file_stem().unwrap().to_string_lossy();
    read_json(&json.with_file_name(format!("{stem}.published.json")))
}

/// Seconds cut out of the original before original time `t`, from the published
/// JSON's cut list.
fn cut_before(published: &Value, t: f64) -> f64 {
    published["source"]["published_from"]["cuts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let (start, end) = (c["start"].as_f64().unwrap(), c["end"].as_f64().unwrap());
            (t.min(end) - start).max(0.0)
        })
        .sum()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// Every word of the published transcript is its original, `cut_before` earlier, to
/// the millisecond; and the audio is trimmed to the words with the lead-in and out.
fn check_timeline(original: &Value, published: &Value) {
    let (before, after) = (words(original), words(published));
    assert_eq!(before.len(), after.len());
    assert!(!before.is_empty());
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(a["word"], b["word"]);
        for key in ["start", "end"] {
            let expected = f(&a[key]) - cut_before(published, f(&a[key]));
            assert!(
                (f(&b[key]) - expected).abs() < 0.001,
                "{}: {key} {} in the published transcript, expected {expected}",
                a["word"],
                b[key]
            );
        }
    }
    let first = f(&before[0]["start"]);
    let last = f(&before[before.len() - 1]["end"]);
    let expected = last - first + LEAD_IN + LEAD_OUT;
    let duration = f(&published["source"]["duration"]);
    assert!(
        (duration - expected).abs() < 0.05,
        "published {duration} s, the words span {expected} s with the leads"
    );
    // The first word is the lead-in into the published audio.
    assert!((f(&after[0]["start"]) - LEAD_IN).abs() < 0.001);
    // Nothing of the original is lost but the cuts: the timelines are the same length.
    let cut = cut_before(published, f64::MAX);
    let whole = f(&original["source"]["duration"]);
    assert!(
        (duration + cut - whole).abs() < 0.001,
        "{duration} + {cut} vs {whole}"
    );
    let from = &published["source"]["published_from"];
    assert_eq!(from["sha256"], original["source"]["sha256"]);
}

/// Loudness and true peak of the published file, decoded again.
fn check_loudness(audio: &Path, published: &Value, tolerance: f64) -> Decoded {
    let decoded = decode(audio);
    let (integrated, true_peak) = measure(&decoded);
    eprintln!(
        "{}: {integrated:.2} LUFS, {true_peak:.2} dBTP (ebur128)",
        audio.display()
    );
    assert!(
        (integrated + 16.0).abs() <= tolerance,
        "{integrated} LUFS, expected -16 ± {tolerance}"
    );
    assert!(true_peak <= -1.0, "true peak {true_peak} dBTP");
    let source = &published["source"];
    assert_eq!(source["sample_rate"], 48_000);
    assert_eq!(source["channels"], 2);
    assert_eq!(decoded.rate, 48_000);
    assert_eq!(decoded.channels, 2);
    // What the JSON says was measured on the output agrees with the reference meter.
    let recorded = f(&source["loudness"]["integrated_lufs"]);
    assert!(
        (recorded - integrated).abs() < 0.1,
        "{recorded} vs {integrated}"
    );
    assert!(f(&source["loudness"]["true_peak_dbtp"]) <= -1.0);
    assert!(
        (decoded.seconds() - f(&source["duration"])).abs() < 0.05,
        "decoded {} s",
        decoded.seconds()
    );
    decoded
}

/// The published Opus: its OpusHead (the Space is 48 kHz stereo), loudness and peak as
/// for the other formats, and a decoded length of exactly the published duration.
fn check_opus(audio: &Path, published: &Value) {
    let decoded = check_loudness(audio, published, 0.5);
    let (head, _) = decode_opus(audio);
    assert_eq!(
        (head.version, head.channels, head.input_rate, head.gain),
        (1, 2, 48_000, 0)
    );
    assert_eq!(head.mapping_family, 0);
    assert!(head.pre_skip > 0, "libopus's lookahead");
    let frames = (f(&published["source"]["duration"]) * 48_000.0).round() as usize;
    assert_eq!(decoded.samples.len() / decoded.channels, frames);
}

#[test]
fn the_space_is_published_trimmed_at_the_podcast_norm_in_sync_with_its_words() {
    let dir = tempfile::tempdir().unwrap();
    let original = transcribe_json(&sample("space/space.m4a"), dir.path());
    let json = dir.path().join("space.json");
    assert!(
        f(&words(&original)[0]["start"]) > 15.0,
        "the sample opens with dead air"
    );

    let published = publish(&json, &["--audio-format", "flac"]);
    check_timeline(&original, &published);
    assert_eq!(published["source"]["codec"], "flac");
    check_loudness(&dir.path().join("space.published.flac"), &published, 0.2);

    let published = publish(&json, &["--audio-format", "opus"]);
    check_timeline(&original, &published);
    assert_eq!(published["source"]["codec"], "opus");
    check_opus(&dir.path().join("space.published.opus"), &published);

    let published = publish(&json, &[]);
    check_timeline(&original, &published);
    assert_eq!(published["source"]["codec"], "mp3");
    check_loudness(&dir.path().join("space.published.mp3"), &published, 0.5);
    for ext in ["vtt", "srt", "txt", "rttm"] {
        assert!(dir.path().join(format!("space.published.{ext}")).is_file());
    }

    // Pauses over 0.4 s shortened: shorter, and still in step with the words.
    let out = dir.path().join("short");
    let args = ["--max-silence", "0.4", "--out", out.to_str().unwrap()];
    let mut all = vec!["publish", json.to_str().unwrap()];
    all.extend_from_slice(&args);
    assert!(spacescribe(&all).status.success());
    let shortened = read_json(&out.join("space.published.json"));
    let cuts = shortened["source"]["published_from"]["cuts"]
        .as_array()
        .unwrap()
        .len();
    assert!(cuts > 2, "no pause was shortened");
    let (before, after) = (words(&original), words(&shortened));
    for (a, b) in before.iter().zip(&after) {
        let expected = f(&a["start"]) - cut_before(&shortened, f(&a["start"]));
        assert!((f(&b["start"]) - expected).abs() < 0.001);
    }
    assert!(f(&shortened["source"]["duration"]) < f(&published["source"]["duration"]));
}

#[test]
fn a_changed_original_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("space.m4a");
    std::fs::copy(sample("space/space.m4a"), &copy).unwrap();
    // A transcript that names the copy with the original's hash (no need to transcribe).
    let sha = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(std::fs::read(&copy).unwrap()))
    };
    let words = r#"[{"word":"Hi","start":20.0,"end":20.5,"probability":0.9,"speaker":null}]"#;
    let transcript = format!(
        r#"{{"tool":{{"name":"spacescribe","version":"0"}},
            "source":{{"path":"{}","sha256":"{sha}","kind":"file","duration":95.0,"samples":1520000,
                       "codec":"aac","sample_rate":48000,"channels":2,
                       "loudness":{{"integrated_lufs":null,"range_lu":null,"sample_peak_dbfs":null}}}},
            "model":{{"name":"","path":"","sha256":""}},
            "params":{{"language":"en","diarize":false,"vad_threshold":0.5,"max_chunk_seconds":30.0,
                       "beam_size":1,"temperature_fallback":[0.0],"logprob_threshold":-1.0,
                       "no_speech_threshold":0.6}},
            "segments":[{{"start":20.0,"end":20.5,"speaker":null,"text":"Hi","words":{words},
                          "avg_logprob":-0.1,"no_speech_prob":0.0}}]}}"#,
        copy.display()
    );
    let json = dir.path().join("space.json");
    std::fs::write(&json, transcript).unwrap();
    // Unchanged, it publishes; one byte more and it is refused.
    assert!(
        spacescribe(&["publish", json.to_str().unwrap(), "--audio-format", "flac"])
            .status
            .success()
    );
    let mut bytes = std::fs::read(&copy).unwrap();
    bytes.push(0);
    std::fs::write(&copy, bytes).unwrap();
    let output = spacescribe(&["publish", json.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(copy.to_str().unwrap()) && stderr.contains("changed"),
        "{stderr}"
    );
    std::fs::remove_file(&copy).unwrap();
    let output = spacescribe(&["publish", json.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(copy.to_str().unwrap()) && stderr.contains("missing"),
        "{stderr}"
    );
}

#[test]
fn the_hls_replay_is_published_on_its_transcript_s_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let original = transcribe_json(&sample("space/playlist.m3u8"), dir.path());
    let published = publish(
        &dir.path().join("playlist.json"),
        &["--audio-format", "flac"],
    );
    check_timeline(&original, &published);
    check_loudness(&dir.path().join("playlist.published.flac"), &published, 0.2);
}
