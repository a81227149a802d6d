//! The depthwise convolution against a direct reference and against tract's operator.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_nnef::tract_core::ops::math;
use tract_nnef::tract_core::ops::nn::DataFormat;

use super::{HALF_ROUNDOFF, assert_float16_agrees, halves, probe_runs, values};
use crate::kernels::depthwise::{DepthwiseConv, Geometry};
use crate::kernels::half::HalfIsa;
use crate::kernels::lanes::Isa;
use crate::kernels::use_own_kernels;
use crate::precision::to_float16;

/// One convolution's shape: image `[n, c, h, w]`, square kernel, stride and padding.
#[derive(Debug, Clone, Copy)]
pub(super) struct Case {
    pub(super) n: usize,
    pub(super) c: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) k: usize,
    pub(super) stride: [usize; 2],
    pub(super) pad_before: [usize; 2],
    pub(super) pad_after: [usize; 2],
}

impl Case {
    fn output(&self) -> [usize; 2] {
        let out = |size: usize, before: usize, after: usize, stride: usize| {
            (size + before + after - self.k) / stride + 1
        };
        [
            out(
                self.h,
                self.pad_before[0],
                self.pad_after[0],
                self.stride[0],
            ),
            out(
                self.w,
                self.pad_before[1],
                self.pad_after[1],
                self.stride[1],
            ),
        ]
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            input: [self.h, self.w],
            kernel: [self.k, self.k],
            stride: self.stride,
            pad_before: self.pad_before,
            output: self.output(),
        }
    }
}

/// The convolution straight from its definition, summed in float64.
fn reference(case: &Case, image: &[f32], kernels: &[f32], biases: &[f32]) -> Vec<f32> {
    let [oh, ow] = case.output();
    let mut out = vec![];
    for n in 0..case.n {
        for c in 0..case.c {
            let plane = &image[(n * case.c + c) * case.h * case.w..][..case.h * case.w];
            for y in 0..oh {
                for x in 0..ow {
                    let mut sum = biases[c] as f64;
                    for i in 0..case.k {
                        for j in 0..case.k {
                            let r = (y * case.stride[0] + i) as isize - case.pad_before[0] as isize;
                            let s = (x * case.stride[1] + j) as isize - case.pad_before[1] as isize;
                            if r >= 0 && s >= 0 && (r as usize) < case.h && (s as usize) < case.w {
                                let v = plane[r as usize * case.w + s as usize] as f64;
                                sum += v * kernels[(c * case.k + i) * case.k + j] as f64;
                            }
                        }
                    }
                    out.push(sum as f32);
                }
            }
        }
    }
    out
}

fn assert_close(case: &Case, what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{case:?} {what}: lengths");
    for (ix, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
            "{case:?} {what}: value {ix} is {g}, expected {w}"
        );
    }
}

/// The convolution of float16 values, summed in float64 in the kernel's order (bias, then
/// taps row by row), with how far a float16 sum in that order may stray from it: each
/// multiply-add rounds once, by at most the roundoff times the partial sum it makes.
fn half_reference(case: &Case, image: &[f16], kernels: &[f16], biases: &[f16]) -> Vec<(f64, f64)> {
    let [oh, ow] = case.output();
    let mut out = vec![];
    for n in 0..case.n {
        for c in 0..case.c {
            let plane = &image[(n * case.c + c) * case.h * case.w..][..case.h * case.w];
            for y in 0..oh {
                for x in 0..ow {
                    let mut sum = biases[c].to_f64();
                    let mut bound = 0.0;
                    for i in 0..case.k {
                        for j in 0..case.k {
                            let r = (y * case.stride[0] + i) as isize - case.pad_before[0] as isize;
                            let s = (x * case.stride[1] + j) as isize - case.pad_before[1] as isize;
                            if r >= 0 && s >= 0 && (r as usize) < case.h && (s as usize) < case.w {
                                let v = plane[r as usize * case.w + s as usize].to_f64();
                                sum += v * kernels[(c * case.k + i) * case.k + j].to_f64();
                            }
                            bound += sum.abs() * HALF_ROUNDOFF;
                        }
                    }
                    // The plain-Rust register rounds to float32 first: a hair more.
                    out.push((sum, bound * 1.01 + f64::from(f16::MIN_POSITIVE_SUBNORMAL)));
                }
            }
        }
    }
    out
}

/// Odd sizes, sizes around the vector widths (4, 8, 16), planes narrower than the kernel
/// once padded, asymmetric padding, stride 2 on either axis, a batch of two.
fn cases() -> Vec<Case> {
    let mut cases = vec![];
    let sizes = [
        (1, 1),
        (3, 3),
        (7, 7),
        (8, 9),
        (14, 14),
        (15, 17),
        (33, 5),
        (56, 56),
    ];
    for (ix, &(h, w)) in sizes.iter().enumerate() {
        for k in [3, 5] {
            for stride in [1, 2] {
                let pad = k / 2;
                cases.push(Case {
                    n: 1 + ix % 2,
                    c: [1, 3, 5, 17][ix % 4],
                    h,
                    w,
                    k,
                    stride: [stride, stride],
                    pad_before: [pad, pad],
                    pad_after: [pad, pad],
                });
            }
        }
    }
    // TensorFlow-style SAME padding for stride 2 (more after than before), no padding,
    // a stride on one axis only, a 1x1 kernel and an image smaller than the kernel.
    for (h, w, k, stride, before, after) in [
        (14, 14, 3, [2, 2], [0, 0], [1, 1]),
        (28, 28, 5, [2, 2], [1, 1], [2, 2]),
        (9, 12, 3, [1, 1], [0, 0], [0, 0]),
        (10, 11, 3, [2, 1], [1, 1], [1, 1]),
        (10, 11, 5, [1, 2], [2, 0], [2, 3]),
        (6, 6, 1, [1, 1], [0, 0], [0, 0]),
        (2, 2, 5, [1, 1], [2, 2], [2, 2]),
    ] {
        cases.push(Case {
            n: 1,
            c: 9,
            h,
            w,
            k,
            stride,
            pad_before: before,
            pad_after: after,
        });
    }
    cases
}

#[test]
fn every_instruction_set_computes_the_convolution_of_its_definition() {
    for (seed, case) in cases().into_iter().enumerate() {
        let seed = seed as u64;
        let image = values(seed, case.n * case.c * case.h * case.w);
        let kernels = values(seed + 100, case.c * case.k * case.k);
        let biases = values(seed + 200, case.c);
        let want = reference(&case, &image, &kernels, &biases);
        for isa in Isa::available() {
            for clamp in [None, Some((0.0f32, 0.5f32))] {
                let op = DepthwiseConv {
                    geometry: case.geometry(),
                    clamp: clamp.map(|(l, h)| (l.to_bits(), h.to_bits())),
                };
                let mut got = vec![f32::NAN; want.len()];
                op.run(isa, &image, &kernels, &biases, &mut got).unwrap();
                let want: Vec<f32> = match clamp {
                    None => want.clone(),
                    Some((l, h)) => want.iter().map(|v| v.clamp(l, h)).collect(),
                };
                assert_close(&case, &format!("{isa:?} clamp {clamp:?}"), &got, &want);
            }
        }
    }
}

#[test]
fn every_float16_set_computes_the_convolution_of_its_definition_to_float16_rounding() {
    for (seed, case) in cases().into_iter().enumerate() {
        let seed = seed as u64;
        let image = halves(&values(seed, case.n * case.c * case.h * case.w));
        let kernels = halves(&values(seed + 100, case.c * case.k * case.k));
        let biases = halves(&values(seed + 200, case.c));
        let want = half_reference(&case, &image, &kernels, &biases);
        for isa in HalfIsa::available() {
            for clamp in [None, Some((0.0f32, 0.5f32))] {
                let op = DepthwiseConv {
                    geometry: case.geometry(),
                    clamp: clamp.map(|(l, h)| (l.to_bits(), h.to_bits())),
                };
                let mut got = vec![f16::NAN; want.len()];
                op.run_half(isa, &image, &kernels, &biases, &mut got)
                    .unwrap();
                for (ix, (g, &(w, bound))) in got.iter().zip(&want).enumerate() {
                    let w = match clamp {
                        None => w,
                        Some((l, h)) => w.clamp(l.into(), h.into()),
                    };
                    assert!(
                        (g.to_f64() - w).abs() <= bound,
                        "{case:?} {isa:?} clamp {clamp:?}: value {ix} is {g}, expected {w} (within {bound})"
                    );
                }
            }
        }
    }
}

#[test]
fn a_kernel_of_the_wrong_size_is_an_error_not_a_read_out_of_bounds() {
    let case = cases()[3];
    let op = DepthwiseConv {
        geometry: case.geometry(),
        clamp: None,
    };
    let image = values(1, case.n * case.c * case.h * case.w);
    let [oh, ow] = case.output();
    let mut out = vec![0.0; case.n * case.c * oh * ow];
    let short_kernels = values(2, case.c * case.k * case.k - 1);
    let biases = values(3, case.c);
    for isa in Isa::available() {
        let err = op.run(isa, &image, &short_kernels, &biases, &mut out);
        assert!(err.is_err(), "{isa:?} accepted a short kernel");
        let err = op.run(
            isa,
            &image[1..],
            &values(2, case.c * case.k * case.k),
            &biases,
            &mut out,
        );
        assert!(err.is_err(), "{isa:?} accepted a short image");
    }
}

/// A graph of one tract depthwise `Conv` (and a ReLU6 after it, as ONNX's Clip becomes),
/// decluttered as loading does.
pub(super) fn conv_graph(case: &Case, relu6: bool, seed: u64) -> TypedModel {
    conv_graph_in(f32::datum_type(), case, relu6, seed)
}

/// The same graph in `dt` throughout, its input and output too (a float16 graph's layer
/// between others, with no casts at its ends).
fn conv_graph_in(dt: DatumType, case: &Case, relu6: bool, seed: u64) -> TypedModel {
    let mut model = TypedModel::default();
    let x = model
        .add_source("image", dt.fact([case.n, case.c, case.h, case.w]))
        .unwrap();
    let kernels = Tensor::from_shape(
        &[case.c, 1, case.k, case.k],
        &values(seed + 100, case.c * case.k * case.k),
    )
    .unwrap();
    let biases = Tensor::from_shape(&[case.c], &values(seed + 200, case.c)).unwrap();
    let kernels = model
        .add_const("kernels", kernels.cast_to_dt(dt).unwrap().into_owned())
        .unwrap();
    let biases = model
        .add_const("biases", biases.cast_to_dt(dt).unwrap().into_owned())
        .unwrap();
    let pool = PoolSpec::new(
        DataFormat::NCHW,
        tvec![case.k, case.k],
        PaddingSpec::Explicit(
            tvec![case.pad_before[0], case.pad_before[1]],
            tvec![case.pad_after[0], case.pad_after[1]],
        ),
        None,
        Some(tvec![case.stride[0], case.stride[1]]),
        case.c,
        case.c,
    );
    let conv = Conv::new(pool, KernelFormat::OIHW, case.c, None);
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

fn run(model: TypedModel, image: &Tensor) -> Tensor {
    let plan = model.into_optimized().unwrap().into_runnable().unwrap();
    let out = plan.run(tvec!(image.clone().into_tvalue())).unwrap();
    out[0].clone().into_tensor()
}

/// `model` after our pass, which must have put our depthwise convolution in the place of
/// tract's, with the clamp after it fused where there is one.
fn with_our_depthwise(model: &TypedModel, clamped: bool, case: &Case) -> TypedModel {
    let mut ours = model.clone();
    assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{case:?}");
    let ops: Vec<String> = ours
        .clone()
        .into_optimized()
        .unwrap()
        .nodes()
        .iter()
        .map(|n| n.op.name().to_string())
        .collect();
    assert!(
        ops.iter()
            .any(|op| op.starts_with("DepthwiseConv(lightcap)")),
        "{case:?}: {ops:?}"
    );
    assert!(
        !clamped || !ops.iter().any(|op| op == "Max" || op == "Min"),
        "{case:?}: clamp not fused: {ops:?}"
    );
    ours
}

#[test]
fn the_pass_replaces_tracts_depthwise_convolutions_and_keeps_their_results() {
    // One channel is a plain convolution (group 1), not a depthwise one.
    let depthwise = cases()
        .into_iter()
        .enumerate()
        .filter(|(_, case)| case.c > 1);
    for (seed, case) in depthwise.step_by(3) {
        for relu6 in [false, true] {
            let seed = seed as u64;
            let tract_model = conv_graph(&case, relu6, seed);
            let ours = with_our_depthwise(&tract_model, relu6, &case);
            let image = Tensor::from_shape(
                &[case.n, case.c, case.h, case.w],
                &values(seed, case.n * case.c * case.h * case.w)
                    .iter()
                    .map(|v| v * 8.0)
                    .collect::<Vec<_>>(),
            )
            .unwrap();
            let want = run(tract_model, &image);
            let got = run(ours, &image);
            assert_eq!(got.shape(), want.shape(), "{case:?}");
            assert_close(
                &case,
                "against tract",
                got.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
                want.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
            );
        }
    }
}

#[test]
fn in_a_float16_graph_the_pass_puts_ours_in_float16_and_keeps_tracts_results() {
    let depthwise = cases()
        .into_iter()
        .enumerate()
        .filter(|(_, case)| case.c > 1);
    for (seed, case) in depthwise.step_by(3) {
        let seed = seed as u64;
        let tract_model = to_float16(&conv_graph(&case, true, seed)).unwrap();
        let ours = with_our_depthwise(&tract_model, true, &case);
        // The graph's interface stays float32; inside, the image is float16.
        let image = values(seed, case.n * case.c * case.h * case.w)
            .iter()
            .map(|v| v * 8.0)
            .collect::<Vec<_>>();
        let want = half_reference(
            &case,
            &halves(&image),
            &halves(&values(seed + 100, case.c * case.k * case.k)),
            &halves(&values(seed + 200, case.c)),
        );
        let image = Tensor::from_shape(&[case.n, case.c, case.h, case.w], &image).unwrap();
        let theirs = run(tract_model, &image);
        let got = run(ours, &image);
        assert_eq!(got.shape(), theirs.shape(), "{case:?}");
        let got = got.try_as_plain_ram().unwrap();
        let theirs = theirs.try_as_plain_ram().unwrap();
        let outputs = (
            got.as_slice::<f32>().unwrap(),
            theirs.as_slice::<f32>().unwrap(),
        );
        assert_float16_agrees(&format!("{case:?}"), outputs, &want, Some((0.0, 6.0)));
    }
}

#[test]
fn convolutions_ours_does_not_cover_stay_tracts() {
    // Dilated: left to tract.
    let case = cases()[4];
    let mut model = conv_graph(&case, false, 1);
    let conv_id = model
        .nodes()
        .iter()
        .find(|n| n.op_is::<Conv>())
        .map(|n| n.id)
        .unwrap();
    let mut conv = model.node(conv_id).op_as::<Conv>().unwrap().clone();
    conv.pool_spec.dilations = Some(tvec![2, 2]);
    conv.pool_spec.padding = PaddingSpec::Valid;
    model.node_mut(conv_id).op = Box::new(conv);
    assert_eq!(use_own_kernels(&mut model).unwrap(), 0);
}

#[test]
fn rows_run_in_the_widest_registers_that_add_no_padding_lanes() {
    let vectors: Vec<Isa> = Isa::available()
        .into_iter()
        .filter(|&i| i != Isa::Scalar)
        .collect();
    for width in [1, 7, 8, 14, 28, 56, 112] {
        let chosen = Isa::for_rows_of(width);
        let computed = |isa: Isa| width.div_ceil(isa.lanes()) * isa.lanes();
        match vectors.last() {
            None => assert_eq!(chosen, Isa::Scalar),
            Some(_) => {
                let least = vectors.iter().map(|&i| computed(i)).min().unwrap();
                assert_eq!(computed(chosen), least, "width {width}: {chosen:?}");
                assert!(
                    vectors
                        .iter()
                        .all(|&i| computed(i) > least || i.lanes() <= chosen.lanes()),
                    "width {width}: a wider set computes as few lanes than {chosen:?}"
                );
            }
        }
    }
}

/// EfficientNet-Lite0's sixteen depthwise layers (channels, input side, kernel, stride,
/// padding before and after), as the bundled pack's graph holds them.
const LITE0_DEPTHWISE: [(usize, usize, usize, usize, usize, usize); 16] = [
    (32, 112, 3, 1, 1, 1),
    (96, 112, 3, 2, 0, 1),
    (144, 56, 3, 1, 1, 1),
    (144, 56, 5, 2, 1, 2),
    (240, 28, 5, 1, 2, 2),
    (240, 28, 3, 2, 0, 1),
    (480, 14, 3, 1, 1, 1),
    (480, 14, 3, 1, 1, 1),
    (480, 14, 5, 1, 2, 2),
    (672, 14, 5, 1, 2, 2),
    (672, 14, 5, 1, 2, 2),
    (672, 14, 5, 2, 1, 2),
    (1152, 7, 5, 1, 2, 2),
    (1152, 7, 5, 1, 2, 2),
    (1152, 7, 5, 1, 2, 2),
    (1152, 7, 3, 1, 1, 1),
];

/// One image of `c` square planes `hw` wide, a square kernel, stride and padding.
fn square_case(c: usize, hw: usize, k: usize, s: usize, [before, after]: [usize; 2]) -> Case {
    Case {
        n: 1,
        c,
        h: hw,
        w: hw,
        k,
        stride: [s, s],
        pad_before: [before, before],
        pad_after: [after, after],
    }
}

/// Each layer's plans, tract's and ours, with its image.
type LayerPlans = Vec<(Arc<TypedSimplePlan>, Arc<TypedSimplePlan>, Tensor)>;

/// The probe's runs (see `probe_runs`): one side's layers again.
fn probe(plans: &LayerPlans) {
    let (tract_side, runs) = probe_runs();
    for _ in 0..runs {
        for (tract_plan, our_plan, image) in plans {
            let plan = if tract_side { tract_plan } else { our_plan };
            plan.run(tvec!(image.clone().into_tvalue())).unwrap();
        }
    }
}

/// The real layers' widths (vector tails, stride-2 splits) against tract's operator. With
/// `LIGHTCAP_PROBE_KERNELS=lightcap|tract` and `LIGHTCAP_PROBE_RUNS=N` it then runs that
/// side's sixteen layers N more times, for scripts/count-aarch64-instructions.sh to count
/// the instructions they take under qemu.
#[test]
fn efficientnet_lite0_depthwise_layers_match_tracts() {
    let mut plans: LayerPlans = vec![];
    for (seed, &(c, hw, k, s, before, after)) in LITE0_DEPTHWISE.iter().enumerate() {
        let case = square_case(c, hw, k, s, [before, after]);
        let tract_model = conv_graph(&case, true, seed as u64);
        let mut ours = tract_model.clone();
        assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{case:?}");
        let image = Tensor::from_shape(
            &[1, c, hw, hw],
            &values(seed as u64, c * hw * hw)
                .iter()
                .map(|v| v * 8.0)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let plan = |model: TypedModel| model.into_optimized().unwrap().into_runnable().unwrap();
        let (tract_plan, our_plan) = (plan(tract_model), plan(ours));
        let run = |plan: &std::sync::Arc<TypedSimplePlan>| {
            plan.run(tvec!(image.clone().into_tvalue())).unwrap()[0]
                .clone()
                .into_tensor()
        };
        let (want, got) = (run(&tract_plan), run(&our_plan));
        assert_close(
            &case,
            "EfficientNet-Lite0 layer",
            got.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
            want.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
        );
        plans.push((tract_plan, our_plan, image));
    }
    probe(&plans);
}

/// The same sixteen layers in float16 (what `Precision::Auto` runs on a phone), images in
/// and out float16 as between a float16 graph's layers: ours in FP16 arithmetic against
/// tract's float16 operators, and the probe's runs for scripts/count-aarch64-instructions.sh.
#[test]
fn efficientnet_lite0_float16_depthwise_layers_match_tracts() {
    let mut plans: LayerPlans = vec![];
    for (seed, &(c, hw, k, s, before, after)) in LITE0_DEPTHWISE.iter().enumerate() {
        let case = square_case(c, hw, k, s, [before, after]);
        let tract_model = conv_graph_in(f16::datum_type(), &case, true, seed as u64);
        let mut ours = tract_model.clone();
        assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{case:?}");
        let image = Tensor::from_shape(&[1, c, hw, hw], &halves(&values(seed as u64, c * hw * hw)))
            .unwrap();
        let plan = |model: TypedModel| model.into_optimized().unwrap().into_runnable().unwrap();
        let (tract_plan, our_plan) = (plan(tract_model), plan(ours));
        let run = |plan: &std::sync::Arc<TypedSimplePlan>| {
            plan.run(tvec!(image.clone().into_tvalue())).unwrap()[0]
                .clone()
                .into_tensor()
        };
        let (want, got) = (run(&tract_plan), run(&our_plan));
        let want = want.try_as_plain_ram().unwrap();
        let got = got.try_as_plain_ram().unwrap();
        let (want, got) = (
            want.as_slice::<f16>().unwrap(),
            got.as_slice::<f16>().unwrap(),
        );
        // Sums of at most 25 products of values below 1, in float16: a few of its
        // roundings of sums below 8 apart.
        for (ix, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g.to_f32() - w.to_f32()).abs() <= 0.05,
                "{case:?}: value {ix} is {g}, tract's {w}"
            );
        }
        plans.push((tract_plan, our_plan, image));
    }
    probe(&plans);
}
