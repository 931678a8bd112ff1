//! Whisper vocabulary for the ggml writer: loads a CTranslate2 model's token list
//! (`vocabulary.txt`, `vocabulary.json` or `tokenizer.json`) and turns GPT-2
//! byte-level token strings back into the raw bytes whisper.cpp stores.

use crate::error::{Error, Result};
use std::path::Path;

/// The token that ends the text vocabulary; whisper.cpp stores only the tokens below it
/// and synthesises the special tokens itself.
pub(crate) const END_OF_TEXT: &str = "<|endoftext|>";

/// Smallest `n_vocab` whisper.cpp treats as multilingual (`whisper_is_multilingual`).
pub(crate) const MULTILINGUAL_MIN_VOCAB: usize = 51865;

/// Reads the token strings of a CTranslate2 model directory, indexed by token id.
/// `vocabulary.txt` is CTranslate2's own format, newer converters write `vocabulary.json`,
/// and a Hugging Face `tokenizer.json` is the fallback.
pub(crate) fn load_tokens(dir: &Path) -> Result<Vec<String>> {
    let txt = dir.join("vocabulary.txt");
    if txt.is_file() {
        let text = read_text(&txt)?;
        return Ok(text.lines().map(str::to_owned).collect());
    }
    let json = dir.join("vocabulary.json");
    if json.is_file() {
        return serde_json::from_str(&read_text(&json)?)
            .map_err(|e| Error::model(&json, format!("not a JSON list of tokens: {e}")));
    }
    let tok = dir.join("tokenizer.json");
    if tok.is_file() {
        return tokens_from_tokenizer_json(&tok, &read_text(&tok)?);
    }
    Err(Error::model(
        dir,
        "no vocabulary.txt, vocabulary.json or tokenizer.json in the model directory",
    ))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Orders a Hugging Face tokenizer's `model.vocab` and `added_tokens` by id.
fn tokens_from_tokenizer_json(path: &Path, text: &str) -> Result<Vec<String>> {
    let bad = |why: &str| Error::model(path, format!("tokenizer.json: {why}"));
    let root: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let mut pairs: Vec<(usize, String)> = Vec::new();
    let vocab = root
        .pointer("/model/vocab")
        .and_then(|v| v.as_object())
        .ok_or_else(|| bad("no model.vocab map"))?;
    for (token, id) in vocab {
        let id = id.as_u64().ok_or_else(|| bad("non-integer token id"))?;
        pairs.push((id as usize, token.clone()));
    }
    for added in root["added_tokens"].as_array().into_iter().flatten() {
        if let (Some(id), Some(content)) = (added["id"].as_u64(), added["content"].as_str()) {
            pairs.push((id as usize, content.to_owned()));
        }
    }
    pairs.sort();
    pairs.dedup_by_key(|(id, _)| *id);
    let mut tokens = Vec::with_capacity(pairs.len());
    for (expected, (id, token)) in pairs.into_iter().enumerate() {
        if id != expected {
            return Err(bad(&format!("token ids skip from {} to {id}", expected)));
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// The raw bytes of every text token below `<|endoftext|>`, as whisper.cpp's vocab section
/// wants them. The count must be where whisper.cpp hard-codes the end-of-text id
/// (50256 for English-only models, 50257 for multilingual ones), or every special token
/// id it derives would be off.
pub(crate) fn text_token_bytes(
    path: &Path,
    tokens: &[String],
    n_vocab: usize,
) -> Result<Vec<Vec<u8>>> {
    let eot = tokens
        .iter()
        .position(|t| t == END_OF_TEXT)
        .ok_or_else(|| Error::model(path, format!("vocabulary has no {END_OF_TEXT} token")))?;
    let expected = if n_vocab >= MULTILINGUAL_MIN_VOCAB {
        50257
    } else {
        50256
    };
    if eot != expected {
        return Err(Error::model(
            path,
            format!(
                "{END_OF_TEXT} is token {eot}, but whisper.cpp expects {expected} for n_vocab {n_vocab}"
            ),
        ));
    }
    tokens[..eot]
        .iter()
        .enumerate()
        .map(|(id, token)| {
            decode_byte_level(token).ok_or_else(|| {
                Error::model(
                    path,
                    format!("token {id} {token:?} is not a GPT-2 byte-level token"),
                )
            })
        })
        .collect()
}

/// Inverse of GPT-2's `bytes_to_unicode`: each char of a byte-level token stands for one byte.
/// Returns `None` when a char is outside that alphabet.
pub(crate) fn decode_byte_level(token: &str) -> Option<Vec<u8>> {
    token.chars().map(char_to_byte).collect()
}

/// GPT-2 keeps the printable Latin-1 bytes as themselves and shifts the other 68 bytes,
/// in increasing order, to U+0100.. so that no token contains whitespace or control chars.
fn char_to_byte(c: char) -> Option<u8> {
    let code = c as u32;
    if code < 256 {
        let byte = code as u8;
        return is_printable_byte(byte).then_some(byte);
    }
    SHIFTED_BYTES.get((code - 256) as usize).copied()
}

/// The 68 bytes GPT-2 moves to U+0100.., in the order it moves them.
static SHIFTED_BYTES: [u8; 68] = shifted_bytes();

const fn shifted_bytes() -> [u8; 68] {
    let mut out = [0u8; 68];
    let (mut n, mut b) = (0, 0usize);
    while b < 256 {
        if !is_printable_byte(b as u8) {
            out[n] = b as u8;
            n += 1;
        }
        b += 1;
    }
    out
}

/// The bytes GPT-2 maps to the char of the same code: `!`..`~`, `¡`..`¬`, `®`..`ÿ`.
const fn is_printable_byte(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_tokens_decode_to_raw_bytes() {
        assert_eq!(decode_byte_level("Ġthe").unwrap(), b" the");
        assert_eq!(decode_byte_level("Ċ").unwrap(), b"\n");
        assert_eq!(decode_byte_level("hello").unwrap(), b"hello");
        // "é" in UTF-8 is C3 A9, which byte-level spells as "Ã©".
        assert_eq!(decode_byte_level("Ã©").unwrap(), "é".as_bytes());
        assert_eq!(decode_byte_level("Ā").unwrap(), [0u8]);
        assert_eq!(decode_byte_level("Ń").unwrap(), [0xADu8]);
        assert!(decode_byte_level("ń").is_none());
        assert!(decode_byte_level("中").is_none());
    }

    #[test]
    fn every_byte_round_trips() {
        let mut seen = std::collections::HashSet::new();
        for code in 0..=0x143u32 {
            if let Some(b) = char::from_u32(code).and_then(char_to_byte) {
                assert!(seen.insert(b), "byte {b} produced twice");
            }
        }
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn text_tokens_stop_at_end_of_text() {
        let mut tokens: Vec<String> = (0..50256).map(|i| format!("t{i}")).collect();
        tokens.push(END_OF_TEXT.into());
        tokens.push("<|startoftranscript|>".into());
        let p = Path::new("v");
        let bytes = text_token_bytes(p, &tokens, 51864).unwrap();
        assert_eq!(bytes.len(), 50256);
        assert_eq!(bytes[7], b"t7");
        // Same list is wrong for a multilingual model, whose end-of-text id is 50257.
        let err = text_token_bytes(p, &tokens, 51865).unwrap_err().to_string();
        assert!(err.contains("expects 50257"), "{err}");
        // A multilingual vocabulary has one more text token before end-of-text.
        tokens.insert(0, "Ġa".into());
        let bytes = text_token_bytes(p, &tokens, 51865).unwrap();
        assert_eq!(bytes.len(), 50257);
        assert_eq!(bytes[0], b" a");
    }

    #[test]
    fn tokenizer_json_orders_by_id() {
        let text = r#"{"model":{"vocab":{"b":1,"a":0}},
                       "added_tokens":[{"id":2,"content":"<|endoftext|>"}]}"#;
        let tokens = tokens_from_tokenizer_json(Path::new("t"), text).unwrap();
        assert_eq!(tokens, ["a", "b", END_OF_TEXT]);
    }
}
