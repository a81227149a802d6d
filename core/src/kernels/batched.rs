//! Batched matrix products of two activations: `C[i] = A[i] B[i]` for every entry `i` of
//! the leading (batch) axes, through the product's kernel. In the fusion model these are
//! attention's scores (queries times keys, `B` transposed) and its weighted values, one
//! product per head; `A` may come transposed too (features before positions).
//!
//! Why our own: tract packs both operands of every head's small product (69 x 26 by
//! 26 x 69) before its kernel, and took 31 to 56 GFLOP/s on them, the packing a third as
//! long again.

use tract_nnef::internal::*;

use super::half::HalfIsa;
use super::lanes::Isa;
use super::product::{
    Operands, half_panel_columns, pack_columns_transposed, pack_rows, pack_rows_transposed,
    panel_columns,
};

/// The products as a tract operator. Inputs: `A` (`batch x M x K`, or `batch x K x M` if
/// `a_transposed`) and `B` (`batch x K x N`, or `batch x N x K` if `b_transposed`), each in
/// the graph's shape (leading axes equal in both); output `C` in `output`'s shape
/// (`batch x M x N` values). All float32, or all float16.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BatchedProduct {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a_transposed: bool,
    pub b_transposed: bool,
    pub output: TVec<usize>,
}

impl BatchedProduct {
    /// Every product with `isa`'s kernel.
    pub fn run(&self, isa: Isa, a: &[f32], b: &[f32], c: &mut [f32]) -> TractResult<()> {
        self.each(a, b, c, panel_columns(isa), |product, c| {
            product.run(isa, c)
        })
    }

    /// The same in float16 with `isa`'s float16 kernel.
    pub fn run_half(&self, isa: HalfIsa, a: &[f16], b: &[f16], c: &mut [f16]) -> TractResult<()> {
        let panel = half_panel_columns(isa);
        self.each(a, b, c, panel, |product, c| product.run_half(isa, c))
    }

    /// Every product in either precision, through `product` (the product's kernel for the
    /// precision, which reads `B` in panels of `panel` columns).
    fn each<T: Copy + Default>(
        &self,
        a: &[T],
        b: &[T],
        c: &mut [T],
        panel: usize,
        product: impl Fn(&Operands<T>, &mut [T]) -> TractResult<()>,
    ) -> TractResult<()> {
        let (m, k, n) = (self.m, self.k, self.n);
        ensure!(
            m * k * n > 0
                && a.len() == self.batch * m * k
                && b.len() == self.batch * k * n
                && c.len() == self.batch * m * n,
            "{} products of {m}x{k} by {k}x{n} given {}, {} and {} values",
            self.batch,
            a.len(),
            b.len(),
            c.len()
        );
        let operands = a.chunks_exact(m * k).zip(b.chunks_exact(k * n));
        for ((a, b), c) in operands.zip(c.chunks_exact_mut(m * n)) {
            let a = if self.a_transposed {
                pack_rows_transposed(a, m, k)
            } else {
                pack_rows(a, m, k)
            };
            // Transposed, `B` is turned into the kernel's panels; as is, its rows are read
            // where they lie.
            let packed;
            let (b, b_panel) = if self.b_transposed {
                packed = pack_columns_transposed(b, k, n, panel);
                (&packed[..], Some(panel))
            } else {
                (b, None)
            };
            let operands = Operands {
                m,
                k,
                n,
                a: &a,
                b,
                b_panel,
                biases: &[],
                column_bias: false,
                clamp: None,
                c_stride: n,
            };
            product(&operands, c)?;
        }
        Ok(())
    }
}

impl Op for BatchedProduct {
    fn name(&self) -> StaticName {
        "BatchedMatMul(lightcap)".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let (m, k, n) = (self.m, self.k, self.n);
        Ok(vec![format!(
            "{} x {m}x{k} by {k}x{n}, A transposed: {}, B transposed: {}",
            self.batch, self.a_transposed, self.b_transposed
        )])
    }

    fn validation(&self) -> Validation {
        // Sums in another order than tract's: equal up to rounding.
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for BatchedProduct {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, b) = args_2!(inputs);
        let dt = a.datum_type();
        // SAFETY: floats need no initialisation to be valid, and `run` writes every value.
        let mut c = unsafe { Tensor::uninitialized_dt(dt, &self.output)? };
        {
            let a = a.try_as_plain_ram()?;
            let b = b.try_as_plain_ram()?;
            let mut view = c.try_as_plain_ram_mut()?;
            if dt == f16::datum_type() {
                self.run_half(
                    HalfIsa::widest(),
                    a.as_slice::<f16>()?,
                    b.as_slice::<f16>()?,
                    view.as_slice_mut::<f16>()?,
                )?;
            } else {
                self.run(
                    Isa::widest(),
                    a.as_slice::<f32>()?,
                    b.as_slice::<f32>()?,
                    view.as_slice_mut::<f32>()?,
                )?;
            }
        }
        Ok(tvec!(c.into_tvalue()))
    }
}

impl TypedOp for BatchedProduct {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 2, "A and B");
        let dt = inputs[0].datum_type;
        ensure!(
            (dt == f32::datum_type() || dt == f16::datum_type())
                && inputs.iter().all(|f| f.datum_type == dt),
            "float32 or float16 throughout"
        );
        ensure!(
            self.output.iter().product::<usize>() == self.batch * self.m * self.n,
            "an output of {:?} for {} x {}x{} values",
            self.output,
            self.batch,
            self.m,
            self.n
        );
        Ok(tvec!(dt.fact(&*self.output)))
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        Ok(tvec!((
            Cost::FMA(inputs[0].datum_type),
            (self.batch * self.m * self.k * self.n).to_dim()
        )))
    }

    as_op!();
}
