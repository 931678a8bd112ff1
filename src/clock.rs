//! Clock: ties the recording's seconds to UTC, and dates every word and segment.
//!
//! The input's own dates ([`ClockMark`]s the normalize stage found on its timeline: a
//! playlist entry's `#EXT-X-PROGRAM-DATE-TIME`, a chunk's ID3 `TIT3`, and the playlist's
//! discontinuities), the metadata file's `started_at` and the user's `--started-at` are
//! the anchors. [`resolve`] keeps the most trusted kind the input has and follows each
//! of its anchors (after a discontinuity or a timestamp gap the clock is what the next
//! chunk says, not what the one before would predict); where no anchor follows a
//! discontinuity the clock is lost rather than guessed. Anchors that disagree by more
//! than a second become warnings. [`apply`] writes the result into a transcript.

use crate::error::{Error, Result};
use crate::normalize::{ClockEvent, ClockMark};
use crate::transcript::{
    ClockAnchor, ClockSource, RecordingClock, SourceInfo, Transcript, rfc3339_millis,
};
use chrono::{DateTime, Utc};

/// Anchors further apart than this disagree (a warning).
const DISAGREE_SECONDS: f64 = 1.0;

/// The user's `--started-at`: RFC 3339 with its zone (a `T` or a space between date
/// and time); a time with no zone is refused rather than read as UTC or local time.
pub(crate) fn parse_started_at(text: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    let with_t = match text.get(10..11) {
        Some(" ") => format!("{}T{}", &text[..10], &text[11..]),
        _ => text.to_string(),
    };
    DateTime::parse_from_rfc3339(&with_t)
        .map(|t| t.to_utc())
        .map_err(|_| {
            Error::Usage(format!(
                "--started-at {text:?} is not a time with a zone; give e.g. 2024-08-13T00:41:07Z or 2024-08-12T20:41:07-04:00"
            ))
        })
}

/// What dates the recording, besides its own stream.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OtherAnchors<'a> {
    /// The metadata file's `started_at` (RFC 3339).
    pub(crate) metadata: Option<&'a str>,
    pub(crate) user: Option<DateTime<Utc>>,
}

/// One dated point, of any kind.
#[derive(Debug, Clone)]
struct Stamp {
    at: f64,
    utc: DateTime<Utc>,
    source: ClockSource,
    note: String,
}

/// In recording order: a date, or a discontinuity (where time may be missing).
enum Event {
    Stamp(Stamp),
    Discontinuity { at: f64, part: String },
}

/// The recording's clock from every anchor it has.
pub(crate) fn resolve(marks: &[ClockMark], other: OtherAnchors<'_>) -> RecordingClock {
    let events = events(marks, other);
    let stamps = || {
        events.iter().filter_map(|e| match e {
            Event::Stamp(s) => Some(s),
            Event::Discontinuity { .. } => None,
        })
    };
    let Some(best) = stamps().map(|s| s.source).min() else {
        return RecordingClock::default();
    };
    let mut clock = follow(&events, best);
    for source in [ClockSource::Id3, ClockSource::Metadata, ClockSource::User] {
        if source != best
            && let Some(warning) = disagreement(&clock, stamps().filter(|s| s.source == source))
        {
            clock.warnings.push(warning);
        }
    }
    clock
}

/// Sets the transcript's clock and dates its segments and words.
pub(crate) fn apply(clock: RecordingClock, transcript: &mut Transcript) {
    for segment in &mut transcript.segments {
        segment.wall_clock = clock.rfc3339_at(segment.start);
        for word in &mut segment.words {
            word.wall_clock = clock.rfc3339_at(word.start);
        }
    }
    set_source_clock(clock, &mut transcript.source);
}

/// Sets a source's clock and the wall clock of its first sample.
pub(crate) fn set_source_clock(clock: RecordingClock, source: &mut SourceInfo) {
    source.wall_clock_start = clock.rfc3339_at(0.0);
    source.clock = clock;
}

fn events(marks: &[ClockMark], other: OtherAnchors<'_>) -> Vec<Event> {
    let seconds = |at: u64| crate::audio::seconds(at);
    let mut events: Vec<Event> = marks
        .iter()
        .map(|m| match &m.event {
            ClockEvent::Dated { source, utc, part } => Event::Stamp(Stamp {
                at: seconds(m.at),
                utc: *utc,
                source: *source,
                note: part.clone(),
            }),
            ClockEvent::Discontinuity { part } => Event::Discontinuity {
                at: seconds(m.at),
                part: part.clone(),
            },
        })
        .collect();
    let metadata = other
        .metadata
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (ClockSource::Metadata, t.to_utc(), "metadata started_at"));
    let user = other.user.map(|t| (ClockSource::User, t, "--started-at"));
    let starts = metadata.into_iter().chain(user).map(|(source, utc, note)| {
        Event::Stamp(Stamp {
            at: 0.0,
            utc,
            source,
            note: note.into(),
        })
    });
    // Before the stream's own events, so a discontinuity at 0 comes after them.
    events.splice(0..0, starts);
    events
}

/// The clock the anchors of `source` give, walking the events in order.
fn follow(events: &[Event], source: ClockSource) -> RecordingClock {
    let mut clock = RecordingClock {
        anchor: Some(source),
        ..RecordingClock::default()
    };
    let mut discontinuity: Option<(f64, &str)> = None;
    for event in events {
        match event {
            Event::Discontinuity { at, part } => {
                discontinuity.get_or_insert((*at, part));
            }
            Event::Stamp(stamp) if stamp.source == source => {
                let after = discontinuity.take();
                if let Some((at, part)) = after.filter(|(at, _)| stamp.at - at > 1e-3) {
                    lose_clock(&mut clock, at, part, source);
                }
                set_clock(&mut clock, stamp, after.is_some());
            }
            Event::Stamp(_) => {}
        }
    }
    if let Some((at, part)) = discontinuity {
        lose_clock(&mut clock, at, part, source);
    }
    clock
}

/// Takes `stamp` as an anchor when the clock is not running, or when it says another
/// time than the clock does there; a jump of more than a second that no discontinuity
/// explains is a warning (the stamp is still followed: it dates its own chunk).
fn set_clock(clock: &mut RecordingClock, stamp: &Stamp, after_discontinuity: bool) {
    let Some(running) = clock.utc_at(stamp.at) else {
        clock.anchors.push(anchor(stamp));
        return;
    };
    let jump = (stamp.utc - running).as_seconds_f64();
    if jump.abs() > RecordingClock::SET_AFTER || after_discontinuity {
        clock.anchors.push(anchor(stamp));
    }
    if jump.abs() > DISAGREE_SECONDS && !after_discontinuity {
        clock.warnings.push(format!(
            "the clock jumps by {jump:+.3} s at {:.3} s ({}) with no discontinuity in the playlist; following {}",
            stamp.at, stamp.note, stamp.note
        ));
    }
}

/// A discontinuity at `at` before `part` that no anchor of `source` dates: the time
/// after it is unknown until the next anchor.
fn lose_clock(clock: &mut RecordingClock, at: f64, part: &str, source: ClockSource) {
    if clock.anchors.is_empty() {
        return; // nothing to lose yet
    }
    let why = format!("discontinuity before {part} with no date of its own");
    clock.warnings.push(format!(
        "{why} at {at:.3} s: no wall clock from there until {} dates a chunk again",
        source.describe()
    ));
    clock.anchors.push(ClockAnchor {
        at,
        utc: None,
        source,
        note: Some(why),
    });
}

fn anchor(stamp: &Stamp) -> ClockAnchor {
    ClockAnchor {
        at: stamp.at,
        utc: Some(rfc3339_millis(stamp.utc)),
        source: stamp.source,
        note: Some(stamp.note.clone()),
    }
}

/// The first of `stamps` (anchors of a less trusted kind) further than a second from
/// `clock`, as a warning.
fn disagreement<'a>(
    clock: &RecordingClock,
    mut stamps: impl Iterator<Item = &'a Stamp>,
) -> Option<String> {
    let used = clock.anchor?;
    stamps.find_map(|stamp| {
        let running = clock.utc_at(stamp.at)?;
        let off = (stamp.utc - running).as_seconds_f64();
        (off.abs() > DISAGREE_SECONDS).then(|| {
            format!(
                "{} ({}) disagrees with {} by {off:+.3} s at {:.3} s; using {}",
                stamp.source.describe(),
                rfc3339_millis(stamp.utc),
                used.describe(),
                stamp.at,
                used.describe()
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn dated(seconds: u64, source: ClockSource, when: &str, part: &str) -> ClockMark {
        ClockMark {
            at: seconds * 16_000,
            event: ClockEvent::Dated {
                source,
                utc: utc(when),
                part: part.into(),
            },
        }
    }

    fn pdt(seconds: u64, when: &str, part: &str) -> ClockMark {
        dated(seconds, ClockSource::ProgramDateTime, when, part)
    }

    fn discontinuity(seconds: u64, part: &str) -> ClockMark {
        ClockMark {
            at: seconds * 16_000,
            event: ClockEvent::Discontinuity { part: part.into() },
        }
    }

    #[test]
    fn started_at_needs_a_zone() {
        let t = parse_started_at("2024-08-12 20:41:07-04:00").unwrap();
        assert_eq!(rfc3339_millis(t), "2024-08-13T00:41:07.000Z");
        assert!(parse_started_at("2024-08-13T00:41:07.250Z").is_ok());
        let e = parse_started_at("2024-08-13 00:41:07").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Usage);
        assert!(e.to_string().contains("zone"));
    }

    #[test]
    fn every_chunk_dated_keeps_only_where_the_clock_is_set() {
        let marks = [
            pdt(0, "2024-08-13T00:00:00.000Z", "c0"),
            pdt(3, "2024-08-13T00:00:03.005Z", "c1"), // rounding: not an anchor
            discontinuity(6, "c2"),
            pdt(6, "2024-08-13T00:40:00.000Z", "c2"), // the Space came back 40 min later
            pdt(9, "2024-08-13T00:40:03.000Z", "c3"),
        ];
        let clock = resolve(&marks, OtherAnchors::default());
        assert_eq!(clock.anchor, Some(ClockSource::ProgramDateTime));
        let at: Vec<_> = clock.anchors.iter().map(|a| a.at).collect();
        assert_eq!(at, [0.0, 6.0]);
        assert!(clock.warnings.is_empty(), "{:?}", clock.warnings);
        assert_eq!(
            clock.rfc3339_at(5.999).as_deref(),
            Some("2024-08-13T00:00:05.999Z")
        );
        assert_eq!(
            clock.rfc3339_at(7.25).as_deref(),
            Some("2024-08-13T00:40:01.250Z")
        );
    }

    #[test]
    fn a_jump_without_a_discontinuity_is_followed_and_warned() {
        let marks = [
            pdt(0, "2024-08-13T00:00:00Z", "c0"),
            pdt(3, "2024-08-13T00:00:10Z", "c1"),
        ];
        let clock = resolve(&marks, OtherAnchors::default());
        assert_eq!(clock.anchors.len(), 2);
        assert_eq!(
            clock.rfc3339_at(4.0).as_deref(),
            Some("2024-08-13T00:00:11.000Z")
        );
        assert_eq!(clock.warnings.len(), 1);
        assert!(clock.warnings[0].contains("+7.000 s at 3.000 s (c1)"));
    }

    #[test]
    fn an_undated_discontinuity_loses_the_clock_until_the_next_date() {
        let marks = [
            pdt(0, "2024-08-13T00:00:00Z", "c0"),
            discontinuity(6, "c2"),
            pdt(9, "2024-08-13T01:00:00Z", "c3"),
        ];
        let clock = resolve(&marks, OtherAnchors::default());
        assert!(clock.rfc3339_at(5.0).is_some());
        assert_eq!(clock.rfc3339_at(7.0), None);
        assert_eq!(
            clock.rfc3339_at(9.5).as_deref(),
            Some("2024-08-13T01:00:00.500Z")
        );
        assert!(clock.warnings[0].contains("discontinuity before c2"));
    }

    #[test]
    fn the_most_trusted_anchor_wins_and_the_others_are_checked() {
        let marks = [
            dated(0, ClockSource::Id3, "2024-08-13T00:00:02Z", "c0"),
            pdt(0, "2024-08-13T00:00:00Z", "c0"),
        ];
        let user = Some(utc("2024-08-13T00:00:00.400Z"));
        let other = OtherAnchors {
            metadata: Some("2024-08-12T23:20:00.000Z"),
            user,
        };
        let clock = resolve(&marks, other);
        assert_eq!(clock.anchor, Some(ClockSource::ProgramDateTime));
        assert_eq!(clock.warnings.len(), 2, "{:?}", clock.warnings);
        assert!(clock.warnings[0].starts_with("the chunks' ID3 TIT3 stamps"));
        assert!(clock.warnings[1].contains("metadata") && clock.warnings[1].contains("-2400"));
        // The user's start agrees within a second: no warning.
        let only_user = resolve(
            &[],
            OtherAnchors {
                metadata: None,
                user,
            },
        );
        assert_eq!(only_user.anchor, Some(ClockSource::User));
        assert_eq!(
            only_user.rfc3339_at(1.0).as_deref(),
            Some("2024-08-13T00:00:01.400Z")
        );
    }

    #[test]
    fn a_start_time_does_not_carry_across_a_discontinuity() {
        let other = OtherAnchors {
            metadata: Some("2024-08-13T00:00:00.000Z"),
            user: None,
        };
        let clock = resolve(&[discontinuity(30, "c10")], other);
        assert_eq!(clock.anchor, Some(ClockSource::Metadata));
        assert!(clock.rfc3339_at(29.0).is_some());
        assert_eq!(clock.rfc3339_at(31.0), None);
        assert_eq!(
            resolve(&[], OtherAnchors::default()),
            RecordingClock::default()
        );
    }
}
