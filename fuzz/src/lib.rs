//! What each fuzz target does with its input. The harnesses live in a library so that
//! the targets under `fuzz_targets/` stay one line each, and so that `cargo test`
//! replays the seed inputs and every saved crash (`fuzz/regressions`) on stable.
//!
//! The oracle is the SDK's promise: a result or a typed `lightcap::Error`, never a
//! panic, an abort or a hang. Where a result comes back, its shape is checked too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lightcap::{CaptionOptions, Captioner, Error, ImageInput, PackFiles, PixelFormat, RawFrame};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Side of the model input that the image harness asks for (every pack's size).
pub const MODEL_SIZE: usize = 224;

/// Far below the SDK's default (64 MP), so that a header claiming a big picture is
/// refused, or decoded quickly enough for the fuzzer; the check is the same code.
pub const MAX_PIXELS: u64 = 4_000_000;

/// First byte that makes an image input a raw frame. No encoded format starts with it
/// (JPEG 0xFF, PNG 0x89, GIF 'G', BMP 'B', TIFF 'I'/'M', WebP 'R').
pub const RAW_FRAME_MARK: u8 = 0xFE;

/// Bytes of a raw frame's header after the mark: format, width and height as
/// little-endian u16, and a signed byte added to the tight stride.
const RAW_HEADER: usize = 6;

/// An encoded image (any bytes), or a raw frame: `[RAW_FRAME_MARK, format, width
/// (u16 LE), height (u16 LE), stride adjustment (i8), pixels...]`, so that wrong
/// strides and lengths are reached too.
pub fn image(data: &[u8]) -> Result<(), Error> {
    let input = match data.split_first() {
        Some((&RAW_FRAME_MARK, rest)) if rest.len() >= RAW_HEADER => {
            ImageInput::Raw(raw_frame(rest))
        }
        _ => ImageInput::Encoded(data),
    };
    let planes = lightcap::preprocess_image(input, MODEL_SIZE, MAX_PIXELS)?;
    assert_eq!(
        planes.len(),
        3 * MODEL_SIZE * MODEL_SIZE,
        "model input shape"
    );
    assert!(
        planes.iter().all(|v| (0.0..=1.0).contains(v)),
        "a model input value outside [0, 1]"
    );
    Ok(())
}

fn raw_frame(header_and_pixels: &[u8]) -> RawFrame<'_> {
    let (header, pixels) = header_and_pixels.split_at(RAW_HEADER);
    let (format, bytes_per_pixel) = match header[0] % 3 {
        0 => (PixelFormat::Rgba8, 4),
        1 => (PixelFormat::Bgra8, 4),
        _ => (PixelFormat::Rgb8, 3),
    };
    let width = u16::from_le_bytes([header[1], header[2]]);
    let height = u16::from_le_bytes([header[3], header[4]]);
    let tight = usize::from(width) * bytes_per_pixel;
    let stride = tight.saturating_add_signed(isize::from(header[5] as i8));
    RawFrame {
        pixels,
        width: width.into(),
        height: height.into(),
        stride,
        format,
    }
}

/// The files the pack harness replaces: the input's first byte picks one (modulo),
/// the rest is that file's new content. The decoder graph is left out: it is 25 times
/// the vision graph's size, and reaches the same protobuf parser and graph checks.
pub const PACK_FILES: [&str; 4] = [
    "manifest.json",
    "vision.onnx",
    "tokenizer.json",
    "concepts.txt",
];

/// The tiny test pack with one file replaced by the input. A replaced file other than
/// the manifest is re-signed in the manifest (size and sha256), as a careless tool
/// would, so that the parsers themselves meet the damage rather than the checksum.
/// A pack that loads must then caption a picture.
pub fn pack(data: &[u8]) -> Result<(), Error> {
    let Some((&selector, content)) = data.split_first() else {
        return Ok(());
    };
    let replaced = PACK_FILES[usize::from(selector) % PACK_FILES.len()];
    let tiny = tiny_pack();
    let mut files = PackFiles::new();
    for (name, bytes) in &tiny.files {
        if name != replaced {
            files.insert(name.clone(), bytes.clone());
        }
    }
    files.insert(replaced, content.to_vec());
    if replaced != "manifest.json" {
        let mut manifest = tiny.manifest.clone();
        sign(&mut manifest, replaced, content);
        let manifest = serde_json::to_vec(&manifest).expect("a JSON value serialises");
        files.insert("manifest.json", manifest);
    }

    let captioner = Captioner::from_files(files)?;
    let gray = vec![128u8; 32 * 32 * 3];
    let frame = RawFrame {
        pixels: &gray,
        width: 32,
        height: 32,
        stride: 32 * 3,
        format: PixelFormat::Rgb8,
    };
    let caption = captioner.caption(ImageInput::Raw(frame), &CaptionOptions::default())?;
    let max_length = captioner.manifest().decoding.max_length;
    assert!(
        caption.steps <= max_length,
        "{} decoder steps, max_length is {max_length}",
        caption.steps
    );
    Ok(())
}

/// Seed inputs for the pack target: each replaceable file of the tiny pack, unchanged,
/// behind its selector byte. Every one must load and caption.
pub fn pack_seeds() -> Vec<(String, Vec<u8>)> {
    let tiny = tiny_pack();
    PACK_FILES
        .iter()
        .enumerate()
        .map(|(selector, &name)| {
            let mut input = vec![selector as u8];
            input.extend_from_slice(&tiny.files[name]);
            (name.to_owned(), input)
        })
        .collect()
}

/// Seed inputs for the image target: the format fixtures (every supported encoding).
pub fn image_seed_dir() -> PathBuf {
    repo().join("tests/images/formats")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct TinyPack {
    files: BTreeMap<String, Vec<u8>>,
    manifest: Value,
}

/// Read once per process: the fuzzer calls the harness thousands of times a minute.
fn tiny_pack() -> &'static TinyPack {
    static PACK: OnceLock<TinyPack> = OnceLock::new();
    PACK.get_or_init(|| {
        let dir = repo().join("tests/packs/tiny");
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .unwrap_or_else(|e| panic!("the tiny pack's {name} (tests/packs/tiny): {e}"))
        };
        let manifest_bytes = read("manifest.json");
        let manifest: Value =
            serde_json::from_slice(&manifest_bytes).expect("the tiny pack's manifest is JSON");
        let mut files: BTreeMap<String, Vec<u8>> = manifest["files"]
            .as_array()
            .expect("the manifest lists its files")
            .iter()
            .filter_map(|entry| entry["path"].as_str())
            .map(|name| (name.to_owned(), read(name)))
            .collect();
        files.insert("manifest.json".to_owned(), manifest_bytes);
        TinyPack { files, manifest }
    })
}

fn sign(manifest: &mut Value, name: &str, content: &[u8]) {
    let Some(entries) = manifest["files"].as_array_mut() else {
        return;
    };
    for entry in entries.iter_mut().filter(|entry| entry["path"] == name) {
        entry["sha256"] = Value::from(format!("{:x}", Sha256::digest(content)));
        entry["bytes"] = Value::from(content.len());
    }
}
