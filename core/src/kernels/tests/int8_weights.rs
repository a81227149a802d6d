//! The pass on graphs whose weights are int8 behind `Int8Dequantize`, as loading finds the
//! pre-optimised form's: ours pack those weights from their int8 values, leave the nodes
//! unread, and compute bit for bit what they compute from the same weights in float32.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::einsum::EinSum;
use tract_nnef::tract_core::ops::konst::Const;

use super::values;
use super::{dense, depthwise, product};
use crate::int8_weight::Int8Dequantize;
use crate::kernels::use_own_kernels;
use crate::nnef::fold_int8_weights;

/// `model` with every constant of 16 values or more put on an int8 grid of one scale per
/// row (axis 0): the graph holding the grid's float32 values, and the graph holding the
/// same weights as int8 values and scales behind `Int8Dequantize`.
fn on_int8_grid(model: &TypedModel) -> (TypedModel, TypedModel) {
    let (mut float, mut int8) = (model.clone(), model.clone());
    let (mut float_patch, mut int8_patch) =
        (TypedModelPatch::default(), TypedModelPatch::default());
    for node in model.nodes() {
        let Some(konst) = node.op_as::<Const>() else {
            continue;
        };
        let tensor = konst.val();
        if tensor.datum_type() != f32::datum_type() || tensor.len() < 16 {
            continue;
        }
        let rows = tensor.shape()[0];
        let values = tensor.try_as_plain_ram().unwrap();
        let values = values.as_slice::<f32>().unwrap();
        let row = values.len() / rows;
        let scales: Vec<f32> = values
            .chunks(row)
            .map(|r| r.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0)
            .collect();
        let q: Vec<i8> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (v / scales[i / row]).round() as i8)
            .collect();
        let q = Tensor::from_shape(tensor.shape(), &q).unwrap();
        let scales = tensor1(&scales);
        let op = Int8Dequantize { axis: Some(0) };
        let grid = op.dequantize(&q, &scales).unwrap();
        let grid = float_patch.add_const(&node.name, grid).unwrap();
        float_patch
            .shunt_outside(model, node.id.into(), grid)
            .unwrap();
        let q = int8_patch
            .add_const(format!("{}.int8", node.name), q)
            .unwrap();
        let scales = int8_patch
            .add_const(format!("{}.scales", node.name), scales)
            .unwrap();
        let weight = int8_patch.wire_node(&node.name, op, &[q, scales]).unwrap()[0];
        int8_patch
            .shunt_outside(model, node.id.into(), weight)
            .unwrap();
    }
    float_patch.apply(&mut float).unwrap();
    int8_patch.apply(&mut int8).unwrap();
    (float, int8)
}

fn int8_nodes(model: &TypedModel) -> usize {
    let nodes = model.nodes().iter();
    nodes.filter(|n| n.op_is::<Int8Dequantize>()).count()
}

fn outputs(model: TypedModel, input: &Tensor) -> TVec<Tensor> {
    let plan = model.into_optimized().unwrap().into_runnable().unwrap();
    let outputs = plan.run(tvec!(input.clone().into_tvalue())).unwrap();
    outputs.into_iter().map(|o| o.into_tensor()).collect()
}

/// Each operator of ours that packs or keeps its weights, in a graph as the tests of each
/// build it, and an input for it.
fn graphs() -> Vec<(&'static str, TypedModel, Tensor)> {
    let image =
        |shape: &[usize]| Tensor::from_shape(shape, &values(7, shape.iter().product())).unwrap();
    let layer = |axes: &str, input: &'static [usize], weights: &[usize]| {
        let shape = |_: &SymbolScope| input.iter().map(|&d| d.to_dim()).collect();
        product::layer_graph(axes, shape, weights, true)
    };
    let step_rows = |symbols: &SymbolScope| tvec![symbols.sym("rows").into(), 31.to_dim()];
    let dense_case = dense::Case {
        n: 1,
        ci: 3,
        co: 16,
        h: 15,
        w: 17,
        k: 3,
        stride: [2, 2],
        before: [0, 0],
        after: [1, 1],
    };
    let depthwise_case = depthwise::Case {
        n: 1,
        c: 24,
        h: 14,
        w: 14,
        k: 5,
        stride: [2, 2],
        pad_before: [2, 2],
        pad_after: [2, 2],
    };
    vec![
        (
            "1x1 convolution",
            product::pointwise_graph(16, 24, 8, 8, true, 1),
            image(&[1, 16, 8, 8]),
        ),
        (
            "layer",
            layer("amk,kn->amn", &[1, 7, 33], &[33, 70]),
            image(&[1, 7, 33]),
        ),
        (
            "matrix-vector, weights transposed",
            layer("abmk,abnk->abmn", &[1, 1, 1, 40], &[1, 1, 70, 40]),
            image(&[1, 1, 1, 40]),
        ),
        (
            "decoder step's layer",
            product::layer_graph("mk,nk->mn", step_rows, &[150, 31], true),
            image(&[5, 31]),
        ),
        (
            "stem convolution",
            dense::conv_graph(&dense_case, Some(6.0), 2),
            image(&[1, 3, 15, 17]),
        ),
        (
            "depthwise convolution",
            depthwise::conv_graph(&depthwise_case, true, 3),
            image(&[1, 24, 14, 14]),
        ),
    ]
}

#[test]
fn int8_weights_are_packed_from_their_int8_values_as_their_float32_ones_are() {
    for (what, graph, input) in graphs() {
        let (mut float, mut int8) = on_int8_grid(&graph);
        assert!(int8_nodes(&int8) >= 1, "{what}: no weight put on the grid");
        let replaced = use_own_kernels(&mut float).unwrap();
        assert!(replaced >= 1, "{what}");
        assert_eq!(use_own_kernels(&mut int8).unwrap(), replaced, "{what}");
        // Ours read every weight (and bias) of these graphs: nothing is left to fold, and
        // the unread nodes do not reach the plan.
        assert_eq!(fold_int8_weights(&mut int8).unwrap(), 0, "{what}");
        let optimized = int8.clone().into_optimized().unwrap();
        assert_eq!(int8_nodes(&optimized), 0, "{what}");
        let (want, got) = (outputs(float, &input), outputs(int8, &input));
        assert_eq!(got, want, "{what}");
    }
}

#[test]
fn an_int8_weight_tract_also_reads_is_folded_for_it() {
    // The layer's weights are an output of the graph too (as tied embeddings are read by
    // a lookup as well as by the vocabulary's product).
    let graph = product::layer_graph(
        "amk,kn->amn",
        |_| tvec![1.into(), 7.into(), 33.into()],
        &[33, 70],
        false,
    );
    let (float, int8) = on_int8_grid(&graph);
    let with_weights_out = |mut model: TypedModel| {
        let layer = model.nodes().iter().find(|n| n.op_is::<EinSum>()).unwrap();
        let weights = layer.inputs[1];
        let mut outputs = model.output_outlets().unwrap().to_vec();
        outputs.push(weights);
        model.select_output_outlets(&outputs).unwrap();
        model
    };
    let (mut float, mut int8) = (with_weights_out(float), with_weights_out(int8));
    assert_eq!(use_own_kernels(&mut float).unwrap(), 1);
    assert_eq!(use_own_kernels(&mut int8).unwrap(), 1);
    assert_eq!(fold_int8_weights(&mut int8).unwrap(), 1);
    let input = Tensor::from_shape(&[1, 7, 33], &values(4, 7 * 33)).unwrap();
    let (want, got) = (outputs(float, &input), outputs(int8, &input));
    assert_eq!(got.len(), 2);
    assert_eq!(got, want);
}
