//! Batched products of two activations against a direct reference and against tract's
//! einsums.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::einsum::EinSum;

use super::{HALF_ROUNDOFF, assert_float16_agrees, halves, values};
use crate::kernels::batched::BatchedProduct;
use crate::kernels::half::HalfIsa;
use crate::kernels::lanes::Isa;
use crate::kernels::use_own_kernels;
use crate::precision::to_float16;

/// Value `(r, c)` of a `rows x columns` matrix stored as is or transposed.
fn at(
    values: &[f64],
    (rows, columns): (usize, usize),
    transposed: bool,
    r: usize,
    c: usize,
) -> f64 {
    let index = if transposed {
        c * rows + r
    } else {
        r * columns + c
    };
    values[index]
}

/// Every product of `op`'s batch by its definition, summed in float64 term by term, with
/// how far a float16 sum in that order may stray from it (each step rounds once, by at most
/// the roundoff times the partial sum it makes, or half the smallest subnormal).
fn products(op: &BatchedProduct, a: &[f64], b: &[f64]) -> Vec<(f64, f64)> {
    let (m, k, n) = (op.m, op.k, op.n);
    let mut want = vec![];
    for i in 0..op.batch {
        let (a, b) = (&a[i * m * k..][..m * k], &b[i * k * n..][..k * n]);
        for r in 0..m {
            for c in 0..n {
                let (mut sum, mut bound) = (0.0, 0.0);
                for t in 0..k {
                    sum +=
                        at(a, (m, k), op.a_transposed, r, t) * at(b, (k, n), op.b_transposed, t, c);
                    bound +=
                        sum.abs() * HALF_ROUNDOFF + f64::from(f16::MIN_POSITIVE_SUBNORMAL) / 2.0;
                }
                // The plain-Rust float16 register rounds to float32 first: a hair more.
                want.push((sum, bound * 1.01));
            }
        }
    }
    want
}

fn wide(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| v.into()).collect()
}

#[test]
fn every_instruction_set_computes_each_product_of_the_batch() {
    // (batch, m, k, n): attention's shapes, odd sizes, sums shorter than the kernel's parts
    // and longer than one.
    let shapes = [
        (1, 1, 1, 1),
        (3, 7, 5, 9),
        (2, 69, 26, 69),
        (2, 69, 69, 26),
        (1, 13, 130, 17),
        (4, 6, 24, 65),
    ];
    for (seed, &(batch, m, k, n)) in shapes.iter().enumerate() {
        for (a_transposed, b_transposed) in
            [(false, false), (false, true), (true, false), (true, true)]
        {
            let a = values(seed as u64, batch * m * k);
            let b = values(seed as u64 + 50, batch * k * n);
            let op = BatchedProduct {
                batch,
                m,
                k,
                n,
                a_transposed,
                b_transposed,
                output: tvec![batch, m, n],
            };
            let want = products(&op, &wide(&a), &wide(&b));
            for isa in Isa::available() {
                let mut got = vec![f32::NAN; batch * m * n];
                op.run(isa, &a, &b, &mut got).unwrap();
                for (ix, (g, &(w, _))) in got.iter().zip(&want).enumerate() {
                    let w = w as f32;
                    assert!(
                        (g - w).abs() <= 1e-5 * (1.0 + w.abs()) * 4.0,
                        "{op:?} {isa:?}: value {ix} is {g}, expected {w}"
                    );
                }
            }
            // In float16, within float16's rounding of the sums.
            let (a, b) = (halves(&a), halves(&b));
            let float = |values: &[f16]| values.iter().map(|v| v.to_f64()).collect::<Vec<_>>();
            let want = products(&op, &float(&a), &float(&b));
            for isa in HalfIsa::available() {
                let mut got = vec![f16::NAN; batch * m * n];
                op.run_half(isa, &a, &b, &mut got).unwrap();
                for (ix, (g, &(w, bound))) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g.to_f64() - w).abs() <= bound,
                        "{op:?} {isa:?}: value {ix} is {g}, expected {w} (within {bound})"
                    );
                }
            }
        }
    }
}

#[test]
fn operands_of_the_wrong_size_are_an_error_not_a_read_out_of_bounds() {
    let op = BatchedProduct {
        batch: 2,
        m: 3,
        k: 4,
        n: 5,
        a_transposed: false,
        b_transposed: true,
        output: tvec![2, 3, 5],
    };
    let (a, b) = (values(1, 2 * 3 * 4), values(2, 2 * 4 * 5));
    let mut c = vec![0.0; 2 * 3 * 5];
    assert!(op.run(Isa::Scalar, &a[1..], &b, &mut c).is_err());
    assert!(op.run(Isa::Scalar, &a, &b[..20], &mut c).is_err());
    assert!(op.run(Isa::Scalar, &a, &b, &mut c[1..]).is_err());
    op.run(Isa::Scalar, &a, &b, &mut c).unwrap();
    let (a, b) = (halves(&a), halves(&b));
    let mut c = vec![f16::ZERO; 2 * 3 * 5];
    for isa in HalfIsa::available() {
        assert!(op.run_half(isa, &a[1..], &b, &mut c).is_err());
        assert!(op.run_half(isa, &a, &b[..20], &mut c).is_err());
        assert!(op.run_half(isa, &a, &b, &mut c[1..]).is_err());
        op.run_half(isa, &a, &b, &mut c).unwrap();
    }
}

#[test]
fn the_pass_replaces_attentions_products_and_keeps_their_results() {
    for (axes, first, second) in [
        // Queries times keys, then the scores times the values (twelve heads).
        (
            "abcmk,abcnk->abcmn",
            &[12, 1, 1, 69, 26][..],
            &[12, 1, 1, 69, 26][..],
        ),
        (
            "abcmk,abckn->abcmn",
            &[12, 1, 1, 69, 69],
            &[12, 1, 1, 69, 26],
        ),
        ("bmk,bkn->bmn", &[3, 7, 30], &[3, 30, 11]),
        ("bkm,bnk->bmn", &[2, 9, 5], &[2, 4, 9]),
    ] {
        let model = einsum_graph(axes, first, second);
        let mut ours = model.clone();
        assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{axes}");
        let ours = ours.into_optimized().unwrap();
        assert!(
            ours.nodes()
                .iter()
                .any(|n| n.op.name() == "BatchedMatMul(lightcap)"),
            "{axes}"
        );
        let inputs = || {
            tvec!(
                Tensor::from_shape(first, &values(3, first.iter().product()))
                    .unwrap()
                    .into_tvalue(),
                Tensor::from_shape(second, &values(4, second.iter().product()))
                    .unwrap()
                    .into_tvalue()
            )
        };
        let run = |model: TypedModel| {
            model
                .into_optimized()
                .unwrap()
                .into_runnable()
                .unwrap()
                .run(inputs())
                .unwrap()[0]
                .clone()
                .into_tensor()
        };
        let (want, got) = (run(model), run(ours));
        assert_eq!(got.shape(), want.shape(), "{axes}");
        let (got, want) = (
            got.try_as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec(),
            want.try_as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec(),
        );
        for (ix, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * (1.0 + w.abs()) * 4.0,
                "{axes}: value {ix} is {g}, expected {w}"
            );
        }
    }
}

#[test]
fn in_a_float16_graph_the_pass_puts_attentions_products_in_float16() {
    for (axes, first, second) in [
        (
            "abcmk,abcnk->abcmn",
            &[12, 1, 1, 69, 26][..],
            &[12, 1, 1, 69, 26][..],
        ),
        ("bkm,bnk->bmn", &[2, 9, 5], &[2, 4, 9]),
    ] {
        let theirs = to_float16(&einsum_graph(axes, first, second)).unwrap();
        let mut ours = theirs.clone();
        assert_eq!(use_own_kernels(&mut ours).unwrap(), 1, "{axes}");
        let kinds: Vec<_> = ours.nodes().iter().map(|n| n.op.name()).collect();
        assert!(
            kinds.iter().any(|k| k == "BatchedMatMul(lightcap)"),
            "{axes}"
        );
        // Float16 values: what the graph's casts make of its float32 inputs.
        let (x, y) = (
            halves(&values(3, first.iter().product())),
            halves(&values(4, second.iter().product())),
        );
        let rank = first.len();
        let op = BatchedProduct {
            batch: first[..rank - 2].iter().product(),
            m: if axes.starts_with("bkm") {
                first[2]
            } else {
                first[rank - 2]
            },
            k: if axes.starts_with("bkm") {
                first[1]
            } else {
                first[rank - 1]
            },
            n: second[rank - 2],
            a_transposed: axes.starts_with("bkm"),
            b_transposed: true,
            output: tvec![],
        };
        let float = |values: &[f16]| values.iter().map(|v| v.to_f64()).collect::<Vec<_>>();
        let want = products(&op, &float(&x), &float(&y));
        let inputs = tvec!(
            Tensor::from_shape(first, &values(3, first.iter().product()))
                .unwrap()
                .into_tvalue(),
            Tensor::from_shape(second, &values(4, second.iter().product()))
                .unwrap()
                .into_tvalue()
        );
        let run = |model: TypedModel| {
            let plan = model.into_optimized().unwrap().into_runnable().unwrap();
            let out = plan.run(inputs.clone()).unwrap()[0].clone().into_tensor();
            out.try_as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec()
        };
        let (theirs, got) = (run(theirs), run(ours));
        assert_float16_agrees(axes, (&got, &theirs), &want, None);
    }
}

#[test]
fn products_that_broadcast_their_batch_stay_tracts() {
    let mut model = einsum_graph("bmk,bkn->bmn", &[3, 7, 5], &[1, 5, 4]);
    assert_eq!(use_own_kernels(&mut model).unwrap(), 0);
}

/// A graph of one float32 einsum of two inputs of the given shapes.
fn einsum_graph(axes: &str, first: &[usize], second: &[usize]) -> TypedModel {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact(first)).unwrap();
    let y = model.add_source("y", f32::fact(second)).unwrap();
    let einsum = EinSum::new(axes.parse().unwrap(), f32::datum_type());
    let z = model.wire_node("product", einsum, &[x, y]).unwrap()[0];
    model.select_output_outlets(&[z]).unwrap();
    model
}
