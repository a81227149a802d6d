//! One error type for everything the SDK can refuse or fail at.
//!
//! Every variant says what was wrong in words an app developer can act on;
//! pack errors name the file (and tensor) at fault.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read (image or pack file).
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The image bytes are empty.
    #[error("image is empty (0 bytes)")]
    EmptyImage,

    /// The bytes are not in an image format this build decodes.
    #[error("unsupported image format: {0}")]
    UnsupportedImageFormat(String),

    /// The image format was recognised but the data is broken.
    #[error("cannot decode {format} image: {reason}")]
    ImageDecode { format: String, reason: String },

    /// The image is larger than the configured limit (stopped before decoding).
    #[error("image is {width}x{height} pixels, over the limit of {limit} pixels")]
    ImageTooLarge { width: u32, height: u32, limit: u64 },

    /// A raw pixel buffer does not match the dimensions it came with.
    #[error("invalid raw frame: {0}")]
    InvalidFrame(String),

    /// A caption option is out of range.
    #[error("invalid option `{name}`: {reason}")]
    InvalidOption { name: &'static str, reason: String },

    /// A model pack file is missing, malformed or inconsistent.
    #[error("invalid model pack: {file}: {problem}")]
    InvalidPack { file: String, problem: String },

    /// A graph's input or output does not match the manifest or the contract.
    #[error("invalid model pack: {file}: tensor `{tensor}`: {problem}")]
    TensorMismatch {
        file: String,
        tensor: String,
        problem: String,
    },

    /// A pack file's sha256 differs from the one in the manifest.
    #[error("invalid model pack: {file}: sha256 is {actual}, the manifest says {expected}")]
    ChecksumMismatch {
        file: String,
        expected: String,
        actual: String,
    },

    /// The pack was written for another version of the format.
    #[error(
        "model pack format version {found} is not supported (this library reads version {supported})"
    )]
    UnsupportedPackVersion { found: u32, supported: u32 },

    /// Running a graph failed (a bug or a pack that lied about its shapes).
    #[error("inference failed in {graph}: {message}")]
    Inference {
        graph: &'static str,
        message: String,
    },

    /// The caller cancelled the caption.
    #[error("captioning was cancelled")]
    Cancelled,
}

impl Error {
    pub(crate) fn pack(file: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::InvalidPack {
            file: file.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn tensor(file: &str, tensor: &str, problem: impl Into<String>) -> Self {
        Error::TensorMismatch {
            file: file.into(),
            tensor: tensor.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn option(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidOption {
            name,
            reason: reason.into(),
        }
    }
}
