//! The error every exported call can throw: one variant per core error, so a
//! Kotlin `catch (e: LightCapException.ImageDecode)` or a Swift
//! `catch LightCapError.ImageDecode` can react to exactly that case, and the
//! message is the core's full description (which file, which tensor, which
//! option and why).

/// Errors surfaced to Kotlin (`LightCapException.*`) and Swift (`LightCapError.*`).
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum LightCapError {
    /// An image or pack file could not be read.
    #[error("{0}")]
    Io(String),
    /// The image bytes were empty.
    #[error("{0}")]
    EmptyImage(String),
    /// The bytes are not an image format this library decodes.
    #[error("{0}")]
    UnsupportedImageFormat(String),
    /// The format was recognised but the data is broken.
    #[error("{0}")]
    ImageDecode(String),
    /// The image has more pixels than `CaptionOptions.maxImagePixels`; refused before decoding.
    #[error("{0}")]
    ImageTooLarge(String),
    /// A raw frame's pixel buffer does not match its width, height, stride and format.
    #[error("{0}")]
    InvalidFrame(String),
    /// A caption option is out of range.
    #[error("{0}")]
    InvalidOption(String),
    /// A model pack file is missing, malformed or inconsistent.
    #[error("{0}")]
    InvalidPack(String),
    /// A pack graph's tensor does not match the manifest or the contract.
    #[error("{0}")]
    TensorMismatch(String),
    /// A pack file's sha256 differs from the manifest's.
    #[error("{0}")]
    ChecksumMismatch(String),
    /// The pack was written for a format version this library does not read.
    #[error("{0}")]
    UnsupportedPackVersion(String),
    /// Running a graph failed.
    #[error("{0}")]
    Inference(String),
    /// The caption was cancelled (token, coroutine or task cancellation).
    #[error("{0}")]
    Cancelled(String),
    /// A bug in this library (a panic caught before it reached the app).
    #[error("{0}")]
    Internal(String),
}

impl From<lightcap::Error> for LightCapError {
    fn from(error: lightcap::Error) -> Self {
        use lightcap::Error as Core;
        let message = error.to_string();
        match error {
            Core::Io { .. } => Self::Io(message),
            Core::EmptyImage => Self::EmptyImage(message),
            Core::UnsupportedImageFormat(_) => Self::UnsupportedImageFormat(message),
            Core::ImageDecode { .. } => Self::ImageDecode(message),
            Core::ImageTooLarge { .. } => Self::ImageTooLarge(message),
            Core::InvalidFrame(_) => Self::InvalidFrame(message),
            Core::InvalidOption { .. } => Self::InvalidOption(message),
            Core::InvalidPack { .. } => Self::InvalidPack(message),
            Core::TensorMismatch { .. } => Self::TensorMismatch(message),
            Core::ChecksumMismatch { .. } => Self::ChecksumMismatch(message),
            Core::UnsupportedPackVersion { .. } => Self::UnsupportedPackVersion(message),
            Core::Inference { .. } => Self::Inference(message),
            Core::Cancelled => Self::Cancelled(message),
            // The core's enum is non-exhaustive: a variant added there without a
            // mapping here still reaches the app with its message.
            _ => Self::Internal(message),
        }
    }
}
