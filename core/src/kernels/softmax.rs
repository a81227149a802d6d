//! Softmax over the last axis (float32), rows of any length.
//!
//! Why our own: the fusion model's attention normalises rows of 69 (+ past) scores, and
//! tract runs its vectorised routine only on rows whose length is a multiple of 4; other
//! rows go through three library kernels a row (max, exp-sum, scale), each with a fixed
//! cost larger than the row's arithmetic: about 11 ns a value, 8% of the vision graph.
//! Ours makes one pass for the maximum and one for the exponentials and their sum in
//! registers (a Cephes-style polynomial, within 2 ulp of `exp`), then scales.

use tract_nnef::internal::*;

use super::lanes::{Isa, Lanes, Scalar};

/// The operator: softmax along the input's last axis, whatever the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Softmax;

impl Softmax {
    /// Every row of `values` (`row` values each) replaced by its softmax, in `isa`.
    pub fn run(&self, isa: Isa, values: &mut [f32], row: usize) -> TractResult<()> {
        ensure!(
            row > 0 && values.len().is_multiple_of(row),
            "{} values in rows of {row}",
            values.len()
        );
        // SAFETY: each arm runs only where `Isa::available` found its instruction set.
        unsafe {
            match isa {
                Isa::Scalar => rows::<Scalar>(values, row),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => x86::rows_avx2(values, row),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => x86::rows_avx512(values, row),
                #[cfg(target_arch = "aarch64")]
                Isa::Neon => rows::<super::lanes::Neon>(values, row),
            }
        }
        Ok(())
    }
}

/// `exp(x)` in each lane, for `x` up to 88 (the largest whose `exp` is finite); zero below
/// -87.3 (where `exp` leaves the normal floats): a masked score (`-inf`, or a bias of
/// -1e4) must stay exactly zero, or the logarithm a log-softmax takes of it is finite.
#[inline(always)]
pub(crate) unsafe fn exp<V: Lanes>(x: V) -> V {
    unsafe {
        let lowest = V::splat(-87.3);
        let input = x;
        let x = x.max(lowest).min(V::splat(88.3));
        // x = n ln 2 + r, |r| <= ln 2 / 2, ln 2 in two parts so that n ln 2 is exact.
        let n = x.mul(V::splat(std::f32::consts::LOG2_E)).round();
        let r = n.mul_add(V::splat(-0.693_359_4), x);
        let r = n.mul_add(V::splat(2.121_944_4e-4), r);
        let mut p = V::splat(1.987_569_1e-4);
        for c in [
            1.398_199_9e-3,
            8.333_452e-3,
            4.166_579_6e-2,
            0.166_666_65,
            0.5,
        ] {
            p = p.mul_add(r, V::splat(c));
        }
        let y = p.mul_add(r.mul(r), r).add(V::splat(1.0));
        y.mul(n.pow2i()).zero_unless_at_least(input, lowest)
    }
}

/// The lanes of `v` folded with `f`.
#[inline(always)]
unsafe fn fold<V: Lanes>(v: V, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 16];
    unsafe { v.store(lanes.as_mut_ptr()) };
    lanes[..V::LEN].iter().copied().reduce(f).unwrap_or(0.0)
}

/// # Safety
/// The CPU must run `V`'s instructions; `values` holds whole rows of `row` values.
#[inline(always)]
unsafe fn rows<V: Lanes>(values: &mut [f32], row: usize) {
    let whole = row / V::LEN * V::LEN;
    for values in values.chunks_exact_mut(row) {
        let (body, tail) = values.split_at_mut(whole);
        unsafe {
            // The maximum, subtracted before the exponentials so that none overflows.
            let mut max = V::splat(f32::NEG_INFINITY);
            for chunk in body.chunks_exact(V::LEN) {
                max = max.max(V::load(chunk.as_ptr()));
            }
            let max = tail.iter().fold(fold(max, f32::max), |m, &x| m.max(x));
            let shift = V::splat(-max);
            let mut sum = V::splat(0.0);
            for chunk in body.chunks_exact_mut(V::LEN) {
                let e = exp(V::load(chunk.as_ptr()).add(shift));
                e.store(chunk.as_mut_ptr());
                sum = sum.add(e);
            }
            let mut total = fold(sum, |a, b| a + b);
            if !tail.is_empty() {
                let e = exp(V::load_partial(tail.as_ptr(), tail.len()).add(shift));
                e.store_partial(tail.as_mut_ptr(), tail.len());
                total += tail.iter().sum::<f32>();
            }
            let scale = V::splat(1.0 / total);
            for chunk in body.chunks_exact_mut(V::LEN) {
                V::load(chunk.as_ptr()).mul(scale).store(chunk.as_mut_ptr());
            }
            for value in tail {
                *value /= total;
            }
        }
    }
}

impl Op for Softmax {
    fn name(&self) -> StaticName {
        "Softmax(lightcap)".into()
    }

    fn validation(&self) -> Validation {
        // Its own exponential: equal to tract's up to rounding.
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for Softmax {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let row = *input.shape().last().context("softmax of a scalar")?;
        let mut output = input.into_tensor();
        {
            let mut view = output.try_as_plain_ram_mut()?;
            self.run(Isa::widest(), view.as_slice_mut::<f32>()?, row)?;
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for Softmax {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(
            inputs.len() == 1 && inputs[0].datum_type == f32::datum_type() && inputs[0].rank() > 0,
            "float32 values with at least one axis"
        );
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }

    as_op!();
}

/// The generic kernel compiled for each x86-64 instruction set.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use crate::kernels::lanes::{Avx2, Avx512};

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn rows_avx2(values: &mut [f32], row: usize) {
        unsafe { super::rows::<Avx2>(values, row) }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn rows_avx512(values: &mut [f32], row: usize) {
        unsafe { super::rows::<Avx512>(values, row) }
    }
}
