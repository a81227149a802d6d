//! Pack matrix-multiply weights once at load instead of on every run.
//!
//! tract packs a constant operand of a matrix product (re-lays it out for its kernels)
//! in an `OptMatMulPack` node, and folds that node into a constant while optimising only
//! when the result stays within a 4 MiB allowance or no larger than its input. With a
//! symbolic batch (the beam), it keeps two packings (matrix-vector and matrix-matrix), so
//! the packed form is twice the input and large weights are never folded: the decoder
//! re-packed its 30,522 x hidden output matrix on every step (4x the step's time for the
//! default pack). Evaluating those nodes once here trades memory (the packed copies) for
//! that time.

use tract_nnef::prelude::*;
use tract_nnef::tract_core::ops::konst::Const;
use tract_nnef::tract_core::ops::matmul::pack::OptMatMulPack;

/// Replace every `OptMatMulPack` whose input is a constant by its packed result.
/// Returns how many were folded.
pub(crate) fn fold_constant_packing(model: &mut TypedModel) -> TractResult<usize> {
    let mut folded = 0;
    while let Some(id) = next_constant_pack(model) {
        let node = model.node(id);
        let inputs: TVec<TValue> = node
            .inputs
            .iter()
            .map(|&i| Ok(model.outlet_fact(i)?.konst.clone().unwrap().into_tvalue()))
            .collect::<TractResult<_>>()?;
        let Some(outputs) = node.op.eval_out_of_plan(inputs)? else {
            break;
        };
        let exotic_fact = model.outlet_fact(OutletId::new(id, 0))?.exotic_fact.clone();
        let packed =
            Const::new_with_opt_exotic_fact(outputs[0].clone().into_arc_tensor(), exotic_fact)?;
        let mut patch = TypedModelPatch::default();
        let wire = patch.wire_node(&node.name, packed, &[])?[0];
        patch.shunt_outside(model, OutletId::new(id, 0), wire)?;
        patch.apply(model)?;
        folded += 1;
    }
    Ok(folded)
}

fn next_constant_pack(model: &TypedModel) -> Option<usize> {
    model
        .nodes()
        .iter()
        .find(|node| {
            node.op_is::<OptMatMulPack>()
                && node
                    .inputs
                    .iter()
                    .all(|&i| model.outlet_fact(i).is_ok_and(|fact| fact.konst.is_some()))
        })
        .map(|node| node.id)
}
