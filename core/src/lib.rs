//! LightCap: on-device image captioning.
//!
//! A [`Captioner`] loads a model pack (two graphs, as ONNX and optionally in a
//! pre-optimised form, a tokenizer, a concept list and a manifest that ties them
//! together) and turns an image into a one-line caption plus the concepts it saw, on
//! the calling thread, with tract.
//!
//! ```no_run
//! use lightcap::{Captioner, CaptionOptions, ImageInput};
//! let captioner = Captioner::from_dir("models/default")?;
//! let bytes = std::fs::read("photo.jpg").unwrap();
//! let caption = captioner.caption(ImageInput::Encoded(&bytes), &CaptionOptions::default())?;
//! println!("{} ({:?})", caption.text, caption.timings.total);
//! # Ok::<(), lightcap::Error>(())
//! ```
//!
//! Layout: `pack` loads and checks a pack against `manifest` (the contract with
//! the Python exporter; `checksum` hashes its files, a folder's graphs as they are
//! read), its graphs from ONNX (`dequantize` folds int8 weights first) or
//! from the pre-optimised form (`nnef`, with `int8_weight`; the `onnx` feature, on by
//! default, adds ONNX loading and writing that form); `preprocess` turns images into
//! the model's input; `kernels` holds operators of ours that replace tract's where
//! tract's are slow (depthwise convolutions); `captioner` runs the vision graph once and the decoder step per token;
//! `decode` holds the greedy and beam search rules, over the decoder's own token ids
//! (`vocabulary` maps them to the tokenizer's), and `grounding` the rules that tie a
//! caption to the concepts the image showed; `phrasing` tidies the caption's text
//! (articles that agree with a grounded subject); `confidence` turns what the
//! model produced for a caption into a calibrated confidence and an `unsure` flag.

mod captioner;
mod checksum;
pub mod confidence;
mod decode;
#[cfg(feature = "onnx")]
mod dequantize;
mod error;
mod footprint;
mod grounding;
mod int8_weight;
mod jpeg;
mod kernels;
pub mod manifest;
pub mod nnef;
mod options;
mod pack;
mod panic_guard;
mod phrasing;
mod precision;
mod prepack;
mod preprocess;
mod profile;
mod vocabulary;
mod wordpiece;

pub use captioner::{CancelToken, Caption, Captioner, Concept, Timings};
pub use confidence::{Calibration, ConfidenceFeatures};
pub use error::{Error, Result};
pub use footprint::{ConstantForm, ConstantTensor, LoadStages};
pub use options::{CaptionOptions, DEFAULT_MAX_IMAGE_PIXELS, MAX_BEAM_SIZE};
pub use pack::PackFiles;
pub use precision::{Precision, cpu_has_native_float16};
pub use preprocess::{ImageInput, PixelFormat, RawFrame};
pub use profile::{GraphProfile, KindTotal, OpTiming};

/// Preprocess an image exactly as `caption` does: [3, size, size] RGB planes in
/// [0, 1]. Public for parity tests and for apps that want to show the model's view.
pub fn preprocess_image(image: ImageInput<'_>, size: usize, max_pixels: u64) -> Result<Vec<f32>> {
    let decoded = preprocess::decode(image, max_pixels, size)?;
    Ok(preprocess::to_model_input(&decoded, size))
}

/// The README's Rust examples, run as doc tests so they cannot drift from the API
/// (`cargo test --doc`; they run from `core/`, hence their `../models/default`).
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The app developers' guide's Rust examples, run as doc tests.
#[doc = include_str!("../../docs/app-developers.md")]
#[cfg(doctest)]
pub struct AppDevelopersGuideDoctests;

// One `Captioner` serves many threads: this fails to compile if that stops being true.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Captioner>();
    assert_send_sync::<CancelToken>();
};
