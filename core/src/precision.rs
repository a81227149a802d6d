//! The float precision the graphs compute in.
//!
//! Packs hold float32 graphs (their big weights int8). Where the CPU computes in half
//! precision natively (ARMv8.2 FP16: phones since about 2018, Apple A11 and later), a
//! graph can run in float16: its weights, once packed for tract's kernels, take half the
//! memory, and tract's fp16 kernels do twice the lanes per instruction. Elsewhere float16
//! would be emulated, far slower, so [`Precision::Auto`] picks it only where it is native.
//!
//! What float16 changes: log-probs move by up to a few tenths for the tokens that can win a
//! step, and a token more than about 17 nats below the best gets -inf (float16's exp
//! underflows), which search treats as it treats any token that improbable: never chosen.
//!
//! The graphs' interface stays float32 either way: inputs are cast to float16 as they
//! enter and float outputs back to float32 as they leave, so the captioner, the caches it
//! carries between decoder steps and the pack contract do not depend on the choice.

use tract_nnef::internal::*;
use tract_nnef::tract_core::floats::FloatPrecisionTranslator;
use tract_nnef::tract_core::model::translator::Translate;
use tract_nnef::tract_core::ops::cast::cast;
use tract_nnef::tract_core::ops::konst::Const;
use tract_nnef::tract_core::ops::source::TypedSource;

use crate::int8_weight::Int8Dequantize;

/// The precision a pack's graphs compute in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Precision {
    /// Float16 where the CPU computes in it natively, float32 elsewhere.
    #[default]
    Auto,
    /// Float32 everywhere: the precision the pack was exported and checked in.
    Float32,
    /// Float16 everywhere, native or not (emulated, it is slow: for tests and comparisons).
    Float16,
}

impl Precision {
    /// Whether the graphs run in float16 on this CPU.
    pub fn uses_float16(self) -> bool {
        match self {
            Precision::Auto => cpu_has_native_float16(),
            Precision::Float32 => false,
            Precision::Float16 => true,
        }
    }
}

/// True on a CPU with FEAT_FP16 (tract then has fp16 matrix kernels for it).
pub fn cpu_has_native_float16() -> bool {
    tract_nnef::tract_core::tract_linalg::has_fp16()
}

/// Turns a float32 graph into one that computes in float16 behind a float32 interface.
/// Constants become float16 here rather than through cast nodes, and int8 weights
/// (`Int8Dequantize` of constants) straight from int8, so the graph's float32 weights
/// never all exist at once.
pub(crate) fn to_float16(model: &TypedModel) -> TractResult<TypedModel> {
    let translator = FloatPrecisionTranslator::new(f32::datum_type(), f16::datum_type());
    let mut half = HalfPrecision(translator).translate_model(model)?;
    // The translator maps each input to what `HalfPrecision` returned for it, the cast
    // after it: the inputs are the sources before those casts.
    let inputs = half.input_outlets()?.to_vec();
    let mut float32_inputs = tvec![];
    for outlet in inputs {
        let node = half.node(outlet.node);
        float32_inputs.push(match node.op_as::<TypedSource>() {
            Some(_) => outlet,
            None => node.inputs[0],
        });
    }
    half.set_input_outlets(&float32_inputs)?;
    let outputs = half.output_outlets()?.to_vec();
    let mut float32_outputs = tvec![];
    for (ix, outlet) in outputs.into_iter().enumerate() {
        if half.outlet_fact(outlet)?.datum_type == f16::datum_type() {
            let name = format!("{}.float32", half.node(outlet.node).name);
            let cast_back = half.wire_node(name, cast(f32::datum_type()), &[outlet])?[0];
            if let Some(label) = model.outlet_label(model.output_outlets()?[ix]) {
                half.set_outlet_label(cast_back, label.to_string())?;
            }
            float32_outputs.push(cast_back);
        } else {
            float32_outputs.push(outlet);
        }
    }
    half.select_output_outlets(&float32_outputs)?;
    Ok(half)
}

/// tract's float translator, except at the graph's inputs (kept float32, cast on entry)
/// and its plain float32 constants (converted outright).
#[derive(Debug)]
struct HalfPrecision(FloatPrecisionTranslator);

impl Translate<TypedFact, Box<dyn TypedOp>, TypedFact, Box<dyn TypedOp>> for HalfPrecision {
    fn translate_node(
        &self,
        source: &TypedModel,
        node: &TypedNode,
        target: &mut TypedModel,
        mapping: &HashMap<OutletId, OutletId>,
    ) -> TractResult<TVec<OutletId>> {
        if let Some(input) = node.op_as::<TypedSource>()
            && input.fact.datum_type == f32::datum_type()
        {
            let wire = target.add_source(&node.name, input.fact.clone())?;
            let name = format!("{}.float16", node.name);
            return target.wire_node(name, cast(f16::datum_type()), &[wire]);
        }
        // An int8 weight of the pre-optimised form: float32 only one tensor at a time.
        if let Some(op) = node.op_as::<Int8Dequantize>() {
            let inputs = source.node_input_facts(node.id)?;
            if let (Some(values), Some(scales)) = (&inputs[0].konst, &inputs[1].konst) {
                let weight = op.dequantize(values, scales)?;
                let half = weight.cast_to::<f16>()?.into_owned().into_arc_tensor();
                return Ok(tvec![target.add_const(&node.name, half)?]);
            }
        }
        if let Some(konst) = node.op_as::<Const>() {
            let value = konst.val();
            if value.datum_type() == f32::datum_type()
                && value.is_plain_ram()
                && konst.exotic_fact().is_none()
            {
                let half = value.cast_to::<f16>()?.into_owned().into_arc_tensor();
                return Ok(tvec![target.add_const(&node.name, half)?]);
            }
        }
        self.0.translate_node(source, node, target, mapping)
    }
}
