//! Half precision (`Precision::Float16`, what `Auto` picks on a CPU with native FP16):
//! the same packs captioned in float16 must agree with float32, hold about half the
//! weight bytes, and keep the float32 interface the captioner drives.
//!
//! On x86 tract emulates float16 (slow: over a minute for these tests, the bundled pack on
//! two images); under qemu (`scripts/test-aarch64.sh`) they run tract's ARMv8.2 FP16
//! kernels.

mod common;

use std::path::{Path, PathBuf};

use lightcap::{CaptionOptions, Captioner, ImageInput, PackFiles, Precision};

use common::{repo, test_images};

/// First-step log-probs of the tokens that can win a step (above `LIKELY` in float32,
/// p > 5%) may differ by this much; those of other tokens above `IMPROBABLE` by
/// `ANY_TOLERANCE` (float16 keeps about 3 significant digits, and its rounding adds up
/// through the backbone and the fusion layers: measured on the test images, up to 0.12
/// and 0.67 with tract's emulated float16 on x86). Below `IMPROBABLE` float16's exp may
/// underflow, giving -inf: never chosen either way.
const LIKELY_TOLERANCE: f32 = 0.25;
const ANY_TOLERANCE: f32 = 1.5;
const LIKELY: f32 = -3.0;
const IMPROBABLE: f32 = -15.0;
/// Largest difference allowed between the scores of a concept (they lie in 0..1).
const SCORE_TOLERANCE: f32 = 0.02;

fn load(pack: &Path, precision: Precision) -> Captioner {
    let files = PackFiles::read_dir(pack).unwrap().with_precision(precision);
    Captioner::from_files(files).unwrap()
}

/// The test images, or those named in `LIGHTCAP_PARITY_IMAGES` (as in `parity.rs`: under
/// emulation only a few are checked).
fn images() -> Vec<PathBuf> {
    match std::env::var("LIGHTCAP_PARITY_IMAGES") {
        Ok(names) => {
            let dir = repo().join("tests/images");
            names.split(',').map(|name| dir.join(name)).collect()
        }
        Err(_) => test_images(),
    }
}

fn weight_bytes(captioner: &Captioner) -> usize {
    captioner.constant_tensors().iter().map(|t| t.bytes).sum()
}

/// Float16 against float32 on one pack: first-step log-probs and concept scores within
/// tolerance, the same best concept and, for a trained pack (`same_captions`), the same
/// greedy captions and the same beam-3 captions where float32's is confident. (A pack of random weights, the tiny one, ranks its tokens
/// nearly evenly, so its captions part at the first near-tie.)
fn assert_float16_agrees(pack: &Path, same_captions: bool, images: &[PathBuf]) {
    let full = load(pack, Precision::Float32);
    let half = load(pack, Precision::Float16);
    assert!(!full.computes_in_float16() && half.computes_in_float16());
    let (full_bytes, half_bytes) = (weight_bytes(&full), weight_bytes(&half));
    assert!(
        half_bytes * 10 < full_bytes * 6,
        "float16 constants {half_bytes} bytes, float32 {full_bytes}"
    );
    // Grounded decoding turns on which token is best where an object comes, so a near
    // tie that float16 flips can send a beam elsewhere: greedy captions must agree, and
    // beam captions wherever float32's is confident (measured: two drawings, small.png
    // and transparent.png, both unsure, part at beam 3).
    for path in images {
        let image = ImageInput::File(path);
        let name = path.file_name().unwrap().to_string_lossy();
        let (a, b) = (
            full.first_step_log_probs(image).unwrap(),
            half.first_step_log_probs(image).unwrap(),
        );
        assert_eq!(a.len(), b.len());
        let worst = |above: f32| {
            a.iter()
                .zip(&b)
                .filter(|(x, _)| **x > above)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max)
        };
        let (likely, any) = (worst(LIKELY), worst(IMPROBABLE));
        let best = |v: &[f32]| (0..v.len()).max_by(|&i, &j| v[i].total_cmp(&v[j]));
        assert_eq!(best(&a), best(&b), "{name}: the first step's best token");
        eprintln!("{name}: first-step log-probs within {likely} (likely tokens), {any} (the rest)");
        assert!(
            likely <= LIKELY_TOLERANCE,
            "{name}: likely tokens' log-probs differ by {likely}"
        );
        assert!(
            any <= ANY_TOLERANCE,
            "{name}: log-probs differ by up to {any}"
        );
        for beam_size in [1, 3] {
            let options = CaptionOptions {
                beam_size,
                ..CaptionOptions::default()
            };
            let (x, y) = (
                full.caption(image, &options).unwrap(),
                half.caption(image, &options).unwrap(),
            );
            eprintln!("{name}, beam {beam_size}: {:?} / {:?}", x.text, y.text);
            if same_captions && (beam_size == 1 || !x.unsure) {
                assert_eq!(x.text, y.text, "{name}, beam {beam_size}");
            }
            // Near-ties may swap places; the best concept and every score must hold.
            assert_eq!(
                x.concepts[0].index, y.concepts[0].index,
                "{name}: best concept"
            );
            for c in &y.concepts {
                let Some(d) = x.concepts.iter().find(|d| d.index == c.index) else {
                    continue;
                };
                assert!(
                    (c.score - d.score).abs() <= SCORE_TOLERANCE,
                    "{name}: {} scored {} in float32, {} in float16",
                    c.name,
                    d.score,
                    c.score
                );
            }
        }
    }
}

#[test]
fn the_tiny_pack_agrees_in_float16() {
    assert_float16_agrees(&repo().join("tests/packs/tiny"), false, &images());
}

/// Where float16 is emulated (x86: tract's float16 arithmetic in software, over half a
/// minute an image), on the two scenes of the test images; on every one elsewhere.
#[test]
fn the_bundled_pack_agrees_in_float16() {
    let mut images = images();
    if !lightcap::cpu_has_native_float16() && std::env::var_os("LIGHTCAP_PARITY_IMAGES").is_none() {
        images.retain(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("scene_"))
        });
        assert_eq!(images.len(), 2, "the test images' two scenes");
    }
    assert_float16_agrees(&repo().join("models/default"), true, &images);
}

#[test]
fn auto_is_float16_exactly_where_the_cpu_has_it() {
    assert_eq!(
        Precision::Auto.uses_float16(),
        lightcap::cpu_has_native_float16()
    );
    let auto = Captioner::from_dir(repo().join("tests/packs/tiny")).unwrap();
    assert_eq!(
        auto.computes_in_float16(),
        lightcap::cpu_has_native_float16()
    );
    assert!(Precision::Float16.uses_float16());
    assert!(!Precision::Float32.uses_float16());
}

/// On a CPU with FP16 (a phone; qemu's `-cpu max`), the bundled pack in float16 with
/// LightCap's kernels (in FP16: all but softmax) against tract's operators alone in
/// float16: the same first step, within float16's tolerances. Elsewhere float16 graphs keep
/// tract's operators and there is nothing to compare. With
/// `LIGHTCAP_PROBE_KERNELS=lightcap|tract` and `LIGHTCAP_PROBE_RUNS=N` it then runs that
/// side's first step (the vision graph and one decoder step) N more times, for
/// scripts/count-aarch64-instructions.sh.
#[test]
fn our_float16_kernels_agree_with_tracts_float16_operators() {
    if !lightcap::cpu_has_native_float16() {
        eprintln!("this CPU emulates float16: both sides would be tract's operators");
        return;
    }
    let pack = repo().join("models/default");
    let ours = load(&pack, Precision::Float16);
    let files = PackFiles::read_dir(&pack)
        .unwrap()
        .with_precision(Precision::Float16)
        .use_tract_kernels();
    let theirs = Captioner::from_files(files).unwrap();
    let path = images().into_iter().next().unwrap();
    let image = ImageInput::File(&path);
    let (a, b) = (
        ours.first_step_log_probs(image).unwrap(),
        theirs.first_step_log_probs(image).unwrap(),
    );
    let best = |v: &[f32]| (0..v.len()).max_by(|&i, &j| v[i].total_cmp(&v[j]));
    assert_eq!(best(&a), best(&b), "the first step's best token");
    let worst = a
        .iter()
        .zip(&b)
        .filter(|(x, _)| **x > LIKELY)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    eprintln!("first-step log-probs of likely tokens within {worst}");
    assert!(worst <= LIKELY_TOLERANCE, "likely tokens differ by {worst}");
    let tract_side = std::env::var("LIGHTCAP_PROBE_KERNELS").is_ok_and(|side| side == "tract");
    let runs: usize = std::env::var("LIGHTCAP_PROBE_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let side = if tract_side { &theirs } else { &ours };
    for _ in 0..runs {
        side.first_step_log_probs(image).unwrap();
    }
}
