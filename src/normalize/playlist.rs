//! Placing a playlist's chunks on its timeline, in playlist order, whatever plan decodes
//! them ([`super::adts_playlist`] lays ADTS chunks out before decoding,
//! [`super::chunk_groups`] places other chunks as they decode): timestamp gaps between
//! chunks and chunks that cannot be used become silence, discontinuities are marked
//! ([`ChunkPlacer`], following the chunks' clock with [`ChunkClock`]).

use super::ClockEvent;
use crate::error::{Error, Result};
use crate::ingest::decode::StreamInfo;
use crate::ingest::{Part, Recording, Silence, id3};
use crate::transcript::ClockSource;

/// A timestamp jump between chunks larger than this is a gap.
const GAP_THRESHOLD_SECONDS: f64 = 0.5;
/// Longest silence put in for one timestamp gap; beyond this the clock is not trusted.
const MAX_GAP_SECONDS: f64 = 3600.0;

/// A chunk that can be placed: its format (with its clock stamp), its length, and what
/// stands for its audio (decoded audio, or where to find it).
pub(super) struct ChunkToPlace<T> {
    pub(super) info: StreamInfo,
    pub(super) seconds: f64,
    pub(super) audio: T,
}

/// What placing a chunk puts on the timeline, in order.
pub(super) enum Placement<T> {
    /// A discontinuity: nothing on the timeline, a zero-length gap in the report.
    Mark(String),
    /// Where the input ties the timeline to the wall clock (zero length).
    Clock(ClockEvent),
    /// Standing in for a timestamp gap or an unusable chunk.
    Silence(Silence),
    Chunk(T),
}

/// Puts chunks on the timeline in playlist order: marks discontinuities, fills
/// timestamp gaps and failed chunks with silence.
#[derive(Default)]
pub(super) struct ChunkPlacer {
    clock: ChunkClock,
    first_info: Option<StreamInfo>,
    first_error: Option<Error>,
}

impl ChunkPlacer {
    /// Places `part` (decoded or laid out as `chunk`, or why it cannot be) after the
    /// parts placed before it, handing what goes on the timeline to `put`.
    pub(super) fn place<T>(
        &mut self,
        part: &Part,
        chunk: Result<ChunkToPlace<T>>,
        put: &mut impl FnMut(Placement<T>),
    ) {
        if part.discontinuity {
            put(Placement::Mark(format!(
                "discontinuity before {}",
                part.name
            )));
            put(Placement::Clock(ClockEvent::Discontinuity {
                part: part.name.clone(),
            }));
            self.clock.reset();
        }
        match chunk {
            Ok(chunk) => {
                let ts = chunk.info.id3_timestamp;
                if let Some(gap) = self.clock.gap_before(&part.name, ts) {
                    put(Placement::Silence(gap));
                }
                put_dates(part, chunk.info.id3_wall_clock, put);
                self.clock.advance(ts, chunk.seconds);
                self.first_info.get_or_insert(chunk.info);
                put(Placement::Chunk(chunk.audio));
            }
            Err(e) => {
                put_dates(part, None, put);
                let seconds = part.nominal_seconds.unwrap_or(0.0);
                self.clock.skip(seconds);
                put(Placement::Silence(Silence {
                    seconds,
                    reason: chunk_failure(part, &e),
                }));
                self.first_error.get_or_insert(e);
            }
        }
    }

    /// The format of the first usable chunk; none at all is an error.
    pub(super) fn into_info(self, rec: &Recording) -> Result<StreamInfo> {
        self.first_info.ok_or_else(|| {
            Error::input(
                &rec.path,
                format!(
                    "no chunk of the playlist could be decoded (first failure: {})",
                    self.first_error
                        .map_or_else(|| "none".into(), |e| e.to_string())
                ),
            )
        })
    }
}

/// The dates a part's first sample carries: its playlist entry's, its ID3 tag's.
fn put_dates<T>(
    part: &Part,
    id3_wall_clock: Option<chrono::DateTime<chrono::Utc>>,
    put: &mut impl FnMut(Placement<T>),
) {
    let dates = [
        (ClockSource::ProgramDateTime, part.program_date_time),
        (ClockSource::Id3, id3_wall_clock),
    ];
    for (source, utc) in dates {
        if let Some(utc) = utc {
            put(Placement::Clock(ClockEvent::Dated {
                source,
                utc,
                part: part.name.clone(),
            }));
        }
    }
}

/// Gap reason for a chunk that could not be used at all.
pub(super) fn chunk_failure(part: &Part, e: &Error) -> String {
    match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            format!("missing chunk {}", part.name)
        }
        Error::Io { source, .. } => format!("damaged chunk {}: {source}", part.name),
        Error::Input { reason, .. } => format!("damaged chunk {}: {reason}", part.name),
        Error::UnsupportedCodec { codec, .. } => {
            format!("damaged chunk {}: unsupported codec {codec}", part.name)
        }
        other => format!("damaged chunk {}: {other}", part.name),
    }
}

/// Follows the chunks' 90 kHz transport-stream clock to spot time missing between them.
#[derive(Debug, Default)]
struct ChunkClock {
    /// Where the next chunk should start, when known.
    expected: Option<u64>,
}

impl ChunkClock {
    fn reset(&mut self) {
        self.expected = None;
    }

    /// Silence to insert before a chunk stamped `ts`, when it starts later than expected.
    fn gap_before(&self, name: &str, ts: Option<u64>) -> Option<Silence> {
        let (expected, ts) = (self.expected?, ts?);
        let ahead = ts.wrapping_sub(expected) & id3::CLOCK_MASK;
        // Half the clock range or more means the chunk starts early (overlap), not late.
        if ahead >= 1 << 32 {
            return None;
        }
        let seconds = ahead as f64 / id3::CLOCK_HZ as f64;
        if seconds <= GAP_THRESHOLD_SECONDS {
            return None;
        }
        let filled = seconds.min(MAX_GAP_SECONDS);
        let capped = if filled < seconds {
            format!(" (capped from {seconds:.1} s)")
        } else {
            String::new()
        };
        Some(Silence {
            seconds: filled,
            reason: format!("timestamp gap before {name}{capped}"),
        })
    }

    /// A chunk stamped `ts` lasting `seconds` was placed.
    fn advance(&mut self, ts: Option<u64>, seconds: f64) {
        self.expected = ts.map(|t| add_ticks(t, seconds));
    }

    /// A chunk of `seconds` was replaced by silence.
    fn skip(&mut self, seconds: f64) {
        self.expected = self.expected.map(|t| add_ticks(t, seconds));
    }
}

fn add_ticks(ts: u64, seconds: f64) -> u64 {
    (ts + (seconds * id3::CLOCK_HZ as f64).round() as u64) & id3::CLOCK_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_clock_finds_late_chunks_only() {
        let mut c = ChunkClock::default();
        assert!(c.gap_before("a", Some(1000)).is_none());
        c.advance(Some(1000), 3.0);
        assert!(c.gap_before("b", Some(1000 + 270_000 + 9_000)).is_none());
        let Some(Silence { seconds, reason }) = c.gap_before("b", Some(1000 + 270_000 + 180_000))
        else {
            panic!("no gap")
        };
        assert!((seconds - 2.0).abs() < 1e-9 && reason.contains("timestamp gap before b"));
        assert!(
            c.gap_before("b", Some(500)).is_none(),
            "overlap is not a gap"
        );
        // Wrap-around of the 33-bit clock.
        c.advance(Some(id3::CLOCK_MASK - 90_000), 1.0);
        assert!(c.gap_before("w", Some(0)).is_none());
        let Some(Silence { seconds, .. }) = c.gap_before("w", Some(90_000)) else {
            panic!()
        };
        assert!((seconds - 1.0).abs() < 1e-4);
    }
}
