//! The pre-optimised graph form: each graph as tract's NNEF (with tract's extensions),
//! written at export time from the typed and decluttered model, so that loading skips
//! protobuf parsing, ONNX translation, typing and decluttering, and never holds a
//! graph's weights twice over (the protobuf's and tract's).
//!
//! Two things tract's NNEF writer cannot do alone, which the `lightcap` registry here adds:
//! - the exact GELU that every fusion layer declutters into (`GeluExact`) has no NNEF
//!   name in tract 0.23; it is written as `lightcap_gelu_exact`;
//! - NNEF stores each constant as the model holds it, float32 for a pack's int8 weights
//!   once they are dequantized. Those stay int8 behind `Int8Dequantize` nodes
//!   (`int8_weight`), written as `lightcap_int8_dequantize`, which
//!   [`fold_int8_weights`] turns back into the same float32 constants at load.

use tract_nnef::internal::*;
use tract_nnef::ser::{invocation, numeric};
use tract_nnef::tract_core::ops::nn::GeluExact;

use crate::int8_weight::Int8Dequantize;

mod text;

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

/// tract's NNEF framework with LightCap's registry, for writing graphs (and for tests, to
/// compare with).
#[cfg(any(feature = "onnx", test))]
pub(crate) fn framework() -> Nnef {
    let mut nnef = tract_nnef::nnef().with_registry(registry());
    nnef.allow_extended_identifier_syntax(true);
    nnef
}

/// The same for reading graphs. tract's default parses its NNEF standard library twice,
/// once for its registry's fragments and once for the list only its writer reads (3.6 ms
/// each on a 2-core Xeon): this one leaves the list empty and keeps tract's default
/// registries and resource loaders. Loading builds one for both graphs and then drops it
/// (held for good it would be 0.4 MB of heap).
pub(crate) fn reader() -> Nnef {
    use tract_nnef::resource::{DatLoader, GraphNnefLoader, GraphQuantLoader, TypedModelLoader};
    Nnef {
        stdlib: vec![],
        registries: vec![
            tract_nnef::ops::tract_nnef(),
            tract_nnef::ops::tract_core(),
            registry(),
        ],
        resource_loaders: vec![
            GraphNnefLoader.into_boxed(),
            DatLoader.into_boxed(),
            GraphQuantLoader.into_boxed(),
            TypedModelLoader::new(false).into_boxed(),
        ],
        allow_extended_identifier_syntax: true,
        extern_all_constants: false,
    }
}

/// Read a graph written by [`export_graph`]; its int8 weights are still `Int8Dequantize`
/// nodes.
pub(crate) fn read_graph(framework: &Nnef, bytes: &[u8]) -> TractResult<TypedModel> {
    match read_proto_model(bytes) {
        Some(proto) => framework.model_for_proto_model(&proto),
        None => {
            log::info!("a graph archive this reader leaves to tract's (slower) parser");
            framework.model_for_read(&mut &*bytes)
        }
    }
}

/// What tract's reader makes of an archive of a graph's text and tensors, with the text
/// read by [`text`]. `None` where the archive holds anything else (tract knows the other
/// resources an NNEF archive can carry) or anything goes wrong: tract's reader then reads
/// it, or says what is wrong with it.
pub(crate) fn read_proto_model(archive: impl std::io::Read) -> Option<tract_nnef::ProtoModel> {
    use std::io::Read;
    use std::path::Path;
    let mut doc = None;
    let mut tensors = HashMap::new();
    for entry in tar::Archive::new(archive).entries().ok()? {
        let mut entry = entry.ok()?;
        if entry.header().entry_type().is_dir() {
            continue;
        }
        let path = entry.path().ok()?.into_owned();
        let path = path.strip_prefix("./").unwrap_or(&path);
        // Skipped by tract too: files macOS's tar adds beside the real ones.
        let hidden = |c: std::path::Component| c.as_os_str().as_encoded_bytes().starts_with(b".");
        if path.components().any(hidden) {
            continue;
        }
        if path == Path::new(tract_nnef::resource::GRAPH_NNEF_FILENAME) {
            let mut graph = String::new();
            entry.read_to_string(&mut graph).ok()?;
            doc = Some(text::parse_document(&graph)?);
        } else if path.extension().is_some_and(|e| e == "dat") {
            let tensor = tract_nnef::tensors::read_tensor(&mut entry).ok()?;
            let id = tract_nnef::resource::resource_path_to_id(path).ok()?;
            tensors.insert(Identifier(id), Arc::new(tensor));
        } else {
            return None;
        }
    }
    let proto = tract_nnef::ProtoModel {
        doc: doc?,
        tensors,
        quantization: None,
        resources: HashMap::new(),
    };
    proto.validate().ok()?;
    Some(proto)
}

/// Replace every `Int8Dequantize` of constant inputs by the float32 constant it computes,
/// but those nothing reads any more (our operators read theirs as they pack them). Returns
/// how many were folded.
pub(crate) fn fold_int8_weights(model: &mut TypedModel) -> TractResult<usize> {
    let mut patch = TypedModelPatch::default();
    let mut folded = 0;
    let outputs = model.output_outlets()?;
    for node in model.nodes() {
        let Some(op) = node.op_as::<Int8Dequantize>() else {
            continue;
        };
        if node.outputs[0].successors.is_empty() && !outputs.contains(&node.id.into()) {
            continue;
        }
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
#[cfg(feature = "onnx")]
pub struct NnefGraph {
    /// The `.nnef.tar` file's bytes.
    pub bytes: Vec<u8>,
    /// Weights stored int8.
    pub int8_weights: usize,
    /// The int8 weights (`DequantizeLinear` nodes) of the ONNX graph.
    pub onnx_int8_weights: usize,
}

/// Convert one ONNX graph of a pack to the pre-optimised form: typed and decluttered as
/// loading an ONNX graph does, the pack's int8 weights kept int8. The same graph gives the same
/// tensors and operators (the names tract gives a few reshapes can differ between runs).
#[cfg(feature = "onnx")]
pub fn export_graph(onnx: &[u8]) -> TractResult<NnefGraph> {
    use prost::Message;
    use tract_onnx::pb::ModelProto;
    use tract_onnx::prelude::InferenceModelExt;

    let mut proto = ModelProto::decode(onnx).map_err(|e| format_err!("not ONNX: {e}"))?;
    let graph = proto
        .graph
        .as_mut()
        .context("an ONNX model without a graph")?;
    let onnx_int8_weights =
        crate::dequantize::fold_dequantize_linear(graph).map_err(|e| format_err!("{e}"))?;
    let model = tract_onnx::onnx()
        .model_for_proto_model(&proto)?
        .into_typed()?;
    drop(proto);
    let mut model = model.into_decluttered()?;
    let int8_weights = crate::int8_weight::keep_int8_weights(&mut model)?;
    let bytes = framework().write_to_tar_with_config(&model, Vec::new(), false, true)?;
    Ok(NnefGraph {
        bytes,
        int8_weights,
        onnx_int8_weights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../models/default/{name}.nnef.tar",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    /// An archive of these files, in this order.
    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *bytes).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn the_bundled_packs_archives_read_as_tracts_reader_reads_them() {
        for name in ["vision", "decoder"] {
            let bytes = bundled(name);
            let ours = read_proto_model(bytes.as_slice()).expect("read without tract's parser");
            let theirs = framework().proto_model_for_read(&mut &*bytes).unwrap();
            assert_eq!(ours.doc, theirs.doc, "{name}");
            assert!(theirs.quantization.is_none() && theirs.resources.is_empty());
            let mut ids: Vec<_> = ours.tensors.keys().collect();
            ids.sort();
            let mut their_ids: Vec<_> = theirs.tensors.keys().collect();
            their_ids.sort();
            assert_eq!(ids, their_ids, "{name}");
            for (id, tensor) in &theirs.tensors {
                assert_eq!(&ours.tensors[id], tensor, "{name}: {id:?}");
            }
        }
    }

    #[test]
    fn the_reader_builds_the_graphs_tracts_default_framework_builds() {
        for name in ["vision", "decoder"] {
            let bytes = bundled(name);
            let theirs = framework().model_for_read(&mut &*bytes).unwrap();
            // Through tract's parser, and through ours.
            let by_tracts = reader().model_for_read(&mut &*bytes).unwrap();
            let by_ours = read_graph(&reader(), &bytes).unwrap();
            // The same nodes, inputs, outputs, labels and properties (the last two are
            // hash maps: compared in order of their keys).
            let parts = |model: &TypedModel| {
                let mut labels: Vec<_> = model.outlet_labels.iter().collect();
                labels.sort();
                let mut properties: Vec<_> = model.properties.iter().collect();
                properties.sort_by_key(|(key, _)| key.as_str());
                format!(
                    "{:?} {:?} {:?} {labels:?} {properties:?}",
                    model.nodes, model.inputs, model.outputs
                )
            };
            for ours in [by_tracts, by_ours] {
                assert_eq!(parts(&ours), parts(&theirs), "{name}");
            }
        }
    }

    #[test]
    fn archives_with_more_than_text_and_tensors_are_left_to_tract() {
        let graph = b"version 1.0;\ngraph g(x) -> (x) {\n  x = external(shape = [1]);\n}\n";
        let tensor = {
            let mut bytes = Vec::new();
            tract_nnef::tensors::write_tensor(&mut bytes, &tensor1(&[1.0f32, 2.0])).unwrap();
            bytes
        };
        let plain = archive(&[("graph.nnef", graph), ("w.dat", &tensor)]);
        let proto = read_proto_model(plain.as_slice()).expect("text and tensors");
        assert_eq!(proto.tensors[&Identifier::from("w")].shape(), &[2]);
        // Files macOS's tar adds, and a leading "./", are skipped as tract skips them.
        let dotted = archive(&[("./graph.nnef", graph), ("._graph.nnef", b"junk")]);
        assert!(read_proto_model(dotted.as_slice()).is_some());
        for files in [
            &[
                ("graph.nnef", &graph[..]),
                ("graph.quant", b"w: zero_point_linear_quantize()"),
            ][..],
            &[("graph.nnef", graph), ("sub/graph.nnef", graph)],
            &[("w.dat", &tensor)],
            &[("graph.nnef", b"not nnef")],
            &[("graph.nnef", graph), ("w.dat", b"short")],
        ] {
            assert!(
                read_proto_model(archive(files).as_slice()).is_none(),
                "{files:?}"
            );
        }
        assert!(read_proto_model(&b"not a tar"[..]).is_none());
    }
}
