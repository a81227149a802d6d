//! The pre-optimised graph form (tract's NNEF, named by the manifest's `graphs.*.nnef`):
//! loaded instead of the ONNX graph where a pack has it, it must give the same outputs
//! bit for bit, and a pack that names it wrongly or carries a damaged one gets a typed
//! error that names the file. With the `onnx` feature off (the mobile libraries' build)
//! the bundled pack still loads and captions, and a pack with only ONNX graphs is refused.

mod common;

use std::collections::HashMap;

use lightcap::{CaptionOptions, Captioner, Error, ImageInput, PackFiles};
use serde_json::Value;

#[cfg(feature = "onnx")]
use common::test_images;
use common::{repo, tiny_pack};

/// Which files each graph was loaded from, as the load stages name them.
fn loaded_from(captioner: &Captioner) -> Vec<String> {
    let mut files: Vec<String> = captioner
        .load_stages()
        .stages
        .iter()
        .filter_map(|(stage, _)| {
            // "read, sha256" for a file in memory, "sha256" for one hashed as it is read.
            let (file, step) = stage.split_once(": ")?;
            ["read, sha256", "sha256"]
                .contains(&step)
                .then(|| file.to_owned())
        })
        .filter(|f| f.contains("vision") || f.contains("decoder"))
        .collect();
    files.dedup();
    files
}

#[cfg(feature = "onnx")]
/// Same first-step log-probs, concepts and captions (greedy and beam 5), bit for bit.
fn assert_same_outputs(a: &Captioner, b: &Captioner) {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for path in test_images() {
        let image = ImageInput::File(&path);
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(
            bits(&a.first_step_log_probs(image).unwrap()),
            bits(&b.first_step_log_probs(image).unwrap()),
            "{name}: first-step log-probs"
        );
        for beam_size in [1, 5] {
            let options = CaptionOptions {
                beam_size,
                ..CaptionOptions::default()
            };
            let (x, y) = (
                a.caption(image, &options).unwrap(),
                b.caption(image, &options).unwrap(),
            );
            assert_eq!(x.text, y.text, "{name}, beam {beam_size}");
            assert_eq!(x.token_ids, y.token_ids, "{name}, beam {beam_size}");
            assert_eq!(bits(&x.token_log_probs), bits(&y.token_log_probs), "{name}");
            let scores = |c: &lightcap::Caption| {
                c.concepts
                    .iter()
                    .map(|c| (c.index, c.score.to_bits()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(scores(&x), scores(&y), "{name}: concepts");
        }
    }
}

#[test]
#[cfg(feature = "onnx")]
fn the_bundled_packs_nnef_form_gives_the_outputs_of_its_onnx_graphs() {
    let dir = repo().join("models/default");
    let nnef = Captioner::from_dir(&dir).unwrap();
    let graphs = &nnef.manifest().graphs;
    assert_eq!(graphs.vision.nnef.as_deref(), Some("vision.nnef.tar"));
    assert_eq!(graphs.decoder.nnef.as_deref(), Some("decoder.nnef.tar"));
    assert_eq!(loaded_from(&nnef), ["vision.nnef.tar", "decoder.nnef.tar"]);
    let onnx = Captioner::from_files(PackFiles::read_dir(&dir).unwrap().use_onnx_graphs()).unwrap();
    assert_eq!(loaded_from(&onnx), ["vision.onnx", "decoder.onnx"]);
    assert_same_outputs(&nnef, &onnx);
}

/// Add (or replace) a file and its manifest entry.
#[cfg(feature = "onnx")]
fn put_file(
    files: &mut HashMap<String, Vec<u8>>,
    manifest: &mut Value,
    name: &str,
    bytes: Vec<u8>,
) {
    use sha2::Digest;
    let entries = manifest["files"].as_array_mut().unwrap();
    entries.retain(|e| e["path"] != name);
    entries.push(serde_json::json!({
        "path": name,
        "sha256": format!("{:x}", sha2::Sha256::digest(&bytes)),
        "bytes": bytes.len(),
    }));
    files.insert(name.to_owned(), bytes);
}

fn load(files: &HashMap<String, Vec<u8>>, manifest: &Value) -> Result<Captioner, Error> {
    let mut pack = PackFiles::new();
    for (name, bytes) in files {
        pack.insert(name.clone(), bytes.clone());
    }
    pack.insert("manifest.json", serde_json::to_vec(manifest).unwrap());
    Captioner::from_files(pack)
}

#[cfg(feature = "onnx")]
/// The tiny pack with both graphs converted here, as `lightcap export-nnef` does.
fn tiny_pack_with_nnef() -> (HashMap<String, Vec<u8>>, Value) {
    let (mut files, mut manifest) = tiny_pack();
    for (role, onnx, nnef) in [
        ("vision", "vision.onnx", "vision.nnef.tar"),
        ("decoder", "decoder.onnx", "decoder.nnef.tar"),
    ] {
        assert_eq!(manifest["graphs"][role]["file"], onnx);
        let graph = lightcap::nnef::export_graph(&files[onnx]).unwrap();
        put_file(&mut files, &mut manifest, nnef, graph.bytes);
        manifest["graphs"][role]["nnef"] = Value::from(nnef);
    }
    (files, manifest)
}

#[test]
#[cfg(feature = "onnx")]
fn a_pack_converted_here_loads_from_its_nnef_form_with_the_same_outputs() {
    let (files, manifest) = tiny_pack_with_nnef();
    let nnef = load(&files, &manifest).unwrap();
    assert_eq!(loaded_from(&nnef), ["vision.nnef.tar", "decoder.nnef.tar"]);
    let onnx = Captioner::from_dir(repo().join("tests/packs/tiny")).unwrap();
    assert_same_outputs(&nnef, &onnx);
}

#[test]
#[cfg(feature = "onnx")]
fn int8_weights_stay_int8_in_the_nnef_form() {
    let onnx = std::fs::read(repo().join("models/default/decoder.onnx")).unwrap();
    let graph = lightcap::nnef::export_graph(&onnx).unwrap();
    // Every int8 weight of the ONNX graph is still int8 after decluttering (which may copy
    // one: the decoder's word embeddings also become its output matrix, transposed)...
    assert!(graph.onnx_int8_weights > 0);
    assert!(
        graph.int8_weights >= graph.onnx_int8_weights,
        "{} of {} int8 weights kept int8",
        graph.int8_weights,
        graph.onnx_int8_weights
    );
    // ...so the file stays near the ONNX graph's size (float32 weights would be ~4x).
    assert!(
        graph.bytes.len() < onnx.len() * 5 / 4,
        "{} bytes of NNEF for {} of ONNX",
        graph.bytes.len(),
        onnx.len()
    );
}

fn problem(result: Result<Captioner, Error>) -> (String, String) {
    match result {
        Ok(_) => panic!("the broken pack loaded"),
        Err(Error::InvalidPack { file, problem }) => (file, problem),
        Err(other) => panic!("expected InvalidPack, got {other:?}"),
    }
}

#[test]
#[cfg(feature = "onnx")]
fn an_nnef_form_the_files_list_does_not_have_is_refused() {
    let (mut files, mut manifest) = tiny_pack_with_nnef();
    manifest["files"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["path"] != "decoder.nnef.tar");
    files.remove("decoder.nnef.tar");
    let (file, problem) = problem(load(&files, &manifest));
    assert_eq!(file, "manifest.json");
    assert!(problem.contains("decoder.nnef.tar"), "{problem}");
}

#[test]
#[cfg(feature = "onnx")]
fn a_damaged_nnef_graph_with_a_matching_checksum_is_a_typed_error() {
    let (files, manifest) = tiny_pack_with_nnef();
    let graph = &files["vision.nnef.tar"];
    let damaged: [(&str, Vec<u8>); 3] = [
        ("truncated", graph[..graph.len() / 3].to_vec()),
        ("not a tar", b"this is not a graph".to_vec()),
        ("zeroed text", {
            // The graph text is the tar's first member: blank part of it out.
            let mut bytes = graph.clone();
            bytes[600..900].fill(b' ');
            bytes
        }),
    ];
    for (what, bytes) in damaged {
        let (mut files, mut manifest) = (files.clone(), manifest.clone());
        put_file(&mut files, &mut manifest, "vision.nnef.tar", bytes);
        let (file, problem) = problem(load(&files, &manifest));
        assert_eq!(file, "vision.nnef.tar", "{what}: {problem}");
    }
}

/// A pack written to a folder, as apps install packs.
#[cfg(feature = "onnx")]
fn write_folder(files: &HashMap<String, Vec<u8>>, manifest: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    std::fs::write(
        dir.path().join("manifest.json"),
        serde_json::to_vec(manifest).unwrap(),
    )
    .unwrap();
    dir
}

#[test]
#[cfg(feature = "onnx")]
fn a_pack_folders_nnef_graphs_are_checked_as_they_are_read() {
    let (files, manifest) = tiny_pack_with_nnef();
    let dir = write_folder(&files, &manifest);
    let from_folder = Captioner::from_dir(dir.path()).unwrap();
    let stages = &from_folder.load_stages().stages;
    for file in ["vision.nnef.tar", "decoder.nnef.tar"] {
        let hashed_as_read = format!("{file}: sha256");
        assert!(
            stages.iter().any(|(s, _)| *s == hashed_as_read),
            "{stages:?}"
        );
    }
    assert_same_outputs(&from_folder, &load(&files, &manifest).unwrap());

    let vision = dir.path().join("vision.nnef.tar");
    let graph = &files["vision.nnef.tar"];
    // A byte changed in a tensor, or in the first tar header (where the tar reader stops
    // reading): the checksum names it either way, not the parser.
    for at in [graph.len() / 2, 100] {
        let mut bytes = graph.clone();
        bytes[at] ^= 0xff;
        std::fs::write(&vision, &bytes).unwrap();
        let err = Captioner::from_dir(dir.path()).err().unwrap();
        assert!(
            matches!(&err, Error::ChecksumMismatch { file, .. } if file == "vision.nnef.tar"),
            "byte {at} changed: {err}"
        );
    }
    std::fs::write(&vision, &graph[..graph.len() - 1]).unwrap();
    let (file, size_problem) = problem(Captioner::from_dir(dir.path()));
    assert_eq!(file, "vision.nnef.tar");
    assert!(size_problem.contains("bytes"), "{size_problem}");

    // Damaged but listed with its own checksum: tract's reader says what is wrong.
    let (mut files, mut manifest) = (files.clone(), manifest.clone());
    let mut blanked = graph.clone();
    blanked[600..900].fill(b' ');
    put_file(&mut files, &mut manifest, "vision.nnef.tar", blanked);
    let dir = write_folder(&files, &manifest);
    let (file, _) = problem(Captioner::from_dir(dir.path()));
    assert_eq!(file, "vision.nnef.tar");
}

#[test]
#[cfg(feature = "onnx")]
fn the_onnx_graphs_of_a_pack_with_both_forms_are_not_read() {
    // The form that is not loaded is not read: a pack may leave it out of the folder.
    let (mut files, manifest) = tiny_pack_with_nnef();
    files.remove("vision.onnx");
    files.remove("decoder.onnx");
    let captioner = load(&files, &manifest).unwrap();
    assert_eq!(
        loaded_from(&captioner),
        ["vision.nnef.tar", "decoder.nnef.tar"]
    );
}

/// What a library without ONNX support does: loads the bundled pack from its
/// pre-optimised form, with the captions PyTorch gives (the golden file's greedy tokens).
#[test]
#[cfg(not(feature = "onnx"))]
fn without_onnx_support_the_bundled_pack_loads_and_captions_as_pytorch_does() {
    let captioner = Captioner::from_dir(repo().join("models/default")).unwrap();
    assert_eq!(
        loaded_from(&captioner),
        ["vision.nnef.tar", "decoder.nnef.tar"]
    );
    let golden: Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/golden/default/golden.json")).unwrap(),
    )
    .unwrap();
    let sep = captioner.manifest().tokenizer.special_ids.sep;
    let records = golden["images"].as_array().unwrap();
    assert!(!records.is_empty());
    for record in records {
        let name = record["image"].as_str().unwrap();
        let path = repo().join("tests/images").join(name);
        // The golden file's greedy options are the defaults, max_length included.
        let caption = captioner
            .caption(ImageInput::File(&path), &CaptionOptions::default())
            .unwrap();
        assert_eq!(record["greedy"]["options"]["beam_size"], 1);
        let mut tokens = caption.token_ids.clone();
        if caption.finished {
            tokens.push(sep);
        }
        let expected: Vec<u32> = record["greedy"]["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(tokens, expected, "{name}");
    }
}

#[test]
#[cfg(not(feature = "onnx"))]
fn without_onnx_support_a_pack_with_only_onnx_graphs_is_refused() {
    let (files, manifest) = tiny_pack();
    let (file, problem) = problem(load(&files, &manifest));
    assert_eq!(file, "vision.onnx");
    assert!(problem.contains("pre-optimised form"), "{problem}");
}

/// A pack trained from COCO-format captions by `python -m lightcap.coco_pack` (CI: on the
/// `lightcap.coco_fixture` scenes), as a phone app bundles it: its files without the ONNX
/// graphs. Run with `LIGHTCAP_TRAINED_RUN=OUT` (the run folder: `pack/` and the CLI's
/// `captions.jsonl` of its validation images); in the mobile build (no `onnx` feature) it
/// must load and give the CLI's captions.
#[test]
#[ignore = "needs a trained run: LIGHTCAP_TRAINED_RUN (scripts/test-all.sh sets it)"]
fn a_pack_trained_from_coco_captions_loads_as_phones_bundle_it() {
    let run = std::path::PathBuf::from(
        std::env::var("LIGHTCAP_TRAINED_RUN")
            .expect("set LIGHTCAP_TRAINED_RUN to a lightcap.coco_pack run"),
    );
    let mut pack = PackFiles::new();
    for entry in std::fs::read_dir(run.join("pack")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".onnx") {
            pack.insert(name, std::fs::read(&path).unwrap());
        }
    }
    let captioner = Captioner::from_files(pack).unwrap();
    assert_eq!(
        loaded_from(&captioner),
        ["vision.nnef.tar", "decoder.nnef.tar"]
    );
    assert!(
        captioner.manifest().confidence.is_some(),
        "the pack carries no confidence calibration"
    );
    let shown = std::fs::read_to_string(run.join("captions.jsonl")).unwrap();
    let mut compared = 0;
    for line in shown.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let image = std::path::PathBuf::from(record["image"].as_str().unwrap());
        let caption = captioner
            .caption(ImageInput::File(&image), &CaptionOptions::default())
            .unwrap();
        assert_eq!(
            caption.text,
            record["caption"].as_str().unwrap(),
            "{}",
            image.display()
        );
        compared += 1;
    }
    assert!(compared > 0, "captions.jsonl lists no images");
}
