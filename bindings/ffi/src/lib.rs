//! The LightCap core as uniffi exports: what the Kotlin and Swift bindings
//! are generated from (`scripts/generate-bindings.sh`).
//!
//! Nothing of the core's Rust types leaks through: the records and enums in
//! [`types`] are plain data copied at the boundary, [`LightCapError`] maps every
//! core error to a variant of its own, and panics never cross the boundary
//! (uniffi catches them on the calling thread; [`worker`] catches them on the
//! captioning thread of the async calls).

mod engine;
mod error;
mod types;
mod worker;

pub use engine::{CancellationToken, CaptionListener, Engine};
pub use error::LightCapError;
pub use types::{Caption, CaptionOptions, Concept, ImageSource, ModelInfo, PixelFormat, Timings};

uniffi::setup_scaffolding!("lightcap");
