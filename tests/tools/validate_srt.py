"""Strict SRT check with PyPI `srt` (installed by ./scripts/setup in the test venv):
every file parses with nothing skipped (ignore_errors=False raises on any junk between
subtitles), indices run 1..N, every cue has text and starts before it ends, and
composing the parsed cues again gives back the file's text. Prints one line per
problem and exits 1 when any file has one. Usage: python validate_srt.py FILE.srt..."""
import sys

import srt

failed = False
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    try:
        subs = list(srt.parse(text, ignore_errors=False))
    except srt.SRTParseError as e:
        print(f"{path}: {e}")
        failed = True
        continue
    problems = []
    if not subs:
        problems.append("no cues")
    for n, sub in enumerate(subs, start=1):
        if sub.index != n:
            problems.append(f"cue {n} is numbered {sub.index}")
        if not sub.content.strip():
            problems.append(f"cue {n} has no text")
        if sub.start >= sub.end:
            problems.append(f"cue {n} ends before it starts")
    if srt.compose(subs, reindex=False).rstrip("\n") != text.rstrip("\n"):
        problems.append("does not compose back to the same text")
    for p in problems:
        print(f"{path}: {p}")
        failed = True
sys.exit(1 if failed else 0)
