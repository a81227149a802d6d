//! The dense convolution against a direct reference and against tract's operator.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_nnef::tract_core::ops::math;
use tract_nnef::tract_core::ops::nn::DataFormat;

use super::{HALF_ROUNDOFF, assert_float16_agrees, halves, values};
use crate::kernels::dense::DenseConv;
use crate::kernels::depthwise::Geometry;
use crate::kernels::half::HalfIsa;
use crate::kernels::lanes::Isa;
use crate::kernels::product::pack_rows;
use crate::kernels::use_own_kernels;
use crate::precision::to_float16;

/// One convolution: `n` images of `ci` channels of `h x w`, `co` output channels, a square
/// kernel, stride, padding before and after.
#[derive(Debug, Clone, Copy)]
pub(super) struct Case {
    pub(super) n: usize,
    pub(super) ci: usize,
    pub(super) co: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) k: usize,
    pub(super) stride: [usize; 2],
    pub(super) before: [usize; 2],
    pub(super) after: [usize; 2],
}

impl Case {
    fn output(&self) -> [usize; 2] {
        [
            (self.h + self.before[0] + self.after[0] - self.k) / self.stride[0] + 1,
            (self.w + self.before[1] + self.after[1] - self.k) / self.stride[1] + 1,
        ]
    }

    fn op(&self, clamp: Option<(f32, f32)>) -> DenseConv {
        DenseConv {
            geometry: Geometry {
                input: [self.h, self.w],
                kernel: [self.k, self.k],
                stride: self.stride,
                pad_before: self.before,
                output: self.output(),
            },
            input_channels: self.ci,
            output_channels: self.co,
            clamp: clamp.map(|(l, h)| (l.to_bits(), h.to_bits())),
        }
    }
}

/// EfficientNet-Lite0's stem (TensorFlow-style SAME padding, stride 2), ResNet-50's 7x7
/// stem and 3x3 layers, a strided 1x1 (downsampling), odd sizes, an image smaller than the
/// kernel, a batch of two, widths around the vector widths, and planes whose patches are
/// written in several bands of rows (the last one shorter).
const CASES: [Case; 11] = [
    Case {
        n: 1,
        ci: 3,
        co: 32,
        h: 30,
        w: 30,
        k: 3,
        stride: [2, 2],
        before: [0, 0],
        after: [1, 1],
    },
    Case {
        n: 1,
        ci: 3,
        co: 8,
        h: 23,
        w: 21,
        k: 7,
        stride: [2, 2],
        before: [3, 3],
        after: [3, 3],
    },
    Case {
        n: 1,
        ci: 16,
        co: 12,
        h: 14,
        w: 14,
        k: 3,
        stride: [1, 1],
        before: [1, 1],
        after: [1, 1],
    },
    Case {
        n: 2,
        ci: 5,
        co: 7,
        h: 9,
        w: 17,
        k: 3,
        stride: [1, 2],
        before: [1, 0],
        after: [1, 2],
    },
    Case {
        n: 1,
        ci: 8,
        co: 6,
        h: 13,
        w: 13,
        k: 1,
        stride: [2, 2],
        before: [0, 0],
        after: [0, 0],
    },
    Case {
        n: 1,
        ci: 2,
        co: 3,
        h: 2,
        w: 3,
        k: 5,
        stride: [1, 1],
        before: [2, 2],
        after: [2, 2],
    },
    Case {
        n: 1,
        ci: 1,
        co: 1,
        h: 1,
        w: 1,
        k: 3,
        stride: [1, 1],
        before: [1, 1],
        after: [1, 1],
    },
    Case {
        n: 1,
        ci: 4,
        co: 17,
        h: 16,
        w: 33,
        k: 3,
        stride: [1, 1],
        before: [0, 0],
        after: [0, 0],
    },
    Case {
        n: 1,
        ci: 3,
        co: 5,
        h: 10,
        w: 64,
        k: 5,
        stride: [2, 1],
        before: [2, 2],
        after: [2, 2],
    },
    Case {
        n: 1,
        ci: 16,
        co: 4,
        h: 20,
        w: 120,
        k: 3,
        stride: [1, 1],
        before: [1, 1],
        after: [1, 1],
    },
    Case {
        n: 2,
        ci: 8,
        co: 3,
        h: 30,
        w: 160,
        k: 5,
        stride: [2, 2],
        before: [2, 2],
        after: [2, 2],
    },
];

/// The convolution by its definition, in float64.
fn reference(case: &Case, image: &[f32], kernels: &[f32], biases: &[f32]) -> Vec<f32> {
    let wide = |values: &[f32]| values.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
    let sums = sums(case, &wide(image), &wide(kernels), &wide(biases));
    sums.iter().map(|&(sum, _)| sum as f32).collect()
}

/// The convolution of float16 values, as [`sums`].
fn half_reference(case: &Case, image: &[f16], kernels: &[f16], biases: &[f16]) -> Vec<(f64, f64)> {
    let wide = |values: &[f16]| values.iter().map(|v| v.to_f64()).collect::<Vec<_>>();
    sums(case, &wide(image), &wide(kernels), &wide(biases))
}

/// The convolution summed in float64 in the kernel's order (bias, then channel by channel
/// tap by tap; the padding's zeros add nothing, exactly), with how far a float16 sum in that order may stray
/// from it: each step rounds once, by at most the roundoff times the partial sum it makes
/// (or half the smallest subnormal); the plain-Rust register's rounding to float32 first
/// adds a hair.
fn sums(case: &Case, image: &[f64], kernels: &[f64], biases: &[f64]) -> Vec<(f64, f64)> {
    let [oh, ow] = case.output();
    let mut out = vec![(0.0, 0.0); case.n * case.co * oh * ow];
    for b in 0..case.n {
        for o in 0..case.co {
            for y in 0..oh {
                for x in 0..ow {
                    let (mut sum, mut bound) = (biases[o], 0.0);
                    for c in 0..case.ci {
                        for i in 0..case.k {
                            for j in 0..case.k {
                                let iy =
                                    (y * case.stride[0] + i) as isize - case.before[0] as isize;
                                let ix =
                                    (x * case.stride[1] + j) as isize - case.before[1] as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= case.h as isize
                                    || ix >= case.w as isize
                                {
                                    continue;
                                }
                                let v = image[((b * case.ci + c) * case.h + iy as usize) * case.w
                                    + ix as usize];
                                let k = kernels[((o * case.ci + c) * case.k + i) * case.k + j];
                                sum += v * k;
                                bound += sum.abs() * HALF_ROUNDOFF
                                    + f64::from(f16::MIN_POSITIVE_SUBNORMAL) / 2.0;
                            }
                        }
                    }
                    out[((b * case.co + o) * oh + y) * ow + x] = (sum, bound * 1.01);
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
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()) * 4.0,
            "{case:?} {what}: value {ix} is {g}, expected {w}"
        );
    }
}

#[test]
fn every_instruction_set_computes_the_convolution_of_its_definition() {
    for (seed, case) in CASES.iter().enumerate() {
        let seed = seed as u64 * 3;
        let image = values(seed, case.n * case.ci * case.h * case.w);
        let kernels = values(seed + 1, case.co * case.ci * case.k * case.k);
        let biases = values(seed + 2, case.co);
        let want = reference(case, &image, &kernels, &biases);
        let kernels = pack_rows(&kernels, case.co, case.ci * case.k * case.k);
        for isa in Isa::available() {
            for clamp in [None, Some((0.0f32, 0.5f32))] {
                let mut got = vec![f32::NAN; want.len()];
                case.op(clamp)
                    .run(isa, &image, &kernels, &biases, &mut got)
                    .unwrap();
                let want: Vec<f32> = match clamp {
                    None => want.clone(),
                    Some((l, h)) => want.iter().map(|v| v.clamp(l, h)).collect(),
                };
                assert_close(case, &format!("{isa:?} clamp {clamp:?}"), &got, &want);
            }
        }
    }
}

#[test]
fn every_float16_set_computes_the_convolution_to_float16_rounding() {
    for (seed, case) in CASES.iter().enumerate() {
        let seed = seed as u64 * 3;
        let image = halves(&values(seed, case.n * case.ci * case.h * case.w));
        let kernels = halves(&values(seed + 1, case.co * case.ci * case.k * case.k));
        let biases = halves(&values(seed + 2, case.co));
        let want = half_reference(case, &image, &kernels, &biases);
        let kernels = pack_rows(&kernels, case.co, case.ci * case.k * case.k);
        for isa in HalfIsa::available() {
            for clamp in [None, Some((0.0f32, 0.5f32))] {
                let mut got = vec![f16::NAN; want.len()];
                case.op(clamp)
                    .run_half(isa, &image, &kernels, &biases, &mut got)
                    .unwrap();
                for (ix, (g, &(w, bound))) in got.iter().zip(&want).enumerate() {
                    let w = clamp.map_or(w, |(l, h)| w.clamp(l.into(), h.into()));
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
fn operands_of_the_wrong_size_are_an_error_not_a_read_out_of_bounds() {
    let case = CASES[2];
    let op = case.op(None);
    let image = values(1, case.ci * case.h * case.w);
    let kernels = values(2, case.co * case.ci * case.k * case.k);
    let biases = values(3, case.co);
    let [oh, ow] = case.output();
    let mut out = vec![0.0; case.co * oh * ow];
    for isa in Isa::available() {
        assert!(
            op.run(isa, &image[1..], &kernels, &biases, &mut out)
                .is_err(),
            "{isa:?}"
        );
        assert!(
            op.run(isa, &image, &kernels[1..], &biases, &mut out)
                .is_err(),
            "{isa:?}"
        );
        assert!(
            op.run(isa, &image, &kernels, &biases[1..], &mut out)
                .is_err(),
            "{isa:?}"
        );
        assert!(
            op.run(isa, &image, &kernels, &biases, &mut out[1..])
                .is_err(),
            "{isa:?}"
        );
    }
}

/// A graph of one tract `Conv` (and a ReLU6 or a ReLU after it), decluttered as loading
/// does.
pub(super) fn conv_graph(case: &Case, activation: Option<f32>, seed: u64) -> TypedModel {
    let mut model = TypedModel::default();
    let x = model
        .add_source("image", f32::fact([case.n, case.ci, case.h, case.w]))
        .unwrap();
    let kernels = Tensor::from_shape(
        &[case.co, case.ci, case.k, case.k],
        &values(seed + 100, case.co * case.ci * case.k * case.k),
    )
    .unwrap();
    let biases = Tensor::from_shape(&[case.co], &values(seed + 200, case.co)).unwrap();
    let kernels = model.add_const("kernels", kernels).unwrap();
    let biases = model.add_const("biases", biases).unwrap();
    let pool = PoolSpec::new(
        DataFormat::NCHW,
        tvec![case.k, case.k],
        PaddingSpec::Explicit(
            tvec![case.before[0], case.before[1]],
            tvec![case.after[0], case.after[1]],
        ),
        None,
        Some(tvec![case.stride[0], case.stride[1]]),
        case.ci,
        case.co,
    );
    let conv = Conv::new(pool, KernelFormat::OIHW, 1, None);
    let mut y = model
        .wire_node("conv", conv, &[x, kernels, biases])
        .unwrap()[0];
    if let Some(high) = activation {
        let zero = model.add_const("zero", tensor4(&[[[[0.0f32]]]])).unwrap();
        y = model.wire_node("relu", math::max(), &[y, zero]).unwrap()[0];
        if high.is_finite() {
            let high = model.add_const("high", tensor4(&[[[[high]]]])).unwrap();
            y = model.wire_node("relu6", math::min(), &[y, high]).unwrap()[0];
        }
    }
    model.select_output_outlets(&[y]).unwrap();
    model.into_decluttered().unwrap()
}

#[test]
fn the_pass_replaces_tracts_convolutions_and_keeps_their_results() {
    for (seed, case) in CASES.iter().enumerate() {
        for activation in [None, Some(6.0), Some(f32::INFINITY)] {
            let tract_model = conv_graph(case, activation, seed as u64);
            let mut ours = tract_model.clone();
            assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{case:?}");
            let ours = ours.into_optimized().unwrap();
            let ops: Vec<String> = ours
                .nodes()
                .iter()
                .map(|n| n.op.name().to_string())
                .collect();
            // A strided 1x1 convolution is a downsampling and a matrix product by then.
            let ours_name = if case.k == 1 {
                "MatMul(lightcap)"
            } else {
                "Conv(lightcap)"
            };
            assert!(ops.iter().any(|op| op == ours_name), "{ops:?}");
            assert!(
                !ops.iter()
                    .any(|op| op.contains("Max") || op.contains("Min")),
                "activation not fused: {ops:?}"
            );
            let image = Tensor::from_shape(
                &[case.n, case.ci, case.h, case.w],
                &values(seed as u64, case.n * case.ci * case.h * case.w)
                    .iter()
                    .map(|v| v * 4.0)
                    .collect::<Vec<_>>(),
            )
            .unwrap();
            let run = |model: TypedModel| {
                let plan = model.into_runnable().unwrap();
                plan.run(tvec!(image.clone().into_tvalue())).unwrap()[0]
                    .clone()
                    .into_tensor()
            };
            let (want, got) = (run(tract_model.into_optimized().unwrap()), run(ours));
            assert_eq!(got.shape(), want.shape(), "{case:?}");
            assert_close(
                case,
                &format!("against tract, activation {activation:?}"),
                got.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
                want.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
            );
        }
    }
}

#[test]
fn in_a_float16_graph_the_pass_puts_ours_in_float16() {
    // The cases ours runs as a convolution (a 1x1 is a matrix product by then).
    let cases = CASES.iter().enumerate().filter(|(_, case)| case.k > 1);
    for (seed, case) in cases.step_by(2) {
        let seed = seed as u64;
        let theirs = to_float16(&conv_graph(case, Some(6.0), seed)).unwrap();
        let mut ours = theirs.clone();
        assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{case:?}");
        let ours = ours.into_optimized().unwrap();
        let kinds: Vec<_> = ours.nodes().iter().map(|n| n.op.name()).collect();
        assert!(kinds.iter().any(|k| k == "Conv(lightcap)"), "{kinds:?}");
        assert!(
            !kinds.iter().any(|k| k.contains("Max") || k.contains("Min")),
            "activation not fused: {kinds:?}"
        );
        // The graph's interface stays float32; inside, the image is float16.
        let image: Vec<f32> = values(seed, case.n * case.ci * case.h * case.w)
            .iter()
            .map(|v| v * 4.0)
            .collect();
        let want = half_reference(
            case,
            &halves(&image),
            &halves(&values(seed + 100, case.co * case.ci * case.k * case.k)),
            &halves(&values(seed + 200, case.co)),
        );
        let image = Tensor::from_shape(&[case.n, case.ci, case.h, case.w], &image).unwrap();
        let run = |model: TypedModel| {
            let plan = model.into_runnable().unwrap();
            let out = plan.run(tvec!(image.clone().into_tvalue())).unwrap()[0].clone();
            let out = out.into_tensor();
            out.try_as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec()
        };
        let (theirs, got) = (run(theirs.into_optimized().unwrap()), run(ours));
        let what = format!("{case:?}");
        assert_float16_agrees(&what, (&got, &theirs), &want, Some((0.0, 6.0)));
    }
}
