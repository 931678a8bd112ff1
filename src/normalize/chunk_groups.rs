//! The plan for a playlist of chunks that are not ADTS (anything symphonia reads)
//! ([`super::stretch::StretchPlan`]): fixed groups of chunks decoded on every core
//! ([`crate::ingest::chunk::decode_chunks`]), placed in order on this thread (gaps,
//! discontinuities, [`ChunkPlacer`]) and resampled in order on the assembling thread.
//! Their lengths are only known once decoded, so they cannot be laid out beforehand.

use super::playlist::{ChunkPlacer, ChunkToPlace, Placement};
use super::stretch::{Placing, Resampling, StretchPlan, ToAssembler};
use super::timeline::{Assembler, Piece};
use crate::error::Result;
use crate::ingest::Recording;
use crate::ingest::chunk::{self, DecodedChunk};
use crate::ingest::decode::{Channels, StreamInfo};
use std::ops::Range;
use std::path::Path;

/// Playlist chunks decoded one after the other by one codec (a group is decoded on one
/// core; groups in parallel).
const CHUNK_GROUP: usize = 4;
/// Decoded groups of playlist chunks that may wait, per lane, to be placed.
const GROUPS_AHEAD: usize = 2;

/// A playlist's chunks in fixed runs of [`CHUNK_GROUP`], so the output never depends on
/// the number of cores.
pub(super) struct ChunkGroups<'a> {
    rec: &'a Recording,
    groups: Vec<Range<usize>>,
}

impl<'a> ChunkGroups<'a> {
    pub(super) fn new(rec: &'a Recording) -> Self {
        let count = rec.parts.len();
        let groups = (0..count)
            .step_by(CHUNK_GROUP)
            .map(|g| g..(g + CHUNK_GROUP).min(count))
            .collect();
        ChunkGroups { rec, groups }
    }
}

impl StretchPlan for ChunkGroups<'_> {
    type Lane = ();
    /// A group's index and its chunks, decoded or why not.
    type Decoded = (usize, Vec<Result<DecodedChunk>>);
    type Order = ChunkPlacer;
    const RESAMPLING: Resampling = Resampling::InOrder;
    const AHEAD: usize = GROUPS_AHEAD;

    fn path(&self) -> &Path {
        &self.rec.path
    }

    fn stretch_count(&self) -> usize {
        self.groups.len()
    }

    fn open_lanes(&mut self, most: usize) -> Result<Vec<()>> {
        Ok(vec![(); most.max(1)])
    }

    fn decode(&self, (): &mut (), group: usize, _: &ToAssembler) -> Self::Decoded {
        let chunks =
            chunk::decode_chunks(&self.rec.parts, self.groups[group].clone(), Channels::Mixed);
        (group, chunks)
    }

    fn place(
        &self,
        placer: &mut ChunkPlacer,
        (group, decoded): Self::Decoded,
        to: &mut Placing<'_, '_>,
    ) -> Result<()> {
        let mut pieces = Vec::new();
        for (part, chunk) in self.rec.parts[self.groups[group].clone()]
            .iter()
            .zip(decoded)
        {
            let chunk = chunk.map(|c| ChunkToPlace {
                seconds: c.seconds(),
                info: c.info,
                audio: c.events,
            });
            placer.place(part, chunk, &mut |placed| match placed {
                Placement::Chunk(events) => pieces.extend(events.into_iter().map(Piece::from)),
                Placement::Silence(silence) => pieces.push(Piece::Silence(silence)),
                Placement::Mark(reason) => pieces.push(Piece::Mark(reason)),
                Placement::Clock(event) => pieces.push(Piece::Clock(event)),
            });
        }
        to.pieces(pieces, &self.rec.path)
    }

    fn finish(self, placer: ChunkPlacer, _: &mut Assembler<'_>) -> Result<StreamInfo> {
        placer.into_info(self.rec)
    }
}
