//! The plans for a single audio file ([`super::stretch::StretchPlan`]): an MP4 decoded
//! in ranges on every core, each range resampled on its core too and joined bit-exact
//! ([`Mp4Ranges`]), and any other file decoded front to back by one lane and resampled
//! in order ([`FrontToBack`]).

use super::resample::ResampleStream;
use super::stretch::{Placing, ResampledOnLanes, Resampling, Stretch, StretchPlan, ToAssembler};
use super::timeline::{Assembler, Piece, Timeline};
use crate::error::{Error, Result};
use crate::ingest::Part;
use crate::ingest::decode::{Decoder, StreamInfo};
use std::path::Path;

/// Source seconds per decoded block of a file decoded front to back.
const BLOCK_SECONDS: usize = 1;

/// An MP4 in ranges of about ten seconds ([`Stretch`]es of one run), each decoded and
/// resampled whole on a lane (a lane's decoder seeks from one range to the next). Ranges
/// start on resampler block boundaries and replay the block before them, so they join
/// bit-exact ([`ResampleStream::resume_at`]); their bounds do not depend on the number
/// of lanes, so neither does the output.
///
/// Measured on a 10-minute m4a on 2 cores (medians of 11): 0.25 s, against 0.33 s front
/// to back, where the one decoding thread was the critical path.
pub(super) struct Mp4Ranges<'a> {
    part: &'a Part,
    /// The decoder the file was opened with, the first lane's.
    first: Option<Decoder>,
    info: StreamInfo,
    ranges: Vec<Stretch>,
}

impl<'a> Mp4Ranges<'a> {
    /// `part` opened as `first`, whose recording is `frames` frames long
    /// ([`Decoder::range_frames`]).
    pub(super) fn new(part: &'a Part, first: Decoder, frames: u64) -> Self {
        let info = first.info().clone();
        Mp4Ranges {
            part,
            ranges: Stretch::cut_run(info.sample_rate, 0, frames),
            first: Some(first),
            info,
        }
    }
}

/// A lane of an MP4 decoded in ranges: its decoder and its resampler, both reused from
/// range to range.
pub(super) struct RangeLane {
    decoder: Decoder,
    stream: Option<ResampleStream>,
}

impl ResampledOnLanes for Mp4Ranges<'_> {
    type Lane = RangeLane;

    fn path(&self) -> &Path {
        &self.part.path
    }

    fn stretch_count(&self) -> usize {
        self.ranges.len()
    }

    fn open_lanes(&mut self, most: usize) -> Result<Vec<RangeLane>> {
        let first = self.first.take();
        let mut decoders: Vec<Decoder> = first.into_iter().collect();
        while decoders.len() < most.max(1) {
            decoders.push(Decoder::open_file(&self.part.path)?);
        }
        Ok(decoders
            .into_iter()
            .map(|decoder| RangeLane {
                decoder,
                stream: None,
            })
            .collect())
    }

    /// One range: the lane's decoder sent to it, its audio resampled.
    fn resample(&self, lane: &mut RangeLane, range: usize) -> (Timeline, Result<u64>) {
        let decoder = &mut lane.decoder;
        let name = &self.part.name;
        self.ranges[range].resample(&mut lane.stream, name, |timeline, span| {
            decoder.restrict_to(span)?;
            let rate = decoder.info().sample_rate;
            decoder.run(rate as usize, &mut |e| {
                timeline.push(e.into());
                true
            })
        })
    }

    fn finish(self, _: &mut Assembler<'_>) -> Result<StreamInfo> {
        Ok(self.info)
    }
}

/// A file decoded front to back: one stretch, decoded by one lane in blocks of about a
/// second that go straight to the assembling thread, resampled there in order.
pub(super) struct FrontToBack<'a> {
    part: &'a Part,
    decoder: Option<Decoder>,
}

impl<'a> FrontToBack<'a> {
    pub(super) fn new(part: &'a Part, decoder: Decoder) -> Self {
        FrontToBack {
            part,
            decoder: Some(decoder),
        }
    }
}

impl StretchPlan for FrontToBack<'_> {
    type Lane = Decoder;
    /// The frames decoded and the format they turned out to have.
    type Decoded = Result<(u64, StreamInfo)>;
    type Order = Option<StreamInfo>;
    const RESAMPLING: Resampling = Resampling::InOrder;
    const AHEAD: usize = 1;

    fn path(&self) -> &Path {
        &self.part.path
    }

    fn stretch_count(&self) -> usize {
        1
    }

    /// The one lane, whatever `most` says: a front-to-back decode has one decoder.
    fn open_lanes(&mut self, _most: usize) -> Result<Vec<Decoder>> {
        Ok(self.decoder.take().into_iter().collect())
    }

    fn decode(&self, decoder: &mut Decoder, _: usize, assembler: &ToAssembler) -> Self::Decoded {
        // The rate may only be known from the first frame; 48 kHz sizes blocks until then.
        let rate = Some(decoder.info().sample_rate)
            .filter(|&r| r > 0)
            .unwrap_or(48_000);
        let block_frames = rate as usize * BLOCK_SECONDS;
        // A stopped assembler stops the decoder at its next block.
        let decoded = decoder.run(block_frames, &mut |e| assembler.push(Piece::from(e)))?;
        Ok((decoded, decoder.info().clone()))
    }

    fn place(
        &self,
        info: &mut Option<StreamInfo>,
        decoded: Self::Decoded,
        _: &mut Placing<'_, '_>,
    ) -> Result<()> {
        let (frames, format) = decoded?;
        tracing::debug!("{}: decoded {frames} frames", self.part.path.display());
        *info = Some(format);
        Ok(())
    }

    fn finish(self, info: Option<StreamInfo>, _: &mut Assembler<'_>) -> Result<StreamInfo> {
        info.ok_or_else(|| Error::crashed(&self.part.path, "decoding"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::stretch::join;
    use super::super::stretch::tests::joined_on;
    use super::super::timeline::Joined;
    use super::*;

    fn space_m4a() -> Part {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/space/space.m4a");
        Part {
            name: "space.m4a".into(),
            path,
            nominal_seconds: None,
            discontinuity: false,
            program_date_time: None,
        }
    }

    fn ranges_with(part: &Part, lanes: usize) -> (Vec<f32>, Joined) {
        joined_on(lanes, |out| {
            let decoder = Decoder::open_file(&part.path).unwrap();
            let frames = decoder.range_frames().expect("an m4a decodes in ranges");
            join(Mp4Ranges::new(part, decoder, frames), out).unwrap()
        })
    }

    /// Ranges decoded on any number of lanes give the very same samples, as long as a
    /// front-to-back decode, and the same audio but for AAC's substituted noise.
    #[test]
    fn ranges_join_like_front_to_back_whatever_the_lanes() {
        let part = space_m4a();
        let (one, joined) = ranges_with(&part, 1);
        let (three, _) = ranges_with(&part, 3);
        assert!(one == three, "the output depends on the number of lanes");
        let mut stream = Vec::new();
        let decoder = Decoder::open_file(&part.path).unwrap();
        let whole = join(FrontToBack::new(&part, decoder), &mut stream).unwrap();
        assert_eq!(joined.length, whole.length);
        assert_eq!(one.len(), stream.len());
        assert!(joined.gaps.is_empty(), "{:?}", joined.gaps);
        let energy = |x: &[f32]| x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>();
        let diff: Vec<f32> = one.iter().zip(&stream).map(|(a, b)| a - b).collect();
        let snr = 10.0 * (energy(&stream) / energy(&diff)).log10();
        assert!(
            snr > 25.0,
            "ranges differ from a front-to-back decode: SNR {snr:.1} dB"
        );
        let (a, b) = (joined.loudness, whole.loudness);
        assert!((a.integrated_lufs.unwrap() - b.integrated_lufs.unwrap()).abs() < 0.1);
        assert_eq!(a.sample_peak_dbfs.is_some(), b.sample_peak_dbfs.is_some());
    }
}
