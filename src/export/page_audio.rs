//! Where the transcript page's player gets its audio, and which audio URLs a page
//! may carry at all.
//!
//! The page is uploaded beside the audio, so without a URL from the publisher the
//! player points at the original recording by a path relative to the page's own
//! folder. Only the writer knows that folder (`render` gets a transcript, not a
//! destination), so the writer asks [`recording_url`] before it renders.

use crate::transcript::SourceInfo;
use std::ffi::OsString;
use std::path::{Component, Path};

/// Extensions of the files every current browser plays in an `<audio>` element.
const BROWSER_PLAYS: [&str; 9] = [
    "wav", "mp3", "m4a", "mp4", "aac", "ogg", "oga", "opus", "flac",
];

/// True when `url` is safe as the player's source: an http(s) URL or a relative
/// path. Anything with another scheme (`javascript:`, `data:`, `vbscript:`…) is
/// refused, looked at as a browser would parse it: browsers drop tabs and newlines
/// anywhere in a URL and trim spaces and controls at its ends, so `java\tscript:`
/// is `javascript:`.
pub(crate) fn is_safe_url(url: &str) -> bool {
    let seen: String = url
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    if seen.is_empty() || seen.chars().any(char::is_control) {
        return false;
    }
    match scheme(&seen) {
        None => true,
        Some(scheme) => ["http", "https"]
            .iter()
            .any(|ok| scheme.eq_ignore_ascii_case(ok)),
    }
}

/// What stands before the first `:` when no `/`, `?` or `#` comes earlier: the
/// scheme, or what a browser might take for one.
fn scheme(url: &str) -> Option<&str> {
    let end = url.find([':', '/', '?', '#'])?;
    url[end..].starts_with(':').then(|| &url[..end])
}

/// True when a browser plays the file at `path` (judged by its extension).
pub(crate) fn browser_plays(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| BROWSER_PLAYS.iter().any(|ok| e.eq_ignore_ascii_case(ok)))
}

/// The original recording as a URL relative to `page_dir`, when it is a file a
/// browser plays and both can be found from here (a relative source path is taken
/// from the current folder, as the transcript recorded it).
pub(crate) fn recording_url(source: &SourceInfo, page_dir: &Path) -> Option<String> {
    let recording = Path::new(&source.path);
    if source.kind == "hls" || !browser_plays(recording) {
        return None;
    }
    let recording = std::fs::canonicalize(recording).ok()?;
    let page_dir = std::fs::canonicalize(page_dir).ok()?;
    Some(url_path(&relative_path(&page_dir, &recording)))
}

/// Why the page has no player source: the start of a sentence the page ends with
/// how to give it one.
pub(crate) fn why_no_audio(source: &SourceInfo, given_url: Option<&str>) -> &'static str {
    if given_url.is_some() {
        "the audio URL given was refused (only http(s) URLs and relative paths play)"
    } else if source.kind == "hls" {
        "the recording is an HLS playlist, which a browser does not play from a file"
    } else if !browser_plays(Path::new(&source.path)) {
        "browsers do not play the recording's kind of file"
    } else {
        "the recording was not found when the page was written"
    }
}

/// The path from folder `from` to file `to`, both absolute: `..` up to their common
/// ancestor, then down.
fn relative_path(from: &Path, to: &Path) -> Vec<OsString> {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let up = (common..from.len()).map(|_| OsString::from(".."));
    let down = to[common..].iter().map(|c| c.as_os_str().to_owned());
    up.chain(down).collect()
}

/// Path segments as a relative URL. Every byte but the unreserved ones is
/// percent-encoded, `:` included, so a file named `javascript:x.wav` stays a path.
fn url_path(segments: &[OsString]) -> String {
    segments
        .iter()
        .map(|segment| {
            segment
                .as_encoded_bytes()
                .iter()
                .map(|&b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_relative_urls_are_safe() {
        for ok in [
            "call.mp3",
            "../audio/call.mp3",
            "/media/call.mp3",
            "https://example.org/a.mp3",
            "HTTP://example.org/a.mp3",
            "//cdn.example.org/a.mp3",
            "a.mp3?t=1:2",
        ] {
            assert!(is_safe_url(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "jav\nascript:alert(1)",
            "data:audio/wav;base64,AAAA",
            "vbscript:x",
            "file:///etc/passwd",
            "",
            "a\u{0}b",
        ] {
            assert!(!is_safe_url(bad), "{bad:?}");
        }
    }

    #[test]
    fn relative_urls_climb_and_encode() {
        let segments = relative_path(
            Path::new("/srv/site/pages"),
            Path::new("/srv/site/audio/my call#1.wav"),
        );
        assert_eq!(url_path(&segments), "../audio/my%20call%231.wav");
        let beside = relative_path(Path::new("/out"), Path::new("/out/javascript:x.wav"));
        let url = url_path(&beside);
        assert_eq!(url, "javascript%3Ax.wav");
        assert!(is_safe_url(&url));
    }

    #[test]
    fn the_recording_beside_the_page_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("call.wav");
        std::fs::write(&wav, b"RIFF").unwrap();
        let mut source = SourceInfo {
            path: wav.display().to_string(),
            kind: "file".into(),
            ..SourceInfo::default()
        };
        assert_eq!(
            recording_url(&source, dir.path()).as_deref(),
            Some("call.wav")
        );
        source.kind = "hls".into();
        assert_eq!(recording_url(&source, dir.path()), None);
        assert!(why_no_audio(&source, None).contains("HLS playlist"));
    }
}
