//! The softmax and its exponential against float64 references and tract's operator.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::nn::{Softmax as TractSoftmax, SoftmaxKind};

use super::values;
use crate::kernels::lanes::{Isa, Lanes, Register, Scalar};
use crate::kernels::softmax::{Softmax, exp};
use crate::kernels::use_own_kernels;

/// `exp` in `isa`'s lanes, value by value.
fn exp_in(isa: Isa, xs: &[f32]) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2(x: f32) -> f32 {
        unsafe { first(exp(crate::kernels::lanes::Avx2::splat(x))) }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512(x: f32) -> f32 {
        unsafe { first(exp(crate::kernels::lanes::Avx512::splat(x))) }
    }
    unsafe fn first<V: Lanes>(v: V) -> f32 {
        let mut lanes = [0.0f32; 16];
        unsafe { v.store(lanes.as_mut_ptr()) };
        lanes[0]
    }
    xs.iter()
        .map(|&x| unsafe {
            match isa {
                Isa::Scalar => first(exp(Scalar::splat(x))),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => avx2(x),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => avx512(x),
                #[cfg(target_arch = "aarch64")]
                Isa::Neon => first(exp(crate::kernels::lanes::Neon::splat(x))),
            }
        })
        .collect()
}

#[test]
fn the_exponential_is_within_two_ulp_of_exp() {
    let xs: Vec<f32> = (0..20_000)
        .map(|i| -87.0 + 175.0 * i as f32 / 20_000.0)
        .chain([0.0, -0.0, 1.0, -1.0, 88.0, -87.0, -87.29, 1e-8, -1e-8])
        .collect();
    for isa in Isa::available() {
        for (x, got) in xs.iter().zip(exp_in(isa, &xs)) {
            let want = (*x as f64).exp();
            let ulp = f32::EPSILON as f64 * want;
            assert!(
                (got as f64 - want).abs() <= 2.0 * ulp,
                "{isa:?}: exp({x}) = {got}, expected {want}"
            );
        }
        // Below the normal floats' range, and masked scores: exactly zero.
        for got in exp_in(isa, &[-87.5, -100.0, -1e4, -1e30, f32::NEG_INFINITY]) {
            assert_eq!(got, 0.0, "{isa:?}");
        }
    }
}

/// Softmax of each row, in float64.
fn reference(values: &[f32], row: usize) -> Vec<f32> {
    values
        .chunks(row)
        .flat_map(|r| {
            let max = r.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
            let e: Vec<f64> = r.iter().map(|&x| (x as f64 - max).exp()).collect();
            let sum: f64 = e.iter().sum();
            e.into_iter().map(move |v| (v / sum) as f32)
        })
        .collect()
}

#[test]
fn every_instruction_set_computes_the_softmax_of_its_definition() {
    for (seed, row) in [1usize, 3, 4, 7, 8, 15, 16, 17, 31, 69, 100]
        .into_iter()
        .enumerate()
    {
        let rows = 1 + seed % 3;
        let mut input: Vec<f32> = values(seed as u64, rows * row)
            .iter()
            .map(|v| v * 12.0)
            .collect();
        // A masked score, as attention masks write them.
        if row > 2 {
            input[1] = f32::NEG_INFINITY;
        }
        let want = reference(&input, row);
        for isa in Isa::available() {
            let mut got = input.clone();
            Softmax.run(isa, &mut got, row).unwrap();
            // Float32 rounds `x - max` itself: a relative error of about 6e-8 per unit of
            // distance from the maximum (up to 24 here) before any exponential.
            for (ix, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 4e-6 * w.abs() + 1e-37,
                    "{isa:?} rows of {row}: value {ix} is {g}, expected {w}"
                );
            }
        }
    }
}

#[test]
fn values_that_are_not_whole_rows_are_an_error() {
    let mut values = vec![0.0f32; 10];
    for isa in Isa::available() {
        assert!(Softmax.run(isa, &mut values, 3).is_err(), "{isa:?}");
        assert!(Softmax.run(isa, &mut values, 0).is_err(), "{isa:?}");
    }
}

#[test]
fn the_pass_replaces_tracts_softmax_over_the_last_axis_only() {
    for (axis, replaced) in [(2, 1), (1, 0)] {
        let mut model = TypedModel::default();
        let x = model.add_source("scores", f32::fact([2, 12, 69])).unwrap();
        let op = TractSoftmax::new(tvec![axis], None, SoftmaxKind::Softmax);
        let y = model.wire_node("softmax", op, &[x]).unwrap();
        model.select_output_outlets(&y).unwrap();
        let mut ours = model.clone();
        assert_eq!(use_own_kernels(&mut ours).unwrap(), replaced, "axis {axis}");
        let input = Tensor::from_shape(
            &[2, 12, 69],
            &values(7, 2 * 12 * 69)
                .iter()
                .map(|v| v * 10.0)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let run = |model: TypedModel| {
            let plan = model.into_optimized().unwrap().into_runnable().unwrap();
            plan.run(tvec!(input.clone().into_tvalue())).unwrap()[0]
                .clone()
                .into_tensor()
        };
        let (want, got) = (run(model), run(ours));
        let (want, got) = (
            want.try_as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec(),
            got.try_as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec(),
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-6 * w.abs() + 1e-30, "{g} vs {w}");
        }
    }
}
