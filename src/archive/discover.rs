//! Which recordings a batch's sources name: folders searched recursively (a Space's
//! playlist is one recording and the chunks it lists are not recordings of their own),
//! list files of paths, and single files.

use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// File endings of what the pipeline reads, found when a folder is searched.
const RECORDING_EXTENSIONS: &[&str] = &[
    "m4a", "mp4", "aac", "m3u8", "m3u", "wav", "flac", "mp3", "ogg", "oga", "opus",
];

/// File endings of list files: one path per line (relative to the list's folder),
/// `#` comments and blank lines skipped.
const LIST_EXTENSIONS: &[&str] = &["txt", "list", "lst"];

/// The recordings `sources` name, in a stable order (sorted within each source, the
/// sources in the order given), each once. Hidden files and folders (such as a run's
/// `.spacescribe-resume`) and anything under `skip` (the archive itself) are left out.
/// A source that does not exist is passed on as it is, so the batch reports it as a
/// failed recording instead of stopping.
pub fn find_recordings(sources: &[PathBuf], skip: Option<&Path>) -> Result<Vec<PathBuf>> {
    let skip = skip.and_then(|s| s.canonicalize().ok());
    let mut found = Vec::new();
    for source in sources {
        if source.is_dir() {
            search_folder(source, skip.as_deref(), &mut found)?;
        } else if has_extension(source, LIST_EXTENSIONS) {
            read_list(source, skip.as_deref(), &mut found)?;
        } else {
            found.push(source.clone());
        }
    }
    let mut seen = BTreeSet::new();
    found.retain(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
    Ok(found)
}

fn read_list(list: &Path, skip: Option<&Path>, found: &mut Vec<PathBuf>) -> Result<()> {
    let text = std::fs::read_to_string(list).map_err(|e| Error::io(list, e))?;
    let base = list.parent().unwrap_or(Path::new("."));
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let path = base.join(line);
        if path.is_dir() {
            search_folder(&path, skip, found)?;
        } else {
            found.push(path);
        }
    }
    Ok(())
}

fn search_folder(dir: &Path, skip: Option<&Path>, found: &mut Vec<PathBuf>) -> Result<()> {
    if skip.is_some_and(|s| dir.canonicalize().is_ok_and(|d| d == s)) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !is_hidden(p))
        .collect();
    entries.sort();
    let chunks = chunks_of_playlists(&entries);
    for path in entries {
        if path.is_dir() {
            search_folder(&path, skip, found)?;
        } else if has_extension(&path, RECORDING_EXTENSIONS) && !chunks.contains(&path) {
            found.push(path);
        }
    }
    Ok(())
}

/// The files the playlists among `entries` list: parts of those recordings.
fn chunks_of_playlists(entries: &[PathBuf]) -> BTreeSet<PathBuf> {
    entries
        .iter()
        .filter(|p| is_playlist(p))
        // An unreadable playlist lists nothing; the batch reports it when it runs it.
        .filter_map(|p| crate::pipeline::recording_files(p).ok())
        .flat_map(|files| files.into_iter().skip(1))
        .collect()
}

/// A playlist by its name (`.m3u8`, `.m3u`), as the pipeline reads one.
pub(super) fn is_playlist(path: &Path) -> bool {
    has_extension(path, &["m3u8", "m3u"])
}

fn has_extension(path: &Path, endings: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| endings.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// `found`, relative to `base`.
    fn relative(found: &[PathBuf], base: &Path) -> Vec<String> {
        found
            .iter()
            .map(|p| p.strip_prefix(base).unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_playlist_is_one_recording_and_its_chunks_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let list = b"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\na.aac\n#EXTINF:3.0,\nb.aac\n#EXT-X-ENDLIST\n";
        touch(&d.join("space/playlist.m3u8"), list);
        touch(&d.join("space/a.aac"), b"A");
        touch(&d.join("space/b.aac"), b"B");
        touch(&d.join("space/other.aac"), b"C");
        touch(&d.join("space/notes.md"), b"not audio");
        touch(&d.join("space/.spacescribe-resume/x.wav"), b"hidden");
        touch(&d.join("calls/2024/one.wav"), b"W");
        let found = find_recordings(&[d.to_path_buf()], None).unwrap();
        assert_eq!(
            relative(&found, d),
            [
                "calls/2024/one.wav",
                "space/other.aac",
                "space/playlist.m3u8"
            ]
        );
    }

    #[test]
    fn list_files_name_files_and_folders_relative_to_the_list_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(&d.join("x/one.m4a"), b"1");
        touch(&d.join("y/two.mp3"), b"2");
        touch(&d.join("y/three.flac"), b"3");
        touch(
            &d.join("batch.txt"),
            b"# tonight\nx/one.m4a\n\ny\nx/one.m4a\nmissing.wav\n",
        );
        let found = find_recordings(&[d.join("batch.txt")], None).unwrap();
        assert_eq!(
            relative(&found, d),
            ["x/one.m4a", "y/three.flac", "y/two.mp3", "missing.wav"]
        );
    }

    #[test]
    fn the_archive_inside_a_source_is_not_searched() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(&d.join("in/one.wav"), b"1");
        touch(&d.join("in/archive/recordings/abc-one/one.wav"), b"1");
        let found = find_recordings(&[d.join("in")], Some(&d.join("in/archive"))).unwrap();
        assert_eq!(found, [d.join("in/one.wav")]);
    }
}
