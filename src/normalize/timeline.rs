//! The 16 kHz timeline a recording is joined into, and its far end: what goes on it
//! ([`Piece`]s: source-rate audio, silence with a reason, zero-length marks), how it is
//! resampled ([`Timeline`]: one continuous [`ResampleStream`] per run of one rate, so
//! there is no seam between blocks, ranges or chunks and each piece starts at the 16 kHz
//! sample its cumulative source position maps to) and where it goes ([`Assembler`]:
//! metered for loudness and written to a sink, the gaps collected).

use super::loudness::LoudnessMeter;
use super::resample::{ResampleStream, out_len};
use super::{ClockEvent, ClockMark};
use crate::audio::{SAMPLE_RATE, SampleSink, seconds};
use crate::error::Result;
use crate::ingest::Silence;
use crate::ingest::decode::{DecodeEvent, PcmBlock, StreamInfo};
use crate::transcript::{Gap, Loudness};
use std::sync::mpsc;

/// Resampled output that may wait to be measured and written.
const READY_AHEAD: usize = 8;

/// One ordered element of a recording's timeline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Pcm(PcmBlock),
    /// Stands in for missing or undecodable audio.
    Silence(Silence),
    /// A zero-length event worth reporting (a playlist discontinuity), and why.
    Mark(String),
    /// Where the input ties the timeline to the wall clock.
    Clock(ClockEvent),
}

impl From<DecodeEvent> for Piece {
    fn from(e: DecodeEvent) -> Piece {
        match e {
            DecodeEvent::Pcm(b) => Piece::Pcm(b),
            DecodeEvent::Undecodable(silence) => Piece::Silence(silence),
        }
    }
}

/// The joined result.
pub(crate) struct Joined {
    /// Number of 16 kHz samples written to the sink.
    pub(crate) length: u64,
    pub(crate) gaps: Vec<Gap>,
    pub(crate) loudness: Loudness,
    /// Format of the (first decoded) source.
    pub(crate) info: StreamInfo,
    /// Where the input dates the timeline, in order.
    pub(crate) clock: Vec<ClockMark>,
}

/// The 16 kHz timeline being built (the whole recording's, or one stretch's on a lane),
/// and what was found along it.
#[derive(Default)]
pub(crate) struct Timeline {
    /// Output not yet handed to the sink.
    out: Vec<f32>,
    /// Output samples already handed to the sink.
    flushed: u64,
    stream: Option<ResampleStream>,
    /// Gaps in 16 kHz samples: (start, end, reason).
    gaps: Vec<(u64, u64, String)>,
    /// Largest absolute source sample, over all channels.
    peak: f32,
    /// Clock events at 16 kHz positions.
    clock: Vec<ClockMark>,
}

impl Timeline {
    /// A timeline for a stretch of `frames` source frames that starts `frames_before`
    /// frames into a same-rate run placed at output position `base`, resampled by
    /// `stream`; the last `warmup` of the frames before are pushed again first
    /// ([`ResampleStream::resume_at`]).
    pub(crate) fn resuming(
        mut stream: ResampleStream,
        base: u64,
        frames_before: u64,
        warmup: u64,
        frames: u64,
    ) -> Timeline {
        let rate = stream.rate();
        stream.resume_at(base, frames_before, warmup);
        Timeline {
            out: Vec::with_capacity(out_len(frames, rate) as usize + 1024),
            stream: Some(stream),
            ..Timeline::default()
        }
    }

    /// Source frames pushed through the current resampler run.
    pub(crate) fn source_frames(&self) -> u64 {
        self.stream.as_ref().map_or(0, |s| s.frames_in())
    }

    /// The resampler, taken out for the next stretch a lane resamples.
    pub(crate) fn take_stream(&mut self) -> Option<ResampleStream> {
        self.stream.take()
    }

    /// Drops what is recorded before output position `start` (a warm-up's gaps, which the
    /// stretch before already reported).
    pub(crate) fn clip_gaps_before(&mut self, start: u64) {
        self.gaps.retain(|g| g.1 > start);
        for g in &mut self.gaps {
            g.0 = g.0.max(start);
        }
    }

    fn position(&self) -> u64 {
        self.stream
            .as_ref()
            .map_or(self.flushed + self.out.len() as u64, |s| s.position())
    }

    /// The resampler for `rate`, starting a new run when the rate changes.
    fn stream_for(&mut self, rate: u32) -> &mut ResampleStream {
        if self.stream.as_ref().is_some_and(|s| s.rate() != rate)
            && let Some(mut old) = self.stream.take()
        {
            old.finish(&mut self.out);
        }
        let at = self.flushed + self.out.len() as u64;
        self.stream
            .get_or_insert_with(|| ResampleStream::new(rate, at))
    }

    pub(crate) fn push(&mut self, piece: Piece) {
        match piece {
            Piece::Pcm(block) => self.push_samples(block.rate, &block.samples, block.peak),
            Piece::Silence(Silence { seconds, reason }) => {
                let rate = self.stream.as_ref().map_or(SAMPLE_RATE, |s| s.rate());
                let frames = (seconds.max(0.0) * f64::from(rate)).round() as u64;
                let start = self.position();
                let mut out = std::mem::take(&mut self.out);
                self.stream_for(rate).push_silence(frames, &mut out);
                self.out = out;
                self.add_gap(start, self.position(), &reason);
            }
            Piece::Mark(reason) => {
                let at = self.position();
                self.add_gap(at, at, &reason);
            }
            Piece::Clock(event) => self.clock.push(ClockMark {
                at: self.position(),
                event,
            }),
        }
    }

    /// Pushes source samples at `rate` whose source peak (over all channels) is `peak`.
    pub(crate) fn push_samples(&mut self, rate: u32, samples: &[f32], peak: f32) {
        self.peak = self.peak.max(peak);
        let mut out = std::mem::take(&mut self.out);
        self.stream_for(rate).push(samples, &mut out);
        self.out = out;
    }

    /// Records a gap, merging it into the previous one when it continues it for the same reason.
    fn add_gap(&mut self, start: u64, end: u64, reason: &str) {
        if let Some(last) = self.gaps.last_mut()
            && last.2 == reason
            && last.1 == start
        {
            last.1 = end;
            return;
        }
        self.gaps.push((start, end, reason.to_string()));
    }

    /// Output ready for the sink, taken out of the timeline.
    fn take_ready(&mut self) -> Vec<f32> {
        let next = Vec::with_capacity(self.out.len());
        let ready = std::mem::replace(&mut self.out, next);
        self.flushed += ready.len() as u64;
        ready
    }

    /// Ends the current resampler run, flushing what it holds.
    pub(crate) fn finish_stream(&mut self) {
        if let Some(stream) = self.stream.as_mut() {
            stream.finish(&mut self.out);
        }
    }

    /// The gaps in timeline order (marks recorded apart are sorted in).
    fn gaps(&mut self) -> Vec<Gap> {
        self.gaps.sort_by_key(|g| (g.0, g.1));
        self.gaps
            .iter()
            .map(|(s, e, reason)| Gap {
                start: seconds(*s),
                end: seconds(*e),
                reason: reason.clone(),
            })
            .collect()
    }
}

/// Consumes pieces in order and streams the 16 kHz result to a sink: resampled on one
/// thread, measured for loudness and written on another ([`Assembler::assemble`]), or,
/// for stretches resampled elsewhere, only measured and written
/// ([`Assembler::push_resampled`]).
pub(crate) struct Assembler<'s> {
    timeline: Timeline,
    output: Output<'s>,
}

/// The far end of the timeline: the loudness meter and the sink.
struct Output<'s> {
    sink: &'s mut (dyn SampleSink + Send),
    meter: LoudnessMeter,
}

impl Output<'_> {
    fn measure_and_write(&mut self, ready: Vec<f32>) -> Result<()> {
        self.meter.push(&ready);
        self.sink.write(&ready)
    }
}

impl<'s> Assembler<'s> {
    pub(crate) fn new(sink: &'s mut (dyn SampleSink + Send)) -> Self {
        Assembler {
            timeline: Timeline::default(),
            output: Output {
                sink,
                meter: LoudnessMeter::default(),
            },
        }
    }

    /// Resamples `pieces` in order on this thread while a thread of its own measures and
    /// writes what comes out, until `pieces` ends or writing fails.
    pub(crate) fn assemble(&mut self, pieces: impl Iterator<Item = Piece>) -> Result<()> {
        let (timeline, output) = (&mut self.timeline, &mut self.output);
        std::thread::scope(|s| {
            let (to_writer, ready) = mpsc::sync_channel::<Vec<f32>>(READY_AHEAD);
            let writer = s.spawn(move || {
                ready
                    .into_iter()
                    .try_for_each(|samples| output.measure_and_write(samples))
            });
            for piece in pieces {
                timeline.push(piece);
                // A closed channel means the writer failed; its error is returned below.
                if !timeline.out.is_empty() && to_writer.send(timeline.take_ready()).is_err() {
                    break;
                }
            }
            drop(to_writer);
            writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Appends a stretch resampled on another core ([`Timeline::resuming`]) that continues
    /// this timeline exactly where it stands.
    pub(crate) fn push_resampled(&mut self, mut stretch: Timeline) -> Result<()> {
        let samples = std::mem::take(&mut stretch.out);
        let timeline = &mut self.timeline;
        timeline.peak = timeline.peak.max(stretch.peak);
        for (start, end, reason) in &stretch.gaps {
            timeline.add_gap(*start, *end, reason);
        }
        timeline.flushed += samples.len() as u64;
        self.output.measure_and_write(samples)
    }

    /// Records clock events laid out beforehand.
    pub(crate) fn add_clock(&mut self, marks: Vec<ClockMark>) {
        self.timeline.clock.extend(marks);
    }

    /// Records zero-length marks (`(output position, reason)`) laid out beforehand.
    pub(crate) fn add_marks(&mut self, marks: Vec<(u64, String)>) {
        let marks = marks.into_iter().map(|(at, reason)| (at, at, reason));
        self.timeline.gaps.extend(marks);
    }

    pub(crate) fn finish(mut self, info: StreamInfo) -> Result<Joined> {
        self.timeline.finish_stream();
        let ready = self.timeline.take_ready();
        self.output.measure_and_write(ready)?;
        // The gaps go back in `SourceInfo`; the pipeline reports them as warnings.
        let gaps = self.timeline.gaps();
        // Laid-out events come in apart from the pieces; both are in order on their own.
        self.timeline.clock.sort_by_key(|m| m.at);
        Ok(Joined {
            length: self.timeline.flushed,
            gaps,
            loudness: self.output.meter.finish(self.timeline.peak),
            info,
            clock: std::mem::take(&mut self.timeline.clock),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> StreamInfo {
        StreamInfo {
            codec: "pcm_s16le".into(),
            sample_rate: 48_000,
            channels: 2,
            id3_timestamp: None,
            id3_wall_clock: None,
        }
    }

    fn block(frames: usize, click_at: Option<usize>) -> PcmBlock {
        let mut samples = vec![0.0; frames];
        if let Some(i) = click_at {
            samples[i] = 1.0;
        }
        PcmBlock {
            rate: 48_000,
            channels: 1,
            samples,
            peak: click_at.map_or(0.0, |_| 1.0),
        }
    }

    fn peak_index(x: &[f32]) -> usize {
        x.iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap()
            .0
    }

    #[test]
    fn three_odd_parts_join_to_exact_length_and_click_position() {
        let lens = [48_001usize, 95_999, 33_333];
        let click_part = 1;
        let click = 50_017;
        let mut out = Vec::new();
        let mut asm = Assembler::new(&mut out);
        let blocks = lens
            .iter()
            .enumerate()
            .map(|(i, &n)| Piece::Pcm(block(n, (i == click_part).then_some(click))));
        asm.assemble(blocks).unwrap();
        let joined = asm.finish(info()).unwrap();
        let total: u64 = lens.iter().map(|&n| n as u64).sum();
        assert_eq!(joined.length, out_len(total, 48_000));
        assert_eq!(out.len() as u64, joined.length);
        assert_eq!(joined.loudness.sample_peak_dbfs, Some(0.0));
        let src_pos = lens[0] + click;
        let expect = (src_pos as f64 / 3.0).round() as i64;
        let got = peak_index(&out) as i64;
        assert!(
            (got - expect).abs() <= 1,
            "click at {got}, expected {expect}"
        );
        assert!(joined.gaps.is_empty());
    }

    #[test]
    fn silence_gaps_are_placed_and_merged() {
        let mut out = Vec::new();
        let mut asm = Assembler::new(&mut out);
        let bad = "undecodable frames in x.m4a".to_string();
        let silence = |seconds| {
            Piece::Silence(Silence {
                seconds,
                reason: bad.clone(),
            })
        };
        asm.assemble(
            [
                Piece::Pcm(block(48_000, None)),
                silence(0.5),
                silence(0.25),
                Piece::Pcm(block(24_000, None)),
                Piece::Mark("discontinuity before c.aac".into()),
                Piece::Pcm(block(24_000, None)),
            ]
            .into_iter(),
        )
        .unwrap();
        let j = asm.finish(info()).unwrap();
        assert_eq!(j.length, 16_000 + 12_000 + 8_000 + 8_000);
        assert_eq!(out.len() as u64, j.length);
        assert_eq!(j.gaps.len(), 2);
        assert_eq!((j.gaps[0].start, j.gaps[0].end), (1.0, 1.75));
        assert_eq!(j.gaps[0].reason, bad);
        assert_eq!((j.gaps[1].start, j.gaps[1].end), (2.25, 2.25));
    }
}
