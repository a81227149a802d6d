//! Helpers the integration tests share (each test file compiles its own copy, using some).
// What one test file does not use is no dead code in another.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The test images (`tests/images/*.png`), sorted.
pub fn test_images() -> Vec<PathBuf> {
    let mut images: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    images.sort();
    assert!(!images.is_empty());
    images
}

/// The tiny test pack's files in memory, keyed by name, and its manifest to edit.
pub fn tiny_pack() -> (HashMap<String, Vec<u8>>, Value) {
    let dir = repo().join("tests/packs/tiny");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let name = entry["path"].as_str().unwrap().to_owned();
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect();
    (files, manifest)
}
