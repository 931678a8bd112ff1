//! The transcript page (`html`): one self-contained HTML file that a publisher
//! uploads beside the audio, to read, search, quote and play a transcript.
//!
//! This file owns the page's markup and its safety: every text from the recording,
//! its metadata or the user goes through [`escape`]; the data the script needs goes
//! in a JSON block that no text can close ([`script_json`]); a Content Security
//! Policy lets only the page's own script (by its hash) run and nothing be fetched
//! but the audio. The transcript is in the markup (turns with speaker and time, word
//! spans with `data-start`/`data-end`), so the page reads without JavaScript; the
//! script (`page/page.js`) and styles (`page/page.css`) are inlined, so it needs no
//! network. The script builds what it adds with `textContent`, never with markup.

use super::page_audio;
use super::timefmt::clock;
use super::wallclock::WallClock;
use crate::error::{Error, Result};
use crate::transcript::{Segment, Transcript, Turn, Word};
use sha2::{Digest, Sha256};
use std::path::Path;

const SCRIPT: &str = include_str!("page/page.js");
const STYLE: &str = include_str!("page/page.css");

/// Speaker colours in page.css (`.c0` … `.c7`); a ninth speaker takes the first again.
const COLOURS: usize = 8;

/// Settings of the transcript page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The audio the page's player plays, as the publisher serves it: an http(s) URL
    /// or a path relative to the page. Without one, the player gets the original
    /// recording by its path from the page's folder, when a browser plays that kind
    /// of file; an HLS playlist gets no player source and a note saying so.
    pub audio_url: Option<String>,
}

impl Page {
    /// Refuses an audio URL a browser could run as script (`javascript:`, `data:`…):
    /// only http(s) URLs and relative paths are taken.
    pub fn check(&self) -> Result<()> {
        match &self.audio_url {
            Some(url) if !page_audio::is_safe_url(url) => Err(Error::Usage(format!(
                "audio URL {url:?} refused: give an http(s) URL or a path relative to the page"
            ))),
            _ => Ok(()),
        }
    }

    /// The settings of a page written into `page_dir`: the audio URL given, else the
    /// recording's path from that folder. `render` never sees a folder, so the writer
    /// (which knows where the file goes) settles the path here first.
    pub(crate) fn placed_in(&self, transcript: &Transcript, page_dir: &Path) -> Result<Page> {
        self.check()?;
        Ok(Page {
            audio_url: self
                .audio_url
                .clone()
                .or_else(|| page_audio::recording_url(&transcript.source, page_dir)),
        })
    }
}

/// The whole page, ready to write.
pub(crate) fn render(transcript: &Transcript, page: &Page) -> String {
    let view = View::of(transcript);
    let mut html = String::with_capacity(STYLE.len() + SCRIPT.len() + 120 * view.word_count);
    push_head(&mut html, &view);
    html.push_str("<body>\n<header class=\"top\">\n");
    push_title_block(&mut html, &view);
    push_player(&mut html, transcript, page);
    push_tools(&mut html);
    html.push_str(
        "<section id=\"timeline\" aria-label=\"Speaker timeline\" hidden></section>\n</header>\n",
    );
    push_about(&mut html, &view);
    push_transcript(&mut html, &view);
    push_footer(&mut html, transcript);
    html.push_str(&format!(
        "<script type=\"application/json\" id=\"page-data\">{}</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        script_json(&page_data(&view))
    ));
    html
}

/// What the page shows, worked out once from the transcript.
struct View<'a> {
    transcript: &'a Transcript,
    title: String,
    clock: Option<WallClock<'a>>,
    word_count: usize,
}

impl<'a> View<'a> {
    fn of(transcript: &'a Transcript) -> Self {
        View {
            transcript,
            title: title(transcript),
            clock: WallClock::of(transcript),
            word_count: transcript.words().count(),
        }
    }

    /// The colour class of a speaker (`c0`…), by its place in the speaker list.
    fn colour(&self, speaker: &str) -> Option<usize> {
        self.transcript
            .speakers
            .iter()
            .position(|s| s.id == speaker)
            .map(|i| i % COLOURS)
    }
}

/// The Space's title from its metadata, else the recording's file name.
fn title(transcript: &Transcript) -> String {
    let from_metadata = transcript
        .metadata
        .as_ref()
        .and_then(|m| m.title.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match from_metadata {
        Some(title) => title.to_string(),
        None => Path::new(&transcript.source.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Transcript".into()),
    }
}

/// Escapes text for HTML content and quoted attributes alike.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&`
/// (so no `</script>` or `<!--` can end or bend the block) and no U+2028/9. These
/// characters only ever stand inside JSON strings, where `\u` escapes mean the same.
fn script_json(value: &serde_json::Value) -> String {
    serde_json::to_string(value)
        .expect("page data serializes")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// What the script draws the speaker timeline from: speakers, turns, crosstalk.
fn page_data(view: &View) -> serde_json::Value {
    let transcript = view.transcript;
    let speakers: Vec<_> = transcript
        .speakers
        .iter()
        .enumerate()
        .map(|(i, s)| serde_json::json!({ "name": s.name, "colour": i % COLOURS }))
        .collect();
    let turns: Vec<_> = transcript
        .turns
        .iter()
        .filter_map(|t| {
            let lane = transcript.speakers.iter().position(|s| s.id == t.speaker)?;
            Some(serde_json::json!([t.start, t.end, lane]))
        })
        .collect();
    serde_json::json!({
        "duration": transcript.source.duration,
        "speakers": speakers,
        "turns": turns,
        "crosstalk": crosstalk(&transcript.turns),
    })
}

/// The stretches in which two or more speakers talk at once.
fn crosstalk(turns: &[Turn]) -> Vec<[f64; 2]> {
    let mut edges: Vec<(f64, i32)> = turns
        .iter()
        .flat_map(|t| [(t.start, 1), (t.end, -1)])
        .collect();
    // At equal times ends come first: turns that only touch do not overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut stretches = Vec::new();
    let (mut talking, mut since) = (0, 0.0);
    for (at, change) in edges {
        let before = talking;
        talking += change;
        if before < 2 && talking >= 2 {
            since = at;
        } else if before >= 2 && talking < 2 && at > since {
            stretches.push([since, at]);
        }
    }
    stretches
}

/// The policy: only this page's script (by hash) and style run, the audio is the
/// only thing fetched, forms go nowhere. Injected markup, were any to slip through,
/// could neither run nor call home.
fn content_security_policy() -> String {
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; media-src *; img-src data:; base-uri 'none'; form-action 'none'",
        base64(&Sha256::digest(SCRIPT.as_bytes())),
        base64(&Sha256::digest(STYLE.as_bytes()))
    )
}

/// Standard base64 with padding (what CSP hashes are spelled in).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |bits, (i, &b)| bits | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(bits >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn push_head(html: &mut String, view: &View) {
    html.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{}\">\n<title>{}</title>\n\
         <link rel=\"icon\" href=\"data:,\">\n<style>{STYLE}</style>\n</head>\n",
        escape(&view.transcript.params.language),
        content_security_policy(),
        escape(&format!(
            "{} {}",
            view.transcript.tool.name, view.transcript.tool.version
        )),
        escape(&view.title),
    ));
}

/// The title, then one line of facts: when, how long, who hosted, how many spoke.
fn push_title_block(html: &mut String, view: &View) {
    let transcript = view.transcript;
    let mut facts = Vec::new();
    if let Some((datetime, line)) = view
        .clock
        .and_then(|c| Some((c.rfc3339(0.0)?, c.date_time(0.0)?)))
    {
        facts.push(format!(
            "<time datetime=\"{}\">{}</time>",
            escape(&datetime),
            escape(&line)
        ));
    }
    facts.push(format!("{} long", clock(transcript.source.duration)));
    if let Some(creator) = transcript
        .metadata
        .as_ref()
        .and_then(|m| m.creator.as_ref())
    {
        let handle = creator.handle.as_deref().map_or_else(String::new, |h| {
            format!(" (@{})", h.trim_start_matches('@'))
        });
        facts.push(format!(
            "hosted by {}",
            escape(&(creator.name.clone() + &handle))
        ));
    }
    if !transcript.speakers.is_empty() {
        facts.push(format!("{} speakers", transcript.speakers.len()));
    }
    html.push_str(&format!(
        "<h1>{}</h1>\n<p class=\"facts\">{}</p>\n",
        escape(&view.title),
        facts.join(" · ")
    ));
}

/// The player; without a playable source, an empty one and a note saying how to
/// give it one.
fn push_player(html: &mut String, transcript: &Transcript, page: &Page) {
    let source = page
        .audio_url
        .as_deref()
        .filter(|url| page_audio::is_safe_url(url));
    match source {
        Some(url) => html.push_str(&format!(
            "<audio id=\"player\" controls preload=\"metadata\" src=\"{}\"></audio>\n",
            escape(url)
        )),
        None => html.push_str(&format!(
            "<audio id=\"player\" controls preload=\"none\"></audio>\n<p class=\"note\" id=\"no-audio\">No audio: {}; write the page again with <code>--audio-url URL</code> (the published audio, or its path relative to this page).</p>\n",
            escape(page_audio::why_no_audio(
                &transcript.source,
                page.audio_url.as_deref()
            ))
        )),
    }
}

/// Search and copying; the script shows them (they need it).
fn push_tools(html: &mut String) {
    html.push_str(concat!(
        "<form id=\"search\" class=\"tools\" role=\"search\" hidden>\n",
        "<label for=\"q\">Find words</label>\n",
        "<input id=\"q\" type=\"search\" autocomplete=\"off\" spellcheck=\"false\" placeholder=\"a word or a phrase\">\n",
        "<button type=\"button\" id=\"prev\">Previous</button>\n",
        "<button type=\"submit\" id=\"next\">Next</button>\n",
        "<output id=\"hits\" for=\"q\" aria-live=\"polite\"></output>\n",
        "<button type=\"button\" id=\"copy-selection\" title=\"Copy the selected words with speaker and time\">Copy with citation</button>\n",
        "<span id=\"status\" role=\"status\"></span>\n",
        "</form>\n",
        "<noscript><p class=\"note\">Search, the speaker timeline and following the audio need JavaScript; the transcript and the player work without it.</p></noscript>\n",
    ));
}

/// Who speaks, for how long, in which colour; what the marks on words mean.
fn push_about(html: &mut String, view: &View) {
    html.push_str("<aside class=\"about\">\n");
    if !view.transcript.speakers.is_empty() {
        html.push_str("<ul class=\"speakers\" aria-label=\"Speakers\">\n");
        for (i, speaker) in view.transcript.speakers.iter().enumerate() {
            html.push_str(&format!(
                "<li class=\"c{}\"><span class=\"speaker\">{}</span> spoke {}</li>\n",
                i % COLOURS,
                escape(&speaker.name),
                clock(speaker.total_time)
            ));
        }
        html.push_str("</ul>\n");
    }
    html.push_str(concat!(
        "<p class=\"legend\"><span class=\"w unsure\">word</span> the model was unsure of · ",
        "<span class=\"w overlap\">word</span> spoken over another speaker · ",
        "click a word to play from it</p>\n</aside>\n",
    ));
}

/// Turns (consecutive segments of one speaker), each with speaker, time and words.
fn push_transcript(html: &mut String, view: &View) {
    html.push_str("<main id=\"transcript\">\n");
    let turns = view
        .transcript
        .segments
        .chunk_by(|a, b| a.speaker.is_some() && a.speaker == b.speaker);
    for turn in turns {
        push_turn(html, view, turn);
    }
    html.push_str("</main>\n");
}

fn push_turn(html: &mut String, view: &View, segments: &[Segment]) {
    let start = segments[0].start;
    let speaker = segments[0].speaker.as_deref();
    let colour = speaker
        .and_then(|id| view.colour(id))
        .map_or_else(String::new, |c| format!(" c{c}"));
    html.push_str(&format!("<div class=\"turn{colour}\">\n<p class=\"head\">"));
    if let Some(id) = speaker {
        html.push_str(&format!(
            "<span class=\"speaker\">{}</span> ",
            escape(view.transcript.speaker_name(id))
        ));
    }
    html.push_str(&format!(
        "<button type=\"button\" class=\"time\" data-start=\"{start:.3}\" title=\"Play from here\">{}</button>",
        clock(start)
    ));
    if let Some((datetime, time)) = view
        .clock
        .and_then(|c| Some((c.rfc3339(start)?, c.time_of_day(start)?)))
    {
        html.push_str(&format!(
            " <time class=\"wall\" datetime=\"{}\" title=\"wall-clock time\">{}</time>",
            escape(&datetime),
            escape(&time)
        ));
    }
    html.push_str("</p>\n<p class=\"words\">");
    let words: Vec<String> = segments
        .iter()
        .flat_map(|s| &s.words)
        .map(word_span)
        .collect();
    html.push_str(&words.join(" "));
    html.push_str("</p>\n</div>\n");
}

/// A word as a span the script seeks to; doubt and crosstalk as classes and a title.
fn word_span(word: &Word) -> String {
    let mut classes = String::from("w");
    let mut notes = Vec::new();
    if word.is_uncertain() {
        classes.push_str(" unsure");
        notes.push(format!(
            "unsure ({:.0} %)",
            f64::from(word.probability) * 100.0
        ));
    }
    if word.overlap {
        classes.push_str(" overlap");
        notes.push("spoken over another speaker".to_string());
    }
    let title = if notes.is_empty() {
        String::new()
    } else {
        format!(" title=\"{}\"", notes.join("; "))
    };
    format!(
        "<span class=\"{classes}\" data-start=\"{:.3}\" data-end=\"{:.3}\"{title}>{}</span>",
        word.start,
        word.end,
        escape(&word.word)
    )
}

fn push_footer(html: &mut String, transcript: &Transcript) {
    let model = &transcript.model.name;
    let made_with = if model.is_empty() {
        String::new()
    } else {
        format!(" with {}", escape(model))
    };
    html.push_str(&format!(
        "<footer><p>Transcribed by {} {}{made_with}. Times are from the start of the recording; words can be wrong: check a quote against the audio.</p></footer>\n",
        escape(&transcript.tool.name),
        escape(&transcript.tool.version),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;
    use crate::transcript::{Participant, SpaceMetadata};

    const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>";
    const HOSTILE_TITLE: &str = "</title><script>alert(2)</script>";
    const HOSTILE_WORD: &str = "</script><script>alert(3)</script>";

    fn hostile() -> Transcript {
        let mut t = fixture::two_speakers();
        t.speakers[0].name = HOSTILE_NAME.into();
        t.metadata = Some(SpaceMetadata {
            title: Some(HOSTILE_TITLE.into()),
            creator: Some(Participant {
                name: "\"quoted' & <b>".into(),
                handle: Some("x\"onmouseover=\"y".into()),
            }),
            ..SpaceMetadata::default()
        });
        t.segments[1].words[0].word = HOSTILE_WORD.into();
        t
    }

    /// The page with its inlined script and styles cut out: what came from the data.
    fn markup(page: &str) -> String {
        page.replace(SCRIPT, "").replace(STYLE, "")
    }

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            escape("<a href='x' title=\"y\">&</a>"),
            "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn hostile_names_titles_and_words_stay_text() {
        let page = markup(&render(&hostile(), &Page::default()));
        assert!(!page.contains("<img"), "{page}");
        assert_eq!(page.matches("<script").count(), 2, "only the page's own");
        assert_eq!(page.matches("</script>").count(), 2);
        assert_eq!(page.matches("</title>").count(), 1);
        assert!(
            page.contains("<title>&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;</title>")
        );
        assert!(page.contains("<span class=\"speaker\">&lt;img src=x onerror=alert(1)&gt;</span>"));
        assert!(page.contains("&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;</span>"));
        assert!(
            page.contains(
                "hosted by &quot;quoted&#39; &amp; &lt;b&gt; (@x&quot;onmouseover=&quot;y)"
            )
        );
    }

    #[test]
    fn the_data_block_cannot_be_closed_from_inside() {
        let data = script_json(&serde_json::json!({
            "name": "</script><!-- & \u{2028}\u{2029}",
        }));
        assert_eq!(
            data,
            r#"{"name":"\u003c/script\u003e\u003c!-- \u0026 \u2028\u2029"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(back["name"], "</script><!-- & \u{2028}\u{2029}");

        let page = render(&hostile(), &Page::default());
        let block = page
            .split("<script type=\"application/json\" id=\"page-data\">")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .unwrap();
        let data: serde_json::Value = serde_json::from_str(block).unwrap();
        assert_eq!(data["speakers"][0]["name"], HOSTILE_NAME);
        assert!(!block.contains('<') && !block.contains('>'));
    }

    #[test]
    fn nothing_is_fetched_but_the_given_audio() {
        let plain = render(&fixture::two_speakers(), &Page::default());
        assert_no_external_urls(&plain, None);
        let url = "https://cdn.example.org/space.mp3?a=1&b=2";
        let with_audio = Page {
            audio_url: Some(url.into()),
        };
        let page = render(&fixture::two_speakers(), &with_audio);
        assert!(page.contains("src=\"https://cdn.example.org/space.mp3?a=1&amp;b=2\""));
        assert_no_external_urls(&page, Some("https://cdn.example.org/space.mp3?a=1&amp;b=2"));
    }

    fn assert_no_external_urls(page: &str, allowed: Option<&str>) {
        for attribute in ["src=", "href=", "action=", "url("] {
            for (at, _) in page.match_indices(attribute) {
                let value = page[at + attribute.len()..]
                    .trim_start_matches(['"', '\''])
                    .split(['"', '\'', ')', ' '])
                    .next()
                    .unwrap();
                let external = value.contains("http") || value.starts_with("//");
                assert!(
                    !external || Some(value) == allowed,
                    "external {attribute}{value}"
                );
            }
        }
    }

    #[test]
    fn script_urls_are_refused() {
        let page = Page {
            audio_url: Some("javascript:alert(1)".into()),
        };
        assert_eq!(page.check().unwrap_err().kind(), crate::ErrorKind::Usage);
        let html = render(&fixture::two_speakers(), &page);
        assert!(!html.contains("javascript:"));
        assert!(html.contains("No audio: the audio URL given was refused"));
    }

    #[test]
    fn turns_carry_speaker_time_wall_clock_and_timed_words() {
        let mut t = fixture::two_speakers();
        t.source.clock = crate::export::fixture::clock_from("2024-08-13T20:00:00.000Z");
        t.segments[0].words[1].probability = 0.1;
        t.segments[1].words[0].overlap = true;
        let page = render(&t, &Page::default());
        assert!(page.contains("<p class=\"facts\"><time datetime=\"2024-08-13T20:00:00.000Z\">2024-08-13 20:00:00 UTC</time>"));
        assert!(page.contains("<div class=\"turn c1\">\n<p class=\"head\"><span class=\"speaker\">Bob</span> <button type=\"button\" class=\"time\" data-start=\"3661.500\" title=\"Play from here\">01:01:01</button> <time class=\"wall\" datetime=\"2024-08-13T21:01:01.500Z\" title=\"wall-clock time\">21:01:01 UTC</time></p>"));
        assert!(page.contains("<span class=\"w unsure\" data-start=\"1.400\" data-end=\"1.500\" title=\"unsure (10 %)\">&amp;</span>"));
        assert!(page.contains("<span class=\"w overlap\" data-start=\"3661.500\" data-end=\"3662.000\" title=\"spoken over another speaker\">Hi</span> <span class=\"w\""));
    }

    #[test]
    fn without_a_title_the_file_name_names_the_page() {
        let mut t = fixture::no_speakers();
        t.source.path = "/recordings/call 3.wav".into();
        let page = render(&t, &Page::default());
        assert!(page.contains("<h1>call 3.wav</h1>"));
        assert!(page.contains("id=\"no-audio\""));
    }

    #[test]
    fn crosstalk_is_where_two_speakers_talk_at_once() {
        let turn = |start, end, speaker: &str| Turn {
            start,
            end,
            speaker: speaker.into(),
        };
        let turns = [
            turn(0.0, 5.0, "A"),
            turn(4.0, 6.0, "B"),
            turn(6.0, 8.0, "A"),
            turn(7.5, 9.0, "B"),
        ];
        assert_eq!(crosstalk(&turns), vec![[4.0, 5.0], [7.5, 8.0]]);
    }

    #[test]
    fn csp_hashes_are_base64_of_the_inlined_text() {
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert!(!SCRIPT.contains("</script") && !STYLE.contains("</style"));
    }
}
