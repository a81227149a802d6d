//! Convolutions ours runs: depthwise ones, and dense ones (every output channel over every
//! input channel) other than those tract's declutter already made matrix products.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_nnef::tract_core::ops::nn::DataFormat;

use super::products::packed_weights;
use super::weights::{Scratch, Weights};
use super::{clamp_bits, constant, epilogue, finish};
use crate::kernels::dense::DenseConv;
use crate::kernels::depthwise::{DepthwiseConv, Geometry};

/// The patch that puts a [`DepthwiseConv`] (and the clamp after it) in the place of node
/// `id`, if that node is a depthwise convolution ours runs.
pub(super) fn depthwise_patch(
    model: &TypedModel,
    id: usize,
    _: &mut Scratch,
) -> TractResult<Option<TypedModelPatch>> {
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
        Weights::at(model, node.inputs[1])?,
        constant(model, node.inputs[2], 4)?,
    ) else {
        return Ok(None);
    };
    let channels = conv.group;
    let taps = geometry.kernel[0] * geometry.kernel[1];
    // Float32, or float16 (a float16 graph's layers, which ours computes in FP16).
    let datum_type = model.outlet_fact(node.inputs[0])?.datum_type;
    if ![f32::datum_type(), f16::datum_type()].contains(&datum_type)
        || kernel.datum_type() != datum_type
        || kernel.len() != channels * taps
    {
        return Ok(None);
    }
    // OIHW with I = 1 is already one row of taps per channel.
    let kernel = kernel.into_tensor()?.into_shape(&[channels, taps])?;
    let Some(bias) = biases(&bias, datum_type, channels)? else {
        return Ok(None);
    };
    let epilogue = epilogue(model, id)?;
    let mut patch = TypedModelPatch::new(format!("lightcap depthwise {}", node.name));
    let image = patch.tap_model(model, node.inputs[0])?;
    let kernel = patch.add_const(format!("{}.kernels", node.name), kernel)?;
    let bias = patch.add_const(format!("{}.biases", node.name), bias)?;
    let op = DepthwiseConv {
        geometry,
        clamp: clamp_bits(epilogue.clamp),
    };
    let inputs = [image, kernel, bias];
    finish(
        patch,
        model,
        &node.name,
        op,
        &inputs,
        epilogue.axis_ops,
        epilogue.last,
    )
}

/// The patch that puts a [`DenseConv`] (and the clamp after it) in the place of node `id`,
/// if that node is a convolution of every output channel over every input channel that
/// ours runs.
pub(super) fn dense_patch(
    model: &TypedModel,
    id: usize,
    scratch: &mut Scratch,
) -> TractResult<Option<TypedModelPatch>> {
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
        Weights::at(model, node.inputs[1])?,
        constant(model, node.inputs[2], 4)?,
    ) else {
        return Ok(None);
    };
    let (input_channels, output_channels) = (
        conv.pool_spec.input_channels,
        conv.pool_spec.output_channels,
    );
    let taps = geometry.kernel[0] * geometry.kernel[1];
    // Float32, or float16 (a float16 graph's stem, which ours computes in FP16).
    let datum_type = model.outlet_fact(node.inputs[0])?.datum_type;
    if ![f32::datum_type(), f16::datum_type()].contains(&datum_type)
        || kernel.datum_type() != datum_type
        || kernel.len() != output_channels * input_channels * taps
    {
        return Ok(None);
    }
    let Some(bias) = biases(&bias, datum_type, output_channels)? else {
        return Ok(None);
    };
    let epilogue = epilogue(model, id)?;
    let mut patch = TypedModelPatch::new(format!("lightcap conv {}", node.name));
    let image = patch.tap_model(model, node.inputs[0])?;
    // OIHW is already one row of `C * kh * kw` values per output channel.
    let kernel = packed_weights(
        &mut patch,
        node,
        &kernel,
        (output_channels, taps * input_channels),
        datum_type,
        scratch,
    )?;
    let bias = patch.add_const(format!("{}.biases", node.name), bias)?;
    let op = DenseConv {
        geometry,
        input_channels,
        output_channels,
        clamp: clamp_bits(epilogue.clamp),
    };
    let inputs = [image, kernel, bias];
    finish(
        patch,
        model,
        &node.name,
        op,
        &inputs,
        epilogue.axis_ops,
        epilogue.last,
    )
}

/// The geometry of a convolution ours computes: channels before the two spatial axes,
/// kernels in OIHW order, no dilation, shapes known (the grouping and the float types are
/// checked by each operator's patch).
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
        && spec.dilations().iter().all(|&d| d == 1);
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

/// A convolution's bias as `channels` values of `dt`, one broadcast to all or one per
/// channel; none if it is neither.
fn biases(bias: &Tensor, dt: DatumType, channels: usize) -> TractResult<Option<Tensor>> {
    let bias = bias.cast_to_dt(dt)?.into_owned();
    Ok(match bias.len() {
        1 => Some(
            bias.into_shape(&[])?
                .broadcast_scalar_to_shape(&[channels])?,
        ),
        n if n == channels => Some(bias.into_shape(&[channels])?),
        _ => None,
    })
}
