//! Operators of our own, where tract's kernels are slow for the graphs packs hold, and the
//! pass that puts them in a graph before tract optimises it.
//!
//! - [`depthwise::DepthwiseConv`]: depthwise convolutions (EfficientNet-Lite0's 3x3 and 5x5,
//!   stride 1 and 2, padded), with the ReLU6 after them fused.
//!
//! Each is float32 and picks its instruction set at run time ([`lanes::Isa`]): AVX2 + FMA
//! or AVX-512 on x86-64, NEON on aarch64, plain Rust elsewhere. Float16 graphs keep tract's
//! operators (tract has float16 kernels for ARMv8.2, which phones run).

pub(crate) mod depthwise;
pub(crate) mod lanes;

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::binary::TypedBinOp;
use tract_nnef::tract_core::ops::cast::Cast;
use tract_nnef::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_nnef::tract_core::ops::nn::DataFormat;

use depthwise::{DepthwiseConv, Geometry};

/// Replace, in a typed (decluttered, not yet optimised) graph, every operator one of ours
/// does better. Returns how many were replaced.
pub(crate) fn use_own_kernels(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    // Nodes added by the patches come after these and are ours.
    for id in 0..model.nodes().len() {
        if let Some(patch) = depthwise_patch(model, id)? {
            patch.apply(model)?;
            replaced += 1;
        }
    }
    Ok(replaced)
}

/// The patch that puts a [`DepthwiseConv`] (and the clamp after it) in the place of node
/// `id`, if that node is a depthwise convolution ours runs.
fn depthwise_patch(model: &TypedModel, id: usize) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let Some(conv) = node.op_as::<Conv>() else {
        return Ok(None);
    };
    let Some(geometry) = depthwise_geometry(model, node, conv)? else {
        return Ok(None);
    };
    let (Some(kernel), Some(bias)) = (
        constant(model, node.inputs[1], 4)?,
        constant(model, node.inputs[2], 4)?,
    ) else {
        return Ok(None);
    };
    let channels = conv.group;
    let taps = geometry.kernel[0] * geometry.kernel[1];
    if kernel.datum_type() != f32::datum_type() || kernel.len() != channels * taps {
        return Ok(None);
    }
    // OIHW with I = 1 is already one row of taps per channel.
    let kernel = kernel.into_tensor().into_shape(&[channels, taps])?;
    let bias = match bias.len() {
        1 => Tensor::from(bias.cast_to_scalar::<f32>()?).broadcast_scalar_to_shape(&[channels])?,
        n if n == channels => bias
            .cast_to::<f32>()?
            .into_owned()
            .into_shape(&[channels])?,
        _ => return Ok(None),
    };
    let epilogue = epilogue(model, id)?;
    let mut patch = TypedModelPatch::new(format!("lightcap depthwise {}", node.name));
    let image = patch.tap_model(model, node.inputs[0])?;
    let kernel = patch.add_const(format!("{}.kernels", node.name), kernel)?;
    let bias = patch.add_const(format!("{}.biases", node.name), bias)?;
    let op = DepthwiseConv {
        geometry,
        clamp: epilogue
            .clamp
            .map(|(low, high)| (low.to_bits(), high.to_bits())),
    };
    let mut wire = patch.wire_node(&node.name, op, &[image, kernel, bias])?[0];
    for (name, axis_op) in epilogue.axis_ops {
        wire = patch.wire_node(name, axis_op, &[wire])?[0];
    }
    patch.shunt_outside(model, OutletId::new(epilogue.last, 0), wire)?;
    Ok(Some(patch))
}

/// The value of `outlet` if it is computed from constants alone (within `depth` nodes):
/// the pre-optimised form keeps small constant casts that optimising would fold.
fn constant(
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
    let outputs = node.op.eval_out_of_plan(inputs)?;
    Ok(outputs.map(|mut outputs| outputs.remove(outlet.slot).into_arc_tensor()))
}

/// The geometry of a convolution ours computes: float32, each channel its own kernel,
/// channels before the two spatial axes, no dilation, shapes known.
fn depthwise_geometry(
    model: &TypedModel,
    node: &TypedNode,
    conv: &Conv,
) -> TractResult<Option<Geometry>> {
    let spec = &conv.pool_spec;
    let input = model.outlet_fact(node.inputs[0])?;
    let depthwise = conv.q_params.is_none()
        && conv.group > 1
        && conv.group == spec.input_channels
        && conv.group == spec.output_channels
        && conv.kernel_fmt == KernelFormat::OIHW
        && matches!(spec.data_format, DataFormat::NCHW | DataFormat::CHW)
        && spec.rank() == 2
        && spec.dilations().iter().all(|&d| d == 1)
        && input.datum_type == f32::datum_type();
    let Some(shape) = input.shape.as_concrete() else {
        return Ok(None);
    };
    if !depthwise || shape.len() < 3 {
        return Ok(None);
    }
    let hw = [shape[shape.len() - 2], shape[shape.len() - 1]];
    if shape[shape.len() - 3] != conv.group || hw.contains(&0) {
        return Ok(None);
    }
    let kernel = [spec.kernel_shape[0], spec.kernel_shape[1]];
    let stride = [spec.strides()[0], spec.strides()[1]];
    let padded = spec.computed_padding(&hw);
    let output = [padded[0].convoluted, padded[1].convoluted];
    if output.contains(&0) {
        return Ok(None);
    }
    Ok(Some(Geometry {
        input: hw,
        kernel,
        stride,
        pad_before: [padded[0].pad_before, padded[1].pad_before],
        output,
    }))
}

/// What follows a convolution that can be folded into it: the clamp made of `Max` and `Min`
/// by constants (ONNX's Clip, which is how ReLU6 is exported), seen through the casts to
/// the same type and the axis changes (such as dropping the batch axis) that the
/// pre-optimised form keeps between them.
struct Epilogue {
    clamp: Option<(f32, f32)>,
    /// The axis changes between the convolution and the clamp's end, to apply after it
    /// (a clamp, value by value, does not care where they come).
    axis_ops: Vec<(String, AxisOp)>,
    /// The node whose output the epilogue ends in: the convolution itself if none.
    last: usize,
}

fn epilogue(model: &TypedModel, id: usize) -> TractResult<Epilogue> {
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

#[cfg(test)]
mod tests;
