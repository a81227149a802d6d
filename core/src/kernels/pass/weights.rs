//! Constant weights as the pass reads them.
//!
//! The pre-optimised form keeps a pack's int8 weights int8, behind `Int8Dequantize`, until
//! load. Those our operators pack are made float32 here, one weight at a time into a buffer
//! the pass reuses, and packed from there: their float32 values never become a tensor of
//! their own. (Folding every weight into a float32 tensor first and packing that into
//! another wrote each weight twice, both times into memory fresh from the system.)

use std::any::Any;

use tract_nnef::internal::*;

use super::constant;
use crate::int8_weight::Int8Dequantize;

/// The float32 buffer int8 weights are made float32 in for packing, reused from one weight
/// to the next through a pass.
#[derive(Default)]
pub(crate) struct Scratch(Vec<f32>);

/// A constant weight an operator of ours reads.
pub(super) enum Weights {
    /// Values as tract holds them.
    Values(Arc<Tensor>),
    /// An int8 weight and its scales, made float32 when read.
    Int8 {
        dequantize: Int8Dequantize,
        values: Arc<Tensor>,
        scales: Arc<Tensor>,
    },
}

impl Weights {
    /// The weights at `outlet`, if they are constant: an int8 weight of constant inputs, or
    /// values computed from constants alone ([`constant`]), seen through the changes of unit
    /// axes the pre-optimised form keeps before a layer's weights (evaluating those would
    /// copy the weights at every load for nothing). Operators of ours read the values in
    /// order and take their shape from the graph's facts.
    pub(super) fn at(model: &TypedModel, mut outlet: OutletId) -> TractResult<Option<Weights>> {
        while let Some(AxisOp::Add(_) | AxisOp::Rm(_)) = model.node(outlet.node).op_as::<AxisOp>() {
            outlet = model.node(outlet.node).inputs[0];
        }
        let node = model.node(outlet.node);
        if let Some(op) = node.op_as::<Int8Dequantize>() {
            let inputs = (
                constant(model, node.inputs[0], 4)?,
                constant(model, node.inputs[1], 4)?,
            );
            if let (Some(values), Some(scales)) = inputs {
                return Ok(Some(Weights::Int8 {
                    dequantize: op.clone(),
                    values,
                    scales,
                }));
            }
        }
        Ok(constant(model, outlet, 4)?.map(Weights::Values))
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Weights::Values(values) | Weights::Int8 { values, .. } => values.len(),
        }
    }

    /// The type the values are read in (float32 for int8 weights).
    pub(super) fn datum_type(&self) -> DatumType {
        match self {
            Weights::Values(values) => values.datum_type(),
            Weights::Int8 { .. } => f32::datum_type(),
        }
    }

    /// `read` given the values as `T` (for values tract holds, cast to `T` if they are of
    /// another type; int8 weights are read as float32 only, made so in `scratch`).
    pub(super) fn read<T: Datum, R>(
        &self,
        scratch: &mut Scratch,
        read: impl FnOnce(&[T]) -> TractResult<R>,
    ) -> TractResult<R> {
        match self {
            Weights::Values(values) => {
                let values = values.cast_to::<T>()?;
                let view = values.try_as_plain_ram()?;
                read(view.as_slice::<T>()?)
            }
            Weights::Int8 {
                dequantize,
                values,
                scales,
            } => {
                let buffer = &mut scratch.0;
                if buffer.len() < values.len() {
                    buffer.resize(values.len(), 0.0);
                }
                let floats = &mut buffer[..values.len()];
                dequantize.dequantize_into(values, scales, floats)?;
                let floats: &Vec<f32> = buffer;
                let floats = (floats as &dyn Any)
                    .downcast_ref::<Vec<T>>()
                    .with_context(|| format!("an int8 weight read as {:?}", T::datum_type()))?;
                read(&floats[..values.len()])
            }
        }
    }

    /// The values as a tensor of their own (the shape tract gives them), for an operator that
    /// keeps them as they are.
    pub(super) fn into_tensor(self) -> TractResult<Tensor> {
        match self {
            Weights::Values(values) => Ok(values.into_tensor()),
            Weights::Int8 {
                dequantize,
                values,
                scales,
            } => dequantize.dequantize(&values, &scales),
        }
    }
}
