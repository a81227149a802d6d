//! Per-call options, checked against the pack before any work is done.

use crate::error::{Error, Result};
use crate::manifest::Manifest;

/// Largest beam accepted: more costs time for no gain on one-line captions.
pub const MAX_BEAM_SIZE: usize = 16;
/// Default decompression-bomb guard: 64 megapixels (8000 x 8000).
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 64_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct CaptionOptions {
    /// 1 = greedy decoding; 2..=16 = beam search.
    pub beam_size: usize,
    /// Most tokens to generate ([SEP] included); `None` = the pack's default.
    pub max_length: Option<usize>,
    /// [SEP] is not allowed before this many tokens.
    pub min_length: usize,
    /// Beam scores are divided by length^length_penalty (0 = no normalisation).
    pub length_penalty: f32,
    /// Forbid repeating any n-gram of this size (0 = off).
    pub no_repeat_ngram_size: usize,
    /// Images with more pixels are refused before they are decoded.
    pub max_image_pixels: u64,
}

impl Default for CaptionOptions {
    fn default() -> Self {
        CaptionOptions {
            beam_size: 1,
            max_length: None,
            min_length: 0,
            length_penalty: 1.0,
            no_repeat_ngram_size: 0,
            max_image_pixels: DEFAULT_MAX_IMAGE_PIXELS,
        }
    }
}

impl CaptionOptions {
    /// Check every field; returns the effective maximum length.
    pub(crate) fn validate(&self, manifest: &Manifest) -> Result<usize> {
        let limit = manifest.decoding.max_positions - 1;
        let max_length = self.max_length.unwrap_or(manifest.decoding.max_length);
        if !(1..=MAX_BEAM_SIZE).contains(&self.beam_size) {
            return Err(Error::option(
                "beam_size",
                format!("{} is outside 1..={MAX_BEAM_SIZE}", self.beam_size),
            ));
        }
        if !(1..=limit).contains(&max_length) {
            return Err(Error::option(
                "max_length",
                format!("{max_length} is outside 1..={limit}, the positions this model has"),
            ));
        }
        if self.min_length > max_length {
            return Err(Error::option(
                "min_length",
                format!("{} is more than max_length {max_length}", self.min_length),
            ));
        }
        if !self.length_penalty.is_finite() || !(0.0..=4.0).contains(&self.length_penalty) {
            return Err(Error::option(
                "length_penalty",
                format!("{} is outside 0.0..=4.0", self.length_penalty),
            ));
        }
        if self.no_repeat_ngram_size > max_length {
            return Err(Error::option(
                "no_repeat_ngram_size",
                format!(
                    "{} is more than max_length {max_length}",
                    self.no_repeat_ngram_size
                ),
            ));
        }
        if self.max_image_pixels == 0 {
            return Err(Error::option("max_image_pixels", "must be at least 1"));
        }
        Ok(max_length)
    }
}
