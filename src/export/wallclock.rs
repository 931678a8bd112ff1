//! Wall-clock times for the transcript page: the recording's start (RFC 3339, from
//! an HLS playlist's PROGRAM-DATE-TIME) plus a time into the recording, shown in
//! the start's own time zone, since that is where the event happened.

use chrono::{DateTime, FixedOffset, TimeDelta};

/// The wall-clock time of the recording's first sample.
#[derive(Debug, Clone, Copy)]
pub struct WallClock(DateTime<FixedOffset>);

impl WallClock {
    /// `None` when the transcript carries no start or one that is not RFC 3339.
    pub fn parse(rfc3339: Option<&str>) -> Option<WallClock> {
        DateTime::parse_from_rfc3339(rfc3339?.trim())
            .ok()
            .map(WallClock)
    }

    /// The wall-clock time `seconds` into the recording, to the millisecond.
    pub fn at(self, seconds: f64) -> DateTime<FixedOffset> {
        self.0 + TimeDelta::milliseconds((seconds.max(0.0) * 1000.0).round() as i64)
    }

    /// `2024-08-13 00:00:00 UTC` (or `+02:00`): the date line of the page.
    pub(crate) fn date_line(self) -> String {
        self.date_time(0.0)
    }

    /// `2024-08-13 00:41:07 UTC` (or `+02:00`), `seconds` into the recording: a
    /// citation's date and time.
    pub fn date_time(self, seconds: f64) -> String {
        format!(
            "{} {}",
            self.at(seconds).format("%Y-%m-%d %H:%M:%S"),
            self.zone()
        )
    }

    /// `hh:mm:ss UTC` (or `+02:00`), `seconds` into the recording: the zone keeps it
    /// apart from the time into the recording shown beside it.
    pub(crate) fn time_of_day(self, seconds: f64) -> String {
        format!("{} {}", self.at(seconds).format("%H:%M:%S"), self.zone())
    }

    fn zone(self) -> String {
        if self.0.offset().local_minus_utc() == 0 {
            "UTC".to_string()
        } else {
            self.0.format("%:z").to_string()
        }
    }

    /// RFC 3339, `seconds` into the recording: the `datetime` of a `<time>` element.
    pub(crate) fn rfc3339(self, seconds: f64) -> String {
        self.at(seconds).to_rfc3339()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_time_into_the_recording_across_midnight() {
        let start = WallClock::parse(Some("2024-08-12T23:59:30.000+02:00")).unwrap();
        assert_eq!(start.date_line(), "2024-08-12 23:59:30 +02:00");
        assert_eq!(start.time_of_day(45.2), "00:00:15 +02:00");
        assert_eq!(start.rfc3339(45.0), "2024-08-13T00:00:15+02:00");
        let utc = WallClock::parse(Some("2024-08-13T00:00:00+00:00")).unwrap();
        assert_eq!(utc.date_line(), "2024-08-13 00:00:00 UTC");
        assert!(WallClock::parse(Some("yesterday")).is_none());
        assert!(WallClock::parse(None).is_none());
    }
}
