//! The prompt Whisper reads before every chunk: the names and words a recording is
//! likely to hold (the user's hotwords; the Space's title, host and speakers from its
//! metadata file), so that "Callum" is not heard as "Kalan".
//!
//! whisper.cpp's `initial_prompt` conditions only the first window of a call; every
//! chunk here is a call of its own (no text carried over), so giving the prompt to each
//! call puts it before every chunk. Whisper reads at most half its text context (224
//! tokens for every model size) of prompt and keeps the end of a longer one, so the
//! prompt is bounded here, the user's hotwords last (they are kept first), and it reads
//! as a sentence, which conditions Whisper better than a bare list.

use crate::transcript::SpaceMetadata;

/// Characters of prompt at most: about 160 tokens of English names, inside the 224
/// Whisper reads, with room for the tokens around it.
const MAX_PROMPT_CHARS: usize = 600;

/// The prompt for one recording, or `None` when there is nothing to say.
pub(crate) fn build(hotwords: &[String], metadata: Option<&SpaceMetadata>) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut names_said: Vec<&str> = Vec::new();
    if let Some(meta) = metadata {
        if let Some(title) = meta
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            parts.push(format!("{}.", title.trim_end_matches('.')));
        }
        let mut names: Vec<&str> = Vec::new();
        for person in meta.creator.iter().chain(&meta.participants) {
            let name = person.name.trim();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
        if !names.is_empty() {
            parts.push(format!("With {}.", names.join(", ")));
        }
        names_said = names;
    }
    // A hotword the roster already names is said once: a longer prompt throws Whisper
    // off more often.
    let named = |w: &str| names_said.iter().any(|n| n.eq_ignore_ascii_case(w));
    let words: Vec<&str> = hotwords
        .iter()
        .map(|w| w.trim())
        .filter(|w| !w.is_empty() && !named(w))
        .collect();
    if !words.is_empty() {
        parts.push(format!("{}.", words.join(", ")));
    }
    let prompt = parts.join(" ");
    (!prompt.is_empty()).then(|| keep_end(&prompt, MAX_PROMPT_CHARS))
}

/// The last `most` characters of `text`, from a word start: Whisper keeps the end too.
fn keep_end(text: &str, most: usize) -> String {
    let count = text.chars().count();
    if count <= most {
        return text.to_string();
    }
    let tail: String = text.chars().skip(count - most).collect();
    match tail.find(' ') {
        Some(space) => tail[space + 1..].to_string(),
        None => tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Participant;

    fn person(name: &str) -> Participant {
        Participant {
            name: name.into(),
            handle: None,
        }
    }

    #[test]
    fn title_names_then_hotwords() {
        let meta = SpaceMetadata {
            title: Some("Launch recap".into()),
            creator: Some(person("Marcus Reed")),
            participants: vec![person("Marcus Reed"), person("Callum Fraser")],
            ..SpaceMetadata::default()
        };
        let hot = [
            " Starlink".to_string(),
            String::new(),
            "Kalan ".into(),
            "callum fraser".into(),
        ];
        assert_eq!(
            build(&hot, Some(&meta)).unwrap(),
            "Launch recap. With Marcus Reed, Callum Fraser. Starlink, Kalan."
        );
        assert_eq!(build(&[], None), None);
        assert_eq!(
            build(&hot, None).unwrap(),
            "Starlink, Kalan, callum fraser."
        );
    }

    #[test]
    fn a_long_prompt_keeps_its_end_from_a_word() {
        let many: Vec<String> = (0..200).map(|i| format!("Name{i}")).collect();
        let prompt = build(&many, None).unwrap();
        assert!(prompt.chars().count() <= MAX_PROMPT_CHARS);
        assert!(
            prompt.starts_with("Name") && prompt.ends_with("Name199."),
            "{prompt}"
        );
    }
}
