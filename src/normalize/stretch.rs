//! The one seam between what a recording is and how it is joined: a [`StretchPlan`] is
//! a recording laid out as stretches that lanes decode and resample (in the spirit of
//! symphonia's `FormatReader`: one interface whatever the container), and [`join`] runs
//! every plan the same way. The plans, chosen in [`super::decode_and_join`]:
//!
//! - an MP4's ranges ([`super::file::Mp4Ranges`]) and an ADTS playlist's timeline
//!   ([`super::adts_playlist::AdtsPlaylist`]) are cut into [`Stretch`]es of same-rate
//!   runs, each decoded *and resampled* on a lane; this thread only meters and writes
//!   them, in order;
//! - a playlist of other chunks ([`super::chunk_groups::ChunkGroups`]) is decoded in
//!   fixed groups on the lanes; this thread places the chunks in order and an assembling
//!   thread resamples them;
//! - any other file ([`super::file::FrontToBack`]) is one stretch that one lane decodes
//!   front to back, handing its pieces straight to the assembling thread.
//!
//! There are as many lanes as the current rayon pool has threads (never more than
//! stretches), each a thread of [`workers::run_ordered`] that keeps its own state (a
//! decoder, a resampler). Stretch bounds never depend on the number of lanes, so
//! neither does the output. Only a few stretches ever wait at once, so memory does not
//! grow with length.

use super::resample::{self, ResampleStream, out_len};
use super::timeline::{Assembler, Joined, Piece, Timeline};
use crate::audio::SampleSink;
use crate::error::{Error, Result};
use crate::ingest::Silence;
use crate::ingest::decode::StreamInfo;
use crate::workers;
use std::ops::Range;
use std::path::Path;
use std::sync::mpsc;

/// Source seconds per stretch of a same-rate run.
const STRETCH_SECONDS: u64 = 10;
/// Stretches resampled on a lane that may wait, per lane, for this thread to write them.
const STRETCHES_AHEAD: usize = 4;
/// Pieces that may wait for the assembling thread to resample them.
const QUEUE_PIECES: usize = 16;

/// Where a plan's stretches are resampled.
pub(super) enum Resampling {
    /// On the lane that decoded them, each as a [`Timeline`] of its own that continues
    /// the one before it exactly.
    OnLanes,
    /// In timeline order, on the assembling thread, from the [`Piece`]s the plan hands
    /// on.
    InOrder,
}

/// A recording laid out as stretches that lanes decode and resample.
pub(super) trait StretchPlan: Sync {
    /// What a lane keeps from one stretch to the next (a decoder, a resampler).
    type Lane: Send;
    /// What a lane makes of one stretch, handed to [`StretchPlan::place`] in order.
    type Decoded: Send;
    /// What placing keeps from one stretch to the next (a playlist's clock, whether
    /// anything decoded).
    type Order: Default;
    const RESAMPLING: Resampling;
    /// Decoded stretches that may wait, per lane, to be placed.
    const AHEAD: usize;

    /// The input, to name it in errors.
    fn path(&self) -> &Path;
    fn stretch_count(&self) -> usize;
    /// The lanes: at most `most`, one at least.
    fn open_lanes(&mut self, most: usize) -> Result<Vec<Self::Lane>>;
    /// Decodes stretch `stretch` on `lane`. A plan resampled [`Resampling::InOrder`] by
    /// one lane may hand its pieces to `assembler` as they decode.
    fn decode(
        &self,
        lane: &mut Self::Lane,
        stretch: usize,
        assembler: &ToAssembler,
    ) -> Self::Decoded;
    /// Puts a decoded stretch on the timeline, after the ones before it.
    fn place(
        &self,
        order: &mut Self::Order,
        decoded: Self::Decoded,
        to: &mut Placing<'_, '_>,
    ) -> Result<()>;
    /// After the last stretch: the format to report (an error when nothing could be
    /// used), with anything laid out beforehand added to `assembler`.
    fn finish(self, order: Self::Order, assembler: &mut Assembler<'_>) -> Result<StreamInfo>;
}

/// Decodes, resamples and joins `plan` into `sink`.
pub(super) fn join<P: StretchPlan>(
    mut plan: P,
    sink: &mut (dyn SampleSink + Send),
) -> Result<Joined> {
    let count = plan.stretch_count();
    let lanes = plan.open_lanes(rayon::current_num_threads().clamp(1, count.max(1)))?;
    let crashed = || Error::crashed(plan.path(), "decoding");
    let mut order = P::Order::default();
    let mut asm = Assembler::new(sink);
    match P::RESAMPLING {
        Resampling::OnLanes => {
            let nobody = ToAssembler(None);
            workers::run_ordered(
                lanes,
                count,
                P::AHEAD,
                |lane, i| plan.decode(lane, i, &nobody),
                |decoded| plan.place(&mut order, decoded, &mut Placing::Written(&mut asm)),
                crashed,
            )?;
        }
        Resampling::InOrder => {
            asm = std::thread::scope(|s| {
                let (to_assembler, pieces) = mpsc::sync_channel::<Piece>(QUEUE_PIECES);
                let assembler = s.spawn(move || asm.assemble(pieces.into_iter()).map(|()| asm));
                let queue = ToAssembler(Some(to_assembler));
                let placed = workers::run_ordered(
                    lanes,
                    count,
                    P::AHEAD,
                    |lane, i| plan.decode(lane, i, &queue),
                    |decoded| plan.place(&mut order, decoded, &mut Placing::Queued(&queue)),
                    crashed,
                );
                // Ends the assembler's pieces.
                drop(queue);
                let assembled = assembler
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                // The assembler's error (a failed write) is the cause of any error in placing.
                assembled.and_then(|asm| placed.map(|()| asm))
            })?;
        }
    }
    let info = plan.finish(order, &mut asm)?;
    asm.finish(info)
}

/// The assembling thread's input: pieces, in timeline order, to be resampled there.
pub(super) struct ToAssembler(Option<mpsc::SyncSender<Piece>>);

impl ToAssembler {
    /// Hands `piece` on; `false` when nothing takes it any more (the assembler stopped
    /// on a failed write) or ever did (a plan resampled on its lanes).
    pub(super) fn push(&self, piece: Piece) -> bool {
        self.0.as_ref().is_some_and(|tx| tx.send(piece).is_ok())
    }
}

/// Where a plan's [`StretchPlan::place`] puts a stretch, as its [`Resampling`] says.
pub(super) enum Placing<'a, 's> {
    /// Resampled on its lane: only metered and written here.
    Written(&'a mut Assembler<'s>),
    /// Pieces for the assembling thread.
    Queued(&'a ToAssembler),
}

impl Placing<'_, '_> {
    /// Places a stretch resampled on its lane; `path` names the input in errors.
    pub(super) fn resampled(&mut self, stretch: Timeline, path: &Path) -> Result<()> {
        match self {
            Placing::Written(asm) => asm.push_resampled(stretch),
            Placing::Queued(_) => Err(wrong_placing(path)),
        }
    }

    /// Places pieces to be resampled in order; `path` names the input in errors.
    pub(super) fn pieces(
        &mut self,
        pieces: impl IntoIterator<Item = Piece>,
        path: &Path,
    ) -> Result<()> {
        let Placing::Queued(queue) = self else {
            return Err(wrong_placing(path));
        };
        // Fails only when the assembler stopped, on an error reported with it.
        for piece in pieces {
            if !queue.push(piece) {
                return Err(Error::input(path, "assembling stopped"));
            }
        }
        Ok(())
    }
}

/// A plan placing stretches other than its [`Resampling`] says (a bug, not bad input).
fn wrong_placing(path: &Path) -> Error {
    Error::stage(
        path,
        "normalize",
        "stretch placed against its plan's resampling",
    )
}

/// A [`StretchPlan`] whose lanes resample their stretches ([`Resampling::OnLanes`]),
/// as far as such plans differ; the rest of their [`StretchPlan`] is the same for all:
/// each stretch a [`Timeline`] that continues the one before it, only metered and
/// written in order, and a recording none of whose stretches decoded an error.
pub(super) trait ResampledOnLanes: Sync {
    /// What a lane keeps from one stretch to the next (a decoder, a resampler).
    type Lane: Send;
    /// The input, to name it in errors.
    fn path(&self) -> &Path;
    fn stretch_count(&self) -> usize;
    /// The lanes: at most `most`, one at least.
    fn open_lanes(&mut self, most: usize) -> Result<Vec<Self::Lane>>;
    /// Decodes and resamples stretch `stretch` on `lane` ([`Stretch::resample`]), and
    /// says why it could not be decoded if it could not.
    fn resample(&self, lane: &mut Self::Lane, stretch: usize) -> (Timeline, Result<u64>);
    /// The format to report, with anything laid out beforehand added to `assembler`.
    fn finish(self, assembler: &mut Assembler<'_>) -> Result<StreamInfo>;
}

impl<P: ResampledOnLanes> StretchPlan for P {
    type Lane = P::Lane;
    type Decoded = (Timeline, Result<u64>);
    type Order = StretchOutcome;
    const RESAMPLING: Resampling = Resampling::OnLanes;
    const AHEAD: usize = STRETCHES_AHEAD;

    fn path(&self) -> &Path {
        ResampledOnLanes::path(self)
    }

    fn stretch_count(&self) -> usize {
        ResampledOnLanes::stretch_count(self)
    }

    fn open_lanes(&mut self, most: usize) -> Result<Vec<P::Lane>> {
        ResampledOnLanes::open_lanes(self, most)
    }

    fn decode(&self, lane: &mut P::Lane, stretch: usize, _: &ToAssembler) -> Self::Decoded {
        self.resample(lane, stretch)
    }

    fn place(
        &self,
        outcome: &mut StretchOutcome,
        (stretch, decoded): Self::Decoded,
        to: &mut Placing<'_, '_>,
    ) -> Result<()> {
        outcome.note(decoded);
        to.resampled(stretch, ResampledOnLanes::path(self))
    }

    fn finish(self, outcome: StretchOutcome, assembler: &mut Assembler<'_>) -> Result<StreamInfo> {
        outcome.into_result()?;
        ResampledOnLanes::finish(self, assembler)
    }
}

/// Whether any stretch of a recording decoded, and the first reason one did not.
#[derive(Default)]
pub(super) struct StretchOutcome {
    decoded_any: bool,
    first_error: Option<Error>,
}

impl StretchOutcome {
    fn note(&mut self, decoded: Result<u64>) {
        match decoded {
            Ok(_) => self.decoded_any = true,
            Err(e) => {
                self.first_error.get_or_insert(e);
            }
        }
    }

    /// A recording none of whose stretches decoded is an error; damaged stretches among
    /// good ones are gaps, already recorded.
    fn into_result(self) -> Result<()> {
        match self.first_error {
            Some(e) if !self.decoded_any => Err(e),
            _ => Ok(()),
        }
    }
}

/// A stretch of a run of same-rate audio, to be decoded and resampled on its own: the
/// run's rate and the output position where the run starts, the stretch's frames
/// (counted from the run's start) and whether it ends the run.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stretch {
    rate: u32,
    base: u64,
    range: Range<u64>,
    ends_run: bool,
}

impl Stretch {
    /// A run of `frames` frames at `rate` starting at output position `base`, cut into
    /// stretches of about [`STRETCH_SECONDS`] that start on resampler block boundaries.
    /// The bounds depend on the run only, never on the number of cores.
    pub(super) fn cut_run(rate: u32, base: u64, frames: u64) -> Vec<Stretch> {
        let block = resample::block_frames(rate);
        let len = (u64::from(rate) * STRETCH_SECONDS).div_ceil(block) * block;
        (0..frames.div_ceil(len))
            .map(|i| Stretch {
                rate,
                base,
                range: i * len..((i + 1) * len).min(frames),
                ends_run: (i + 1) * len >= frames,
            })
            .collect()
    }

    /// Decodes and resamples this stretch on the calling core, as a timeline of its own,
    /// with the resampler `stream` this core used before (it is kept in `stream` for the
    /// next stretch). `fill` pushes the run's source frames `span` into the timeline:
    /// from one resampler block before the stretch, which is replayed so stretches join
    /// bit-exact ([`ResampleStream::resume_at`]), to its end. A stretch that comes out
    /// short (damage, a file that ends early) is filled with silence to its length and
    /// the gap reported, naming `name`, so the stretches after it stay where they belong.
    pub(super) fn resample(
        &self,
        stream: &mut Option<ResampleStream>,
        name: &str,
        fill: impl FnOnce(&mut Timeline, Range<u64>) -> Result<u64>,
    ) -> (Timeline, Result<u64>) {
        let (rate, range) = (self.rate, &self.range);
        let warmup = range.start.min(resample::block_frames(rate));
        let reused = stream.take().filter(|s| s.rate() == rate);
        let reused = reused.unwrap_or_else(|| ResampleStream::new(rate, 0));
        let frames = range.end - range.start;
        let mut timeline = Timeline::resuming(reused, self.base, range.start, warmup, frames);
        let decoded = fill(&mut timeline, range.start - warmup..range.end);
        let short = range.end.saturating_sub(timeline.source_frames());
        if short > 0 {
            let why = decoded
                .as_ref()
                .map_or_else(|e| e.to_string(), |_| "the file ends early".into());
            timeline.push(Piece::Silence(Silence {
                seconds: short as f64 / f64::from(rate),
                reason: format!("undecodable frames in {name} ({why})"),
            }));
        }
        if self.ends_run {
            timeline.finish_stream();
        }
        timeline.clip_gaps_before(self.base + out_len(range.start, rate));
        *stream = timeline.take_stream();
        (timeline, decoded)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// What `join` makes of a plan on a pool of `lanes` threads: the samples and the result.
    pub(in crate::normalize) fn joined_on(
        lanes: usize,
        run: impl Fn(&mut Vec<f32>) -> Joined + Send + Sync,
    ) -> (Vec<f32>, Joined) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(lanes)
            .build()
            .unwrap();
        pool.install(|| {
            let mut out = Vec::new();
            let joined = run(&mut out);
            (out, joined)
        })
    }
}
