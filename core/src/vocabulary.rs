//! The decoder's token ids and the tokenizer's.
//!
//! A pack's decoder may keep only the word-embedding rows of the tokens it can read or
//! generate (`tokenizer.decoder_token_ids` in the manifest, written by
//! `scripts/lightcap/prune.py`): its ids are then positions in that ascending list, and
//! it scores that many tokens instead of the tokenizer's 30,522. The search runs in
//! decoder ids; this map translates [CLS], [SEP] and the banned ids in, and the chosen
//! tokens out. Without the list the two are the same.

use crate::error::{Error, Result};
use crate::manifest::{MANIFEST_FILE, TokenizerSpec};

#[derive(Debug, Clone)]
pub(crate) struct DecoderVocabulary {
    /// Tokenizer id of each decoder id, ascending; `None`: decoder ids are tokenizer ids.
    token_ids: Option<Vec<u32>>,
    tokenizer_size: usize,
    /// The decoder ids of [CLS] (fed first) and [SEP] (ends a caption).
    pub cls: u32,
    pub sep: u32,
}

impl DecoderVocabulary {
    pub fn for_tokenizer(spec: &TokenizerSpec) -> Result<Self> {
        let mut vocabulary = DecoderVocabulary {
            token_ids: spec.decoder_token_ids.clone(),
            tokenizer_size: spec.vocab_size,
            cls: 0,
            sep: 0,
        };
        let special = spec.special_ids;
        let decoder_id = |token: &str, id: u32| {
            vocabulary.to_decoder(id).ok_or_else(|| {
                Error::pack(
                    MANIFEST_FILE,
                    format!("the decoder has no row for {token} ({id}), which every caption needs"),
                )
            })
        };
        let (cls, sep) = (
            decoder_id("[CLS]", special.cls)?,
            decoder_id("[SEP]", special.sep)?,
        );
        vocabulary.cls = cls;
        vocabulary.sep = sep;
        Ok(vocabulary)
    }

    /// The decoder id of a tokenizer id; `None` if the decoder does not have the token.
    pub fn to_decoder(&self, token: u32) -> Option<u32> {
        match &self.token_ids {
            None => ((token as usize) < self.tokenizer_size).then_some(token),
            Some(ids) => ids.binary_search(&token).ok().map(|i| i as u32),
        }
    }

    /// The tokenizer id of a decoder id (one the decoder produced, so in range).
    pub fn to_token(&self, decoder_id: u32) -> u32 {
        match &self.token_ids {
            None => decoder_id,
            Some(ids) => ids[decoder_id as usize],
        }
    }

    /// A row of decoder log-probs spread over the tokenizer's ids; tokens the decoder
    /// does not have get -inf (they cannot be generated).
    pub fn to_tokenizer_row(&self, row: Vec<f32>) -> Vec<f32> {
        let Some(ids) = &self.token_ids else {
            return row;
        };
        let mut full = vec![f32::NEG_INFINITY; self.tokenizer_size];
        for (&token, value) in ids.iter().zip(row) {
            full[token as usize] = value;
        }
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(decoder_token_ids: Option<Vec<u32>>) -> TokenizerSpec {
        TokenizerSpec::small_for_tests(10, decoder_token_ids)
    }

    #[test]
    fn a_pruned_decoder_numbers_its_tokens_by_position() {
        let vocab = DecoderVocabulary::for_tokenizer(&spec(Some(vec![2, 3, 7, 9]))).unwrap();
        assert_eq!((vocab.cls, vocab.sep), (0, 1));
        assert_eq!(vocab.to_decoder(7), Some(2));
        assert_eq!(
            vocab.to_decoder(5),
            None,
            "a pruned token has no decoder id"
        );
        assert_eq!(vocab.to_token(3), 9);
        let row = vocab.to_tokenizer_row(vec![-1.0, -2.0, -3.0, -4.0]);
        assert_eq!(row.len(), 10);
        assert_eq!((row[2], row[3], row[7], row[9]), (-1.0, -2.0, -3.0, -4.0));
        assert!(row[5] == f32::NEG_INFINITY && row[0] == f32::NEG_INFINITY);
    }

    #[test]
    fn without_a_list_decoder_ids_are_tokenizer_ids() {
        let vocab = DecoderVocabulary::for_tokenizer(&spec(None)).unwrap();
        assert_eq!((vocab.cls, vocab.sep), (2, 3));
        assert_eq!(vocab.to_decoder(7), Some(7));
        assert_eq!(vocab.to_decoder(10), None);
        assert_eq!(vocab.to_token(7), 7);
        assert_eq!(vocab.to_tokenizer_row(vec![0.5; 10]), vec![0.5; 10]);
    }
}
