//! Matrix products ours runs: 1x1 convolutions (with the bias added after them) and layers
//! with constant weights, whatever unit axes the graph's form gives them.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::binary::TypedBinOp;
use tract_nnef::tract_core::ops::cast::Cast;
use tract_nnef::tract_core::ops::einsum::EinSum;

use super::weights::{Scratch, Weights};
use super::{clamp_bits, constant, epilogue, finish};
use crate::kernels::half::HalfIsa;
use crate::kernels::lanes::Isa;
use crate::kernels::product::{
    ALayout, Product, half_panel_columns, pack_columns_into, pack_columns_transposed_into,
    pack_rows_into, panel_columns,
};

/// The patch that puts a [`Product`] in the place of node `id`, if that node is a matrix
/// product in float32 or float16 with constant weights on one side, of known shapes (or a decoder step's
/// layer, [`step_layer_patch`], whose rows are known only when it runs). Axes of size 1 do not
/// matter (the two graph forms place them differently; [`Product`] reads flat row-major
/// values); of the others, it is either
/// - a 1x1 convolution as tract's declutter leaves it: a constant `M x K` matrix times an
///   image `K x ...`, the axes after `K` (`H, W` or `H*W`) kept in the output after `M`;
///   the bias added and the clamp after it fused;
/// - a layer's `M x K` activations times constant `K x N` weights, `K` one axis or
///   several, or its `K x M` ones; the bias per column added after it fused.
pub(super) fn product_patch(
    model: &TypedModel,
    id: usize,
    scratch: &mut Scratch,
) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let Some((einsum, facts)) = float_einsum(model, node)? else {
        return Ok(None);
    };
    let dt = facts[0].datum_type;
    if facts[0].shape.as_concrete().is_none() {
        return step_layer_patch(model, node, einsum, scratch);
    }
    let Some([first, second, output]) = concrete_shapes(facts) else {
        return Ok(None);
    };
    let Some(letters) = axis_letters(&einsum.axes.to_string()) else {
        return Ok(None);
    };
    let Some([x, y, z]) = significant_axes(&letters, [first, second, output]) else {
        return Ok(None);
    };
    let size = |letter: char| -> usize {
        (letters[0].iter().zip(first))
            .chain(letters[1].iter().zip(second))
            .find(|&(&l, _)| l == letter)
            .map_or(1, |(_, &d)| d)
    };
    // A 1x1 convolution: the constant matrix comes first or second (ONNX exports write
    // either).
    for weights_slot in [0, 1] {
        let (a, b) = if weights_slot == 0 {
            (&x, &y)
        } else {
            (&y, &x)
        };
        let is_pointwise = a.len() == 2
            && b.len() >= 2
            && b[0] == a[1]
            && z.len() == b.len()
            && z[0] == a[0]
            && z[1..] == b[1..]
            && !b.contains(&a[0]);
        if !is_pointwise {
            continue;
        }
        let Some(weights) = Weights::at(model, node.inputs[weights_slot])? else {
            continue;
        };
        let (m, k) = (size(a[0]), size(a[1]));
        let op = Product {
            m: Some(m),
            k,
            n: b[1..].iter().map(|&l| size(l)).product(),
            output: Some(output.into()),
            clamp: None,
            a: ALayout::Packed,
            column_bias: false,
            b_panel: None,
        };
        let bias = bias_after(model, id, Along::Rows, m, dt)?;
        let epilogue = epilogue(model, bias.last)?;
        let mut patch = TypedModelPatch::new(format!("lightcap product {}", node.name));
        let a = packed_weights(&mut patch, node, &weights, (m, k), dt, scratch)?;
        let b = patch.tap_model(model, node.inputs[1 - weights_slot])?;
        let biases = patch.add_const(format!("{}.biases", node.name), bias.biases)?;
        let op = Product {
            clamp: clamp_bits(epilogue.clamp),
            ..op
        };
        let axis_ops = bias.axis_ops.into_iter().chain(epilogue.axis_ops).collect();
        let inputs = [a, b, biases];
        return finish(
            patch,
            model,
            &node.name,
            op,
            &inputs,
            axis_ops,
            epilogue.last,
        );
    }
    // A layer: activations times constant weights, the sum over one axis or several
    // consecutive ones (attention heads' outputs times the output projection).
    let is_layer = x.len() >= 2
        && y.len() == x.len()
        && z.len() == 2
        && y[..y.len() - 1] == x[1..]
        && z[0] == x[0]
        && z[1] == y[y.len() - 1]
        && !x.contains(&z[1]);
    // A matrix-vector product (the concept extractor's): one row, its axis of size 1, the
    // weights `K x N` or `N x K`.
    let is_vector = x.len() == 1
        && z.len() == 1
        && y.len() == 2
        && x[0] != z[0]
        && (y[..] == [x[0], z[0]] || y[..] == [z[0], x[0]]);
    // The image features' projection: the activations' features before their positions
    // (`K x M`), the weights `K x N`.
    let is_transposed_layer = x.len() == 2
        && y.len() == 2
        && z.len() == 2
        && x[0] == y[0]
        && z[..] == [x[1], y[1]]
        && x[1] != y[1];
    if !is_layer && !is_vector && !is_transposed_layer {
        return Ok(None);
    }
    let Some(weights) = Weights::at(model, node.inputs[1])? else {
        return Ok(None);
    };
    let (m, k, n) = if is_layer {
        let k = x[1..].iter().map(|&l| size(l)).product();
        (size(x[0]), k, size(z[1]))
    } else if is_transposed_layer {
        (size(x[1]), size(x[0]), size(y[1]))
    } else {
        (1, size(x[0]), size(z[0]))
    };
    let a = match is_transposed_layer {
        true => ALayout::Transposed,
        false => ALayout::Rows,
    };
    let transposed = is_vector && y[0] == z[0];
    let shape = Some(output.into());
    layer_patch(
        model,
        node,
        (Some(m), a),
        (k, n),
        shape,
        (&weights, transposed),
        scratch,
    )
}

/// A decoder step's layer, whose rows (beams times new tokens) are known only when it
/// runs: `[M, K]` activations times constant weights, `[K, N]` or transposed.
fn step_layer_patch(
    model: &TypedModel,
    node: &TypedNode,
    einsum: &EinSum,
    scratch: &mut Scratch,
) -> TractResult<Option<TypedModelPatch>> {
    let Some([a, b, out]) = axis_letters(&einsum.axes.to_string()) else {
        return Ok(None);
    };
    let (&[m, k], &[out_m, n]) = (&a[..], &out[..]) else {
        return Ok(None);
    };
    let transposed = match b[..] {
        [bk, bn] if bk == k && bn == n => false,
        [bn, bk] if bk == k && bn == n => true,
        _ => return Ok(None),
    };
    if out_m != m || k == n {
        return Ok(None);
    }
    let Some(weights) = Weights::at(model, node.inputs[1])? else {
        return Ok(None);
    };
    let Some(&[rows, columns]) = model.outlet_fact(node.inputs[1])?.shape.as_concrete() else {
        return Ok(None);
    };
    let (k, n) = if transposed {
        (columns, rows)
    } else {
        (rows, columns)
    };
    if model.outlet_fact(node.inputs[0])?.shape[1] != k.to_dim() {
        return Ok(None);
    }
    layer_patch(
        model,
        node,
        (None, ALayout::Rows),
        (k, n),
        None,
        (&weights, transposed),
        scratch,
    )
}

/// The patch for a layer: `node`'s activations (`M x K` as `a` says) times `weights`
/// (`K x N` row-major values, or `N x K` if `transposed`), packed in panels for the kernel
/// this CPU runs (`Product::eval`) in the activations' type.
fn layer_patch(
    model: &TypedModel,
    node: &TypedNode,
    (m, a): (Option<usize>, ALayout),
    (k, n): (usize, usize),
    output: Option<TVec<usize>>,
    (weights, transposed): (&Weights, bool),
    scratch: &mut Scratch,
) -> TractResult<Option<TypedModelPatch>> {
    ensure!(
        weights.len() == k * n,
        "{} weights for {k}x{n}",
        weights.len()
    );
    let dt = model.outlet_fact(node.inputs[0])?.datum_type;
    let panel = if dt == f16::datum_type() {
        half_panel_columns(HalfIsa::widest())
    } else {
        panel_columns(Isa::widest())
    };
    let op = Product {
        m,
        k,
        n,
        output,
        clamp: None,
        a,
        column_bias: true,
        b_panel: Some(panel),
    };
    let mut patch = TypedModelPatch::new(format!("lightcap product {}", node.name));
    let a = patch.tap_model(model, node.inputs[0])?;
    let packed = if dt == f16::datum_type() {
        columns_packed::<f16>(weights, (k, n), panel, transposed, scratch)?
    } else {
        columns_packed::<f32>(weights, (k, n), panel, transposed, scratch)?
    };
    let b = patch.add_const(format!("{}.weights", node.name), packed)?;
    // The bias added after it, if any, is added to the finished sums (as tract's addition
    // would: the same result bit for bit).
    let bias = bias_after(model, node.id, Along::Columns, n, dt)?;
    let biases = patch.add_const(format!("{}.biases", node.name), bias.biases)?;
    let inputs = [a, b, biases];
    finish(
        patch,
        model,
        &node.name,
        op,
        &inputs,
        bias.axis_ops,
        bias.last,
    )
}

/// Weights `K x N` (`N x K` if `transposed`) packed in panels of `panel` columns
/// ([`pack_columns_into`]), as values of type `T`.
fn columns_packed<T: Datum + Copy + Default>(
    weights: &Weights,
    (k, n): (usize, usize),
    panel: usize,
    transposed: bool,
    scratch: &mut Scratch,
) -> TractResult<Tensor> {
    // Packed into the tensor itself, not into a vector copied there: a vocabulary's
    // weights are tens of megabytes.
    // SAFETY: floats need no initialisation to be valid; packing writes every value.
    let mut packed = unsafe { Tensor::uninitialized::<T>(&[k, n])? };
    {
        let mut view = packed.try_as_plain_ram_mut()?;
        let out = view.as_slice_mut::<T>()?;
        weights.read(scratch, |values: &[T]| {
            if transposed {
                pack_columns_transposed_into(values, (k, n), panel, out);
            } else {
                pack_columns_into(values, (k, n), panel, out);
            }
            Ok(())
        })?;
    }
    Ok(packed)
}

/// Constant weights `M x K` packed for the product's kernel ([`pack_rows`]) in type `dt`
/// (float32 or float16), as a constant of `patch`.
pub(super) fn packed_weights(
    patch: &mut TypedModelPatch,
    node: &TypedNode,
    weights: &Weights,
    (m, k): (usize, usize),
    dt: DatumType,
    scratch: &mut Scratch,
) -> TractResult<OutletId> {
    fn rows_packed<T: Datum + Copy>(
        weights: &Weights,
        (m, k): (usize, usize),
        scratch: &mut Scratch,
    ) -> TractResult<Tensor> {
        // SAFETY: floats need no initialisation to be valid; packing writes every value.
        let mut packed = unsafe { Tensor::uninitialized::<T>(&[m, k])? };
        {
            let mut view = packed.try_as_plain_ram_mut()?;
            let out = view.as_slice_mut::<T>()?;
            weights.read(scratch, |values: &[T]| {
                pack_rows_into(values, m, k, out);
                Ok(())
            })?;
        }
        Ok(packed)
    }
    let packed = if dt == f16::datum_type() {
        rows_packed::<f16>(weights, (m, k), scratch)?
    } else {
        rows_packed::<f32>(weights, (m, k), scratch)?
    };
    patch.add_const(format!("{}.weights", node.name), packed)
}

/// `node`'s einsum and the facts of its inputs and output, if it is one our products can
/// take: not quantized, float32 or float16 throughout.
pub(super) fn float_einsum<'a>(
    model: &'a TypedModel,
    node: &'a TypedNode,
) -> TractResult<Option<(&'a EinSum, [&'a TypedFact; 3])>> {
    let Some(einsum) = node.op_as::<EinSum>() else {
        return Ok(None);
    };
    let dt = einsum.operating_dt;
    if einsum.q_params.is_some() || (dt != f32::datum_type() && dt != f16::datum_type()) {
        return Ok(None);
    }
    let facts = [
        model.outlet_fact(node.inputs[0])?,
        model.outlet_fact(node.inputs[1])?,
        &node.outputs[0].fact,
    ];
    if facts.iter().any(|f| f.datum_type != dt) {
        return Ok(None);
    }
    Ok(Some((einsum, facts)))
}

/// The shapes of an einsum's inputs and output, if all three are known.
pub(super) fn concrete_shapes(facts: [&TypedFact; 3]) -> Option<[&[usize]; 3]> {
    let [a, b, c] = facts.map(|f| f.shape.as_concrete());
    Some([a?, b?, c?])
}

/// An einsum's axes (`"amk,akn->amn"`) as the letters of its two inputs and its output.
pub(super) fn axis_letters(axes: &str) -> Option<[Vec<char>; 3]> {
    let (inputs, output) = axes.split_once("->")?;
    let (a, b) = inputs.split_once(',')?;
    Some([a, b, output].map(|letters| letters.chars().collect()))
}

/// Each of `letters` (an einsum's, [`axis_letters`]) without the axes of size 1 in
/// `shapes`, in order.
fn significant_axes(letters: &[Vec<char>; 3], shapes: [&[usize]; 3]) -> Option<[Vec<char>; 3]> {
    let mut significant = [vec![], vec![], vec![]];
    for ((letters, shape), kept) in letters.iter().zip(shapes).zip(&mut significant) {
        if letters.len() != shape.len() {
            return None;
        }
        *kept = letters
            .iter()
            .zip(shape)
            .filter(|&(_, &d)| d != 1)
            .map(|(&l, _)| l)
            .collect();
    }
    Some(significant)
}

/// Which axis of a product's `C` a bias runs along: one value per row (`M`, a 1x1
/// convolution's channels) or per column (`N`, a layer's outputs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Along {
    Rows,
    Columns,
}

/// The bias added along `along` (`len` values) to what product `id` computes, if an
/// addition of such a constant (or a scalar) follows it, through same-type casts and
/// changes of unit axes: the biases (in `dt`), the node they end at and the axis changes
/// to apply after the product; no biases (zeros), `id` itself and no changes if there is no
/// such addition.
fn bias_after(
    model: &TypedModel,
    id: usize,
    along: Along,
    len: usize,
    dt: DatumType,
) -> TractResult<Bias> {
    let none = Ok(Bias {
        biases: Tensor::zero_dt(dt, &[0])?,
        last: id,
        axis_ops: vec![],
    });
    let mut axis_ops = vec![];
    let mut at = id;
    loop {
        let successors = &model.node(at).outputs[0].successors;
        if successors.len() != 1 || model.output_outlets()?.contains(&OutletId::new(at, 0)) {
            return none;
        }
        let next = model.node(successors[0].node);
        let input_type = model.outlet_fact(next.inputs[0])?.datum_type;
        if next
            .op_as::<Cast>()
            .is_some_and(|cast| cast.to == input_type)
        {
            at = next.id;
            continue;
        }
        // Changes of unit axes, and moves where one axis at most has more than one value
        // (the pre-optimised form keeps some that the ONNX form's declutter removed):
        // neither changes the order of the values.
        let keeps_order = |op: &AxisOp| match op {
            AxisOp::Add(_) | AxisOp::Rm(_) => true,
            AxisOp::Move(..) => model
                .outlet_fact(next.inputs[0])
                .is_ok_and(|f| f.shape.iter().filter(|d| !d.is_one()).count() <= 1),
            _ => false,
        };
        if let Some(axis_op) = next.op_as::<AxisOp>().filter(|op| keeps_order(op)) {
            axis_ops.push((next.name.clone(), axis_op.clone()));
            at = next.id;
            continue;
        }
        let is_add = next
            .op_as::<TypedBinOp>()
            .is_some_and(|bin| bin.0.name() == "Add");
        let output = &next.outputs[0].fact.shape;
        if !is_add || *output != model.outlet_fact(next.inputs[successors[0].slot])?.shape {
            return none;
        }
        let other = next.inputs[1 - successors[0].slot];
        let Some(bias) = constant(model, other, 4)? else {
            return none;
        };
        // Broadcast against the output, the bias's axes align to its last ones.
        let fits = bias.len() == len
            && bias.rank() <= output.rank()
            && match along {
                // Its one axis of `M` values is the output's first axis of more than one.
                Along::Rows => output.as_concrete().is_some_and(|output| {
                    let offset = output.len() - bias.rank();
                    bias.shape().iter().enumerate().any(|(axis, &d)| {
                        d == len && output[..offset + axis].iter().all(|&o| o == 1)
                    })
                }),
                // Its last axis holds the `N` values, as the output's does.
                Along::Columns => {
                    bias.shape().last() == Some(&len) && output.last() == Some(&len.to_dim())
                }
            };
        let biases = match bias.len() {
            1 => Tensor::from(bias.cast_to_scalar::<f32>()?).broadcast_scalar_to_shape(&[len])?,
            _ if fits => bias.cast_to::<f32>()?.into_owned().into_shape(&[len])?,
            _ => return none,
        };
        return Ok(Bias {
            biases: biases.cast_to_dt(dt)?.into_owned(),
            last: next.id,
            axis_ops,
        });
    }
}

/// What [`bias_after`] found.
struct Bias {
    /// `len` values, or none.
    biases: Tensor,
    last: usize,
    axis_ops: Vec<(String, AxisOp)>,
}
