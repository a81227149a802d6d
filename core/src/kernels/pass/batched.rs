//! Batched products of two activations ours runs: attention's scores and weighted values
//! (one product per head) and the image features' projection, as einsums whose last two
//! axes are the matrices' and whose leading ones, the same in all three, the batch's.

use tract_nnef::internal::*;

use super::products::{axis_letters, concrete_shapes, float_einsum};
use super::weights::Scratch;
use crate::kernels::batched::BatchedProduct;

/// The patch that puts a [`BatchedProduct`] in the place of node `id`, if that node is a
/// float32 or float16 einsum of known shapes `..mk,..kn->..mn`, either input's last two axes possibly
/// the other way round (`..km`, `..nk`), the leading axes the same letters and sizes in
/// both inputs and the output (no broadcasting).
pub(super) fn batched_patch(
    model: &TypedModel,
    id: usize,
    _: &mut Scratch,
) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let Some((einsum, facts)) = float_einsum(model, node)? else {
        return Ok(None);
    };
    let Some([first, second, output]) = concrete_shapes(facts) else {
        return Ok(None);
    };
    let Some([a, b, c]) = axis_letters(&einsum.axes.to_string()) else {
        return Ok(None);
    };
    let rank = a.len();
    let lead = rank.saturating_sub(2);
    let same_batch = rank >= 2
        && b.len() == rank
        && c.len() == rank
        && first.len() == rank
        && a[..lead] == b[..lead]
        && a[..lead] == c[..lead]
        && first[..lead] == second[..lead]
        && first[..lead] == output[..lead];
    if !same_batch {
        return Ok(None);
    }
    let (m, n) = (c[lead], c[lead + 1]);
    let a_transposed = match a[lead..] {
        [am, k] if am == m => Some((false, k)),
        [k, am] if am == m => Some((true, k)),
        _ => None,
    };
    let Some((a_transposed, k)) = a_transposed else {
        return Ok(None);
    };
    let b_transposed = match b[lead..] {
        [bk, bn] if bk == k && bn == n => false,
        [bn, bk] if bk == k && bn == n => true,
        _ => return Ok(None),
    };
    if m == k || k == n || m == n || a[..lead].iter().any(|l| [m, k, n].contains(l)) {
        return Ok(None);
    }
    let size = |shape: &[usize], transposed: bool, second: bool| {
        shape[lead + usize::from(transposed != second)]
    };
    let (rows, terms, columns) = (
        size(first, a_transposed, false),
        size(first, a_transposed, true),
        size(second, b_transposed, true),
    );
    if size(second, b_transposed, false) != terms {
        return Ok(None);
    }
    let op = BatchedProduct {
        batch: first[..lead].iter().product(),
        m: rows,
        k: terms,
        n: columns,
        a_transposed,
        b_transposed,
        output: output.into(),
    };
    Ok(Some(TypedModelPatch::replace_single_op(
        model,
        node,
        &node.inputs,
        op,
    )?))
}
