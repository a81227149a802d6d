//! What a loaded pack costs: every constant tensor of both optimised graphs, with its
//! bytes, so `lightcap bench` can say where the heap goes; and the time each step of
//! loading took.
//!
//! Weights end up in three places: constant nodes holding plain tensors (float32 after
//! an int8 pack is dequantized, embedding tables, biases), constant nodes holding
//! matrices packed for tract's kernels (`prepack`; one packed copy per kernel shape they
//! may meet), and matrix products that tract's optimiser baked a packed weight into. A
//! tensor shared by several nodes is counted once.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tract_nnef::prelude::*;
use tract_nnef::tract_core::ops::konst::Const;
use tract_nnef::tract_core::ops::matmul::optimized::{MatMulOperand, OptMatMul, ProtoFusedSpec};
use tract_nnef::tract_core::tract_linalg::mmm::{EagerPackedInput, PackedMatrixStorage};

use crate::pack::Plan;

/// How a constant is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstantForm {
    /// Laid out as its shape and type say.
    Plain,
    /// Re-laid out for tract's matrix kernels: `copies` packings of one matrix.
    Packed { copies: usize },
    /// Some other storage; `bytes` is what it reports.
    Other,
}

/// One constant tensor of a loaded graph.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstantTensor {
    /// "vision" or "decoder".
    pub graph: &'static str,
    /// The node that holds it (named after the ONNX initializer or op it came from).
    pub node: String,
    pub datum_type: String,
    pub shape: Vec<usize>,
    pub form: ConstantForm,
    pub bytes: usize,
}

/// The steps of loading a pack and how long each took, in order.
#[derive(Debug, Clone)]
pub struct LoadStages {
    pub stages: Vec<(String, Duration)>,
    since: Instant,
}

impl Default for LoadStages {
    fn default() -> Self {
        LoadStages {
            stages: Vec::new(),
            since: Instant::now(),
        }
    }
}

impl LoadStages {
    /// Close the stage that ends now; an empty name only restarts the clock.
    pub(crate) fn lap(&mut self, name: impl Into<String>) {
        let name = name.into();
        if !name.is_empty() {
            self.stages.push((name, self.since.elapsed()));
        }
        self.since = Instant::now();
    }

    /// Record a step that took `spent` of the stage now running (hashing as a file is
    /// read), and leave that time out of the stage's own.
    pub(crate) fn set_aside(&mut self, name: impl Into<String>, spent: Duration) {
        self.stages.push((name.into(), spent));
        self.since += spent;
    }
}

/// Every constant of `plan`, largest first.
pub(crate) fn constants(graph: &'static str, plan: &Plan) -> Vec<ConstantTensor> {
    let mut seen: HashSet<*const u8> = HashSet::new();
    let mut found = Vec::new();
    for node in plan.model().nodes() {
        if let Some(product) = node.op_as::<OptMatMul>() {
            found.extend(baked_operands(graph, &node.name, product, &mut seen));
            continue;
        }
        let Some(konst) = node.op_as::<Const>() else {
            continue;
        };
        let tensor = konst.val();
        if !seen.insert(Arc::as_ptr(tensor) as *const u8) {
            continue;
        }
        let (form, bytes) = measure(tensor);
        found.push(ConstantTensor {
            graph,
            node: node.name.clone(),
            datum_type: format!("{:?}", tensor.datum_type()),
            shape: tensor.shape().to_vec(),
            form,
            bytes,
        });
    }
    found.sort_by_key(|c| std::cmp::Reverse(c.bytes));
    found
}

/// The packed weights baked into a matrix product's kernels.
fn baked_operands(
    graph: &'static str,
    node: &str,
    product: &OptMatMul,
    seen: &mut HashSet<*const u8>,
) -> Vec<ConstantTensor> {
    let mut found = Vec::new();
    for op in &product.micro_ops {
        let ProtoFusedSpec::AddMatMul { a, b, .. } = op else {
            continue;
        };
        for operand in [a, b] {
            let MatMulOperand::Const(value) = operand else {
                continue;
            };
            let Some(eager) = value.downcast_ref::<EagerPackedInput>() else {
                continue;
            };
            if !seen.insert(Arc::as_ptr(&eager.packed) as *const u8) {
                continue;
            }
            found.push(ConstantTensor {
                graph,
                node: node.to_owned(),
                datum_type: format!("{}", value.format()),
                shape: vec![value.mn(), value.k()],
                form: ConstantForm::Packed { copies: 1 },
                bytes: eager.packed.len(),
            });
        }
    }
    found
}

fn measure(tensor: &Tensor) -> (ConstantForm, usize) {
    if tensor.is_plain() {
        return (
            ConstantForm::Plain,
            tensor.len() * tensor.datum_type().size_of(),
        );
    }
    if let Some(packed) = tensor.storage_as::<PackedMatrixStorage>() {
        let values = packed.values();
        let bytes = values
            .iter()
            .map(|value| {
                value
                    .downcast_ref::<EagerPackedInput>()
                    .map_or(0, |eager| eager.packed.len())
            })
            .sum();
        return (
            ConstantForm::Packed {
                copies: values.len(),
            },
            bytes,
        );
    }
    (ConstantForm::Other, 0)
}
