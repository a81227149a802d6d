//! Seeded random damage to real inputs: every mutant image, manifest and graph must give
//! a typed error or a result, never a panic. Not coverage-guided fuzzing; a fast,
//! deterministic smoke that runs with every `cargo test`.

mod common;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use lightcap::{CaptionOptions, Captioner, DEFAULT_MAX_IMAGE_PIXELS, ImageInput, PackFiles};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use common::{repo, tiny_pack};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One of: flip a few bytes, cut the tail, duplicate a slice, overwrite with 0xFF runs.
fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.below(4) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
        }
        1 => out.truncate(rng.below(out.len())),
        2 => {
            let start = rng.below(out.len());
            let end = (start + rng.below(64)).min(out.len());
            let slice = out[start..end].to_vec();
            let at = rng.below(out.len());
            out.splice(at..at, slice);
        }
        _ => {
            let at = rng.below(out.len());
            let end = (at + 1 + rng.below(16)).min(out.len());
            out[at..end].fill(0xFF);
        }
    }
    out
}

fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked"))
}

#[test]
fn damaged_images_give_a_result_or_a_typed_error() {
    let mut rng = Rng(0x5EED_0001);
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/images/formats"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    seeds.sort();
    let (mut decoded, mut refused) = (0, 0);
    for path in &seeds {
        let original = std::fs::read(path).unwrap();
        for i in 0..40 {
            let bytes = mutate(&original, &mut rng);
            let what = format!("{} mutant {i}", path.display());
            match no_panic(&what, || {
                lightcap::preprocess_image(
                    ImageInput::Encoded(&bytes),
                    224,
                    DEFAULT_MAX_IMAGE_PIXELS,
                )
            }) {
                Ok(pixels) => {
                    assert_eq!(pixels.len(), 3 * 224 * 224, "{what}");
                    decoded += 1;
                }
                Err(_) => refused += 1,
            }
        }
    }
    // Both outcomes occur: the damage is neither always harmless nor always fatal.
    assert!(
        decoded > 0 && refused > 0,
        "{decoded} decoded, {refused} refused"
    );
}

fn load(files: &HashMap<String, Vec<u8>>, manifest: &[u8]) -> Result<Captioner, lightcap::Error> {
    let mut pack = PackFiles::new();
    for (name, bytes) in files {
        pack.insert(name.clone(), bytes.clone());
    }
    pack.insert("manifest.json", manifest.to_vec());
    Captioner::from_files(pack)
}

#[test]
fn damaged_manifests_are_refused_without_panicking() {
    let mut rng = Rng(0x5EED_0002);
    let (files, manifest) = tiny_pack();
    let text = serde_json::to_vec_pretty(&manifest).unwrap();
    let mut loaded = 0;
    for i in 0..150 {
        let damaged = mutate(&text, &mut rng);
        if no_panic(&format!("manifest mutant {i}"), || load(&files, &damaged)).is_ok() {
            loaded += 1;
        }
    }
    // A mutant that still loads changed only what loading does not depend on (a
    // description, whitespace); most must be refused.
    assert!(loaded < 30, "{loaded} of 150 damaged manifests loaded");
}

#[test]
fn damaged_graphs_with_matching_checksums_are_refused_without_panicking() {
    let mut rng = Rng(0x5EED_0003);
    let (files, manifest) = tiny_pack();
    for graph in ["vision.onnx", "decoder.onnx"] {
        for i in 0..25 {
            let bytes = mutate(&files[graph], &mut rng);
            // Re-sign the damaged file, as a careless tool would, so the graph parser
            // itself meets the damage.
            let mut manifest = manifest.clone();
            for entry in manifest["files"].as_array_mut().unwrap() {
                if entry["path"] == graph {
                    entry["sha256"] = Value::from(format!("{:x}", Sha256::digest(&bytes)));
                    entry["bytes"] = Value::from(bytes.len());
                }
            }
            let mut files = files.clone();
            files.insert(graph.to_owned(), bytes);
            let manifest = serde_json::to_vec(&manifest).unwrap();
            let _ = no_panic(&format!("{graph} mutant {i}"), || load(&files, &manifest));
        }
    }
}

#[test]
fn damaged_grounding_tables_are_refused_or_caption_without_panicking() {
    let mut rng = Rng(0x5EED_0004);
    let (files, mut manifest) = tiny_pack();
    // Every image has a subject (subject_score 0), so the rules all run on what loads.
    manifest["concepts"]["grounding"] = json!({
        "subject_score": 0.0,
        "supported_top": 3,
        "names": (0..80).map(|i| json!([5000 + i, 5100 + i])).collect::<Vec<_>>(),
        "words": (0..80).map(|i| json!([5200 + i, i])).collect::<Vec<_>>(),
        "once": (0..80).map(|i| json!(5300 + i)).collect::<Vec<_>>(),
        "lead_in": [5300, 5301],
    });
    let image = std::fs::read(repo().join("tests/images/scene_wide.png")).unwrap();
    // In range, at the edges of the ranges, past them, and of the wrong kind.
    let values = [
        json!(0),
        json!(1),
        json!(3),
        json!(79),
        json!(80),
        json!(30521),
        json!(30522),
        json!(-1),
        json!(0.5),
        json!(1e40),
        json!([]),
        json!("x"),
    ];
    let (mut loaded, mut refused) = (0, 0);
    for i in 0..30 {
        let mut manifest = manifest.clone();
        let grounding = &mut manifest["concepts"]["grounding"];
        let value = values[rng.below(values.len())].clone();
        let (table, entry, at) = (rng.below(4), rng.below(80), rng.below(3));
        let what = format!("grounding mutant {i}: table {table}, entry {entry}, at {at}: {value}");
        match table {
            0 => grounding["subject_score"] = value,
            1 => grounding["supported_top"] = value,
            _ => {
                let entry = &mut grounding[if table == 2 { "names" } else { "words" }][entry];
                // The whole entry, one of its values, or one more value.
                match at {
                    0 => *entry = value,
                    1 => entry[0] = value,
                    _ => entry.as_array_mut().unwrap().push(value),
                }
            }
        }
        let manifest = serde_json::to_vec(&manifest).unwrap();
        match no_panic(&what, || load(&files, &manifest)) {
            Ok(captioner) => {
                loaded += 1;
                for beam_size in [1, 3] {
                    let options = CaptionOptions {
                        beam_size,
                        ..CaptionOptions::default()
                    };
                    no_panic(&what, || {
                        captioner.caption(ImageInput::Encoded(&image), &options)
                    })
                    .unwrap();
                }
            }
            Err(_) => refused += 1,
        }
    }
    assert!(
        loaded > 0 && refused > 0,
        "{loaded} loaded, {refused} refused"
    );
}
