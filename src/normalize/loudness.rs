//! EBU R128 loudness (ITU-R BS.1770 K-weighting and gating) of the 16 kHz mono signal
//! the models hear, and the source's sample peak.
//!
//! Measured on the 16 kHz mono mix rather than on every source channel at the source
//! rate: that is 6x fewer samples for 48 kHz stereo, and metering the source (with a
//! 4x-oversampled true peak) cost more than decoding it (55 % of `spacescribe decode`'s
//! CPU time on a 10-minute Space). For speech the difference is small; one exception
//! is spelled out in [`Loudness`]: a stereo source with the same signal in both
//! channels reads 3 LU lower than BS.1770's sum over the two channels would.
//!
//! Each block of audio gets its own meter so blocks can be measured on different
//! threads; the meters are combined with `loudness_global_multiple` /
//! `loudness_range_multiple`. To keep the 400 ms gating blocks that straddle a block
//! boundary, a block's meter is first primed with the end of the previous block, the
//! way the ebur128 crate documents for parallel use: 100 ms to settle the filters
//! (`seed_frames`), then 300 ms measured, so the first gating block ends 100 ms into
//! the new block, exactly where the previous meter's last one stopped.

use crate::ingest::decode::PcmBlock;
use crate::transcript::Loudness;
use ebur128::{EbuR128, Mode};

/// Audio of the previous block that a meter needs to continue it: 400 ms.
pub const HISTORY_SECONDS: f64 = 0.4;
const SEED_SECONDS: f64 = 0.1;

/// The last [`HISTORY_SECONDS`] of `block` (interleaved), for the next block's meter.
pub fn history_of(block: &PcmBlock) -> PcmBlock {
    let frames = (HISTORY_SECONDS * f64::from(block.rate)).round() as usize;
    let keep = frames.min(block.frames()) * usize::from(block.channels);
    PcmBlock {
        rate: block.rate,
        channels: block.channels,
        samples: block.samples[block.samples.len() - keep..].to_vec(),
    }
}

/// What is kept of one block's measurement: the meter, holding the block's
/// gating-block energies.
pub struct Measured {
    gating: EbuR128,
}

/// Measures one block; `history` is the end of the block before it when they are contiguous
/// and of the same format.
pub fn measure(block: &PcmBlock, history: Option<&PcmBlock>) -> Option<Measured> {
    let mode = Mode::I | Mode::LRA;
    let mut meter = EbuR128::new(u32::from(block.channels), block.rate, mode).ok()?;
    if let Some(h) = history.filter(|h| (h.rate, h.channels) == (block.rate, block.channels)) {
        let seed = (SEED_SECONDS * f64::from(h.rate)).round() as usize * usize::from(h.channels);
        let seed = seed.min(h.samples.len());
        meter.seed_frames_f32(&h.samples[..seed]).ok()?;
        meter.add_frames_f32(&h.samples[seed..]).ok()?;
    }
    meter.add_frames_f32(&block.samples).ok()?;
    // A meter keeps a 3 s multichannel window buffer (~2 MB at 48 kHz stereo); thousands
    // of them (one per chunk or block) would cost gigabytes. Only the gating energies are
    // needed from here on, and re-parameterizing to 1 channel at 16 Hz frees the buffer
    // while keeping them.
    meter.change_parameters(1, 16).ok()?;
    Some(Measured { gating: meter })
}

/// Combines per-block measurements with the source's linear sample `peak`; silent or
/// too-short input gives `None`s, never -inf/NaN.
pub fn combine(blocks: &[Measured], peak: f32) -> Loudness {
    let finite = |v: f64| v.is_finite().then_some(v);
    let meters = || blocks.iter().map(|b| &b.gating);
    let integrated = EbuR128::loudness_global_multiple(meters())
        .ok()
        .and_then(finite);
    let range = integrated.and_then(|_| {
        EbuR128::loudness_range_multiple(meters())
            .ok()
            .and_then(finite)
    });
    let peak = f64::from(peak);
    let sample_peak = (peak > 0.0).then(|| 20.0 * peak.log10()).and_then(finite);
    Loudness {
        integrated_lufs: integrated,
        range_lu: range,
        sample_peak_dbfs: sample_peak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 kHz sine at -20 dBFS peak; `ch_gain` scales it per channel (stereo).
    fn sine(rate: u32, frames: usize, offset: usize, ch_gain: &[f32]) -> PcmBlock {
        let amp = 10f32.powf(-20.0 / 20.0);
        let samples = (offset..offset + frames)
            .flat_map(|i| {
                let v = amp * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin();
                ch_gain.iter().map(move |g| g * v)
            })
            .collect();
        PcmBlock {
            rate,
            channels: ch_gain.len() as u16,
            samples,
        }
    }

    fn sine_block(rate: u32, frames: usize, offset: usize) -> PcmBlock {
        sine(rate, frames, offset, &[1.0, 1.0])
    }

    fn integrated(block: &PcmBlock) -> Loudness {
        let peak = block.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        combine(&[measure(block, None).unwrap()], peak)
    }

    /// BS.1770 sums channel powers: -20 dBFS in one channel of a stereo file (or mono) is
    /// -23 LUFS; the same sine in both channels is 3 dB louder, -20 LUFS.
    #[test]
    fn stereo_sine_at_minus_20_dbfs_is_about_minus_23_lufs() {
        let ten_s = 48_000 * 10;
        let one_side = integrated(&sine(48_000, ten_s, 0, &[1.0, 0.0]));
        let i = one_side.integrated_lufs.unwrap();
        assert!((i + 23.0).abs() < 0.5, "{i}");
        let peak = one_side.sample_peak_dbfs.unwrap();
        assert!((peak + 20.0).abs() < 0.5, "{peak}");
        assert!(one_side.range_lu.unwrap() < 1.0);
        let mono = integrated(&sine(48_000, ten_s, 0, &[1.0]))
            .integrated_lufs
            .unwrap();
        assert!((mono + 23.0).abs() < 0.5, "{mono}");
        let both = integrated(&sine_block(48_000, ten_s, 0))
            .integrated_lufs
            .unwrap();
        assert!((both + 20.0).abs() < 0.5, "{both}");
    }

    #[test]
    fn split_blocks_measure_like_one() {
        let rate = 48_000;
        let whole = measure(&sine_block(rate, rate as usize * 12, 0), None).unwrap();
        let a = sine_block(rate, rate as usize * 5, 0);
        let b = sine_block(rate, rate as usize * 7, rate as usize * 5);
        let ma = measure(&a, None).unwrap();
        let mb = measure(&b, Some(&history_of(&a))).unwrap();
        let joined = combine(&[ma, mb], 0.0).integrated_lufs.unwrap();
        let single = combine(&[whole], 0.0).integrated_lufs.unwrap();
        assert!((joined - single).abs() < 0.01, "{joined} vs {single}");
    }

    #[test]
    fn silence_and_tiny_input_give_none() {
        let silent = PcmBlock {
            rate: 16_000,
            channels: 1,
            samples: vec![0.0; 32_000],
        };
        let l = combine(&[measure(&silent, None).unwrap()], 0.0);
        assert_eq!(l, Loudness::default());
        let tiny = PcmBlock {
            rate: 16_000,
            channels: 1,
            samples: vec![0.5; 100],
        };
        let l = combine(&[measure(&tiny, None).unwrap()], 0.5);
        assert_eq!(l.integrated_lufs, None);
        assert_eq!(combine(&[], 0.0), Loudness::default());
    }
}
