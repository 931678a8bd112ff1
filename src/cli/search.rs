//! `spacescribe index` and `spacescribe search`: the archive's full-text index brought
//! up to date, and hits shown for a reader (or as JSON), each with the command that
//! cuts its clip.

use clap::Args;
use spacescribe::Result;
use spacescribe::archive::{self, Archive, Hit, SearchQuery};
use spacescribe::export::offset_millis;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(crate) struct IndexArgs {
    /// The archive folder (`batch --archive DIR`).
    archive: PathBuf,
    /// First move in the indexes that the shards of a sharded batch wrote.
    #[arg(long)]
    merge: bool,
}

#[derive(Args)]
pub(crate) struct SearchArgs {
    /// Words that must all be said; "a phrase", prefix*, fuzzy~ (or ~2), -excluded.
    query: String,
    /// The archive folder (`batch --archive DIR`).
    #[arg(long, value_name = "DIR")]
    archive: PathBuf,
    /// Only what this speaker says (name or speaker id, any case).
    #[arg(long)]
    speaker: Option<String>,
    /// Only speech at or after DATE on the clock (2024-08-12 or an RFC 3339 time);
    /// recordings whose clock is unknown are left out.
    #[arg(long, value_name = "DATE")]
    after: Option<String>,
    /// Only speech before DATE on the clock (2024-08-13: up to the end of the 12th).
    #[arg(long, value_name = "DATE")]
    before: Option<String>,
    /// Only this recording (its id, at least 4 characters of it, or its name).
    #[arg(long, value_name = "ID")]
    recording: Vec<String>,
    /// How many hits to show, best first.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Print JSON for other tools instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn index(args: IndexArgs) -> Result<()> {
    let archive = Archive::open(&args.archive)?;
    let report = archive::update_index(&archive, args.merge)?;
    eprintln!(
        "spacescribe: index: {} recording(s) indexed ({} segments), {} unchanged, {} removed{}",
        report.indexed,
        report.segments,
        report.unchanged,
        report.removed,
        match report.merged_shards {
            0 => String::new(),
            n => format!(", {n} shard index(es) merged"),
        }
    );
    for (id, reason) in &report.failed {
        eprintln!("  not indexed {}: {reason}", &id[..12.min(id.len())]);
    }
    Ok(())
}

pub(crate) fn search(args: SearchArgs) -> Result<()> {
    let archive = Archive::open(&args.archive)?;
    let mut query = SearchQuery::new(&args.query).limit(args.limit);
    if let Some(speaker) = &args.speaker {
        query = query.speaker(speaker);
    }
    if let Some(after) = &args.after {
        query = query.after(archive::parse_date(after)?);
    }
    if let Some(before) = &args.before {
        query = query.before(archive::parse_date(before)?);
    }
    for reference in &args.recording {
        for id in archive::resolve_recording(&archive, reference)? {
            query = query.recording(id);
        }
    }
    let results = archive::search(&archive, &query)?;
    if results.unmerged_shards > 0 {
        eprintln!(
            "spacescribe: {} shard index(es) not merged, not searched: run `spacescribe index {} --merge`",
            results.unmerged_shards,
            args.archive.display()
        );
    }
    let text = if args.json {
        serde_json::to_string_pretty(&results).expect("hits serialize") + "\n"
    } else {
        if results.hits.is_empty() {
            eprintln!("spacescribe: no segment matches");
        }
        let shown: Vec<String> = results
            .hits
            .iter()
            .enumerate()
            .map(|(n, hit)| show_hit(n + 1, hit, &args.archive))
            .collect();
        let more = results.total.saturating_sub(results.hits.len());
        let tail = if more > 0 {
            format!("({more} more; --limit shows them)\n")
        } else {
            String::new()
        };
        shown.concat() + &tail
    };
    // A reader that stops early (`| head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(())
}

/// A hit for a reader: rank and score, recording, speaker, times, the snippet with the
/// matched words in brackets, and the quote command that cuts its clip.
fn show_hit(n: usize, hit: &Hit, archive: &Path) -> String {
    let id = &hit.recording[..12.min(hit.recording.len())];
    let title = hit
        .title
        .as_deref()
        .map(|t| format!("  \"{t}\""))
        .unwrap_or_default();
    let speaker = match (&hit.speaker, &hit.speaker_id) {
        (Some(name), Some(id)) if name != id => format!("{name} ({id})"),
        (Some(name), _) => name.clone(),
        _ => "speaker unknown".into(),
    };
    let clock = hit
        .wall_clock
        .as_deref()
        .map(|c| format!("  (clock {c})"))
        .unwrap_or_default();
    let transcript = archive.join(&hit.transcript);
    let mut clip = format!(
        "spacescribe quote {} {}",
        shell_quote(&hit.text),
        shell_quote(&transcript.to_string_lossy())
    );
    if let Some(id) = &hit.speaker_id {
        clip.push_str(&format!(" --speaker {}", shell_quote(id)));
    }
    clip.push_str(&format!(
        " --top 1 --clip {}",
        shell_quote(&format!("{}-{:.0}s.wav", hit.name, hit.at))
    ));
    format!(
        "[{n}] {:.2}  {} ({id}){title}  {speaker}\n    at {} in the recording{clock}; segment {} - {}\n    {}\n    clip: {clip}\n",
        hit.score,
        hit.name,
        offset_millis(hit.at),
        offset_millis(hit.start),
        offset_millis(hit.end),
        hit.snippet
    )
}

/// `text` as one word for a POSIX shell.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn shell_quoting_keeps_plain_words_and_wraps_the_rest() {
        assert_eq!(shell_quote("a/b-c.json"), "a/b-c.json");
        assert_eq!(shell_quote("It's here"), r"'It'\''s here'");
        assert_eq!(shell_quote(""), "''");
    }
}
