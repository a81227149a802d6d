//! The pre-optimised graph form: each graph as tract's NNEF (with tract's extensions),
//! written at export time from the typed and decluttered model, so that loading skips
//! protobuf parsing, ONNX translation, typing and most of decluttering.
//!
//! Two things tract's NNEF writer cannot do alone, which the `lightcap` registry here adds:
//! - the exact GELU that every fusion layer declutters into (`GeluExact`) has no NNEF
//!   name in tract 0.23; it is written as `lightcap_gelu_exact`;
//! - NNEF stores each constant as the model holds it, so the int8 weights of a pack,
//!   float32 once dequantized, would be stored at four times their size. Each one stays
//!   int8 behind an `Int8Dequantize` node (`int8_weight`), written as
//!   `lightcap_int8_dequantize`, which [`fold_int8_weights`] turns into a float32
//!   constant when the pack is loaded, before tract optimises the graph.

use prost::Message;
use tract_nnef::internal::*;
use tract_nnef::ser::{invocation, numeric};
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::InferenceModelExt;
use tract_onnx::tract_core::ops::nn::GeluExact;

use crate::int8_weight::Int8Dequantize;

/// The name packs give the registry of LightCap's own NNEF operators.
const REGISTRY: &str = "lightcap";

fn dump_int8_dequantize(
    ast: &mut IntoAst,
    node: &TypedNode,
    op: &Int8Dequantize,
) -> TractResult<Option<Arc<RValue>>> {
    let values = ast.mapping[&node.inputs[0]].clone();
    let scales = ast.mapping[&node.inputs[1]].clone();
    let axis = op.axis.map_or(-1, |a| a as i64);
    Ok(Some(invocation(
        "lightcap_int8_dequantize",
        &[values, scales],
        &[("axis", numeric(axis))],
    )))
}

fn load_int8_dequantize(
    builder: &mut ModelBuilder,
    invocation: &ResolvedInvocation,
) -> TractResult<Value> {
    let values = invocation.named_arg_as(builder, "values")?;
    let scales = invocation.named_arg_as(builder, "scales")?;
    let axis: i64 = invocation.named_arg_as(builder, "axis")?;
    let axis = usize::try_from(axis).ok();
    builder.wire(Int8Dequantize { axis }, &[values, scales])
}

fn registry() -> Registry {
    let mut registry = Registry::new(REGISTRY)
        .with_doc("LightCap's operators: int8 weights kept int8, the exact GELU");
    registry.register_unit_element_wise("lightcap_gelu_exact", &GeluExact {});
    registry.register_dumper(dump_int8_dequantize);
    registry.register_primitive(
        "lightcap_int8_dequantize",
        &[
            TypeName::Integer.tensor().named("values"),
            TypeName::Scalar.tensor().named("scales"),
            TypeName::Integer.named("axis"),
        ],
        &[("output", TypeName::Scalar.tensor())],
        load_int8_dequantize,
    );
    registry
}

/// tract's NNEF framework with LightCap's registry.
pub(crate) fn framework() -> tract_nnef::internal::Nnef {
    let mut nnef = tract_nnef::nnef().with_registry(registry());
    nnef.allow_extended_identifier_syntax(true);
    nnef
}

/// Read a graph written by [`write_graph`]; its int8 weights are still `Int8Dequantize` nodes.
pub(crate) fn read_graph(bytes: &[u8]) -> TractResult<TypedModel> {
    framework().model_for_read(&mut &*bytes)
}

/// Replace every `Int8Dequantize` of constant inputs by the float32 constant it computes.
/// Returns how many were folded.
pub(crate) fn fold_int8_weights(model: &mut TypedModel) -> TractResult<usize> {
    let mut patch = TypedModelPatch::default();
    let mut folded = 0;
    for node in model.nodes() {
        let Some(op) = node.op_as::<Int8Dequantize>() else {
            continue;
        };
        let inputs = model.node_input_facts(node.id)?;
        let (Some(values), Some(scales)) = (&inputs[0].konst, &inputs[1].konst) else {
            continue;
        };
        let weight =
            patch.add_const(format!("{}.f32", node.name), op.dequantize(values, scales)?)?;
        patch.shunt_outside(model, node.id.into(), weight)?;
        folded += 1;
    }
    patch.apply(model)?;
    Ok(folded)
}

/// A graph in the pre-optimised form, and what it holds.
pub struct NnefGraph {
    /// The `.nnef.tar` file's bytes.
    pub bytes: Vec<u8>,
    /// Weights kept int8 (of the `DequantizeLinear` weights the ONNX graph had).
    pub int8_weights: usize,
    pub onnx_int8_weights: usize,
}

/// Convert one ONNX graph of a pack to the pre-optimised form: typed and decluttered as
/// loading does, the pack's int8 weights kept int8. Deterministic: the same graph gives
/// the same bytes.
pub fn export_graph(onnx: &[u8]) -> TractResult<NnefGraph> {
    let proto = ModelProto::decode(onnx).map_err(|e| format_err!("not ONNX: {e}"))?;
    let onnx_int8_weights = proto
        .graph
        .iter()
        .flat_map(|g| &g.node)
        .filter(|n| n.op_type == "DequantizeLinear")
        .count();
    let mut reader = tract_onnx::onnx();
    reader.op_register.insert(
        "DequantizeLinear",
        crate::int8_weight::dequantize_linear_builder,
    );
    let model = reader.model_for_proto_model(&proto)?.into_typed()?;
    drop(proto);
    let model = model.into_decluttered()?;
    let int8_weights = model
        .nodes()
        .iter()
        .filter(|n| n.op_is::<Int8Dequantize>())
        .count();
    let bytes = framework().write_to_tar_with_config(&model, Vec::new(), false, true)?;
    Ok(NnefGraph {
        bytes,
        int8_weights,
        onnx_int8_weights,
    })
}
