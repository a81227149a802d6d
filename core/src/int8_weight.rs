//! Int8 weights kept int8 inside a tract graph, for the pre-optimised pack form (`nnef`).
//!
//! Loading an ONNX pack folds every `DequantizeLinear` of constant inputs into a float32
//! initializer before tract sees the graph (`dequantize`). Writing the pre-optimised form
//! must not: tract would store those float32 values (four times the bytes), and would fold
//! the transposes export puts on some weights into yet more float32 constants. So the
//! exporter reads each `DequantizeLinear` as an [`Int8Dequantize`] node, which tract
//! cannot fold (it has no out-of-plan evaluation), and loading folds those nodes into
//! float32 constants ([`crate::nnef::fold_int8_weights`]) before tract optimises. The values
//! are computed by the same function as on the ONNX path, so both forms give the same outputs.

use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use crate::dequantize::{for_each_dequantized, run_length};

/// An int8 weight made float32: `q * scales[channel]`, channels along `axis` (one scale for
/// the whole tensor when `axis` is `None`). Inputs: the int8 values, the scales (1-D).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Int8Dequantize {
    pub axis: Option<usize>,
}

impl Int8Dequantize {
    pub fn dequantize(&self, values: &Tensor, scales: &Tensor) -> TractResult<Tensor> {
        ensure!(
            values.datum_type() == i8::datum_type(),
            "the weight is not int8"
        );
        let scales = scales.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
        let channels = match self.axis {
            None => 1,
            Some(axis) => *values.shape().get(axis).context("axis out of range")?,
        };
        ensure!(
            scales.len() == channels,
            "{} scales for {channels} channels",
            scales.len()
        );
        let bytes = values.try_as_plain_ram()?.as_bytes();
        let run = run_length(values.shape(), self.axis, bytes.len());
        let mut out = Vec::with_capacity(bytes.len());
        for_each_dequantized(bytes, run, &scales, &vec![0; channels], |v| out.push(v));
        Ok(tract_ndarray::ArrayD::from_shape_vec(values.shape(), out)?.into())
    }
}

impl Op for Int8Dequantize {
    fn name(&self) -> StaticName {
        "Int8Dequantize".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Int8Dequantize {
    // Deliberately none: decluttering would fold the weight into float32 before it is written.
    not_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (values, scales) = args_2!(inputs);
        Ok(tvec!(self.dequantize(&values, &scales)?.into_tvalue()))
    }
}

impl TypedOp for Int8Dequantize {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }

    as_op!();
}

/// ONNX's `DequantizeLinear` of a symmetric int8 weight, read as an [`Int8Dequantize`].
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct DequantizeLinearToInt8 {
    has_zero_point: bool,
    axis: i64,
}

/// The ONNX op builder for `DequantizeLinear` that the exporter of the pre-optimised form uses.
pub(crate) fn dequantize_linear_builder(
    _ctx: &tract_onnx::model::ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let axis = node
        .attribute
        .iter()
        .find(|a| a.name == "axis")
        .map_or(1, |a| a.i);
    let op = DequantizeLinearToInt8 {
        has_zero_point: node.input.len() == 3,
        axis,
    };
    Ok((expand(op), vec![]))
}

impl Expansion for DequantizeLinearToInt8 {
    fn name(&self) -> StaticName {
        "DequantizeLinearToInt8".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> TractResult<()> {
        check_input_arity(inputs, 2 + self.has_zero_point as usize)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, i8::datum_type())?;
        s.equals(&inputs[1].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    // Typing must not evaluate it either.
    fn runs_out_of_plan(&self) -> bool {
        false
    }

    fn wire(
        &self,
        prefix: &str,
        target: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let constant = |i: usize, what: &str| {
            target
                .outlet_fact(inputs[i])?
                .konst
                .clone()
                .with_context(|| {
                    format!("{prefix}: the {what} of an int8 weight must be a constant")
                })
        };
        let scales = constant(1, "scales")?;
        if self.has_zero_point {
            let zero_points = constant(2, "zero points")?;
            let zero_points = zero_points.cast_to::<i32>()?;
            ensure!(
                zero_points
                    .try_as_plain_ram()?
                    .as_slice::<i32>()?
                    .iter()
                    .all(|&z| z == 0),
                "{prefix}: only symmetric int8 weights (zero points 0) are supported"
            );
        }
        let rank = target.outlet_fact(inputs[0])?.rank() as i64;
        let axis = if scales.len() == 1 {
            None
        } else {
            let axis = if self.axis < 0 {
                self.axis + rank
            } else {
                self.axis
            };
            ensure!(
                (0..rank).contains(&axis),
                "{prefix}: axis {axis} for rank {rank}"
            );
            Some(axis as usize)
        };
        let scales = scales.clone().into_tensor().into_shape(&[scales.len()])?;
        let scales = target.add_const(format!("{prefix}.scales"), scales)?;
        target.wire_node(prefix, Int8Dequantize { axis }, &[inputs[0], scales])
    }
}
