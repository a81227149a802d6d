//! The matrix product (1x1 convolutions) against a direct reference and against tract's
//! own operators.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_nnef::tract_core::ops::einsum::EinSum;
use tract_nnef::tract_core::ops::math;
use tract_nnef::tract_core::ops::nn::DataFormat;

use super::{probe_runs, values};
use crate::kernels::lanes::Isa;
use crate::kernels::product::{
    ALayout, Product, pack_columns, pack_columns_transposed, pack_rows, panel_columns,
};
use crate::kernels::use_own_kernels;

/// `A B + bias`, summed in float64.
fn reference(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], biases: &[f32]) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    for row in 0..m {
        for col in 0..n {
            let sum: f64 = (0..k)
                .map(|i| a[row * k + i] as f64 * b[i * n + col] as f64)
                .sum();
            c[row * n + col] = (sum + biases[row] as f64) as f32;
        }
    }
    c
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (ix, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()) * 4.0,
            "{what}: value {ix} is {g}, expected {w}"
        );
    }
}

/// Rows around every block height (1, 2, 4, 6), columns around every register and panel
/// width (4, 8, 16, 24, 48, 64 lanes), sums of 1 term to hundreds.
pub(super) const SHAPES: [(usize, usize, usize); 14] = [
    (1, 1, 1),
    (2, 3, 5),
    (3, 7, 4),
    (5, 17, 9),
    (6, 16, 64),
    (7, 9, 65),
    (8, 1, 47),
    (9, 33, 17),
    (13, 5, 100),
    (16, 32, 200),
    (24, 96, 49),
    (40, 144, 196),
    (11, 300, 23),
    (4, 2, 129),
];

#[test]
fn every_instruction_set_computes_the_product_of_its_definition() {
    for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
        let seed = seed as u64 * 3;
        let (a, b, biases) = (
            values(seed, m * k),
            values(seed + 1, k * n),
            values(seed + 2, m),
        );
        let want = reference(m, k, n, &a, &b, &biases);
        for isa in Isa::available() {
            for clamp in [None, Some((0.0f32, 0.5f32))] {
                let op = Product {
                    m: Some(m),
                    k,
                    n,
                    output: Some(tvec![m, n]),
                    a: ALayout::Rows,
                    column_bias: false,
                    b_panel: None,
                    clamp: clamp.map(|(l, h)| (l.to_bits(), h.to_bits())),
                };
                // NaN where nothing was written would fail the comparison.
                let mut got = vec![f32::NAN; m * n];
                op.run(isa, &a, &b, &biases, &mut got).unwrap();
                let want: Vec<f32> = match clamp {
                    None => want.clone(),
                    Some((l, h)) => want.iter().map(|v| v.clamp(l, h)).collect(),
                };
                assert_close(
                    &format!("{m}x{k} by {k}x{n} {isa:?} clamp {clamp:?}"),
                    &got,
                    &want,
                );
            }
        }
    }
}

#[test]
fn a_bias_per_column_is_added_to_every_row() {
    for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
        let seed = seed as u64 * 3;
        let (a, b, biases) = (
            values(seed, m * k),
            values(seed + 1, k * n),
            values(seed + 2, n),
        );
        let mut want = reference(m, k, n, &a, &b, &vec![0.0; m]);
        for (ix, value) in want.iter_mut().enumerate() {
            *value += biases[ix % n];
        }
        for isa in Isa::available() {
            let panel = panel_columns(isa);
            for b_panel in [None, Some(panel)] {
                let op = Product {
                    m: Some(m),
                    k,
                    n,
                    output: Some(tvec![m, n]),
                    a: ALayout::Rows,
                    column_bias: true,
                    b_panel,
                    clamp: None,
                };
                let b = match b_panel {
                    None => b.clone(),
                    Some(panel) => pack_columns(&b, k, n, panel),
                };
                let mut got = vec![f32::NAN; m * n];
                op.run(isa, &a, &b, &biases, &mut got).unwrap();
                assert_close(&format!("{m}x{k} by {k}x{n} {isa:?}"), &got, &want);
                // Added to the finished sums: what the product then an addition give, bit
                // for bit (so fusing it changes no result).
                let mut sums = vec![f32::NAN; m * n];
                op.run(isa, &a, &b, &[], &mut sums).unwrap();
                let added: Vec<f32> = (sums.iter().enumerate())
                    .map(|(ix, sum)| sum + biases[ix % n])
                    .collect();
                assert_eq!(
                    got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    added.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "{m}x{k} by {k}x{n} {isa:?}"
                );
                // Biases for rows instead are an error.
                if m != n {
                    let rows = vec![0.0; m];
                    assert!(op.run(isa, &a, &b, &rows, &mut got).is_err());
                }
            }
        }
    }
}

#[test]
fn a_packed_at_load_or_transposed_gives_the_products_of_a_row_major() {
    for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
        let (a, b, biases) = (values(seed as u64, m * k), values(7, k * n), values(8, m));
        let op = |a| Product {
            m: Some(m),
            k,
            n,
            output: Some(tvec![m, n]),
            clamp: None,
            a,
            column_bias: false,
            b_panel: None,
        };
        for isa in Isa::available() {
            let (mut packed, mut row_major) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
            op(ALayout::Packed)
                .run(isa, &pack_rows(&a, m, k), &b, &biases, &mut packed)
                .unwrap();
            op(ALayout::Rows)
                .run(isa, &a, &b, &biases, &mut row_major)
                .unwrap();
            let mut transposed = vec![f32::NAN; m * n];
            let at: Vec<f32> = (0..k * m).map(|ix| a[(ix % m) * k + ix / m]).collect();
            op(ALayout::Transposed)
                .run(isa, &at, &b, &biases, &mut transposed)
                .unwrap();
            let bits = |c: &[f32]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&packed),
                bits(&row_major),
                "{m}x{k} by {k}x{n} {isa:?}"
            );
            assert_eq!(
                bits(&transposed),
                bits(&row_major),
                "{m}x{k} by {k}x{n} {isa:?}"
            );
        }
    }
}

#[test]
fn b_given_transposed_packs_as_b_does() {
    for (k, n) in [(1, 1), (3, 70), (65, 129), (130, 64), (200, 17)] {
        let b = values(11, k * n);
        let bt: Vec<f32> = (0..n)
            .flat_map(|j| (0..k).map(move |i| (i, j)))
            .map(|(i, j)| b[i * n + j])
            .collect();
        for panel in [4, 16, 64] {
            assert_eq!(
                pack_columns_transposed(&bt, k, n, panel),
                pack_columns(&b, k, n, panel),
                "{k}x{n} in panels of {panel}"
            );
        }
    }
}

#[test]
fn b_packed_in_panels_gives_the_products_of_b_row_major() {
    for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
        let (a, b, biases) = (values(seed as u64, m * k), values(9, k * n), values(10, m));
        for isa in Isa::available() {
            let op = |b_panel| Product {
                m: Some(m),
                k,
                n,
                output: Some(tvec![m, n]),
                clamp: Some((0f32.to_bits(), 0.5f32.to_bits())),
                a: ALayout::Rows,
                column_bias: false,
                b_panel,
            };
            let panel = panel_columns(isa);
            let (mut packed, mut row_major) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
            op(Some(panel))
                .run(
                    isa,
                    &a,
                    &pack_columns(&b, k, n, panel),
                    &biases,
                    &mut packed,
                )
                .unwrap();
            op(None).run(isa, &a, &b, &biases, &mut row_major).unwrap();
            assert_eq!(
                packed.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                row_major.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{m}x{k} by {k}x{n} {isa:?}"
            );
        }
    }
}

#[test]
fn operands_of_the_wrong_size_are_an_error_not_a_read_out_of_bounds() {
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
    let (a, b, biases) = (values(1, m * k), values(2, k * n), values(3, m));
    let mut c = vec![0.0; m * n];
    for isa in Isa::available() {
        // B packed for another kernel's panels would be read wrongly.
        let other = Product {
            b_panel: Some(panel_columns(isa) + 1),
            ..op.clone()
        };
        assert!(
            other.run(isa, &a, &b, &biases, &mut c).is_err(),
            "{isa:?}: B packed for other panels"
        );
        assert!(
            op.run(isa, &a[1..], &b, &biases, &mut c).is_err(),
            "{isa:?}: short A"
        );
        assert!(
            op.run(isa, &a, &b[1..], &biases, &mut c).is_err(),
            "{isa:?}: short B"
        );
        assert!(
            op.run(isa, &a, &b, &biases[1..], &mut c).is_err(),
            "{isa:?}: few biases"
        );
        assert!(
            op.run(isa, &a, &b, &biases, &mut c[1..]).is_err(),
            "{isa:?}: short C"
        );
    }
}

/// A graph of one tract 1x1 `Conv` with a bias (and a ReLU6 after it), over `[1, ci, h, w]`,
/// decluttered as loading does (which makes it a matrix product and an addition).
pub(super) fn pointwise_graph(
    ci: usize,
    co: usize,
    h: usize,
    w: usize,
    relu6: bool,
    seed: u64,
) -> TypedModel {
    pointwise_graph_in(f32::datum_type(), [ci, co, h, w], relu6, seed)
}

/// The same graph in `dt` throughout, its input and output too.
pub(super) fn pointwise_graph_in(
    dt: DatumType,
    [ci, co, h, w]: [usize; 4],
    relu6: bool,
    seed: u64,
) -> TypedModel {
    let mut model = TypedModel::default();
    let x = model.add_source("image", dt.fact([1, ci, h, w])).unwrap();
    let kernels = Tensor::from_shape(&[co, ci, 1, 1], &values(seed + 100, co * ci)).unwrap();
    let biases = Tensor::from_shape(&[co], &values(seed + 200, co)).unwrap();
    let kernels = model
        .add_const("kernels", kernels.cast_to_dt(dt).unwrap().into_owned())
        .unwrap();
    let biases = model
        .add_const("biases", biases.cast_to_dt(dt).unwrap().into_owned())
        .unwrap();
    let pool = PoolSpec::new(
        DataFormat::NCHW,
        tvec![1, 1],
        PaddingSpec::Valid,
        None,
        None,
        ci,
        co,
    );
    let conv = Conv::new(pool, KernelFormat::OIHW, 1, None);
    let mut y = model
        .wire_node("conv", conv, &[x, kernels, biases])
        .unwrap()[0];
    if relu6 {
        let bound = |value: f32| tensor4(&[[[[value]]]]).cast_to_dt(dt).unwrap().into_owned();
        let zero = model.add_const("zero", bound(0.0)).unwrap();
        let six = model.add_const("six", bound(6.0)).unwrap();
        y = model
            .wire_node("clip.min", math::max(), &[y, zero])
            .unwrap()[0];
        y = model.wire_node("clip.max", math::min(), &[y, six]).unwrap()[0];
    }
    model.select_output_outlets(&[y]).unwrap();
    model.into_decluttered().unwrap()
}

pub(super) type Plan = std::sync::Arc<TypedSimplePlan>;

/// Tract's plan and ours for the same 1x1 convolution, and an image for them.
pub(super) fn plans(
    ci: usize,
    co: usize,
    h: usize,
    w: usize,
    relu6: bool,
    seed: u64,
) -> (Plan, Plan, Tensor) {
    let tract_model = pointwise_graph(ci, co, h, w, relu6, seed);
    let mut ours = tract_model.clone();
    assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{ci}->{co} {h}x{w}");
    let ours = ours.into_optimized().unwrap();
    let ops: Vec<String> = ours
        .nodes()
        .iter()
        .map(|n| n.op.name().to_string())
        .collect();
    assert!(ops.iter().any(|op| op == "MatMul(lightcap)"), "{ops:?}");
    assert!(
        !ops.iter()
            .any(|op| op.contains("Max") || op.contains("Min") || op.contains("Add")),
        "bias or clamp not fused: {ops:?}"
    );
    let image = Tensor::from_shape(
        &[1, ci, h, w],
        &values(seed, ci * h * w)
            .iter()
            .map(|v| v * 8.0)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let plan = |model: TypedModel| model.into_runnable().unwrap();
    (
        plan(tract_model.into_optimized().unwrap()),
        plan(ours),
        image,
    )
}

pub(super) fn run(plan: &Plan, image: &Tensor) -> Tensor {
    plan.run(tvec!(image.clone().into_tvalue())).unwrap()[0]
        .clone()
        .into_tensor()
}

#[test]
fn the_pass_replaces_tracts_pointwise_convolutions_and_keeps_their_results() {
    for (seed, (ci, co, h, w)) in [(3, 5, 7, 9), (16, 24, 8, 8), (17, 9, 1, 33)]
        .into_iter()
        .enumerate()
    {
        for relu6 in [false, true] {
            let (tract_plan, our_plan, image) = plans(ci, co, h, w, relu6, seed as u64);
            let (want, got) = (run(&tract_plan, &image), run(&our_plan, &image));
            assert_eq!(got.shape(), want.shape());
            assert_close(
                &format!("{ci}->{co} over {h}x{w}, relu6 {relu6}"),
                got.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
                want.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
            );
        }
    }
}

/// A layer's product as the fusion model's graph has it: activations (`input`) times
/// constant weights (`weights`), `axes` as the einsum writes them, and if `bias`, a
/// constant added to each row of its output.
pub(super) fn layer_graph(
    axes: &str,
    input: impl FnOnce(&SymbolScope) -> TVec<TDim>,
    weights: &[usize],
    bias: bool,
) -> TypedModel {
    let mut model = TypedModel::default();
    let input = input(&model.symbols);
    let x = model.add_source("x", f32::fact(input)).unwrap();
    let len = weights.iter().product();
    let w = Tensor::from_shape(weights, &values(5, len)).unwrap();
    let w = model.add_const("weights", w).unwrap();
    let einsum = EinSum::new(axes.parse().unwrap(), f32::datum_type());
    let mut y = model.wire_node("layer", einsum, &[x, w]).unwrap()[0];
    if bias {
        let output = model.outlet_fact(y).unwrap().shape.clone();
        let n = output[output.rank() - 1].to_usize().unwrap();
        let mut shape = vec![1; output.rank() - 1];
        shape.push(n);
        let b = Tensor::from_shape(&shape, &values(9, n)).unwrap();
        let b = model.add_const("bias", b).unwrap();
        y = model.wire_node("bias_add", math::add(), &[y, b]).unwrap()[0];
    }
    model.select_output_outlets(&[y]).unwrap();
    model.into_decluttered().unwrap()
}

#[test]
fn the_pass_replaces_tracts_layer_products_and_keeps_their_results() {
    for (axes, input, weights) in [
        ("amk,kn->amn", &[1, 7, 33][..], &[33, 70][..]),
        ("amk,kn->amn", &[1, 69, 31], &[31, 129]),
        // Attention's heads times the output projection: a sum over two axes.
        ("mbk,bkn->mn", &[5, 3, 4], &[3, 4, 67]),
        // Matrix-vector products (one row), the weights as they are or transposed.
        ("amk,kn->amn", &[1, 1, 33], &[33, 70]),
        ("abmk,abnk->abmn", &[1, 1, 1, 40], &[1, 1, 70, 40]),
        // The image features' projection: features before positions.
        ("akm,akn->amn", &[1, 33, 7], &[1, 33, 70]),
        ("akm,akn->amn", &[1, 130, 49], &[1, 130, 67]),
    ] {
        for bias in [false, true] {
            let input_shape = |_: &SymbolScope| input.iter().map(|&d| d.to_dim()).collect();
            let model = layer_graph(axes, input_shape, weights, bias);
            let mut ours = model.clone();
            assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{axes}");
            let ours = ours.into_optimized().unwrap();
            let kinds: Vec<_> = ours.nodes().iter().map(|n| n.op.name()).collect();
            assert!(kinds.iter().any(|k| k == "MatMul(lightcap)"), "{axes}");
            // The bias is fused: no addition is left.
            assert!(
                !kinds.iter().any(|k| k.contains("Add")),
                "{axes}: {kinds:?}"
            );
            let x = Tensor::from_shape(input, &values(6, input.iter().product())).unwrap();
            let plan = |model: TypedModel| model.into_optimized().unwrap().into_runnable().unwrap();
            let want = run(&plan(model), &x);
            let got = run(&ours.into_runnable().unwrap(), &x);
            assert_eq!(got.shape(), want.shape());
            assert_close(
                &format!("{axes} {input:?} by {weights:?}, bias {bias}"),
                got.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
                want.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
            );
        }
    }
}

#[test]
fn rows_known_only_at_run_time_come_from_a() {
    let (k, n) = (13, 70);
    let b = values(3, k * n);
    let op = Product {
        m: None,
        k,
        n,
        output: None,
        clamp: None,
        a: ALayout::Rows,
        column_bias: false,
        b_panel: None,
    };
    for m in [1, 5, 7] {
        let a = values(m as u64, m * k);
        for isa in Isa::available() {
            let (mut got, mut want) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
            // No biases are zeros.
            op.run(isa, &a, &b, &[], &mut got).unwrap();
            let known = Product {
                m: Some(m),
                output: Some(tvec![m, n]),
                ..op.clone()
            };
            known.run(isa, &a, &b, &vec![0.0; m], &mut want).unwrap();
            assert_eq!(got, want, "{m} rows {isa:?}");
        }
    }
    // No rows: nothing to compute.
    op.run(Isa::Scalar, &[], &b, &[], &mut []).unwrap();
}

#[test]
fn the_pass_replaces_a_decoder_steps_layers_and_keeps_their_results() {
    for (transposed, bias) in [(false, false), (true, false), (false, true), (true, true)] {
        let (k, n) = (31, 150);
        // A decoder step's layer: rows known only when it runs.
        let (axes, weights) = if transposed {
            ("mk,nk->mn", [n, k])
        } else {
            ("mk,kn->mn", [k, n])
        };
        let rows = |symbols: &SymbolScope| tvec![symbols.sym("rows").into(), k.to_dim()];
        let model = layer_graph(axes, rows, &weights, bias);
        let mut ours = model.clone();
        assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{transposed}");
        let kinds: Vec<_> = ours.nodes().iter().map(|n| n.op.name()).collect();
        assert!(!kinds.iter().any(|k| k.contains("Add")), "{kinds:?}");
        let ours = ours.into_optimized().unwrap().into_runnable().unwrap();
        let theirs = model.into_optimized().unwrap().into_runnable().unwrap();
        for rows in [1, 5, 12] {
            let x = Tensor::from_shape(&[rows, k], &values(rows as u64, rows * k)).unwrap();
            let (want, got) = (run(&theirs, &x), run(&ours, &x));
            assert_eq!(got.shape(), &[rows, n]);
            assert_close(
                &format!("{rows} rows, transposed {transposed}, bias {bias}"),
                got.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
                want.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
            );
        }
    }
}

/// EfficientNet-Lite0's 1x1 convolutions (input channels, output channels, side), as the
/// bundled pack's graph holds them, once per shape.
pub(super) const LITE0_POINTWISE: [(usize, usize, usize); 17] = [
    (32, 16, 112),
    (16, 96, 112),
    (96, 24, 56),
    (24, 144, 56),
    (144, 24, 56),
    (144, 40, 28),
    (40, 240, 28),
    (240, 40, 28),
    (240, 80, 14),
    (80, 480, 14),
    (480, 80, 14),
    (480, 112, 14),
    (112, 672, 14),
    (672, 112, 14),
    (672, 192, 7),
    (192, 1152, 7),
    (1152, 192, 7),
];

/// The real layers' shapes (column tails of 196 and 49, sums of 16 to 1152 terms) against
/// tract's operators; then, for scripts/count-aarch64-instructions.sh, one side's layers
/// again (see `probe_runs`).
#[test]
fn efficientnet_lite0_pointwise_layers_match_tracts() {
    let mut plans_run = vec![];
    for (seed, &(ci, co, side)) in LITE0_POINTWISE.iter().enumerate() {
        let (tract_plan, our_plan, image) = plans(ci, co, side, side, true, seed as u64);
        let (want, got) = (run(&tract_plan, &image), run(&our_plan, &image));
        assert_close(
            &format!("EfficientNet-Lite0 layer {ci}->{co} over {side}x{side}"),
            got.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
            want.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
        );
        plans_run.push((tract_plan, our_plan, image));
    }
    let (tract_side, runs) = probe_runs();
    for _ in 0..runs {
        for (tract_plan, our_plan, image) in &plans_run {
            run(if tract_side { tract_plan } else { our_plan }, image);
        }
    }
}
