//! Wall-clock times as people read them: the recording's clock (see
//! [`RecordingClock`]) at a time into the recording, in UTC, written out for the page's
//! turns and date line, the text format and the quote tool's citations.

use crate::transcript::{RecordingClock, Transcript};
use chrono::{DateTime, Utc};

/// The recording's clock, when it has one.
#[derive(Debug, Clone, Copy)]
pub struct WallClock<'a>(&'a RecordingClock);

impl<'a> WallClock<'a> {
    /// `None` when nothing dates the recording.
    pub fn of(transcript: &'a Transcript) -> Option<WallClock<'a>> {
        let clock = &transcript.source.clock;
        clock.anchor.is_some().then_some(WallClock(clock))
    }

    /// UTC `seconds` into the recording; `None` where the clock is lost.
    pub fn at(self, seconds: f64) -> Option<DateTime<Utc>> {
        self.0.utc_at(seconds)
    }

    /// `2024-08-13 00:41:07 UTC`, `seconds` into the recording: a citation's date and
    /// time, and the page's date line.
    pub fn date_time(self, seconds: f64) -> Option<String> {
        self.at(seconds)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
    }

    /// `00:41:07 UTC`: the zone keeps it apart from the time into the recording beside it.
    pub(crate) fn time_of_day(self, seconds: f64) -> Option<String> {
        self.at(seconds)
            .map(|t| t.format("%H:%M:%S UTC").to_string())
    }

    /// RFC 3339 with milliseconds: the `datetime` of a `<time>` element.
    pub(crate) fn rfc3339(self, seconds: f64) -> Option<String> {
        self.0.rfc3339_at(seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{ClockAnchor, ClockSource};

    #[test]
    fn reads_the_recording_clock_across_midnight_and_where_it_is_lost() {
        let mut t = crate::export::fixture::two_speakers();
        assert!(WallClock::of(&t).is_none());
        let anchor = |at: f64, utc: Option<&str>| ClockAnchor {
            at,
            utc: utc.map(str::to_string),
            source: ClockSource::ProgramDateTime,
            note: None,
        };
        t.source.clock = RecordingClock {
            anchor: Some(ClockSource::ProgramDateTime),
            anchors: vec![
                anchor(0.0, Some("2024-08-12T23:59:30.000+02:00")),
                anchor(60.0, None),
            ],
            warnings: Vec::new(),
        };
        let clock = WallClock::of(&t).unwrap();
        assert_eq!(clock.date_time(0.0).unwrap(), "2024-08-12 21:59:30 UTC");
        assert_eq!(clock.time_of_day(45.2).unwrap(), "22:00:15 UTC");
        assert_eq!(clock.rfc3339(45.0).unwrap(), "2024-08-12T22:00:15.000Z");
        assert_eq!(clock.time_of_day(61.0), None);
    }
}
