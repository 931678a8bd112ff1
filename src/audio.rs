//! The audio value passed from normalization to the model stages: 16 kHz mono f32.

/// Sample rate every model stage works at.
pub const SAMPLE_RATE: u32 = 16_000;

/// Normalized audio of a whole recording, sample 0 being the recording's first instant.
#[derive(Debug, Clone, Default)]
pub struct Audio {
    pub samples: Vec<f32>,
}

impl Audio {
    pub fn duration_seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(SAMPLE_RATE)
    }
}

/// Seconds from a 16 kHz sample index.
pub fn seconds(sample: u64) -> f64 {
    sample as f64 / f64::from(SAMPLE_RATE)
}
