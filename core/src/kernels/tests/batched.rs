//! Batched products of two activations against a direct reference and against tract's
//! einsums.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::einsum::EinSum;

use super::values;
use crate::kernels::batched::BatchedProduct;
use crate::kernels::lanes::Isa;
use crate::kernels::use_own_kernels;

/// Value `(r, c)` of a `rows x columns` matrix stored as is or transposed.
fn at(
    values: &[f32],
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
    values[index] as f64
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
            let mut want = vec![];
            for i in 0..batch {
                let (a, b) = (&a[i * m * k..][..m * k], &b[i * k * n..][..k * n]);
                for r in 0..m {
                    for c in 0..n {
                        let sum: f64 = (0..k)
                            .map(|t| {
                                at(a, (m, k), a_transposed, r, t)
                                    * at(b, (k, n), b_transposed, t, c)
                            })
                            .sum();
                        want.push(sum as f32);
                    }
                }
            }
            let op = BatchedProduct {
                batch,
                m,
                k,
                n,
                a_transposed,
                b_transposed,
                output: tvec![batch, m, n],
            };
            for isa in Isa::available() {
                let mut got = vec![f32::NAN; batch * m * n];
                op.run(isa, &a, &b, &mut got).unwrap();
                for (ix, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - w).abs() <= 1e-5 * (1.0 + w.abs()) * 4.0,
                        "{op:?} {isa:?}: value {ix} is {g}, expected {w}"
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
