//! The pass that puts our operators in a typed graph before tract optimises it: each
//! candidate looks at one node and, if it is an operator ours runs, returns the patch that
//! replaces it (and what it fuses: a bias, a clamp).

mod batched;
mod convolutions;
mod products;
mod weights;

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::binary::TypedBinOp;
use tract_nnef::tract_core::ops::cast::Cast;
use tract_nnef::tract_core::ops::nn::{Softmax as TractSoftmax, SoftmaxKind};

use super::softmax::Softmax;
use crate::int8_weight::Int8Dequantize;
use batched::batched_patch;
use convolutions::{dense_patch, depthwise_patch};
use products::product_patch;
use weights::Scratch;

/// Replace, in a typed (decluttered, not yet optimised) graph, every operator one of ours
/// does better. Returns how many were replaced. The graph's int8 weights may still be
/// `Int8Dequantize` nodes: ours read them as they pack them ([`weights`]), and leave the
/// nodes unread.
pub(crate) fn use_own_kernels(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    let mut scratch = Scratch::default();
    // Nodes added by the patches come after these and are ours.
    for id in 0..model.nodes().len() {
        let mut patch = None;
        let candidates = [
            depthwise_patch,
            dense_patch,
            product_patch,
            batched_patch,
            softmax_patch,
        ];
        for candidate in candidates {
            patch = candidate(model, id, &mut scratch)?;
            if patch.is_some() {
                break;
            }
        }
        if let Some(patch) = patch {
            patch.apply(model)?;
            replaced += 1;
        }
    }
    Ok(replaced)
}

/// The patch that puts our [`Softmax`] in the place of node `id`, if that node is
/// tract's float32 softmax over the last axis.
fn softmax_patch(
    model: &TypedModel,
    id: usize,
    _: &mut Scratch,
) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let Some(op) = node.op_as::<TractSoftmax>() else {
        return Ok(None);
    };
    let input = model.outlet_fact(node.inputs[0])?;
    if op.kind != SoftmaxKind::Softmax
        || op.quant_output_dt.is_some()
        || input.datum_type != f32::datum_type()
        || input.rank() == 0
        || *op.axes != [input.rank() - 1]
    {
        return Ok(None);
    }
    Ok(Some(TypedModelPatch::replace_single_op(
        model,
        node,
        &node.inputs,
        Softmax,
    )?))
}

/// The value of `outlet` if it is computed from constants alone (within `depth` nodes):
/// the pre-optimised form keeps small constant casts that optimising would fold, and int8
/// weights (which tract does not evaluate before the plan runs) until load.
pub(super) fn constant(
    model: &TypedModel,
    outlet: OutletId,
    depth: usize,
) -> TractResult<Option<Arc<Tensor>>> {
    if let Some(value) = &model.outlet_fact(outlet)?.konst {
        return Ok(Some(value.clone()));
    }
    let node = model.node(outlet.node);
    if depth == 0 || node.inputs.is_empty() {
        return Ok(None);
    }
    let mut inputs = tvec![];
    for &input in &node.inputs {
        match constant(model, input, depth - 1)? {
            Some(value) => inputs.push(value.into_tvalue()),
            None => return Ok(None),
        }
    }
    if let Some(op) = node.op_as::<Int8Dequantize>() {
        return Ok(Some(
            op.dequantize(&inputs[0], &inputs[1])?.into_arc_tensor(),
        ));
    }
    let outputs = node.op.eval_out_of_plan(inputs)?;
    Ok(outputs.map(|mut outputs| outputs.remove(outlet.slot).into_arc_tensor()))
}

/// `patch` with `op` wired on `inputs` under `name`, the axis changes `axis_ops` after it,
/// and the result in the place of node `last`'s output (the end of what `op` folds in).
pub(super) fn finish(
    mut patch: TypedModelPatch,
    model: &TypedModel,
    name: &str,
    op: impl Into<Box<dyn TypedOp>>,
    inputs: &[OutletId],
    axis_ops: Vec<(String, AxisOp)>,
    last: usize,
) -> TractResult<Option<TypedModelPatch>> {
    let mut wire = patch.wire_node(name, op, inputs)?[0];
    for (name, axis_op) in axis_ops {
        wire = patch.wire_node(name, axis_op, &[wire])?[0];
    }
    patch.shunt_outside(model, OutletId::new(last, 0), wire)?;
    Ok(Some(patch))
}

/// The bounds of a fused clamp as `f32` bits (how operators keep them: tract's operators
/// must be `Eq` and `Hash`).
pub(super) fn clamp_bits(clamp: Option<(f32, f32)>) -> Option<(u32, u32)> {
    clamp.map(|(low, high)| (low.to_bits(), high.to_bits()))
}

/// What follows a convolution that can be folded into it: the clamp made of `Max` and `Min`
/// by constants (ONNX's Clip, which is how ReLU6 is exported), seen through the casts to
/// the same type and the axis changes (such as dropping the batch axis) that the
/// pre-optimised form keeps between them.
pub(super) struct Epilogue {
    pub(super) clamp: Option<(f32, f32)>,
    /// The axis changes between the convolution and the clamp's end, to apply after it
    /// (a clamp, value by value, does not care where they come).
    pub(super) axis_ops: Vec<(String, AxisOp)>,
    /// The node whose output the epilogue ends in: the convolution itself if none.
    pub(super) last: usize,
}

pub(super) fn epilogue(model: &TypedModel, id: usize) -> TractResult<Epilogue> {
    let mut found = Epilogue {
        clamp: None,
        axis_ops: vec![],
        last: id,
    };
    let (mut low, mut high) = (f32::NEG_INFINITY, f32::INFINITY);
    let mut axis_ops = vec![];
    let mut at = id;
    loop {
        let successors = &model.node(at).outputs[0].successors;
        if successors.len() != 1 || model.output_outlets()?.contains(&OutletId::new(at, 0)) {
            break;
        }
        let next = model.node(successors[0].node);
        let input_type = model.outlet_fact(next.inputs[0])?.datum_type;
        if let Some(axis_op) = next.op_as::<AxisOp>() {
            axis_ops.push((next.name.clone(), axis_op.clone()));
        } else if next
            .op_as::<Cast>()
            .is_some_and(|cast| cast.to == input_type)
        {
            // Nothing to do.
        } else if let Some(bin) = next.op_as::<TypedBinOp>() {
            let other = next.inputs[1 - successors[0].slot];
            let Some(bound) = constant(model, other, 4)? else {
                break;
            };
            if bound.len() != 1
                || next.outputs[0].fact.shape != model.node(at).outputs[0].fact.shape
            {
                break;
            }
            let bound = bound.cast_to_scalar::<f32>()?;
            match bin.0.name() {
                "Max" if bound <= high => low = low.max(bound),
                "Min" if bound >= low => high = high.min(bound),
                _ => break,
            }
            found = Epilogue {
                clamp: Some((low, high)),
                axis_ops: axis_ops.clone(),
                last: next.id,
            };
        } else {
            break;
        }
        at = next.id;
    }
    Ok(found)
}
