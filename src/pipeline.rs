//! The pipeline: the library's entry point. A [`PipelineBuilder`] turns settings
//! into a ready [`Pipeline`] (models loaded once, a thread pool sized once), which
//! then takes inputs one at a time through every stage:
//!
//! ```text
//! normalize::load_recording  (ingest + decode to mono + resample + loudness)
//!   -> speech::SpeechDetector::map      (speech regions, ≤30 s chunks)
//!   -> transcribe::Transcriber          (timed, scored words per chunk, resumable)
//!   -> diarize::Diarizer                (speaker turns, overlaps, voiceprints)
//!   -> assign::assign_speakers          (words -> segments, speakers)
//!   -> naming                           (user map, voiceprints, roster handles)
//!   -> clock                            (UTC on every word, from the input's anchors)
//!   -> export::write_all                (json, vtt, srt, txt, rttm, podcast, chapters, html)
//! ```
//!
//! Every stage runs inside the pipeline's own rayon pool, so the thread count the
//! caller sets bounds decoding, speech detection, Whisper and diarization alike.
//! Progress goes to the caller's [`Progress`] sink; nothing here prints.

use crate::assign::{SpeakerTimeline, assign_speakers};
use crate::audio::{Audio, seconds};
use crate::clock::{self, OtherAnchors};
use crate::diarize::{Diarization, DiarizeParams, Diarizer, SpeakerCount, SpeakerTurn};
use crate::error::{Error, Result};
use crate::export::{self, ExportOptions, Format};
use crate::models::{self, Models};
use crate::naming::{self, Naming, SpeakerLibrary, SpeakerNames};
use crate::normalize::{self, ClockMark, LoadedRecording};
use crate::progress::{Event, Progress, Silent, Stage, StageReport};
use crate::speech::{SpeechDetector, SpeechMap, SpeechParams};
use crate::transcribe::{ChunkCache, Transcriber, prompt};
use crate::transcript::{
    ModelInfo, SourceInfo, SpaceMetadata, ToolInfo, TranscribeParams, Transcript, Turn,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::normalize::loudness::{ProgramMeter, TruePeakMeter};
pub use crate::normalize::native::{PcmFormat, SourceAudio};

/// Settings for a [`Pipeline`]; [`build`](PipelineBuilder::build) checks them and
/// loads the models.
pub struct PipelineBuilder {
    models: Models,
    threads: Option<usize>,
    params: TranscribeParams,
    speech: SpeechParams,
    transcription: bool,
    find_speakers: bool,
    /// Kept whether or not speakers are found, so the order of the setters never matters.
    diarize: DiarizeParams,
    names: SpeakerNames,
    work_dir: Option<PathBuf>,
    progress: Arc<dyn Progress>,
    started_at: Option<String>,
}

impl PipelineBuilder {
    /// Threads for every stage (default: all cores). The output does not depend on it.
    /// candle, which runs the speaker embeddings, sizes a pool of its own from
    /// `CANDLE_NUM_THREADS` (else every core): set it to 1 before the first pipeline is
    /// built for the bound to hold there too, as the `spacescribe` command does.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// The spoken language, ISO 639-1 (default `en`).
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.params.language = language.into();
        self
    }

    /// Whisper's beam width; 1 (the default) is greedy decoding with temperature fallback.
    pub fn beam_size(mut self, beam_size: i32) -> Self {
        self.params.beam_size = beam_size;
        self
    }

    /// Keep Whisper's own word probabilities instead of calibrated ones (default: calibrated,
    /// where the model has a fitted map).
    pub fn raw_probabilities(mut self, raw: bool) -> Self {
        self.params.raw_probabilities = raw;
        self
    }

    /// Find speakers (the default) or not.
    pub fn diarize(mut self, on: bool) -> Self {
        self.find_speakers = on;
        self
    }

    /// Load Whisper and the VAD (the default), or only what diarization needs.
    pub fn transcription(mut self, on: bool) -> Self {
        self.transcription = on;
        self
    }

    /// How many speakers to find: exactly, at least, at most.
    pub fn speaker_count(mut self, count: SpeakerCount) -> Self {
        self.diarize.cluster.count = count;
        self
    }

    /// The clustering threshold (cosine distance, 0 to 2); lower finds more speakers.
    pub fn cluster_threshold(mut self, distance: f32) -> Self {
        self.diarize.cluster.threshold = distance;
        self
    }

    /// Names to put on the speakers found.
    pub fn names(mut self, names: SpeakerNames) -> Self {
        self.names = names;
        self
    }

    /// Where [`Pipeline::transcribe`] keeps the 16 kHz audio (an unlinked file) and its
    /// resume cache. Without one the audio is held in memory and nothing is resumed.
    /// [`Pipeline::transcribe_to`] uses its output folder instead.
    pub fn work_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.work_dir = Some(dir.into());
        self
    }

    /// Where progress goes (default: nowhere).
    /// Names and words to expect (people, places, products), given to Whisper before
    /// every chunk with the Space metadata's title and names.
    pub fn hotwords<S: AsRef<str>>(mut self, words: impl IntoIterator<Item = S>) -> Self {
        self.params.hotwords = words
            .into_iter()
            .map(|w| w.as_ref().trim().to_string())
            .filter(|w| !w.is_empty())
            .collect();
        self
    }

    /// Whether the Space metadata's title and names go before every chunk too
    /// (default: yes).
    pub fn metadata_prompt(mut self, on: bool) -> Self {
        self.params.metadata_prompt = on;
        self
    }

    /// When the recording started (RFC 3339 with a zone, e.g. `2024-08-13T00:41:07Z`):
    /// the wall clock of the first sample when the input dates nothing itself (its
    /// own dates win, and a disagreement of more than a second is a warning).
    pub fn started_at(mut self, time: impl Into<String>) -> Self {
        self.started_at = Some(time.into());
        self
    }

    pub fn progress(mut self, sink: Arc<dyn Progress>) -> Self {
        self.progress = sink;
        self
    }

    /// Checks the settings and loads the models they need.
    pub fn build(self) -> Result<Pipeline> {
        self.check()?;
        let started_at = self
            .started_at
            .as_deref()
            .map(clock::parse_started_at)
            .transpose()?;
        let pool = thread_pool(self.threads, Path::new("."))?;
        let engines = pool.install(|| Engines::load(&self))?;
        Ok(Pipeline {
            engines,
            pool,
            params: self.params,
            speech: self.speech,
            diarize: self.find_speakers.then_some(self.diarize),
            names: self.names,
            work_dir: self.work_dir,
            progress: self.progress,
            started_at,
        })
    }

    fn check(&self) -> Result<()> {
        if self.threads == Some(0) {
            return Err(Error::Usage("threads must be at least 1".into()));
        }
        if self.params.beam_size < 1 {
            return Err(Error::Usage("beam size must be at least 1".into()));
        }
        if self.names.recognises_voices() && !self.find_speakers {
            return Err(Error::Usage(
                "enrolling voices needs diarization (drop --no-diarize)".into(),
            ));
        }
        if self.find_speakers {
            let params = &self.diarize;
            params.cluster.count.check()?;
            if !(0.0..=2.0).contains(&params.cluster.threshold) {
                return Err(Error::Usage(
                    "the cluster threshold is a cosine distance, 0 to 2".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Where and what [`Pipeline::transcribe_to`] writes.
#[derive(Debug, Clone)]
pub struct Output {
    /// The folder (created if missing); it also holds the spill file and resume cache.
    pub dir: PathBuf,
    pub formats: Vec<Format>,
    /// How the formats lay the transcript out (caption limits, chapters, …).
    pub export: ExportOptions,
    /// The outputs' file name without extension [default: the input's, `space.m4a`
    /// -> `space.*`].
    pub stem: Option<String>,
}

impl Output {
    /// `formats` into `dir`, laid out by the default options.
    pub fn new(dir: impl Into<PathBuf>, formats: Vec<Format>) -> Output {
        Output {
            dir: dir.into(),
            formats,
            export: ExportOptions::default(),
            stem: None,
        }
    }

    /// The stem of `input`'s outputs.
    pub fn stem_for(&self, input: &Path) -> String {
        self.stem.clone().unwrap_or_else(|| output_stem(input))
    }
}

/// Models loaded once, a pool sized once: takes any number of inputs in turn.
pub struct Pipeline {
    engines: Engines,
    pool: rayon::ThreadPool,
    params: TranscribeParams,
    speech: SpeechParams,
    diarize: Option<DiarizeParams>,
    names: SpeakerNames,
    work_dir: Option<PathBuf>,
    progress: Arc<dyn Progress>,
    /// The user's start of the recording, the least trusted wall-clock anchor.
    started_at: Option<DateTime<Utc>>,
}

impl Pipeline {
    /// Settings with their defaults, for the models in `models`.
    pub fn builder(models: Models) -> PipelineBuilder {
        PipelineBuilder {
            models,
            threads: None,
            params: TranscribeParams::default(),
            speech: SpeechParams::default(),
            transcription: true,
            find_speakers: true,
            diarize: DiarizeParams::default(),
            names: SpeakerNames::default(),
            work_dir: None,
            progress: Arc::new(Silent),
            started_at: None,
        }
    }

    /// Transcribes one input: every word timed and scored, with speakers when
    /// diarization is on. Nothing is written but the work folder's spill and cache.
    pub fn transcribe(&self, input: &Path) -> Result<Transcript> {
        let transcript = self.run(|| self.transcribe_in(input, self.work_dir.as_deref()))?;
        if let Some(dir) = &self.work_dir {
            self.resume_cache(dir, input, &transcript)?.remove();
        }
        Ok(transcript)
    }

    /// Transcribes one input and writes every format asked for into `output.dir`,
    /// as `STEM.EXT` (the input's file name without its extension). A killed run
    /// resumes from the chunks kept in that folder; they are removed once the
    /// outputs are written.
    pub fn transcribe_to(&self, input: &Path, output: &Output) -> Result<Vec<PathBuf>> {
        Ok(self.transcribe_and_write(input, output)?.1)
    }

    /// [`transcribe_to`](Self::transcribe_to), also giving back the transcript (what a
    /// batch records of each recording: its duration, its speakers).
    pub fn transcribe_and_write(
        &self,
        input: &Path,
        output: &Output,
    ) -> Result<(Transcript, Vec<PathBuf>)> {
        output.export.page.check()?; // a refused audio URL costs no transcribing
        let transcript = self.run(|| self.transcribe_in(input, Some(&output.dir)))?;
        let written = self.write(input, &transcript, output)?;
        self.resume_cache(&output.dir, input, &transcript)?.remove();
        Ok((transcript, written))
    }

    /// What decides this pipeline's output besides the recording, as one SHA-256 (hex):
    /// the models' hashes, every transcription, speech and diarization parameter and the
    /// names asked for, and the version. Not the thread count, which changes nothing.
    /// Two runs with the same key on the same recording give the same transcript, so a
    /// batch can skip a recording done with the same key.
    pub fn settings_key(&self) -> String {
        let settings = format!(
            "{}|{:?}|{}|{:?}|{:?}|{:?}|{:?}|{}|{}",
            self.engines.model_info.sha256,
            self.engines.model_info.vad.as_ref().map(|v| &v.sha256),
            serde_json::to_string(&self.params).unwrap_or_default(),
            self.speech,
            self.diarize,
            self.names,
            self.started_at,
            env!("CARGO_PKG_VERSION"),
            crate::transcribe::CACHE_REVISION,
        );
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(settings.as_bytes()))
    }

    /// The transcription parameters every recording starts from (a recording's own
    /// prompt is added to its transcript's copy).
    pub fn params(&self) -> &TranscribeParams {
        &self.params
    }

    /// The Whisper model this pipeline transcribes with (name, path, SHA-256).
    pub fn model_info(&self) -> &ModelInfo {
        &self.engines.model_info
    }

    /// Adds `name`'s voice from clips of them alone to `library` (not saved).
    pub fn enroll_clips(
        &self,
        library: &mut SpeakerLibrary,
        name: &str,
        clips: &[PathBuf],
    ) -> Result<()> {
        let diarizer = self.voice_embedder()?;
        for clip in clips {
            let samples = self.run(|| normalize::load_recording(clip, None)?.audio.read_all())?;
            let print = self.run(|| diarizer.voiceprint(&samples))?;
            let seconds = samples.len() as f64 / f64::from(crate::audio::SAMPLE_RATE);
            let source = clip.display().to_string();
            library.learn(
                name,
                &print,
                seconds,
                source,
                &self.engines.embedding_sha256,
            )?;
        }
        Ok(())
    }

    /// Adds speaker `speaker_id` of a finished transcript (read from `label`) to
    /// `library` as `name`: the voiceprint of their turns where nobody else talks, cut
    /// from the recording (`audio`, else the one the transcript names, its SHA-256
    /// checked). Returns the seconds of speech it heard.
    pub fn learn_speaker(
        &self,
        library: &mut SpeakerLibrary,
        transcript: &Transcript,
        label: &Path,
        speaker_id: &str,
        name: &str,
        audio: Option<&Path>,
    ) -> Result<f64> {
        let diarizer = self.voice_embedder()?;
        if !transcript.speakers.iter().any(|s| s.id == speaker_id) {
            let known: Vec<&str> = transcript.speakers.iter().map(|s| s.id.as_str()).collect();
            return Err(Error::input(
                label,
                format!("no speaker {speaker_id} (it has: {})", known.join(", ")),
            ));
        }
        let pieces = naming::lone_stretches(&transcript.turns, speaker_id);
        if pieces.is_empty() {
            return Err(Error::input(
                label,
                format!("{speaker_id} never talks alone for a second or more"),
            ));
        }
        let recording =
            audio.map_or_else(|| PathBuf::from(&transcript.source.path), Path::to_path_buf);
        let sha256 = recording_sha256(&recording)
            .map_err(|e| Error::input(label, format!("{e} (give the recording with --audio)")))?;
        if !transcript.source.sha256.is_empty() && sha256 != transcript.source.sha256 {
            return Err(Error::input(
                &recording,
                format!(
                    "not the recording {} was made from (its SHA-256 differs)",
                    label.display()
                ),
            ));
        }
        let spill = tempfile::tempdir().map_err(|e| Error::io(&std::env::temp_dir(), e))?;
        let audio = self
            .run(|| normalize::load_recording(&recording, Some(spill.path())))?
            .audio;
        let rate = f64::from(crate::audio::SAMPLE_RATE);
        let mut sum = Vec::new();
        let mut seconds = 0.0;
        for (start, end) in pieces {
            let samples = audio.read((start * rate) as u64, (end * rate) as u64)?;
            let print = self.run(|| diarizer.voiceprint(&samples))?;
            sum.resize(print.len(), 0.0);
            for (total, x) in sum.iter_mut().zip(&print) {
                *total += x * (end - start) as f32;
            }
            seconds += end - start;
        }
        let source = format!("{}#{speaker_id}", label.display());
        library.learn(name, &sum, seconds, source, &self.engines.embedding_sha256)?;
        Ok(seconds)
    }

    /// The embedding network, which voice learning needs.
    fn voice_embedder(&self) -> Result<&Diarizer> {
        self.engines.diarizer.as_ref().ok_or_else(|| {
            Error::Usage("learning voices needs the diarization models (drop --no-diarize)".into())
        })
    }

    /// Who speaks when, without transcribing: turns and speakers, no segments.
    pub fn diarize(&self, input: &Path) -> Result<Transcript> {
        self.run(|| self.diarize_in(input, self.work_dir.as_deref()))
    }

    /// [`diarize`](Self::diarize), then the formats asked for into `output.dir`.
    pub fn diarize_to(&self, input: &Path, output: &Output) -> Result<Vec<PathBuf>> {
        output.export.page.check()?;
        let transcript = self.run(|| self.diarize_in(input, Some(&output.dir)))?;
        self.write(input, &transcript, output)
    }

    /// Runs `work` on the pipeline's pool, so every stage keeps to its thread count.
    fn run<T: Send>(&self, work: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        self.pool.install(work)
    }

    fn transcribe_in(&self, input: &Path, work_dir: Option<&Path>) -> Result<Transcript> {
        let transcriber = self
            .engines
            .transcriber
            .as_ref()
            .ok_or_else(|| without("transcription"))?;
        let LoadedRecording {
            audio,
            source,
            clock,
        } = self.load(input, work_dir)?;
        let speech = self.detect_speech(input, &audio)?;
        let mut transcript = self.bare_transcript(source);
        transcript.metadata = self.read_metadata(input);
        let metadata = transcript
            .metadata
            .as_ref()
            .filter(|_| self.params.metadata_prompt);
        transcript.params.prompt = prompt::build(&self.params.hotwords, metadata);
        let cache = work_dir
            .map(|dir| self.resume_cache(dir, input, &transcript))
            .transpose()?;
        if let Some(resumed) = cache.as_ref().map(|c| Transcriber::resumable(&speech, c))
            && resumed > 0
        {
            self.info(
                input,
                format!("resumed {resumed} of {} chunks", speech.chunks.len()),
            );
        }
        let report = self.stage(input, Stage::Transcribe, Some(speech.chunks.len() as u64));
        let raw = transcriber.transcribe(
            &audio,
            &speech,
            transcript.params.prompt.as_deref(),
            input,
            cache.as_ref(),
            &|| report.advance(),
        )?;
        drop(report);
        let diarization = self.find_speakers(input, &audio)?;
        let timeline = SpeakerTimeline {
            turns: &diarization.turns,
            overlaps: &diarization.overlaps,
        };
        transcript.segments = assign_speakers(raw, timeline);
        self.add_speakers(&mut transcript, &diarization)?;
        self.set_clock(&mut transcript, &clock, input);
        Ok(transcript)
    }

    fn diarize_in(&self, input: &Path, work_dir: Option<&Path>) -> Result<Transcript> {
        if self.engines.diarizer.is_none() {
            return Err(without("diarization"));
        }
        let LoadedRecording {
            audio,
            source,
            clock,
        } = self.load(input, work_dir)?;
        let diarization = self.find_speakers(input, &audio)?;
        let mut transcript = self.bare_transcript(source);
        transcript.metadata = self.read_metadata(input);
        self.add_speakers(&mut transcript, &diarization)?;
        self.set_clock(&mut transcript, &clock, input);
        Ok(transcript)
    }

    fn load(&self, input: &Path, work_dir: Option<&Path>) -> Result<LoadedRecording> {
        let report = self.stage(input, Stage::Decode, None);
        let loaded = normalize::load_recording(input, work_dir)?;
        drop(report);
        for gap in &loaded.source.gaps {
            self.warn(
                input,
                format!("gap {:.3}-{:.3} s: {}", gap.start, gap.end, gap.reason),
            );
        }
        Ok(loaded)
    }

    fn detect_speech(&self, input: &Path, audio: &Audio) -> Result<SpeechMap> {
        let detector = self
            .engines
            .detector
            .as_ref()
            .ok_or_else(|| without("transcription"))?;
        let report = self.stage(input, Stage::DetectSpeech, None);
        let speech = detector.map(audio, &self.speech)?;
        drop(report);
        self.info(
            input,
            format!(
                "{} speech regions, {} chunks, {:.1} s of speech in {:.1} s",
                speech.regions.len(),
                speech.chunks.len(),
                speech.regions.iter().map(|r| r.len()).sum::<u64>() as f64 / 16_000.0,
                audio.duration_seconds()
            ),
        );
        Ok(speech)
    }

    fn find_speakers(&self, input: &Path, audio: &Audio) -> Result<Diarization> {
        match (&self.engines.diarizer, &self.diarize) {
            (Some(diarizer), Some(params)) => {
                let _report = self.stage(input, Stage::Diarize, None);
                diarizer.run(audio, params)
            }
            _ => Ok(Diarization::default()),
        }
    }

    fn write(
        &self,
        input: &Path,
        transcript: &Transcript,
        output: &Output,
    ) -> Result<Vec<PathBuf>> {
        let report = self.stage(input, Stage::Write, Some(output.formats.len() as u64));
        let written = export::write_all(
            transcript,
            &output.dir,
            &output.stem_for(input),
            &output.formats,
            &output.export,
        )?;
        for _ in &written {
            report.advance();
        }
        Ok(written)
    }

    fn bare_transcript(&self, source: SourceInfo) -> Transcript {
        Transcript {
            tool: ToolInfo::default(),
            source,
            model: self.engines.model_info.clone(),
            params: TranscribeParams {
                diarize: self.diarize.is_some(),
                ..self.params.clone()
            },
            speakers: Vec::new(),
            turns: Vec::new(),
            metadata: None,
            segments: Vec::new(),
        }
    }

    /// The Space's metadata file beside the recording, if any. A broken one costs the
    /// title and roster (a warning), not the transcript.
    fn read_metadata(&self, input: &Path) -> Option<SpaceMetadata> {
        naming::metadata::find_for(input).and_then(|p| {
            naming::metadata::read(&p)
                .inspect_err(|e| {
                    self.warn(input, format!("{e}; going on without the Space's metadata"))
                })
                .ok()
        })
    }

    /// Speaker list, turns and the names asked for (from the roster of the transcript's
    /// metadata).
    fn add_speakers(&self, transcript: &mut Transcript, diarization: &Diarization) -> Result<()> {
        transcript.speakers = naming::speaker_list(&diarization.speakers, &diarization.turns);
        transcript.turns = diarization.turns.iter().map(to_turn).collect();
        let names = self.decide_names(diarization, transcript.metadata.as_ref())?;
        naming::apply(transcript, &names);
        Ok(())
    }

    /// Dates the transcript from the input's clock marks, its metadata's start and the
    /// user's; the anchors' disagreements are warnings.
    fn set_clock(&self, transcript: &mut Transcript, marks: &[ClockMark], input: &Path) {
        let other = OtherAnchors {
            metadata: transcript
                .metadata
                .as_ref()
                .and_then(|m| m.started_at.as_deref()),
            user: self.started_at,
        };
        let resolved = clock::resolve(marks, other);
        for warning in &resolved.warnings {
            self.warn(input, format!("wall clock: {warning}"));
        }
        clock::apply(resolved, transcript);
    }

    /// Voiceprint matches first; the caller's explicit map overrides them.
    fn decide_names(
        &self,
        diarization: &Diarization,
        roster: Option<&SpaceMetadata>,
    ) -> Result<BTreeMap<String, Naming>> {
        let prints: Vec<(String, Vec<f32>)> = diarization
            .speakers
            .iter()
            .cloned()
            .zip(diarization.voiceprints.iter().cloned())
            .collect();
        let mut names = naming::match_voiceprints(&prints, &self.engines.enrolled);
        for naming in names.values_mut() {
            naming.name = naming::resolve_handle(&naming.name, roster)?;
        }
        names.extend(naming::names_from_map(
            &self.names.map,
            &diarization.speakers,
            roster,
        )?);
        Ok(names)
    }

    /// Where a killed run's finished chunks wait: under the work folder, keyed by the
    /// input's and the model's hashes and every parameter that changes the words (not
    /// the thread count, which does not).
    fn resume_cache(
        &self,
        dir: &Path,
        input: &Path,
        transcript: &Transcript,
    ) -> Result<ChunkCache> {
        let input_sha256 = &transcript.source.sha256;
        // The transcript's parameters: the pipeline's, with this recording's prompt.
        let params = serde_json::to_string(&transcript.params)
            .map_err(|e| Error::stage(input, "resume cache", e.to_string()))?;
        let speech = format!("{:?}", self.speech);
        Ok(ChunkCache::new(
            &dir.join(".spacescribe-resume"),
            &output_stem(input),
            &[
                input_sha256,
                &self.engines.model_info.sha256,
                &params,
                &speech,
                env!("CARGO_PKG_VERSION"),
                crate::transcribe::CACHE_REVISION,
            ],
        ))
    }

    fn stage<'a>(&'a self, input: &'a Path, stage: Stage, total: Option<u64>) -> StageReport<'a> {
        StageReport::start(&*self.progress, input, stage, total)
    }

    fn warn(&self, input: &Path, message: String) {
        self.progress.event(Event::Warning { input, message });
    }

    fn info(&self, input: &Path, message: String) {
        self.progress.event(Event::Info { input, message });
    }
}

/// The loaded models, shared by every input of a run.
struct Engines {
    transcriber: Option<Transcriber>,
    detector: Option<SpeechDetector>,
    model_info: ModelInfo,
    diarizer: Option<Diarizer>,
    /// Enrolled voices: name and voiceprint.
    enrolled: Vec<(String, Vec<f32>)>,
    /// SHA-256 of the speaker-embedding model, when loaded (a library's voiceprints
    /// must come from the same one).
    embedding_sha256: String,
}

impl Engines {
    /// What the settings need: Whisper and the VAD to transcribe, the two
    /// diarization networks to find speakers (and the enrollment clips' voiceprints).
    fn load(settings: &PipelineBuilder) -> Result<Self> {
        let models = &settings.models;
        let mut engines = Engines {
            transcriber: None,
            detector: None,
            model_info: ModelInfo::default(),
            diarizer: None,
            enrolled: Vec::new(),
            embedding_sha256: String::new(),
        };
        if settings.transcription {
            let transcriber = Transcriber::load(&models.whisper, settings.params.clone())?;
            engines.model_info = ModelInfo {
                name: transcriber.summary().name.clone(),
                path: models.whisper.display().to_string(),
                sha256: models::sha256_file(&models.whisper)?,
                probability_calibration: transcriber.calibration().map(|c| c.name.to_string()),
                vad: Some(Box::new(ModelInfo {
                    name: "silero-vad".into(),
                    path: models.vad.display().to_string(),
                    sha256: models::sha256_file(&models.vad)?,
                    probability_calibration: None,
                    vad: None,
                })),
            };
            engines.transcriber = Some(transcriber);
            engines.detector = Some(SpeechDetector::load(
                &models.vad,
                rayon::current_num_threads(),
            )?);
        }
        if settings.find_speakers {
            let diarizer = Diarizer::load(&models.segmentation, &models.embedding)?;
            engines.embedding_sha256 = models::sha256_file(&models.embedding)?;
            engines.enrolled = enroll(&diarizer, &settings.names)?;
            if let Some(library) = &settings.names.library {
                for (name, print) in library.voices(&engines.embedding_sha256)? {
                    if !engines.enrolled.iter().any(|(n, _)| *n == name) {
                        engines.enrolled.push((name, print));
                    }
                }
            }
            engines.diarizer = Some(diarizer);
        }
        Ok(engines)
    }
}

/// Voiceprints of the enrollment clips.
fn enroll(diarizer: &Diarizer, names: &SpeakerNames) -> Result<Vec<(String, Vec<f32>)>> {
    names
        .enroll
        .iter()
        .map(|(name, clip)| {
            let audio = normalize::load_recording(clip, None)?.audio;
            Ok((name.clone(), diarizer.voiceprint(&audio.read_all()?)?))
        })
        .collect()
}

fn to_turn(t: &SpeakerTurn) -> Turn {
    Turn {
        start: seconds(t.start),
        end: seconds(t.end),
        speaker: t.speaker.clone(),
    }
}

/// Puts new names on a finished transcript's speakers, without its audio. Only
/// mapped names (`ID=Name`, `@handles` from its metadata) apply: voiceprints need
/// the recording.
pub fn rename(transcript: &mut Transcript, names: &SpeakerNames) -> Result<()> {
    if names.recognises_voices() {
        return Err(Error::Usage(
            "rename takes --speaker/--speaker-names; voices need the audio (use transcribe --enroll or --speaker-library)"
                .into(),
        ));
    }
    let ids: Vec<String> = transcript.speakers.iter().map(|s| s.id.clone()).collect();
    let decided = naming::names_from_map(&names.map, &ids, transcript.metadata.as_ref())?;
    naming::apply(transcript, &decided);
    Ok(())
}

/// Decodes and normalizes `input` into the 16 kHz mono 16-bit WAV the models hear,
/// written atomically, on `threads` threads.
pub fn decode_to_wav(input: &Path, out: &Path, threads: Option<usize>) -> Result<SourceInfo> {
    let pool = thread_pool(threads.map(|n| n.max(1)), input)?;
    let (mut source, marks) = pool.install(|| normalize::decode_to_wav(input, out))?;
    clock::set_source_clock(clock::resolve(&marks, OtherAnchors::default()), &mut source);
    Ok(source)
}

/// Opens `input` (a file or a local HLS playlist) to stream its audio at its own sample
/// rate with all its channels, on the timeline its transcript uses: frame `n` is second
/// `n / rate` of the transcript, a playlist's gaps filled with silence where the
/// pipeline fills them. What `spacescribe publish` makes the published audio from.
pub fn open_source_audio(input: &Path) -> Result<SourceAudio> {
    SourceAudio::open(input)
}

/// SHA-256 (hex) of a recording's content, without decoding it: the file's bytes, or
/// a playlist's bytes followed by every chunk it lists that exists. What names a
/// recording in an archive, so the same recording under two names is one.
pub fn recording_sha256(input: &Path) -> Result<String> {
    crate::ingest::open(input)?.sha256()
}

/// The files a recording is read from: the file itself, or a playlist and the chunks it
/// lists (whether they exist or not). How a batch tells a Space's chunks, which are
/// not recordings of their own, from the recordings beside them.
pub fn recording_files(input: &Path) -> Result<Vec<PathBuf>> {
    let recording = crate::ingest::open(input)?;
    let mut files = vec![recording.path.clone()];
    files.extend(
        recording
            .parts
            .into_iter()
            .map(|p| p.path)
            .filter(|p| *p != recording.path),
    );
    Ok(files)
}

/// A call the pipeline was not built for (`PipelineBuilder::transcription(false)`, …).
fn without(what: &str) -> Error {
    Error::Usage(format!("this pipeline was built without {what}"))
}

/// The one pool every stage of a call runs in: `threads` of them, else one per core
/// (rayon's default). `near` names the file in the error.
fn thread_pool(threads: Option<usize>, near: &Path) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .thread_name(|i| format!("spacescribe-{i}"))
        .build()
        .map_err(|e| Error::stage(near, "thread pool", e.to_string()))
}

/// The input's file name without its extension (`space.m4a` -> `space`): the stem of
/// every output file.
pub fn output_stem(input: &Path) -> String {
    input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "transcript".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_drop_only_the_last_extension() {
        assert_eq!(output_stem(Path::new("/a/space.m4a")), "space");
        assert_eq!(output_stem(Path::new("x/playlist.m3u8")), "playlist");
        assert_eq!(output_stem(Path::new("archive.tar.aac")), "archive.tar");
    }

    #[test]
    fn bad_settings_are_usage_errors_before_any_model_loads() {
        let models = Models::from_dir(Path::new("/nonexistent"));
        let cases = [
            Pipeline::builder(models.clone()).threads(0),
            Pipeline::builder(models.clone()).beam_size(0),
            Pipeline::builder(models.clone()).speaker_count(SpeakerCount {
                min: Some(3),
                max: Some(2),
                exact: None,
            }),
            Pipeline::builder(models.clone()).cluster_threshold(3.0),
            Pipeline::builder(models.clone())
                .diarize(false)
                .speaker_count(SpeakerCount::default())
                .names(SpeakerNames::new().enroll("A", "a.wav")),
            Pipeline::builder(models)
                .diarize(false)
                .names(SpeakerNames::new().enroll("A", "a.wav")),
        ];
        for builder in cases {
            let err = builder.build().err().expect("refused");
            assert_eq!(err.kind(), crate::ErrorKind::Usage, "{err}");
        }
    }

    #[test]
    fn missing_models_are_model_errors() {
        let err = Pipeline::builder(Models::from_dir(Path::new("/nonexistent")))
            .build()
            .err()
            .expect("refused");
        assert_eq!(err.kind(), crate::ErrorKind::Model, "{err}");
    }
}
