//! Timestamp spellings shared by the exporters.

/// Milliseconds, rounded, never negative.
fn millis(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0).round() as u64
}

/// `hh:mm:ss{sep}mmm`: WebVTT uses `.`, SRT uses `,`.
pub(crate) fn clock_millis(seconds: f64, sep: char) -> String {
    let ms = millis(seconds);
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// `hh:mm:ss`, truncated to the second a reader would look for.
pub(crate) fn clock(seconds: f64) -> String {
    let s = millis(seconds) / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_hours_minutes_seconds() {
        assert_eq!(clock_millis(3661.5, '.'), "01:01:01.500");
        assert_eq!(clock_millis(0.0004, ','), "00:00:00,000");
        assert_eq!(clock(59.9996), "00:01:00");
        assert_eq!(clock(7322.2), "02:02:02");
    }
}
