//! The matrix product in float16 (FP16 arithmetic where the CPU has it): against a float64
//! reference within float16's rounding, and in float16 graphs against tract's own.

use tract_nnef::internal::*;

use super::product::{
    LITE0_POINTWISE, Plan, SHAPES, layer_graph, plans, pointwise_graph, pointwise_graph_in, run,
};
use super::{HALF_ROUNDOFF, assert_float16_agrees, halves, probe_runs, values};
use crate::kernels::half::HalfIsa;
use crate::kernels::product::{ALayout, Product, half_panel_columns, pack_columns};
use crate::kernels::use_own_kernels;
use crate::precision::to_float16;

/// `A B` (row-major float16 values) plus the biases (one per row of `C`, or per column if
/// `column_bias`; none for zeros), summed in float64 in the kernel's order (a row's bias,
/// the terms one by one, a column's bias), with how far a float16 sum in that order may
/// stray from it: each step rounds once, by at most the roundoff times the partial sum it
/// makes (or half the smallest subnormal).
fn half_reference(
    (m, k, n): (usize, usize, usize),
    a: &[f16],
    b: &[f16],
    biases: &[f16],
    column_bias: bool,
) -> Vec<(f64, f64)> {
    let step = |sum: f64| sum.abs() * HALF_ROUNDOFF + f64::from(f16::MIN_POSITIVE_SUBNORMAL) / 2.0;
    let mut out = Vec::with_capacity(m * n);
    for row in 0..m {
        for col in 0..n {
            let (mut sum, mut bound) = (0.0, 0.0);
            if !column_bias && !biases.is_empty() {
                sum = biases[row].to_f64();
            }
            for i in 0..k {
                sum += a[row * k + i].to_f64() * b[i * n + col].to_f64();
                bound += step(sum);
            }
            if column_bias && !biases.is_empty() {
                sum += biases[col].to_f64();
                bound += step(sum);
            }
            // The plain-Rust register rounds to float32 first: a hair more.
            out.push((sum, bound * 1.01));
        }
    }
    out
}

/// That each of `got` is within its bound of the reference's value, clamped.
fn assert_within(what: &str, got: &[f32], want: &[(f64, f64)], clamp: Option<(f32, f32)>) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (ix, (&g, &(w, bound))) in got.iter().zip(want).enumerate() {
        let w = clamp.map_or(w, |(low, high)| w.clamp(low.into(), high.into()));
        assert!(
            (f64::from(g) - w).abs() <= bound,
            "{what}: value {ix} is {g}, expected {w} (within {bound})"
        );
    }
}

fn floats(values: &[f16]) -> Vec<f32> {
    values.iter().map(|v| v.to_f32()).collect()
}

#[test]
fn every_float16_set_computes_the_product_to_float16_rounding() {
    for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
        let seed = seed as u64 * 3;
        let a = halves(&values(seed, m * k));
        let b = halves(&values(seed + 1, k * n));
        // A 1x1 convolution's bias per row, its image row-major; a layer's per column, its
        // weights packed in panels.
        for column_bias in [false, true] {
            let biases = halves(&values(seed + 2, if column_bias { n } else { m }));
            let want = half_reference((m, k, n), &a, &b, &biases, column_bias);
            for isa in HalfIsa::available() {
                let b_panel = column_bias.then(|| half_panel_columns(isa));
                let b = b_panel.map_or(b.clone(), |panel| pack_columns(&b, k, n, panel));
                for clamp in [None, Some((0.0f32, 0.5f32))] {
                    let op = Product {
                        m: Some(m),
                        k,
                        n,
                        output: Some(tvec![m, n]),
                        a: ALayout::Rows,
                        column_bias,
                        b_panel,
                        clamp: clamp.map(|(l, h)| (l.to_bits(), h.to_bits())),
                    };
                    // NaN where nothing was written would fail the comparison.
                    let mut got = vec![f16::NAN; m * n];
                    op.run_half(isa, &a, &b, &biases, &mut got).unwrap();
                    assert_within(
                        &format!(
                            "{m}x{k} by {k}x{n} {isa:?} column bias {column_bias} clamp {clamp:?}"
                        ),
                        &floats(&got),
                        &want,
                        clamp,
                    );
                }
            }
        }
    }
}

#[test]
fn float16_operands_of_the_wrong_size_are_an_error_not_a_read_out_of_bounds() {
    let (m, k, n) = (5, 7, 9);
    let op = Product {
        m: Some(m),
        k,
        n,
        output: Some(tvec![m, n]),
        clamp: None,
        a: ALayout::Rows,
        column_bias: false,
        b_panel: None,
    };
    let (a, b, biases) = (
        halves(&values(1, m * k)),
        halves(&values(2, k * n)),
        halves(&values(3, m)),
    );
    let mut c = vec![f16::ZERO; m * n];
    for isa in HalfIsa::available() {
        // B packed for the float32 kernel's panels (or any other) would be read wrongly.
        let other = Product {
            b_panel: Some(half_panel_columns(isa) + 1),
            ..op.clone()
        };
        let cases: [(&str, Result<(), _>); 5] = [
            (
                "B packed for other panels",
                other.run_half(isa, &a, &b, &biases, &mut c),
            ),
            ("short A", op.run_half(isa, &a[1..], &b, &biases, &mut c)),
            ("short B", op.run_half(isa, &a, &b[1..], &biases, &mut c)),
            ("few biases", op.run_half(isa, &a, &b, &biases[1..], &mut c)),
            ("short C", op.run_half(isa, &a, &b, &biases, &mut c[1..])),
        ];
        for (what, result) in cases {
            assert!(result.is_err(), "{isa:?}: {what}");
        }
    }
}

/// Tract's plan for `model` (float32) made float16 as loading makes it, and ours: the pass
/// puts one product of ours in it, bias and clamp fused.
fn half_plans(model: &TypedModel) -> (Plan, Plan) {
    let theirs = to_float16(model).unwrap();
    let mut ours = theirs.clone();
    assert_eq!(use_own_kernels(&mut ours).unwrap(), 1);
    let ours = ours.into_optimized().unwrap();
    let kinds: Vec<String> = ours.nodes().iter().map(|n| n.op.name().into()).collect();
    assert!(kinds.iter().any(|k| k == "MatMul(lightcap)"), "{kinds:?}");
    assert!(
        !kinds
            .iter()
            .any(|k| k.contains("Add") || k.contains("Max") || k.contains("Min")),
        "bias or clamp not fused: {kinds:?}"
    );
    let plan = |model: TypedModel| model.into_runnable().unwrap();
    (plan(theirs.into_optimized().unwrap()), plan(ours))
}

/// Ours and tract's float16 graphs on `input` (the graphs' interface is float32), as
/// [`assert_float16_agrees`] wants them.
fn assert_graphs_agree(
    what: &str,
    (theirs, ours): &(Plan, Plan),
    input: &Tensor,
    want: &[(f64, f64)],
    clamp: Option<(f32, f32)>,
) {
    let (theirs, got) = (run(theirs, input), run(ours, input));
    assert_eq!(got.shape(), theirs.shape(), "{what}");
    let (got, theirs) = (
        got.try_as_plain_ram().unwrap(),
        theirs.try_as_plain_ram().unwrap(),
    );
    let outputs = (
        got.as_slice::<f32>().unwrap(),
        theirs.as_slice::<f32>().unwrap(),
    );
    assert_float16_agrees(what, outputs, want, clamp);
}

#[test]
fn in_a_float16_graph_the_pass_puts_our_pointwise_convolutions_in_float16() {
    for (seed, (ci, co, h, w)) in [(3, 5, 7, 9), (16, 24, 8, 8), (17, 9, 1, 33)]
        .into_iter()
        .enumerate()
    {
        let seed = seed as u64;
        let plans = half_plans(&pointwise_graph(ci, co, h, w, true, seed));
        let image: Vec<f32> = values(seed, ci * h * w).iter().map(|v| v * 8.0).collect();
        // The graph's weights as `pointwise_graph` makes them, in float16.
        let want = half_reference(
            (co, ci, h * w),
            &halves(&values(seed + 100, co * ci)),
            &halves(&image),
            &halves(&values(seed + 200, co)),
            false,
        );
        let image = Tensor::from_shape(&[1, ci, h, w], &image).unwrap();
        let what = format!("{ci}->{co} over {h}x{w}");
        assert_graphs_agree(&what, &plans, &image, &want, Some((0.0, 6.0)));
    }
}

#[test]
fn in_a_float16_graph_the_pass_puts_our_layers_in_float16() {
    // A layer with its rows known (the fusion model's), and a decoder step's, its rows
    // known only when it runs and its weights transposed (tied word embeddings).
    let (k, n) = (31, 70);
    let weights = halves(&values(5, k * n));
    let biases = halves(&values(9, n));
    let known = |_: &SymbolScope| tvec![1.to_dim(), 7.to_dim(), k.to_dim()];
    let plans = half_plans(&layer_graph("amk,kn->amn", known, &[k, n], true));
    let x = values(6, 7 * k);
    let want = half_reference((7, k, n), &halves(&x), &weights, &biases, true);
    let x = Tensor::from_shape(&[1, 7, k], &x).unwrap();
    assert_graphs_agree("a layer of 7 rows", &plans, &x, &want, None);

    let rows = |symbols: &SymbolScope| tvec![symbols.sym("rows").into(), k.to_dim()];
    let plans = half_plans(&layer_graph("mk,nk->mn", rows, &[n, k], true));
    // The same values as `[n, k]`: their transpose is the reference's `K x N`.
    let transposed: Vec<f16> = (0..k * n)
        .map(|ix| weights[(ix % n) * k + ix / n])
        .collect();
    for rows in [1, 5] {
        let x = values(rows as u64, rows * k);
        let want = half_reference((rows, k, n), &halves(&x), &transposed, &biases, true);
        let x = Tensor::from_shape(&[rows, k], &x).unwrap();
        let what = format!("a decoder step's layer, {rows} rows");
        assert_graphs_agree(&what, &plans, &x, &want, None);
    }
}

/// EfficientNet-Lite0's 1x1 layers in float16, ours and tract's, each against float32 (sums
/// of up to 1152 products in float16: within a few of float16's steps at the sums' scale,
/// on average far closer); then, for scripts/count-aarch64-instructions.sh, one side's
/// layers again (see `probe_runs`).
#[test]
fn efficientnet_lite0_float16_pointwise_layers_match_tracts() {
    let dt = f16::datum_type();
    let mut plans_run = vec![];
    for (seed, &(ci, co, side)) in LITE0_POINTWISE.iter().enumerate() {
        let seed = seed as u64;
        let theirs = pointwise_graph_in(dt, [ci, co, side, side], true, seed);
        let mut ours = theirs.clone();
        assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{ci}->{co}");
        let plan = |model: TypedModel| model.into_optimized().unwrap().into_runnable().unwrap();
        let (theirs, ours) = (plan(theirs), plan(ours));
        let (full, _, _) = plans(ci, co, side, side, true, seed);
        // Float16 values of the float32 image, so that both precisions see the same input.
        let image = floats(&halves(&values(seed, ci * side * side)));
        let image = Tensor::from_shape(&[1, ci, side, side], &image).unwrap();
        let half_image = image.cast_to_dt(dt).unwrap().into_owned();
        let want = run(&full, &image);
        let want = want.try_as_plain_ram().unwrap();
        let want = want.as_slice::<f32>().unwrap();
        for (side, plan) in [("ours", &ours), ("tract's", &theirs)] {
            let got = run(plan, &half_image)
                .cast_to::<f32>()
                .unwrap()
                .into_owned();
            let got = got.try_as_plain_ram().unwrap();
            let differences: Vec<f32> = (got.as_slice::<f32>().unwrap().iter().zip(want))
                .map(|(g, w)| (g - w).abs())
                .collect();
            let worst = differences.iter().copied().fold(0f32, f32::max);
            let mean = differences.iter().sum::<f32>() / differences.len() as f32;
            eprintln!("{ci}->{co} {side}: within {worst}, {mean} on average");
            assert!(
                worst <= 0.5 && mean <= 0.02,
                "{ci}->{co} {side}: float16 differs from float32 by up to {worst}, {mean} on average"
            );
        }
        plans_run.push((theirs, ours, half_image));
    }
    let (tract_side, runs) = probe_runs();
    for _ in 0..runs {
        for (theirs, ours, image) in &plans_run {
            run(if tract_side { theirs } else { ours }, image);
        }
    }
}
