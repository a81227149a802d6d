//! Caption text from token ids: the pack's WordPiece vocabulary, cut down to the tokens
//! the decoder can emit, and WordPiece's rules for joining them.
//!
//! The pack carries the whole tokenizer (`tokenizer.json`, Hugging Face's format), but
//! the core never encodes text: it only turns generated ids back into words. Parsed by
//! a full tokenizer, its 30,522-token vocabulary held 4.5 MB of heap for the 2,804
//! tokens a pruned decoder can produce; this keeps just those, with the same output as
//! the `tokenizers` crate's decode (checked token by token in the tests).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::manifest::TokenizerSpec;

/// The parts of a `tokenizer.json` that decoding reads.
#[derive(Deserialize)]
struct TokenizerFile<'a> {
    #[serde(borrow)]
    model: ModelSection<'a>,
    #[serde(borrow, default)]
    added_tokens: Vec<AddedToken<'a>>,
    #[serde(borrow)]
    decoder: Option<DecoderSection<'a>>,
}

#[derive(Deserialize)]
struct ModelSection<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    vocab: HashMap<Cow<'a, str>, u32>,
}

#[derive(Deserialize)]
struct AddedToken<'a> {
    id: u32,
    #[serde(borrow)]
    content: Cow<'a, str>,
    #[serde(default)]
    special: bool,
}

#[derive(Deserialize)]
struct DecoderSection<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    prefix: Option<Cow<'a, str>>,
    cleanup: Option<bool>,
}

/// The tokens a caption can be made of, and how they join into text.
#[derive(Debug, Clone)]
pub(crate) struct WordPieceText {
    /// Text of each kept token, by tokenizer id.
    tokens: HashMap<u32, String>,
    /// Ids of special tokens ([CLS], [SEP], ...), left out of the text.
    special: HashSet<u32>,
    /// What marks a piece that continues the word before it ("##").
    continuation: String,
    /// Whether spaces before punctuation and contractions are removed.
    cleanup: bool,
}

impl WordPieceText {
    /// Reads `bytes` (the pack's tokenizer file) and keeps the tokens `keep` says yes to
    /// (the special tokens always). `file` names the file in errors.
    pub fn parse(
        file: &str,
        bytes: &[u8],
        spec: &TokenizerSpec,
        keep: impl Fn(u32) -> bool,
    ) -> Result<Self> {
        let parsed: TokenizerFile = serde_json::from_slice(bytes)
            .map_err(|e| Error::pack(file, format!("not a tokenizers JSON file: {e}")))?;
        if parsed.model.kind != "WordPiece" {
            return Err(Error::pack(
                file,
                format!(
                    "its model is {}; captions are decoded as WordPiece",
                    parsed.model.kind
                ),
            ));
        }
        let (continuation, cleanup) = match &parsed.decoder {
            Some(d) if d.kind == "WordPiece" => (
                d.prefix.as_deref().unwrap_or("##").to_owned(),
                d.cleanup.unwrap_or(true),
            ),
            Some(d) => {
                return Err(Error::pack(
                    file,
                    format!(
                        "its decoder is {}; captions are decoded as WordPiece",
                        d.kind
                    ),
                ));
            }
            None => {
                return Err(Error::pack(
                    file,
                    "has no decoder; captions are decoded as WordPiece",
                ));
            }
        };
        // Added tokens take precedence over the model's vocabulary, as in `tokenizers`.
        let mut all: HashMap<u32, Cow<str>> = parsed
            .model
            .vocab
            .into_iter()
            .map(|(token, id)| (id, token))
            .collect();
        let mut special = HashSet::new();
        for added in parsed.added_tokens {
            if added.special {
                special.insert(added.id);
            }
            all.insert(added.id, added.content);
        }
        if all.len() != spec.vocab_size {
            return Err(Error::pack(
                file,
                format!(
                    "vocabulary has {} tokens, the manifest says {}",
                    all.len(),
                    spec.vocab_size
                ),
            ));
        }
        for (token, id) in spec.special_ids.by_token() {
            if all.get(&id).map(|t| t.as_ref()) != Some(token) {
                return Err(Error::pack(
                    file,
                    format!("{token} is not id {id} as the manifest says"),
                ));
            }
        }
        let tokens = all
            .into_iter()
            .filter(|(id, _)| special.contains(id) || keep(*id))
            .map(|(id, token)| (id, token.into_owned()))
            .collect();
        Ok(WordPieceText {
            tokens,
            special,
            continuation,
            cleanup,
        })
    }

    /// Whether the tokenizer has this id (and it was kept).
    pub fn has(&self, id: u32) -> bool {
        self.tokens.contains_key(&id)
    }

    /// A token's text as the vocabulary writes it ("##s" for a continuation).
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(&id).map(String::as_str)
    }

    /// The text of a caption's tokens: special tokens and unknown ids left out,
    /// continuation pieces joined to the word before, the rest separated by spaces.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut text = String::new();
        let words = ids
            .iter()
            .filter(|id| !self.special.contains(id))
            .filter_map(|id| self.token(*id));
        for (i, token) in words.enumerate() {
            let piece = match token.strip_prefix(self.continuation.as_str()) {
                Some(rest) if i > 0 => Cow::Borrowed(rest),
                _ if i > 0 => Cow::Owned(format!(" {token}")),
                _ => Cow::Borrowed(token),
            };
            if self.cleanup {
                text.push_str(&clean_up(&piece));
            } else {
                text.push_str(&piece);
            }
        }
        text
    }
}

/// WordPiece's clean-up of one piece (with its leading space): no space before
/// punctuation or in contractions.
fn clean_up(piece: &str) -> String {
    const RULES: [(&str, &str); 11] = [
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ,", ","),
        (" ' ", "'"),
        (" n't", "n't"),
        (" 'm", "'m"),
        (" do not", " don't"),
        (" 's", "'s"),
        (" 've", "'ve"),
        (" 're", "'re"),
    ];
    RULES
        .iter()
        .fold(piece.to_owned(), |text, (from, to)| text.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::SpecialIds;

    fn spec(vocab_size: usize) -> TokenizerSpec {
        TokenizerSpec::small_for_tests(vocab_size, None)
    }

    const FILE: &str = r###"{
        "added_tokens": [
            {"id": 0, "content": "[PAD]", "special": true},
            {"id": 1, "content": "[UNK]", "special": true},
            {"id": 2, "content": "[CLS]", "special": true},
            {"id": 3, "content": "[SEP]", "special": true},
            {"id": 4, "content": "[MASK]", "special": true}
        ],
        "model": {"type": "WordPiece", "vocab": {
            "[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4,
            "a": 5, "dog": 6, "##s": 7, ".": 8, "'": 9, "s": 10, "caf\u00e9": 11
        }},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true}
    }"###;

    #[test]
    fn pieces_join_into_words_without_special_tokens() {
        let text = WordPieceText::parse("t", FILE.as_bytes(), &spec(12), |_| true).unwrap();
        assert_eq!(text.decode(&[2, 5, 6, 7, 8, 3]), "a dogs.");
        assert_eq!(
            text.decode(&[7, 5]),
            "##s a",
            "a first piece keeps its prefix"
        );
        // Clean-up works on one piece at a time, as in `tokenizers`: a lone apostrophe
        // keeps its spaces.
        assert_eq!(text.decode(&[6, 9, 10]), "dog ' s");
        assert_eq!(text.decode(&[11, 99]), "café", "unknown ids are left out");
        assert_eq!(text.token(7), Some("##s"));
    }

    #[test]
    fn only_the_kept_tokens_and_the_special_ones_are_held() {
        let text = WordPieceText::parse("t", FILE.as_bytes(), &spec(12), |id| id == 6).unwrap();
        assert!(text.has(6) && text.has(3) && !text.has(5));
        assert_eq!(text.decode(&[2, 6, 5, 3]), "dog");
    }

    #[test]
    fn a_file_that_is_not_a_wordpiece_tokenizer_is_refused() {
        let err = |bytes: &str, size| {
            WordPieceText::parse("tokenizer.json", bytes.as_bytes(), &spec(size), |_| true)
                .unwrap_err()
                .to_string()
        };
        assert!(err("{}", 12).contains("not a tokenizers JSON file"));
        assert!(
            err(
                &FILE.replace("\"WordPiece\", \"vocab\"", "\"BPE\", \"vocab\""),
                12
            )
            .contains("BPE")
        );
        assert!(
            err(
                &FILE.replace("\"WordPiece\", \"prefix\"", "\"Metaspace\", \"prefix\""),
                12
            )
            .contains("Metaspace")
        );
        assert!(err(FILE, 13).contains("vocabulary has 12 tokens, the manifest says 13"));
    }

    #[test]
    fn special_ids_must_be_the_manifests() {
        let mut wrong = spec(12);
        wrong.special_ids.sep = 5;
        let err = WordPieceText::parse("tokenizer.json", FILE.as_bytes(), &wrong, |_| true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("[SEP] is not id 5"), "{err}");
    }

    /// The bundled pack's tokenizer decoded both ways: every token, and sequences
    /// mixing words, continuation pieces, punctuation, contractions and special tokens.
    #[test]
    fn decodes_as_the_tokenizers_crate_does() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/default/tokenizer.json"
        );
        let bytes = std::fs::read(path).unwrap();
        let reference = tokenizers::Tokenizer::from_bytes(&bytes).unwrap();
        let mut spec = spec(reference.get_vocab_size(true));
        spec.special_ids = SpecialIds {
            pad: 0,
            unk: 100,
            cls: 101,
            sep: 102,
            mask: 103,
        };
        let ours = WordPieceText::parse("tokenizer.json", &bytes, &spec, |_| true).unwrap();
        let size = spec.vocab_size as u32;
        for id in 0..size {
            assert_eq!(
                ours.token(id),
                reference.id_to_token(id).as_deref(),
                "token {id}"
            );
        }
        let pick = |word: &str| reference.token_to_id(word).unwrap();
        let tricky: Vec<u32> = [
            ".", ",", "?", "!", "'", "s", "m", "t", "n", "##s", "##ing", "do", "not", "[SEP]",
            "[CLS]", "[PAD]", "[UNK]", "a", "cat",
        ]
        .iter()
        .map(|w| pick(w))
        .collect();
        // A fixed pseudo-random walk: half the ids from the tricky list, half anywhere.
        let mut state = 0x2545_f491_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let len = (next() % 12) as usize;
            let ids: Vec<u32> = (0..len)
                .map(|_| match next() % 2 {
                    0 => tricky[(next() % tricky.len() as u64) as usize],
                    _ => (next() % size as u64) as u32,
                })
                .collect();
            assert_eq!(
                ours.decode(&ids),
                reference.decode(&ids, true).unwrap(),
                "{ids:?}"
            );
        }
    }
}
