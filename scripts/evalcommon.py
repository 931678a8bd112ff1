"""What the evaluation scripts share: the bundled samples with their words' truth, the
word normalisation they are scored with, the word alignment, and one spacescribe run.

Scoring normalisation: lower case, punctuation removed, hyphens split, numbers up to 99
written as digits read as words ("3" = "three"), Mr/Mrs/Dr as said, accents kept.
"""

import glob
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# SPACESCRIBE_BIN: another build to score (e.g. a copy kept while this one is rebuilt).
BIN = os.environ.get("SPACESCRIBE_BIN") or os.path.join(ROOT, "target", "release", "spacescribe")
SAMPLES = os.path.join(ROOT, "samples")

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen " \
       "fourteen fifteen sixteen seventeen eighteen nineteen".split()
# Titles as they are said.
SPOKEN = {"mr": "mister", "mrs": "missus", "dr": "doctor"}
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n):
    if n < 20:
        return [ONES[n]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    return [str(n)]


def tokens(text):
    out = []
    for raw in text.replace("-", " ").split():
        t = "".join(c for c in raw.lower() if c.isalnum() or c == "'").strip("'")
        t = SPOKEN.get(t, t)
        if t.isdigit():
            out += number_words(int(t))
        elif t:
            out.append(t)
    return out


def speaker_lines(path):
    """The words of a `Name: words` file."""
    with open(path) as fh:
        return " ".join(line.split(":", 1)[1] for line in fh if ":" in line)


def stm_text(path):
    with open(path) as fh:
        return " ".join(" ".join(line.split()[5:]) for line in fh if line.strip())


def development_set():
    """(group, audio, truth text) for every bundled sample with its words' truth."""
    yield "space", os.path.join(SAMPLES, "space", "space.m4a"), \
        speaker_lines(os.path.join(SAMPLES, "space", "reference.txt"))
    with open(os.path.join(SAMPLES, "jfk", "jfk.txt")) as fh:
        yield "jfk", os.path.join(SAMPLES, "jfk", "jfk.wav"), fh.read()
    yield "pyannote-call", os.path.join(SAMPLES, "pyannote-call", "sample.wav"), \
        stm_text(os.path.join(SAMPLES, "pyannote-call", "sample.stm"))
    for group in ("dialogues", "names"):
        for txt in sorted(glob.glob(os.path.join(SAMPLES, group, "*.txt"))):
            yield group, txt[:-4] + ".m4a", speaker_lines(txt)


LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox"
LONG = os.path.join(ROOT, "bench", "work", "space10.m4a")  # scripts/make-long-sample


def heldout_set():
    """(group, audio, truth text) for audio nothing was tuned on: LibriVox read speech
    (Debian pocketsphinx-testdata) and the 10-minute synthetic Space."""
    if not os.path.isdir(LIBRIVOX):
        subprocess.run(["apt-get", "install", "-y", "-qq", "pocketsphinx-testdata"],
                       check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    with open(os.path.join(LIBRIVOX, "transcription")) as fh:
        for line in fh:  # "<s> words </s> (fileid)"
            text, _, fileid = line.rpartition("(")
            words = text.replace("<s>", "").replace("</s>", "")
            yield "librivox", os.path.join(LIBRIVOX, fileid.strip().rstrip(")") + ".wav"), words
    if not os.path.exists(LONG):
        subprocess.run([os.path.join(ROOT, "scripts", "make-long-sample"), LONG, "10"],
                       check=True, stdout=subprocess.DEVNULL)
    yield "long-space", LONG, speaker_lines(LONG[:-4] + ".reference.txt")


def edit_table(ref, hyp, same=lambda r, h: r == h):
    """Levenshtein table over two token lists."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (not same(ref[i - 1], hyp[j - 1])))
    return d


def align(ref, hyp, same=lambda r, h: r == h):
    """The edit path: a list of (op, ref index or None, hyp index or None), op one of
    ok, sub, del, ins."""
    d = edit_table(ref, hyp, same)
    ops, i, j = [], len(ref), len(hyp)
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i][j] == d[i - 1][j - 1] + (not same(ref[i - 1], hyp[j - 1])):
            ops.append(("ok" if same(ref[i - 1], hyp[j - 1]) else "sub", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and d[i][j] == d[i - 1][j] + 1:
            ops.append(("del", i - 1, None))
            i -= 1
        else:
            ops.append(("ins", None, j - 1))
            j -= 1
    return ops[::-1]


def errors(ref, hyp):
    """Word errors (substitutions, deletions, insertions) of hyp against ref."""
    return edit_table(ref, hyp)[len(ref)][len(hyp)]


def transcribe(audio, out, flags=(), binary=BIN):
    """The words (dicts of the JSON) of `spacescribe transcribe --no-diarize`."""
    cmd = [binary, "transcribe", "--no-diarize", "--threads", "2", "--formats", "json",
           "--out", out, *flags, audio]
    subprocess.run(cmd, check=True, capture_output=True)
    stem = os.path.splitext(os.path.basename(audio))[0]
    with open(os.path.join(out, stem + ".json")) as fh:
        data = json.load(fh)
    return [w for s in data["segments"] for w in s["words"]]
