//! Plain records and enums copied across the boundary, and their conversions
//! to and from the core's types.

use std::time::Duration;

use crate::LightCapError;

/// An image to caption.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum ImageSource {
    /// Encoded JPEG, PNG, WebP, GIF, BMP or TIFF bytes (format sniffed from the data;
    /// EXIF orientation applied).
    Encoded { bytes: Vec<u8> },
    /// A file holding an encoded image.
    File { path: String },
    /// Uncompressed 8-bit pixels, as a camera or bitmap gives them. `row_stride` is the
    /// number of bytes from one row to the next (at least `width` x bytes per pixel).
    Frame {
        pixels: Vec<u8>,
        width: i32,
        height: i32,
        row_stride: i32,
        format: PixelFormat,
    },
}

/// Channel order of a raw frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PixelFormat {
    /// Android `Bitmap.Config.ARGB_8888` memory order, CameraX `OUTPUT_IMAGE_FORMAT_RGBA_8888`.
    Rgba8,
    /// iOS `kCVPixelFormatType_32BGRA`.
    Bgra8,
    Rgb8,
}

/// How to decode; every field has the core's default, so `CaptionOptions()` in
/// Kotlin and Swift is greedy decoding with the pack's maximum length.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaptionOptions {
    /// 1 = greedy decoding; 2..=16 = beam search.
    #[uniffi(default = 1)]
    pub beam_size: i32,
    /// Most tokens to generate; null/nil = the pack's default.
    #[uniffi(default = None)]
    pub max_length: Option<i32>,
    /// The caption may not end before this many tokens.
    #[uniffi(default = 0)]
    pub min_length: i32,
    /// Beam scores are divided by length^length_penalty (0 = no normalisation).
    #[uniffi(default = 1.0)]
    pub length_penalty: f32,
    /// Forbid repeating any n-gram of this size (0 = off).
    #[uniffi(default = 0)]
    pub no_repeat_ngram_size: i32,
    /// Images with more pixels are refused before they are decoded (decompression bombs).
    #[uniffi(default = 64000000)]
    pub max_image_pixels: i64,
}

/// A finished caption.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Caption {
    /// One lower-case sentence, e.g. "a red circle left of a blue square".
    pub text: String,
    /// `text` as a sentence for display and screen readers: capitalised, with a
    /// final full stop ("A red circle left of a blue square.").
    pub sentence: String,
    /// The concepts the model saw, best first, with sigmoid scores in [0, 1].
    pub concepts: Vec<Concept>,
    /// WordPiece tokens of the caption ([SEP] excluded).
    pub tokens: Vec<String>,
    /// Sum of the tokens' log-probabilities under the model.
    pub log_prob: f32,
    /// False when the caption was cut at the maximum length.
    pub finished: bool,
    /// How likely the caption is to describe what the image shows, in [0, 1]: from the
    /// tokens' log-probs and the concept scores, calibrated on held-out photos and
    /// non-photos when the pack has a calibration (`ModelInfo.confidence_calibrated`).
    pub confidence: f32,
    /// `confidence` is below the pack's `ModelInfo.unsure_threshold`: hedge the caption
    /// ("Image may show ...") or say the image cannot be described.
    pub unsure: bool,
    pub timings: Timings,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Concept {
    pub name: String,
    pub score: f32,
}

/// Where the time went, in milliseconds.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Timings {
    /// Decoding the image file or copying the frame.
    pub decode_ms: f64,
    /// Crop and resize to the model's input.
    pub preprocess_ms: f64,
    /// The vision graph: backbone, concepts, fusion prefix.
    pub vision_ms: f64,
    /// Caption decoding (all decoder steps) and detokenising.
    pub text_ms: f64,
    pub total_ms: f64,
    pub decoder_steps: i32,
}

/// What the loaded pack is.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    pub license: String,
    pub description: String,
    /// Side of the square image the model sees.
    pub image_size: i32,
    /// Size of the concept vocabulary.
    pub concept_count: i32,
    /// Concepts reported per caption.
    pub concepts_per_caption: i32,
    /// Captions with `confidence` below this are `unsure`.
    pub unsure_threshold: f32,
    /// False: the pack has no calibration and `confidence` is the caption's
    /// geometric-mean token probability, which ranks captions but is no probability.
    pub confidence_calibrated: bool,
    /// True where the graphs compute in float16: on a CPU with native half precision
    /// (ARMv8.2 FP16, most phones since 2018), half the memory; captions may differ a
    /// little from float32's (a desktop's).
    pub computes_in_float16: bool,
}

impl TryFrom<&CaptionOptions> for lightcap::CaptionOptions {
    type Error = LightCapError;

    /// Kotlin and Swift callers pass signed integers; a negative one is refused
    /// here, every other range check is the core's.
    fn try_from(options: &CaptionOptions) -> Result<Self, LightCapError> {
        Ok(lightcap::CaptionOptions {
            beam_size: non_negative("beam_size", options.beam_size.into())?,
            max_length: match options.max_length {
                Some(n) => Some(non_negative("max_length", n.into())?),
                None => None,
            },
            min_length: non_negative("min_length", options.min_length.into())?,
            length_penalty: options.length_penalty,
            no_repeat_ngram_size: non_negative(
                "no_repeat_ngram_size",
                options.no_repeat_ngram_size.into(),
            )?,
            max_image_pixels: non_negative("max_image_pixels", options.max_image_pixels)? as u64,
        })
    }
}

fn non_negative(name: &str, value: i64) -> Result<usize, LightCapError> {
    usize::try_from(value).map_err(|_| {
        LightCapError::InvalidOption(format!("invalid option `{name}`: {value} is negative"))
    })
}

impl From<&lightcap::CaptionOptions> for CaptionOptions {
    fn from(options: &lightcap::CaptionOptions) -> Self {
        CaptionOptions {
            beam_size: saturate(options.beam_size),
            max_length: options.max_length.map(saturate),
            min_length: saturate(options.min_length),
            length_penalty: options.length_penalty,
            no_repeat_ngram_size: saturate(options.no_repeat_ngram_size),
            max_image_pixels: i64::try_from(options.max_image_pixels).unwrap_or(i64::MAX),
        }
    }
}

impl From<PixelFormat> for lightcap::PixelFormat {
    fn from(format: PixelFormat) -> Self {
        match format {
            PixelFormat::Rgba8 => lightcap::PixelFormat::Rgba8,
            PixelFormat::Bgra8 => lightcap::PixelFormat::Bgra8,
            PixelFormat::Rgb8 => lightcap::PixelFormat::Rgb8,
        }
    }
}

impl ImageSource {
    /// The core's borrowed view of this image.
    pub(crate) fn as_input(&self) -> Result<lightcap::ImageInput<'_>, LightCapError> {
        Ok(match self {
            ImageSource::Encoded { bytes } => lightcap::ImageInput::Encoded(bytes),
            ImageSource::File { path } => lightcap::ImageInput::File(path.as_ref()),
            ImageSource::Frame {
                pixels,
                width,
                height,
                row_stride,
                format,
            } => {
                let (Ok(width), Ok(height), Ok(stride)) = (
                    u32::try_from(*width),
                    u32::try_from(*height),
                    usize::try_from(*row_stride),
                ) else {
                    return Err(LightCapError::InvalidFrame(format!(
                        "invalid raw frame: width {width}, height {height} and row stride \
                         {row_stride} must not be negative"
                    )));
                };
                lightcap::ImageInput::Raw(lightcap::RawFrame {
                    pixels,
                    width,
                    height,
                    stride,
                    format: (*format).into(),
                })
            }
        })
    }
}

pub(crate) fn saturate(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl From<lightcap::Caption> for Caption {
    fn from(caption: lightcap::Caption) -> Self {
        let timings = &caption.timings;
        Caption {
            timings: Timings {
                decode_ms: millis(timings.decode),
                preprocess_ms: millis(timings.preprocess),
                vision_ms: millis(timings.vision),
                text_ms: millis(timings.text),
                total_ms: millis(timings.total),
                decoder_steps: saturate(caption.steps),
            },
            sentence: sentence(&caption.text),
            text: caption.text,
            concepts: caption
                .concepts
                .into_iter()
                .map(|c| Concept {
                    name: c.name,
                    score: c.score,
                })
                .collect(),
            tokens: caption.tokens,
            log_prob: caption.log_prob,
            finished: caption.finished,
            confidence: caption.confidence,
            unsure: caption.unsure,
        }
    }
}

/// The core's default options, as the bindings see them. Kotlin and Swift tests
/// check that `CaptionOptions()` equals this, so the record's defaults above
/// cannot drift from the core's.
#[uniffi::export]
pub fn default_caption_options() -> CaptionOptions {
    (&lightcap::CaptionOptions::default()).into()
}

/// Capitalise the first letter and end with a full stop, unless the text is
/// empty or already ends with punctuation.
fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut sentence: String = first.to_uppercase().chain(chars).collect();
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

#[cfg(test)]
mod tests {
    use super::sentence;

    #[test]
    fn captions_become_sentences() {
        assert_eq!(sentence("a dog on a sofa"), "A dog on a sofa.");
        assert_eq!(sentence(" two cats . "), "Two cats .");
        assert_eq!(sentence("is it a bird?"), "Is it a bird?");
        assert_eq!(sentence("élan vital"), "Élan vital.");
        assert_eq!(sentence(""), "");
    }
}
