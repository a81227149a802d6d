//! Our operators against a direct reference and against tract's own, on random and edge
//! shapes, in every instruction set this CPU runs (under qemu too, for aarch64).

mod batched;
mod dense;
mod depthwise;
mod half_product;
mod int8_weights;
mod product;
mod softmax;

use tract_nnef::internal::f16;

/// Float16's unit roundoff: half the distance from 1 to the next float16.
const HALF_ROUNDOFF: f64 = 1.0 / 2048.0;

fn halves(values: &[f32]) -> Vec<f16> {
    values.iter().map(|&v| f16::from_f32(v)).collect()
}

/// A float16 graph's outputs with our operator (`got`) and with tract's (`theirs`): ours
/// within float16's rounding of the reference (`want`: each sum and its bound, clamped as
/// `clamp` says), tract's (which may sum in float32) within twice that of ours.
fn assert_float16_agrees(
    what: &str,
    (got, theirs): (&[f32], &[f32]),
    want: &[(f64, f64)],
    clamp: Option<(f32, f32)>,
) {
    assert_eq!(
        (got.len(), theirs.len()),
        (want.len(), want.len()),
        "{what}"
    );
    for (ix, ((&g, &t), &(w, bound))) in got.iter().zip(theirs).zip(want).enumerate() {
        let w = clamp.map_or(w, |(low, high)| w.clamp(low.into(), high.into()));
        assert!(
            (f64::from(g) - w).abs() <= bound,
            "{what}: value {ix} is {g}, expected {w} (within {bound})"
        );
        assert!(
            (f64::from(g) - f64::from(t)).abs() <= 2.0 * bound,
            "{what}: value {ix} is {g}, tract's {t}"
        );
    }
}

/// Deterministic values in [-1, 1).
fn values(seed: u64, len: usize) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// For scripts/count-aarch64-instructions.sh, which counts the instructions the real
/// layers take under qemu: whether to run tract's side (`LIGHTCAP_PROBE_KERNELS=tract`)
/// rather than ours, and how many more times (`LIGHTCAP_PROBE_RUNS=N`, 0 if unset).
fn probe_runs() -> (bool, usize) {
    let tract_side = std::env::var("LIGHTCAP_PROBE_KERNELS").is_ok_and(|side| side == "tract");
    let runs = std::env::var("LIGHTCAP_PROBE_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    (tract_side, runs)
}
