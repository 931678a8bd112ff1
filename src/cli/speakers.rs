//! `spacescribe speakers`: a speaker library's voices added from clips, learnt from a
//! finished transcript's speaker, listed and removed. The library is the archive's
//! (`--archive DIR`) or any file (`--library FILE`).

use clap::{Args, Subcommand};
use spacescribe::archive::Archive;
use spacescribe::{Error, Models, Pipeline, Result, SpeakerLibrary, Transcript};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum SpeakersCommand {
    /// Add NAME's voice from clips of them talking alone.
    Add {
        name: String,
        #[arg(required = true)]
        clips: Vec<PathBuf>,
        #[command(flatten)]
        library: LibraryArgs,
        #[command(flatten)]
        models: ModelsArg,
    },
    /// Learn a speaker of a finished transcript (where they talk alone, cut from its
    /// recording), under NAME [default: the name the transcript gives them].
    Learn {
        transcript: PathBuf,
        speaker_id: String,
        name: Option<String>,
        /// The recording, when it is no longer where the transcript says.
        #[arg(long, value_name = "FILE")]
        audio: Option<PathBuf>,
        #[command(flatten)]
        library: LibraryArgs,
        #[command(flatten)]
        models: ModelsArg,
    },
    /// The voices in the library.
    List {
        #[command(flatten)]
        library: LibraryArgs,
        /// Print JSON for other tools instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Take a voice out of the library.
    Remove {
        name: String,
        #[command(flatten)]
        library: LibraryArgs,
    },
}

/// Which library: the archive's or a file.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct LibraryArgs {
    /// The archive whose library (DIR/speakers.json) this is.
    #[arg(long, value_name = "DIR")]
    archive: Option<PathBuf>,
    /// A library file anywhere.
    #[arg(long, value_name = "FILE")]
    library: Option<PathBuf>,
}

impl LibraryArgs {
    fn open(&self) -> Result<SpeakerLibrary> {
        match (&self.archive, &self.library) {
            (Some(dir), _) => SpeakerLibrary::open(&Archive::open(dir)?.speaker_library_path()),
            (None, Some(file)) => SpeakerLibrary::open(file),
            (None, None) => Err(Error::Usage("give --archive DIR or --library FILE".into())),
        }
    }
}

#[derive(Args)]
pub(crate) struct ModelsArg {
    /// The folder with the models [default: $SPACESCRIBE_MODELS, else
    /// ~/.local/share/spacescribe/models, else the checkout's models/].
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
}

impl ModelsArg {
    /// A pipeline that only embeds voices.
    fn pipeline(&self) -> Result<Pipeline> {
        Pipeline::builder(Models::locate(self.models_dir.as_deref())?)
            .transcription(false)
            .build()
    }
}

pub(crate) fn run(command: SpeakersCommand) -> Result<()> {
    match command {
        SpeakersCommand::Add {
            name,
            clips,
            library,
            models,
        } => {
            let mut library = library.open()?;
            models
                .pipeline()?
                .enroll_clips(&mut library, &name, &clips)?;
            library.save()?;
            eprintln!(
                "spacescribe: {name} added to {} from {} clip(s)",
                library.path().display(),
                clips.len()
            );
        }
        SpeakersCommand::Learn {
            transcript,
            speaker_id,
            name,
            audio,
            library,
            models,
        } => {
            let mut library = library.open()?;
            let read = Transcript::read_json(&transcript)?;
            let name = name.unwrap_or_else(|| read.speaker_name(&speaker_id).to_string());
            if name == speaker_id {
                return Err(Error::Usage(format!(
                    "{speaker_id} has no name in {}: give one (speakers learn FILE {speaker_id} NAME)",
                    transcript.display()
                )));
            }
            let pipeline = models.pipeline()?;
            let seconds = pipeline.learn_speaker(
                &mut library,
                &read,
                &transcript,
                &speaker_id,
                &name,
                audio.as_deref(),
            )?;
            library.save()?;
            eprintln!(
                "spacescribe: {name} learnt from {speaker_id} of {} ({seconds:.1} s alone) into {}",
                transcript.display(),
                library.path().display()
            );
        }
        SpeakersCommand::List { library, json } => {
            let library = library.open()?;
            let text = if json {
                serde_json::to_string_pretty(library.speakers()).expect("speakers serialize") + "\n"
            } else {
                library
                    .speakers()
                    .iter()
                    .map(|s| format!("{}\t{:.1} s\t{}\n", s.name, s.seconds, s.sources.join(", ")))
                    .collect()
            };
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
        SpeakersCommand::Remove { name, library } => {
            let mut library = library.open()?;
            if !library.remove(&name) {
                return Err(Error::Usage(format!(
                    "{name} is not in {}",
                    library.path().display()
                )));
            }
            library.save()?;
        }
    }
    Ok(())
}
