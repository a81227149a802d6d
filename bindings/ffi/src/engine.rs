//! The exported engine: one loaded pack, shared by any number of threads.

use std::collections::HashMap;
use std::sync::Arc;

use lightcap::{CancelToken, Captioner, PackFiles};

use crate::types::{Caption, CaptionOptions, ImageSource, ModelInfo, saturate};
use crate::{LightCapError, worker};

/// Receives the caption as it forms. Called on the captioning thread, once per
/// decoder step: hand the text to the UI thread yourself. A listener that
/// throws ends the caption with `Internal`.
#[uniffi::export(callback_interface)]
pub trait CaptionListener: Send + Sync {
    /// The best partial caption so far.
    fn on_partial_caption(&self, text: String);
}

/// Cancels captions in progress from any thread: the caption stops at its next
/// stage or decoder step with `Cancelled`. One token can cancel several calls.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancellationToken {
    token: CancelToken,
}

#[uniffi::export]
impl CancellationToken {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn cancel(&self) {
        self.token.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}

/// A loaded model pack. Thread-safe: share one engine across threads and
/// calls; each call keeps its own state. Loading takes from tens of
/// milliseconds to a second or two (large packs), so keep the engine for the
/// app's lifetime rather than per photo, and `close()` it (Kotlin `use {}`)
/// when done to free its memory at once.
#[derive(uniffi::Object)]
pub struct Engine {
    captioner: Captioner,
}

#[uniffi::export]
impl Engine {
    /// Load the pack folder at `path` (its `manifest.json` and the files it lists),
    /// checking every file's size and sha256 and every graph's signature.
    #[uniffi::constructor]
    pub fn from_path(path: String) -> Result<Arc<Self>, LightCapError> {
        Ok(Arc::new(Engine {
            captioner: Captioner::from_dir(path)?,
        }))
    }

    /// Load a pack whose files are in memory (e.g. read from app assets),
    /// keyed by file name: `manifest.json` and the files it lists.
    #[uniffi::constructor]
    pub fn from_files(files: HashMap<String, Vec<u8>>) -> Result<Arc<Self>, LightCapError> {
        let mut pack = PackFiles::new();
        for (name, bytes) in files {
            pack.insert(name, bytes);
        }
        Ok(Arc::new(Engine {
            captioner: Captioner::from_files(pack)?,
        }))
    }

    /// `from_path` on a background thread (Kotlin `suspend`, Swift `async`).
    #[uniffi::constructor]
    pub async fn load(path: String) -> Result<Arc<Self>, LightCapError> {
        worker::spawn("lightcap-load", move || Self::from_path(path))?.await
    }

    pub fn model_info(&self) -> ModelInfo {
        let manifest = self.captioner.manifest();
        ModelInfo {
            name: manifest.model.name.clone(),
            version: manifest.model.version.clone(),
            license: manifest.model.license.clone(),
            description: manifest.model.description.clone(),
            image_size: saturate(manifest.image.size),
            concept_count: saturate(manifest.concepts.count),
            concepts_per_caption: saturate(manifest.concepts.top_k),
            unsure_threshold: self.captioner.calibration().threshold(),
            confidence_calibrated: self.captioner.calibration().is_calibrated(),
            computes_in_float16: self.captioner.computes_in_float16(),
        }
    }

    /// The pack's whole concept vocabulary.
    pub fn concept_names(&self) -> Vec<String> {
        self.captioner.concept_names().to_vec()
    }

    /// Caption an image on the calling thread (never the UI thread: use
    /// `caption_async` there).
    #[uniffi::method(default(options))]
    pub fn caption(
        &self,
        image: ImageSource,
        options: CaptionOptions,
    ) -> Result<Caption, LightCapError> {
        self.run(&image, &options, None, &CancelToken::new())
    }

    /// `caption` with partial captions sent to `listener` and a token that
    /// cancels it from another thread.
    #[uniffi::method(default(options))]
    pub fn caption_streaming(
        &self,
        image: ImageSource,
        listener: Box<dyn CaptionListener>,
        cancellation: Arc<CancellationToken>,
        options: CaptionOptions,
    ) -> Result<Caption, LightCapError> {
        self.run(&image, &options, Some(&*listener), &cancellation.token)
    }

    /// Caption on a thread of its own, without blocking the caller. Cancelling
    /// the Kotlin coroutine cancels the caption; Swift tasks pass a
    /// `cancellation` token (the Swift wrapper does it for you).
    #[uniffi::method(default(listener = None, cancellation = None, options))]
    pub async fn caption_async(
        self: Arc<Self>,
        image: ImageSource,
        options: CaptionOptions,
        listener: Option<Box<dyn CaptionListener>>,
        cancellation: Option<Arc<CancellationToken>>,
    ) -> Result<Caption, LightCapError> {
        let token = cancellation.map(|c| c.token.clone()).unwrap_or_default();
        // uniffi drops this future when the foreign side gives up on it
        // (a cancelled coroutine): the guard then stops the thread's work.
        let _cancel_when_dropped = CancelOnDrop(token.clone());
        worker::spawn("lightcap-caption", move || {
            self.run(&image, &options, listener.as_deref(), &token)
        })?
        .await
    }
}

impl Engine {
    fn run(
        &self,
        image: &ImageSource,
        options: &CaptionOptions,
        listener: Option<&dyn CaptionListener>,
        cancel: &CancelToken,
    ) -> Result<Caption, LightCapError> {
        let mut on_partial = |text: &str| {
            if let Some(listener) = listener {
                listener.on_partial_caption(text.to_owned());
            }
        };
        let options = options.try_into()?;
        let caption =
            self.captioner
                .caption_with(image.as_input()?, &options, &mut on_partial, cancel)?;
        Ok(caption.into())
    }
}

/// Cancels its token when dropped.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
