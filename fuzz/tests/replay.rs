//! The fuzz harnesses on stable, in every `cargo test`: the seed inputs must be
//! accepted (so the harnesses reach past the first check), and every input a fuzzer
//! ever crashed on (`fuzz/regressions/<target>/`) must now give a result or a typed
//! error.

use std::path::Path;

use lightcap::Error;
use lightcap_fuzz::RAW_FRAME_MARK;

fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_none_or(|ext| ext != "md"))
        .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn the_format_fixtures_seed_the_image_harness() {
    let seeds = files_in(&lightcap_fuzz::image_seed_dir());
    assert!(seeds.len() >= 30, "{} seeds", seeds.len());
    for (name, bytes) in seeds {
        // The fixtures include a few bad files on purpose (truncated, text named .png), and
        // HEIC, which the core leaves to the platform's decoder.
        let bad =
            name.contains("truncated") || name.contains("text_named") || name.ends_with(".heic");
        match (lightcap_fuzz::image(&bytes), bad) {
            (Ok(()), false) => {}
            (Err(Error::ImageDecode { .. }), true)
            | (Err(Error::UnsupportedImageFormat(_)), true) => {}
            (other, _) => panic!("{name}: {other:?}"),
        }
    }
}

fn raw_input(format: u8, width: u16, height: u16, stride_adjust: i8, pixels: usize) -> Vec<u8> {
    let mut input = vec![RAW_FRAME_MARK, format];
    input.extend_from_slice(&width.to_le_bytes());
    input.extend_from_slice(&height.to_le_bytes());
    input.push(stride_adjust as u8);
    input.resize(input.len() + pixels, 200);
    input
}

#[test]
fn raw_frame_inputs_reach_the_frame_checks() {
    // RGBA 10 x 10, tight and with row padding: accepted.
    lightcap_fuzz::image(&raw_input(0, 10, 10, 0, 400)).unwrap();
    lightcap_fuzz::image(&raw_input(0, 10, 10, 8, 48 * 9 + 40)).unwrap();
    // RGB with a stride shorter than a row, and a buffer one byte short: refused.
    for input in [raw_input(2, 10, 10, -1, 300), raw_input(1, 10, 10, 0, 399)] {
        match lightcap_fuzz::image(&input) {
            Err(Error::InvalidFrame(_)) => {}
            other => panic!("expected InvalidFrame, got {other:?}"),
        }
    }
}

#[test]
fn every_pack_seed_loads_and_captions() {
    let seeds = lightcap_fuzz::pack_seeds();
    assert_eq!(seeds.len(), lightcap_fuzz::PACK_FILES.len());
    for (name, input) in seeds {
        if let Err(e) = lightcap_fuzz::pack(&input) {
            panic!("seed replacing {name} with itself: {e}");
        }
    }
}

#[test]
fn saved_crashes_give_a_result_or_a_typed_error() {
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    for (name, bytes) in files_in(&regressions.join("image")) {
        eprintln!("{name}: {:?}", lightcap_fuzz::image(&bytes).err());
    }
    for (name, bytes) in files_in(&regressions.join("pack")) {
        eprintln!("{name}: {:?}", lightcap_fuzz::pack(&bytes).err());
    }
}
