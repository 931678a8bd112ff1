//! The cut plan: which stretches of the original recording the published audio leaves
//! out (the dead air before the first word and after the last, and, when asked, the
//! middle of every pause longer than a limit), and the time shift that follows from it:
//! a time of the original, less every cut before it, is its time in the published file.
//!
//! Cuts are placed on the original's own frames (its sample rate), so the audio that is
//! spliced and the times that are shifted agree to the sample. Speech is the transcript's
//! words and, where diarization ran, its turns: no cut ever touches either.

use crate::error::{Error, Result};
use crate::transcript::{ClockAnchor, Cut, RecordingClock, Transcript};
use std::ops::Range;
use std::path::Path;

/// The shortest cut worth making (shorter pauses are left as they are): twice the
/// crossfade, so the two fades of a cut never meet.
pub(crate) const CROSSFADE_SECONDS: f64 = 0.02;
/// The shortest `--max-silence`: room for the crossfade on both sides of a cut.
pub(crate) const MIN_MAX_SILENCE: f64 = 0.1;

/// What to trim, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CutSettings {
    /// Kept before the first word and after the last.
    pub(crate) lead_in: f64,
    pub(crate) lead_out: f64,
    /// Pauses longer than this are shortened to it.
    pub(crate) max_silence: Option<f64>,
}

/// The stretches left out, in order, on the original's frames.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CutPlan {
    rate: u32,
    /// Frames of the original left out, sorted and apart; the last may run to the end.
    cuts: Vec<Range<u64>>,
    /// Frames of the original (as the transcript's duration gives them).
    frames: u64,
}

impl CutPlan {
    /// The cuts for `transcript` (read from `json`, named in errors) at `rate`.
    pub(crate) fn plan(
        transcript: &Transcript,
        rate: u32,
        settings: &CutSettings,
        json: &Path,
    ) -> Result<CutPlan> {
        check_settings(settings)?;
        let to_frame = |t: f64| (t.max(0.0) * f64::from(rate)).round() as u64;
        let frames = to_frame(transcript.source.duration);
        let (first, last) = speech_bounds(transcript).ok_or_else(|| {
            Error::input(
                json,
                "has no words and no speaker turns: no speech to trim to",
            )
        })?;
        let mut cuts = Vec::new();
        let head_end = to_frame(first - settings.lead_in);
        if head_end > 0 {
            cuts.push(0..head_end);
        }
        if let Some(limit) = settings.max_silence {
            let min_cut = to_frame(CROSSFADE_SECONDS) * 2;
            for (start, end) in pauses(transcript, first, last) {
                let excess = end - start - limit;
                if excess <= 0.0 {
                    continue;
                }
                let middle = (start + end) / 2.0;
                let cut = to_frame(middle - excess / 2.0)..to_frame(middle + excess / 2.0);
                if cut.end - cut.start >= min_cut.max(1) {
                    cuts.push(cut);
                }
            }
        }
        let tail_start = to_frame(last + settings.lead_out);
        if tail_start < frames {
            cuts.push(tail_start..frames);
        }
        Ok(CutPlan { rate, cuts, frames })
    }

    /// The cuts, in frames of the original.
    pub(crate) fn frame_cuts(&self) -> &[Range<u64>] {
        &self.cuts
    }

    /// Whether `cut` runs to the end of the recording (everything after it goes).
    pub(crate) fn runs_to_end(&self, cut: &Range<u64>) -> bool {
        cut.end >= self.frames
    }

    /// The cuts in seconds of the original, as the published transcript records them.
    pub(crate) fn cuts(&self) -> Vec<Cut> {
        self.cuts
            .iter()
            .map(|c| Cut {
                start: self.seconds(c.start),
                end: self.seconds(c.end),
            })
            .collect()
    }

    /// Seconds of the original left in the published file.
    #[cfg(test)]
    fn kept_seconds(&self) -> f64 {
        let cut: u64 = self.cuts.iter().map(|c| c.end - c.start).sum();
        self.seconds(self.frames - cut)
    }

    /// Where time `t` of the original lies in the published file: `t` less every cut
    /// before it (a time inside a cut goes to where the cut is spliced).
    pub(crate) fn shift(&self, t: f64) -> f64 {
        let cut_before: f64 = self
            .cuts
            .iter()
            .map(|c| (t.min(self.seconds(c.end)) - self.seconds(c.start)).max(0.0))
            .sum();
        (t - cut_before).max(0.0)
    }

    /// The original's clock on the published timeline: the clock is set again where
    /// each kept stretch begins (a cut removes time the clock kept running through), and
    /// at each of the original's anchors that is kept. Words keep the wall clock they
    /// were spoken at.
    fn shift_clock(&self, clock: &RecordingClock) -> RecordingClock {
        let Some(source) = clock.anchor else {
            return clock.clone();
        };
        let cuts = self.cuts();
        let inside_cut = |t: f64| cuts.iter().any(|c| c.start <= t && t < c.end);
        let mut points: Vec<(f64, Option<String>)> = std::iter::once(0.0)
            .chain(cuts.iter().map(|c| c.end))
            .map(|t| {
                (
                    t,
                    Some("where a stretch kept from the original begins".into()),
                )
            })
            .chain(clock.anchors.iter().map(|a| (a.at, a.note.clone())))
            .filter(|(t, _)| !inside_cut(*t))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points.dedup_by(|later, first| (later.0 - first.0).abs() < 1e-9);
        let anchors = points
            .into_iter()
            .map(|(t, note)| ClockAnchor {
                at: self.shift(t),
                utc: clock.rfc3339_at(t),
                source,
                note,
            })
            .collect();
        RecordingClock {
            anchors,
            ..clock.clone()
        }
    }

    fn seconds(&self, frame: u64) -> f64 {
        frame as f64 / f64::from(self.rate)
    }

    /// Moves every time of `transcript` onto the published timeline: words, segments,
    /// turns, gaps; turns and gaps left with nothing are dropped, speaking times summed
    /// again from what is left.
    pub(crate) fn shift_transcript(&self, transcript: &mut Transcript) {
        for segment in &mut transcript.segments {
            segment.start = self.shift(segment.start);
            segment.end = self.shift(segment.end);
            for word in &mut segment.words {
                word.start = self.shift(word.start);
                word.end = self.shift(word.end);
            }
        }
        transcript.turns.retain_mut(|turn| {
            turn.start = self.shift(turn.start);
            turn.end = self.shift(turn.end);
            turn.end > turn.start
        });
        transcript.source.gaps.retain_mut(|gap| {
            let marked_point = gap.start == gap.end;
            gap.start = self.shift(gap.start);
            gap.end = self.shift(gap.end);
            marked_point || gap.end > gap.start
        });
        transcript.source.clock = self.shift_clock(&transcript.source.clock);
        for speaker in &mut transcript.speakers {
            speaker.total_time = transcript
                .turns
                .iter()
                .filter(|t| t.speaker == speaker.id)
                .map(|t| t.end - t.start)
                .sum();
        }
    }
}

fn check_settings(settings: &CutSettings) -> Result<()> {
    let leads = [settings.lead_in, settings.lead_out];
    if leads
        .iter()
        .any(|l| !l.is_finite() || *l < CROSSFADE_SECONDS)
    {
        return Err(Error::Usage(format!(
            "--lead-in and --lead-out must be at least {CROSSFADE_SECONDS} s (the fade in and out)"
        )));
    }
    match settings.max_silence {
        Some(s) if !s.is_finite() || s < MIN_MAX_SILENCE => Err(Error::Usage(format!(
            "--max-silence must be at least {MIN_MAX_SILENCE} s"
        ))),
        _ => Ok(()),
    }
}

/// The first and last moment of speech: the first word's start and the last word's end
/// (turns only when there are no words: diarization also finds "speech" in hold music,
/// which is exactly what the trim is for).
fn speech_bounds(transcript: &Transcript) -> Option<(f64, f64)> {
    let words: Vec<(f64, f64)> = transcript.words().map(|w| (w.start, w.end)).collect();
    let spans = if words.is_empty() {
        transcript.turns.iter().map(|t| (t.start, t.end)).collect()
    } else {
        words
    };
    let first = spans.iter().map(|s| s.0).min_by(f64::total_cmp)?;
    let last = spans.iter().map(|s| s.1.max(s.0)).max_by(f64::total_cmp)?;
    Some((first, last))
}

/// The pauses between `first` and `last`: stretches in which no word is spoken and no
/// turn runs, in order.
fn pauses(transcript: &Transcript, first: f64, last: f64) -> Vec<(f64, f64)> {
    let mut speech: Vec<(f64, f64)> = transcript
        .words()
        .map(|w| (w.start, w.end))
        .chain(transcript.turns.iter().map(|t| (t.start, t.end)))
        .map(|(s, e)| (s.max(first), e.min(last)))
        .filter(|(s, e)| e >= s)
        .collect();
    speech.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut pauses = Vec::new();
    let mut speech_until = first;
    for (start, end) in speech {
        if start > speech_until {
            pauses.push((speech_until, start));
        }
        speech_until = speech_until.max(end);
    }
    pauses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::*;

    fn word(text: &str, start: f64, end: f64) -> Word {
        Word {
            word: text.into(),
            start,
            end,
            probability: 0.9,
            speaker: Some("SPEAKER_00".into()),
            overlap: false,
            wall_clock: None,
        }
    }

    /// Words at 20-21 s, 21.2-22 s, then (after a 6 s pause) 28-29 s; a turn covering
    /// the first two words and 40 s of recording.
    fn transcript() -> Transcript {
        let words = vec![
            word("one", 20.0, 21.0),
            word("two", 21.2, 22.0),
            word("three", 28.0, 29.0),
        ];
        Transcript {
            tool: ToolInfo::default(),
            source: SourceInfo {
                duration: 40.0,
                gaps: vec![Gap {
                    start: 2.0,
                    end: 3.0,
                    reason: "missing chunk".into(),
                }],
                ..SourceInfo::default()
            },
            model: ModelInfo::default(),
            params: TranscribeParams::default(),
            speakers: vec![Speaker {
                id: "SPEAKER_00".into(),
                name: "SPEAKER_00".into(),
                total_time: 10.0,
                named_by: "diarization".into(),
                voiceprint_similarity: None,
            }],
            turns: vec![Turn {
                start: 19.5,
                end: 22.5,
                speaker: "SPEAKER_00".into(),
            }],
            metadata: None,
            segments: vec![Segment {
                start: 20.0,
                end: 29.0,
                speaker: Some("SPEAKER_00".into()),
                text: "one two three".into(),
                words,
                avg_logprob: -0.1,
                no_speech_prob: 0.0,
                overlap: false,
                wall_clock: None,
            }],
        }
    }

    fn settings(max_silence: Option<f64>) -> CutSettings {
        CutSettings {
            lead_in: 0.5,
            lead_out: 1.0,
            max_silence,
        }
    }

    fn plan(max_silence: Option<f64>) -> CutPlan {
        CutPlan::plan(
            &transcript(),
            48_000,
            &settings(max_silence),
            Path::new("t.json"),
        )
        .unwrap()
    }

    #[test]
    fn dead_air_is_trimmed_to_the_words_with_a_lead_in_and_out() {
        let plan = plan(None);
        assert_eq!(
            plan.cuts(),
            [
                Cut {
                    start: 0.0,
                    end: 19.5
                },
                Cut {
                    start: 30.0,
                    end: 40.0
                }
            ]
        );
        assert!((plan.kept_seconds() - 10.5).abs() < 1e-9);
        assert_eq!(plan.shift(20.0), 0.5);
        assert_eq!(plan.shift(29.0), 9.5);
        // Inside the head cut: where the splice is.
        assert_eq!(plan.shift(5.0), 0.0);
    }

    #[test]
    fn long_pauses_are_cut_in_their_middle_and_turns_are_speech() {
        let plan = plan(Some(2.0));
        // The pause runs from the turn's end (22.5) to the third word (28.0): 5.5 s,
        // of which 3.5 go, centred on 25.25.
        let inner = plan.cuts()[1];
        assert!((inner.start - 23.5).abs() < 1e-9 && (inner.end - 27.0).abs() < 1e-9);
        // The 0.2 s pause between the first two words stays.
        assert_eq!(plan.cuts().len(), 3);
        // A word's time less every cut before it, to the sample.
        assert!((plan.shift(28.0) - (28.0 - 19.5 - 3.5)).abs() < 1e-9);
        assert!((plan.shift(21.2) - (21.2 - 19.5)).abs() < 1e-9);
    }

    #[test]
    fn the_transcript_moves_with_the_cuts() {
        let plan = plan(Some(2.0));
        let mut t = transcript();
        plan.shift_transcript(&mut t);
        let starts: Vec<f64> = t.words().map(|w| w.start).collect();
        assert_eq!(starts.len(), 3);
        assert!((starts[2] - 5.0).abs() < 1e-9, "{starts:?}");
        assert!((t.segments[0].end - 6.0).abs() < 1e-9);
        assert!((t.turns[0].start - 0.0).abs() < 1e-9 && (t.turns[0].end - 3.0).abs() < 1e-9);
        // The gap lay wholly in the head cut: gone.
        assert!(t.source.gaps.is_empty());
        assert!((t.speakers[0].total_time - 3.0).abs() < 1e-9);
    }

    #[test]
    fn bad_settings_and_empty_transcripts_are_refused() {
        let t = transcript();
        let json = Path::new("t.json");
        let tight = CutSettings {
            max_silence: Some(0.05),
            ..settings(None)
        };
        let err = CutPlan::plan(&t, 48_000, &tight, json).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
        let mut empty = t.clone();
        empty.segments.clear();
        empty.turns.clear();
        let err = CutPlan::plan(&empty, 48_000, &settings(None), json).unwrap_err();
        assert!(err.to_string().contains("t.json"), "{err}");
    }
}
