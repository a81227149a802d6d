//! Int8 packs: weights stored as int8 with per-channel scales behind `DequantizeLinear`
//! nodes (see `scripts/lightcap/quantize.py`) become float32 constants here, before tract
//! sees the graph.
//!
//! Why not leave it to tract: tract folds constant subgraphs only up to about a million
//! elements, so the 30,522-row word embeddings would be dequantized again on every
//! decoder step. Folded once at load, an int8 pack runs exactly like a float32 one and
//! only its download and install size shrink.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{GraphProto, NodeProto, TensorProto, tensor_proto::DataType};

use crate::int8_weight::{for_each_dequantized, run_length};

/// Replace every `DequantizeLinear` whose inputs are all initializers by the float32
/// initializer it computes. Returns how many were folded.
pub(crate) fn fold_dequantize_linear(graph: &mut GraphProto) -> Result<usize, String> {
    let index: HashMap<String, usize> = graph
        .initializer
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    let mut folded = Vec::new();
    let mut consumed = HashSet::new();
    let mut kept_nodes = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let constant_inputs = node.input.iter().all(|name| index.contains_key(name));
        if node.op_type != "DequantizeLinear" || !constant_inputs {
            kept_nodes.push(node);
            continue;
        }
        let input = |i: usize| {
            node.input
                .get(i)
                .map(|name| &graph.initializer[index[name]])
        };
        let values = dequantize(&node, input(0), input(1), input(2))
            .map_err(|e| format!("DequantizeLinear node {:?}: {e}", node.name))?;
        let output = node
            .output
            .first()
            .ok_or_else(|| format!("DequantizeLinear node {:?} has no output", node.name))?;
        let dims = input(0).map(|t| t.dims.clone()).unwrap_or_default();
        folded.push(float_initializer(output, dims, values));
        consumed.extend(node.input.iter().cloned());
    }
    graph.node = kept_nodes;
    // The int8 tensors and scales the folded nodes read are dropped unless something else
    // reads them too.
    let still_used: HashSet<&String> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter())
        .chain(graph.output.iter().map(|o| &o.name))
        .collect();
    graph
        .initializer
        .retain(|t| !consumed.contains(&t.name) || still_used.contains(&t.name));
    let count = folded.len();
    graph.initializer.extend(folded);
    Ok(count)
}

/// The float32 values, as the little-endian bytes of an initializer's `raw_data` (written
/// directly: this runs over every weight of a pack at load).
fn dequantize(
    node: &NodeProto,
    quantized: Option<&TensorProto>,
    scale: Option<&TensorProto>,
    zero_point: Option<&TensorProto>,
) -> Result<Vec<u8>, String> {
    let quantized = quantized.ok_or("no input tensor")?;
    let scales = floats(scale.ok_or("no scale")?)?;
    let (values, dims) = (int8_bytes(quantized)?, &quantized.dims);
    let zero_points: Vec<i8> = match zero_point {
        Some(t) => int8_bytes(t)?.iter().map(|&b| b as i8).collect(),
        None => vec![0; scales.len()],
    };
    if zero_points.len() != scales.len() {
        return Err(format!(
            "{} zero points for {} scales",
            zero_points.len(),
            scales.len()
        ));
    }
    let expected: i64 = dims.iter().product();
    if values.len() as i64 != expected {
        return Err(format!("{} values for dims {dims:?}", values.len()));
    }
    let axis = if scales.len() == 1 {
        None
    } else {
        // Per-axis: scale[c] applies to every element whose index along `axis` is c.
        let rank = dims.len() as i64;
        let axis = node
            .attribute
            .iter()
            .find(|a| a.name == "axis")
            .map_or(1, |a| a.i);
        let axis = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&axis) {
            return Err(format!("axis {axis} for a tensor of rank {rank}"));
        }
        let channels = dims[axis as usize] as usize;
        if channels != scales.len() {
            return Err(format!(
                "{} scales for {channels} channels on axis {axis}",
                scales.len()
            ));
        }
        Some(axis as usize)
    };
    let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    let run = run_length(&shape, axis, values.len());
    let mut out = Vec::with_capacity(values.len() * 4);
    for_each_dequantized(&values, run, &scales, &zero_points, |v| {
        out.extend_from_slice(&v.to_le_bytes())
    });
    Ok(out)
}

/// An int8 tensor's values as bytes (two's complement), borrowed when stored raw.
fn int8_bytes(t: &TensorProto) -> Result<Cow<'_, [u8]>, String> {
    if t.data_type != DataType::Int8 as i32 {
        return Err(format!("{:?} is not int8", t.name));
    }
    if !t.raw_data.is_empty() {
        return Ok(Cow::Borrowed(&t.raw_data));
    }
    t.int32_data
        .iter()
        .map(|&v| {
            i8::try_from(v)
                .map(|q| q as u8)
                .map_err(|_| format!("{:?} holds {v}, not an int8", t.name))
        })
        .collect::<Result<Vec<u8>, String>>()
        .map(Cow::Owned)
}

fn floats(t: &TensorProto) -> Result<Vec<f32>, String> {
    if t.data_type != DataType::Float as i32 {
        return Err(format!("scale {:?} is not float32", t.name));
    }
    if !t.raw_data.is_empty() {
        if !t.raw_data.len().is_multiple_of(4) {
            return Err(format!("scale {:?} has a partial float", t.name));
        }
        return Ok(t
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect());
    }
    Ok(t.float_data.clone())
}

fn float_initializer(name: &str, dims: Vec<i64>, raw_data: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.to_owned(),
        dims,
        data_type: DataType::Float as i32,
        raw_data,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::AttributeProto;

    fn int8_tensor(name: &str, dims: Vec<i64>, values: &[i8]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims,
            data_type: DataType::Int8 as i32,
            raw_data: values.iter().map(|&v| v as u8).collect(),
            ..Default::default()
        }
    }

    fn dequantize_node(inputs: &[&str], output: &str, axis: Option<i64>) -> NodeProto {
        NodeProto {
            op_type: "DequantizeLinear".into(),
            name: format!("{output}_dq"),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute: axis
                .map(|i| AttributeProto {
                    name: "axis".into(),
                    i,
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn values_of(graph: &GraphProto, name: &str) -> Vec<f32> {
        floats(graph.initializer.iter().find(|t| t.name == name).unwrap()).unwrap()
    }

    #[test]
    fn per_axis_scales_apply_along_their_axis() {
        // A 2x3 tensor with one scale per column (axis 1) and one per row (axis 0).
        let q = [1i8, -2, 3, 4, 5, -127];
        for (axis, scales, expected) in [
            (
                1,
                vec![0.5, 2.0, 0.25],
                vec![0.5, -4.0, 0.75, 2.0, 10.0, -31.75],
            ),
            (0, vec![0.5, 2.0], vec![0.5, -1.0, 1.5, 8.0, 10.0, -254.0]),
        ] {
            let mut graph = GraphProto {
                initializer: vec![
                    int8_tensor("w_q", vec![2, 3], &q),
                    float_initializer("w_s", vec![scales.len() as i64], f32_bytes(&scales)),
                    int8_tensor("w_z", vec![scales.len() as i64], &vec![0; scales.len()]),
                ],
                node: vec![
                    dequantize_node(&["w_q", "w_s", "w_z"], "w", Some(axis)),
                    NodeProto {
                        op_type: "MatMul".into(),
                        input: vec!["x".into(), "w".into()],
                        output: vec!["y".into()],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            };
            assert_eq!(fold_dequantize_linear(&mut graph), Ok(1));
            assert_eq!(values_of(&graph, "w"), expected, "axis {axis}");
            assert_eq!(graph.node.len(), 1, "only the MatMul is left");
            let names: Vec<_> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["w"], "the int8 tensor and its scales are dropped");
        }
    }

    #[test]
    fn a_scalar_scale_and_zero_point_dequantize_the_whole_tensor() {
        let mut graph = GraphProto {
            initializer: vec![
                int8_tensor("q", vec![3], &[10, 0, -10]),
                float_initializer("s", vec![], f32_bytes(&[0.5])),
                int8_tensor("z", vec![], &[2]),
            ],
            node: vec![dequantize_node(&["q", "s", "z"], "w", None)],
            ..Default::default()
        };
        assert_eq!(fold_dequantize_linear(&mut graph), Ok(1));
        assert_eq!(values_of(&graph, "w"), [4.0, -1.0, -6.0]);
    }

    #[test]
    fn mismatched_scales_are_an_error_not_a_panic() {
        let mut graph = GraphProto {
            initializer: vec![
                int8_tensor("q", vec![2, 2], &[1, 2, 3, 4]),
                float_initializer("s", vec![3], f32_bytes(&[1.0, 1.0, 1.0])),
            ],
            node: vec![dequantize_node(&["q", "s"], "w", Some(0))],
            ..Default::default()
        };
        let error = fold_dequantize_linear(&mut graph).unwrap_err();
        assert!(error.contains("3 scales for 2 channels"), "{error}");
    }

    #[test]
    fn dequantizing_a_graph_input_is_left_to_tract() {
        let mut graph = GraphProto {
            initializer: vec![float_initializer("s", vec![], f32_bytes(&[1.0]))],
            node: vec![dequantize_node(&["x", "s"], "y", None)],
            ..Default::default()
        };
        assert_eq!(fold_dequantize_linear(&mut graph), Ok(0));
        assert_eq!(graph.node.len(), 1);
    }
}
