//! Operators of our own, where tract's kernels are slow for the graphs packs hold, and the
//! pass that puts them in a graph before tract optimises it.
//!
//! - [`depthwise::DepthwiseConv`]: depthwise convolutions (EfficientNet-Lite0's 3x3 and 5x5,
//!   stride 1 and 2, padded), with the ReLU6 after them fused.
//! - [`dense::DenseConv`]: other convolutions (the stem, ResNet-50's 3x3 and 7x7), as
//!   patches and the product kernel below, with their ReLU or ReLU6 fused.
//! - [`softmax::Softmax`]: softmax over the last axis (attention's rows of 69 scores and
//!   more), with an exponential of ours.
//! - [`product::Product`]: the matrix products 1x1 convolutions become (`C, H*W` planes
//!   times a constant `C_out x C` matrix), with their bias and ReLU6 fused.
//!
//! Each is float32 and picks its instruction set at run time ([`lanes::Isa`]): AVX2 + FMA
//! or AVX-512 on x86-64, NEON on aarch64, plain Rust elsewhere. Float16 graphs keep tract's
//! operators (tract has float16 kernels for ARMv8.2, which phones run).

pub(crate) mod dense;
pub(crate) mod depthwise;
pub(crate) mod lanes;
pub(crate) mod product;
pub(crate) mod softmax;

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::binary::TypedBinOp;
use tract_nnef::tract_core::ops::cast::Cast;
use tract_nnef::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_nnef::tract_core::ops::einsum::EinSum;
use tract_nnef::tract_core::ops::nn::DataFormat;

use dense::DenseConv;
use depthwise::{DepthwiseConv, Geometry};
use product::Product;

/// Replace, in a typed (decluttered, not yet optimised) graph, every operator one of ours
/// does better. Returns how many were replaced.
pub(crate) fn use_own_kernels(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    // Nodes added by the patches come after these and are ours.
    for id in 0..model.nodes().len() {
        let mut patch = None;
        for candidate in [depthwise_patch, dense_patch, product_patch, softmax_patch] {
            patch = candidate(model, id)?;
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

/// The patch that puts a [`DepthwiseConv`] (and the clamp after it) in the place of node
/// `id`, if that node is a depthwise convolution ours runs.
fn depthwise_patch(model: &TypedModel, id: usize) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let Some(conv) = node.op_as::<Conv>() else {
        return Ok(None);
    };
    let spec = &conv.pool_spec;
    let depthwise =
        conv.group > 1 && conv.group == spec.input_channels && conv.group == spec.output_channels;
    if !depthwise {
        return Ok(None);
    }
    let Some(geometry) = plane_geometry(model, node, conv)? else {
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

/// The patch that puts a [`DenseConv`] (and the clamp after it) in the place of node `id`,
/// if that node is a convolution of every output channel over every input channel that
/// ours runs.
fn dense_patch(model: &TypedModel, id: usize) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let Some(conv) = node.op_as::<Conv>() else {
        return Ok(None);
    };
    if conv.group != 1 {
        return Ok(None);
    }
    let Some(geometry) = plane_geometry(model, node, conv)? else {
        return Ok(None);
    };
    let (Some(kernel), Some(bias)) = (
        constant(model, node.inputs[1], 4)?,
        constant(model, node.inputs[2], 4)?,
    ) else {
        return Ok(None);
    };
    let (input_channels, output_channels) = (
        conv.pool_spec.input_channels,
        conv.pool_spec.output_channels,
    );
    let taps = geometry.kernel[0] * geometry.kernel[1];
    if kernel.datum_type() != f32::datum_type()
        || kernel.len() != output_channels * input_channels * taps
    {
        return Ok(None);
    }
    let bias = match bias.len() {
        1 => Tensor::from(bias.cast_to_scalar::<f32>()?)
            .broadcast_scalar_to_shape(&[output_channels])?,
        n if n == output_channels => bias
            .cast_to::<f32>()?
            .into_owned()
            .into_shape(&[output_channels])?,
        _ => return Ok(None),
    };
    let epilogue = epilogue(model, id)?;
    let mut patch = TypedModelPatch::new(format!("lightcap conv {}", node.name));
    let image = patch.tap_model(model, node.inputs[0])?;
    // OIHW is already one row of `C * kh * kw` values per output channel.
    let kernel = weights_wire(&mut patch, model, node, 1, kernel)?;
    let bias = patch.add_const(format!("{}.biases", node.name), bias)?;
    let op = DenseConv {
        geometry,
        input_channels,
        output_channels,
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

/// The patch that puts a [`Product`] in the place of node `id`, if that node is a float32
/// matrix product of known shapes with constant weights on one side. Axes of size 1 do not
/// matter (the two graph forms place them differently; [`Product`] reads flat row-major
/// values); of the others, it is either
/// - a 1x1 convolution as tract's declutter leaves it: a constant `M x K` matrix times an
///   image `K x ...`, the axes after `K` (`H, W` or `H*W`) kept in the output after `M`;
///   the bias added and the clamp after it fused;
/// - a layer's `M x K` activations times constant `K x N` weights, `K` one axis or
///   several (what follows, a bias per column, stays tract's).
fn product_patch(model: &TypedModel, id: usize) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let Some(einsum) = node.op_as::<EinSum>() else {
        return Ok(None);
    };
    if einsum.q_params.is_some() || einsum.operating_dt != f32::datum_type() {
        return Ok(None);
    }
    let facts = [
        model.outlet_fact(node.inputs[0])?,
        model.outlet_fact(node.inputs[1])?,
        &node.outputs[0].fact,
    ];
    if facts.iter().any(|f| f.datum_type != f32::datum_type()) {
        return Ok(None);
    }
    let (Some(first), Some(second), Some(output)) = (
        facts[0].shape.as_concrete(),
        facts[1].shape.as_concrete(),
        facts[2].shape.as_concrete(),
    ) else {
        return Ok(None);
    };
    let axes = einsum.axes.to_string();
    let Some([x, y, z]) = significant_axes(&axes, [first, second, output]) else {
        return Ok(None);
    };
    let size = |letter: char| -> usize {
        let (inputs, _) = axes.split_once("->").unwrap_or_default();
        let (a, b) = inputs.split_once(',').unwrap_or_default();
        a.chars()
            .zip(first)
            .chain(b.chars().zip(second))
            .find(|&(l, _)| l == letter)
            .map_or(1, |(_, &d)| d)
    };
    // A 1x1 convolution: the constant matrix comes first or second (ONNX exports write
    // either).
    for weights_slot in [0, 1] {
        let (a, b) = if weights_slot == 0 {
            (&x, &y)
        } else {
            (&y, &x)
        };
        let is_pointwise = a.len() == 2
            && b.len() >= 2
            && b[0] == a[1]
            && z.len() == b.len()
            && z[0] == a[0]
            && z[1..] == b[1..]
            && !b.contains(&a[0]);
        if !is_pointwise {
            continue;
        }
        let Some(weights) = constant(model, node.inputs[weights_slot], 4)? else {
            continue;
        };
        let (m, k) = (size(a[0]), size(a[1]));
        let op = Product {
            m,
            k,
            n: b[1..].iter().map(|&l| size(l)).product(),
            output: output.into(),
            clamp: None,
        };
        let bias = row_bias(model, id, m)?;
        let epilogue = epilogue(model, bias.last)?;
        let mut patch = TypedModelPatch::new(format!("lightcap product {}", node.name));
        let a = weights_wire(&mut patch, model, node, weights_slot, weights)?;
        let b = patch.tap_model(model, node.inputs[1 - weights_slot])?;
        let biases = patch.add_const(format!("{}.biases", node.name), bias.biases)?;
        let op = Product {
            clamp: epilogue
                .clamp
                .map(|(low, high)| (low.to_bits(), high.to_bits())),
            ..op
        };
        let mut wire = patch.wire_node(&node.name, op, &[a, b, biases])?[0];
        for (name, axis_op) in bias.axis_ops.into_iter().chain(epilogue.axis_ops) {
            wire = patch.wire_node(name, axis_op, &[wire])?[0];
        }
        patch.shunt_outside(model, OutletId::new(epilogue.last, 0), wire)?;
        return Ok(Some(patch));
    }
    // A layer: activations times constant weights, the sum over one axis or several
    // consecutive ones (attention heads' outputs times the output projection).
    let is_layer = x.len() >= 2
        && y.len() == x.len()
        && z.len() == 2
        && y[..y.len() - 1] == x[1..]
        && z[0] == x[0]
        && z[1] == y[y.len() - 1]
        && !x.contains(&z[1]);
    if !is_layer {
        return Ok(None);
    }
    let Some(weights) = constant(model, node.inputs[1], 4)? else {
        return Ok(None);
    };
    let k = x[1..].iter().map(|&l| size(l)).product();
    let (m, n) = (size(x[0]), size(z[1]));
    let op = Product {
        m,
        k,
        n,
        output: output.into(),
        clamp: None,
    };
    let mut patch = TypedModelPatch::new(format!("lightcap product {}", node.name));
    let a = patch.tap_model(model, node.inputs[0])?;
    let b = weights_wire(&mut patch, model, node, 1, weights)?;
    let biases = patch.add_const(format!("{}.biases", node.name), Tensor::zero::<f32>(&[m])?)?;
    let wire = patch.wire_node(&node.name, op, &[a, b, biases])?[0];
    patch.shunt_outside(model, OutletId::new(id, 0), wire)?;
    Ok(Some(patch))
}

/// The patch that puts our [`softmax::Softmax`] in the place of node `id`, if that node is
/// tract's float32 softmax over the last axis.
fn softmax_patch(model: &TypedModel, id: usize) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let Some(op) = node.op_as::<tract_nnef::tract_core::ops::nn::Softmax>() else {
        return Ok(None);
    };
    let input = model.outlet_fact(node.inputs[0])?;
    if op.kind != tract_nnef::tract_core::ops::nn::SoftmaxKind::Softmax
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
        softmax::Softmax,
    )?))
}

/// The weights of a product in `patch`: the graph's own constant where it is one (no copy:
/// [`Product`] reads its operands as flat row-major values, whatever their unit axes),
/// else the value `constant` computed for them.
fn weights_wire(
    patch: &mut TypedModelPatch,
    model: &TypedModel,
    node: &TypedNode,
    slot: usize,
    weights: Arc<Tensor>,
) -> TractResult<OutletId> {
    let outlet = node.inputs[slot];
    if model.outlet_fact(outlet)?.konst.is_some() {
        patch.tap_model(model, outlet)
    } else {
        patch.add_const(format!("{}.weights", node.name), weights)
    }
}

/// An einsum's axes (`"amk,akn->amn"`) for its two inputs and its output, without those of
/// size 1 in `shapes`, in order.
fn significant_axes(axes: &str, shapes: [&[usize]; 3]) -> Option<[Vec<char>; 3]> {
    let (inputs, output) = axes.split_once("->")?;
    let (a, b) = inputs.split_once(',')?;
    let mut significant = [vec![], vec![], vec![]];
    for ((letters, shape), kept) in [a, b, output].into_iter().zip(shapes).zip(&mut significant) {
        if letters.chars().count() != shape.len() {
            return None;
        }
        *kept = letters
            .chars()
            .zip(shape)
            .filter(|&(_, &d)| d != 1)
            .map(|(l, _)| l)
            .collect();
    }
    Some(significant)
}

/// The bias added to each row of the product `id` computes (`M` rows), if an addition of
/// a constant of `M` values, one per row, (or a scalar) follows it, through same-type casts
/// and changes of unit axes: the biases, the node they end at and the axis changes to
/// apply after the product; zeros, `id` itself and none if there is no such addition.
fn row_bias(model: &TypedModel, id: usize, m: usize) -> TractResult<RowBias> {
    let none = Ok(RowBias {
        biases: Tensor::zero::<f32>(&[m])?,
        last: id,
        axis_ops: vec![],
    });
    let mut axis_ops = vec![];
    let mut at = id;
    loop {
        let successors = &model.node(at).outputs[0].successors;
        if successors.len() != 1 || model.output_outlets()?.contains(&OutletId::new(at, 0)) {
            return none;
        }
        let next = model.node(successors[0].node);
        let input_type = model.outlet_fact(next.inputs[0])?.datum_type;
        if next
            .op_as::<Cast>()
            .is_some_and(|cast| cast.to == input_type)
        {
            at = next.id;
            continue;
        }
        if let Some(axis_op @ (AxisOp::Add(_) | AxisOp::Rm(_))) = next.op_as::<AxisOp>() {
            axis_ops.push((next.name.clone(), axis_op.clone()));
            at = next.id;
            continue;
        }
        let is_add = next
            .op_as::<TypedBinOp>()
            .is_some_and(|bin| bin.0.name() == "Add");
        let output = &next.outputs[0].fact.shape;
        if !is_add || *output != model.outlet_fact(next.inputs[successors[0].slot])?.shape {
            return none;
        }
        let other = next.inputs[1 - successors[0].slot];
        let Some(bias) = constant(model, other, 4)? else {
            return none;
        };
        let Some(output) = output.as_concrete() else {
            return none;
        };
        // Broadcast against the output, the bias's axes align to its last ones: one per row
        // if its one axis of `M` values is the output's first axis of more than one value.
        let offset = output.len().saturating_sub(bias.rank());
        let per_row = bias.len() == m
            && bias.rank() <= output.len()
            && bias
                .shape()
                .iter()
                .enumerate()
                .any(|(axis, &d)| d == m && output[..offset + axis].iter().all(|&o| o == 1));
        let biases = match bias.len() {
            1 => Tensor::from(bias.cast_to_scalar::<f32>()?).broadcast_scalar_to_shape(&[m])?,
            _ if per_row => bias.cast_to::<f32>()?.into_owned().into_shape(&[m])?,
            _ => return none,
        };
        return Ok(RowBias {
            biases,
            last: next.id,
            axis_ops,
        });
    }
}

/// What [`row_bias`] found.
struct RowBias {
    biases: Tensor,
    last: usize,
    axis_ops: Vec<(String, AxisOp)>,
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

/// The geometry of a convolution ours computes: float32, channels before the two spatial
/// axes, kernels in OIHW order, no dilation, shapes known (the grouping is checked by each
/// operator's patch).
fn plane_geometry(
    model: &TypedModel,
    node: &TypedNode,
    conv: &Conv,
) -> TractResult<Option<Geometry>> {
    let spec = &conv.pool_spec;
    let input = model.outlet_fact(node.inputs[0])?;
    let covered = conv.q_params.is_none()
        && conv.kernel_fmt == KernelFormat::OIHW
        && matches!(spec.data_format, DataFormat::NCHW | DataFormat::CHW)
        && spec.rank() == 2
        && spec.dilations().iter().all(|&d| d == 1)
        && input.datum_type == f32::datum_type();
    let Some(shape) = input.shape.as_concrete() else {
        return Ok(None);
    };
    if !covered || shape.len() < 3 {
        return Ok(None);
    }
    let hw = [shape[shape.len() - 2], shape[shape.len() - 1]];
    if shape[shape.len() - 3] != spec.input_channels || hw.contains(&0) {
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
