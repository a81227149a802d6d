//! Matrix products `C = A B` (row-major, float32, or float16 in FP16 arithmetic), with a
//! bias per row of `C` and an optional fused clamp (ReLU6): the 1x1 convolutions of
//! EfficientNet-Lite0, which tract's declutter turns into such products over `C, H*W`
//! planes, its stem through [`super::dense`], and the fusion model's layers.
//!
//! Why our own: tract packs both operands into panels before its (fast) inner kernel, and
//! on the backbone's early layers (16 to 40 input channels over 112x112 to 28x28 planes)
//! the packing and the short sums cost more than the arithmetic: 13 to 50 GFLOP/s there,
//! against 85 to 100 on the later, deeper layers. Here `B`'s rows (the planes) are read
//! where they lie, `A`'s values are broadcast one at a time, and each block of `R` rows
//! by `BL` registers of `C` is summed in registers and written once, clamped.

use tract_nnef::internal::*;

use super::half::{HalfIsa, HalfScalar};
use super::lanes::{Isa, Register, Scalar};

/// Floats of `B` a chunk of columns may hold where sums are short (128 KiB: within any L2
/// cache).
const CHUNK_FLOATS: usize = 32 * 1024;

/// Sums shorter than this are written in chunks of columns rather than panel by panel.
const SHORT_SUMS: usize = 24;

/// Terms of the sums taken at once: a panel's part of `B` for them (96 rows of 64 floats
/// with AVX-512, 24 KiB) stays in the L1 cache while every block of rows passes over it;
/// deeper products (ResNet-50's 3x3 convolutions sum 576 to 4,608 terms) are summed in
/// parts, `C` holding the partial sums in between. (Measured here against 64, 128 and
/// 256: within a few percent of the best on every EfficientNet-Lite0, fusion-layer and
/// ResNet-50 shape.)
const MAX_DEPTH: usize = 96;

/// How far ahead of the terms being summed `A` is prefetched, in bytes (256 floats). Weights
/// of a megabyte or more come from memory on every run: prefetched, EfficientNet-Lite0's
/// 7x7 layers took 0.7x the time (2-core Xeon, `lightcap bench --profile`; 128 and 512
/// floats measured no better).
const PREFETCH_AHEAD_BYTES: usize = 1024;

/// How many rows of `B` ahead the first block of rows prefetches (packed, 2 KiB ahead with
/// AVX-512): the fusion layers' products took ~0.9x the time, and the vision graph's other
/// products a few percent less.
const B_PREFETCH_ROWS: usize = 8;

/// Rows of `C` a block computes at once in every instruction set (then 4, 2 and 1 for the
/// rows left): `A` is packed for it.
pub(crate) const ROWS: usize = 6;

/// The blocks of rows `rows` of `m` rows are computed in: `(first row, rows)`.
fn row_blocks(m: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut y = 0;
    std::iter::from_fn(move || {
        let left = m - y;
        let height = match left {
            0 => return None,
            _ if left >= ROWS => ROWS,
            4.. => 4,
            2.. => 2,
            _ => 1,
        };
        y += height;
        Some((y - height, height))
    })
}

/// `A` (`m x k`, row-major) in the order the kernel reads it: block by block of rows (as
/// [`row_blocks`] cuts them), each block term by term, its rows' values side by side. A
/// block starting at row `y` starts at `y * k`. Read this way, every value of `A` is read
/// in sequence, once per panel: weights of megabytes stream from memory rather than
/// coming a few bytes from each of six rows far apart.
pub(crate) fn pack_rows<T: Copy + Default>(a: &[T], m: usize, k: usize) -> Vec<T> {
    let mut packed = vec![T::default(); m * k];
    pack_rows_into(a, m, k, &mut packed);
    packed
}

/// [`pack_rows`] into `packed` (`m * k` values; a tensor of the graph's, at load).
pub(crate) fn pack_rows_into<T: Copy>(a: &[T], m: usize, k: usize, packed: &mut [T]) {
    let mut at = 0;
    for (y, height) in row_blocks(m) {
        for i in 0..k {
            for (out, row) in packed[at..at + height].iter_mut().zip(y..) {
                *out = a[row * k + i];
            }
            at += height;
        }
    }
}

/// [`pack_rows`] of `A` given transposed (`at`, `k x m` row-major: an activation whose
/// features come before its positions).
pub(crate) fn pack_rows_transposed<T: Copy>(at: &[T], m: usize, k: usize) -> Vec<T> {
    let mut packed = Vec::with_capacity(m * k);
    for (y, height) in row_blocks(m) {
        for row in at.chunks_exact(m).take(k) {
            packed.extend_from_slice(&row[y..y + height]);
        }
    }
    packed
}

/// Registers of `C`'s row a block holds in each instruction set (see `x86` for why).
const SCALAR_REGISTERS: usize = 4;
#[cfg(target_arch = "x86_64")]
const AVX2_REGISTERS: usize = 2;
#[cfg(target_arch = "x86_64")]
const AVX512_REGISTERS: usize = 4;
#[cfg(target_arch = "aarch64")]
const NEON_REGISTERS: usize = 4;

/// Columns of a panel (a full block's registers) in `isa`'s kernel: the width `B` is
/// packed in by [`pack_columns_into`].
pub(crate) fn panel_columns(isa: Isa) -> usize {
    match isa {
        Isa::Scalar => SCALAR_REGISTERS * Scalar::LEN,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => AVX2_REGISTERS * super::lanes::Avx2::LEN,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => AVX512_REGISTERS * super::lanes::Avx512::LEN,
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => NEON_REGISTERS * super::lanes::Neon::LEN,
    }
}

/// [`panel_columns`] of `isa`'s float16 kernel.
pub(crate) fn half_panel_columns(isa: HalfIsa) -> usize {
    match isa {
        HalfIsa::Scalar => SCALAR_REGISTERS * HalfScalar::LEN,
        #[cfg(target_arch = "aarch64")]
        HalfIsa::NeonFp16 => NEON_REGISTERS * super::half::NeonFp16::LEN,
    }
}

/// [`pack_columns_into`] a new vector (for tests).
#[cfg(test)]
pub(crate) fn pack_columns<T: Copy + Default>(b: &[T], k: usize, n: usize, panel: usize) -> Vec<T> {
    let mut packed = vec![T::default(); k * n];
    pack_columns_into(b, (k, n), panel, &mut packed);
    packed
}

/// `B` (`k x n`, row-major) into `packed` (`k * n` values) in the order the kernel reads
/// it: panel by panel of `panel` columns (the last one narrower), each panel row by row. A
/// panel starting at column `x` starts at `x * k`. Constant weights on this side (a
/// layer's) are packed so at load, into a tensor of the graph's: the kernel then reads each
/// panel as one sequence, where rows of a wide matrix lie a page or more apart (the fusion
/// layers' products took ~0.9x the time in the graph).
pub(crate) fn pack_columns_into<T: Copy>(
    b: &[T],
    (k, n): (usize, usize),
    panel: usize,
    packed: &mut [T],
) {
    let mut at = 0;
    for x in (0..n).step_by(panel) {
        let width = panel.min(n - x);
        for row in b.chunks_exact(n).take(k) {
            packed[at..at + width].copy_from_slice(&row[x..x + width]);
            at += width;
        }
    }
}

/// [`pack_columns_into`] of `B` given transposed (`bt`, `n x k` row-major: weights written
/// output by output, as tied word embeddings are), turned in tiles that stay in the L1
/// cache (column by column, a vocabulary-sized matrix took most of a second).
pub(crate) fn pack_columns_transposed<T: Copy + Default>(
    bt: &[T],
    k: usize,
    n: usize,
    panel: usize,
) -> Vec<T> {
    let mut packed = vec![T::default(); k * n];
    pack_columns_transposed_into(bt, (k, n), panel, &mut packed);
    packed
}

/// [`pack_columns_transposed`] into `packed` (`k * n` values).
pub(crate) fn pack_columns_transposed_into<T: Copy>(
    bt: &[T],
    (k, n): (usize, usize),
    panel: usize,
    packed: &mut [T],
) {
    const TILE: usize = 64;
    for x in (0..n).step_by(panel) {
        let width = panel.min(n - x);
        let out = &mut packed[x * k..(x + width) * k];
        for first in (0..k).step_by(TILE) {
            let terms = first..(first + TILE).min(k);
            for j in 0..width {
                let column = &bt[(x + j) * k..][terms.clone()];
                for (i, &value) in terms.clone().zip(column) {
                    out[i * width + j] = value;
                }
            }
        }
    }
}

/// Which terms of the sums a pass over `C` adds, and whether they are the last.
#[derive(Clone, Copy)]
struct Sums {
    from: usize,
    to: usize,
    last: bool,
}

/// Bytes in a cache line. While a part of packed `B` is summed, each block of rows brings
/// the next part's lines into the L2 cache, one line per term, block `q` the `q`-th run of
/// them: the next part's weights (24 KiB with AVX-512) arrive over the first few blocks'
/// arithmetic rather than all while the first block of that part waits for them (the
/// fusion layers' products took ~0.8x the time).
const LINE_BYTES: usize = 64;

/// The product as a tract operator. Inputs: `A` (`M x K` values), `B` (`K x N`) and the
/// biases (`M`, or `N` for a layer's, or none for zeros), each in whatever unit axes the
/// graph gives them; output `C` in `output`'s shape (`M x N` values: a 1x1 convolution's
/// `[1, M, H, W]`, a layer's `[1, M, N]`). All float32, or all float16 (a float16 graph's:
/// summed in float16, as tract's FP16 kernels do).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Product {
    /// Rows of `A` and `C`, or `None` for as many as `A` holds when it runs (a decoder
    /// step's layers: beams times new tokens), `A` then being `[M, K]` and `C` `[M, N]`.
    pub m: Option<usize>,
    pub k: usize,
    pub n: usize,
    /// `C`'s shape where `m` is known.
    pub output: Option<TVec<usize>>,
    /// Bounds the output is clamped to, as `f32` bits (a ReLU6 that followed it).
    pub clamp: Option<(u32, u32)>,
    /// How `A` comes: packed at load or as the graph holds it.
    pub a: ALayout,
    /// Whether the biases are one per column of `C` (`N`: a layer's, added to the finished
    /// sums) rather than per row (starting them).
    pub column_bias: bool,
    /// The panel width `B` comes packed in ([`pack_columns_into`]: a layer's constant weights,
    /// packed at load for the instruction set it runs with, [`panel_columns`] or
    /// [`half_panel_columns`]), or `None` for row-major.
    pub b_panel: Option<usize>,
}

/// How a [`Product`]'s `A` comes to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ALayout {
    /// Packed by [`pack_rows`]: constant weights, packed at load.
    Packed,
    /// `M x K` row-major: a layer's activations, packed at every run.
    Rows,
    /// `K x M` row-major (activations whose features come before their positions, as the
    /// backbone's image features do), packed at every run.
    Transposed,
}

/// One call's operands, float32 or float16 (`T`): what every instruction set's kernel reads.
pub(crate) struct Operands<'a, T = f32> {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// `A` packed by [`pack_rows`].
    pub a: &'a [T],
    /// `B`, row-major or packed by [`pack_columns_into`] in panels of `b_panel` columns.
    pub b: &'a [T],
    pub b_panel: Option<usize>,
    /// One per row of `C` (per column if `column_bias`), or none for zeros.
    pub biases: &'a [T],
    pub column_bias: bool,
    pub clamp: Option<(T, T)>,
    /// Values between the starts of consecutive rows of `C`: `n`, or more where `C` is a
    /// band of columns of a wider matrix.
    pub c_stride: usize,
}

impl Product {
    /// `C = A B + bias` (clamped) in float32 with `isa`'s kernel, `A` as [`Product::a`]
    /// says.
    pub fn run(
        &self,
        isa: Isa,
        a: &[f32],
        b: &[f32],
        biases: &[f32],
        c: &mut [f32],
    ) -> TractResult<()> {
        let mut packed = vec![];
        match self.operands(a, b, biases, |bound| bound, &mut packed)? {
            Some(operands) => operands.run(isa, c),
            None => Ok(()),
        }
    }

    /// The same in float16 with `isa`'s float16 kernel.
    pub fn run_half(
        &self,
        isa: HalfIsa,
        a: &[f16],
        b: &[f16],
        biases: &[f16],
        c: &mut [f16],
    ) -> TractResult<()> {
        let mut packed = vec![];
        match self.operands(a, b, biases, f16::from_f32, &mut packed)? {
            Some(operands) => operands.run_half(isa, c),
            None => Ok(()),
        }
    }

    /// The operands of one call (`A` packed into `packed` where it comes unpacked, the
    /// clamp's bounds converted by `value`), or none if `A` has no rows.
    fn operands<'a, T: Copy + Default>(
        &self,
        a: &'a [T],
        b: &'a [T],
        biases: &'a [T],
        value: impl Fn(f32) -> T,
        packed: &'a mut Vec<T>,
    ) -> TractResult<Option<Operands<'a, T>>> {
        let m = self.m.unwrap_or(a.len() / self.k.max(1));
        ensure!(
            a.len() == m * self.k,
            "{} values of A for {m}x{}",
            a.len(),
            self.k
        );
        if m == 0 {
            return Ok(None);
        }
        let a = match self.a {
            ALayout::Packed => a,
            ALayout::Rows => {
                *packed = pack_rows(a, m, self.k);
                packed
            }
            ALayout::Transposed => {
                *packed = pack_rows_transposed(a, m, self.k);
                packed
            }
        };
        Ok(Some(Operands {
            m,
            k: self.k,
            n: self.n,
            a,
            b,
            b_panel: self.b_panel,
            biases,
            column_bias: self.column_bias,
            clamp: self
                .clamp
                .map(|(low, high)| (value(f32::from_bits(low)), value(f32::from_bits(high)))),
            c_stride: self.n,
        }))
    }
}

impl Operands<'_, f32> {
    pub fn run(&self, isa: Isa, c: &mut [f32]) -> TractResult<()> {
        self.check(c.len(), panel_columns(isa))?;
        // SAFETY: each arm runs only where `Isa::available` found its instruction set, and
        // the lengths were checked above.
        unsafe {
            match isa {
                Isa::Scalar => self.columns::<Scalar, ROWS, SCALAR_REGISTERS>(c),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => x86::run_avx2(self, c),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => x86::run_avx512(self, c),
                #[cfg(target_arch = "aarch64")]
                Isa::Neon => self.columns::<super::lanes::Neon, ROWS, NEON_REGISTERS>(c),
            }
        }
        Ok(())
    }
}

impl Operands<'_, f16> {
    pub fn run_half(&self, isa: HalfIsa, c: &mut [f16]) -> TractResult<()> {
        self.check(c.len(), half_panel_columns(isa))?;
        // SAFETY: each arm runs only where `HalfIsa` found its instruction set (`widest`, or
        // `available` in tests), and the lengths were checked above.
        unsafe {
            match isa {
                HalfIsa::Scalar => self.columns::<HalfScalar, ROWS, SCALAR_REGISTERS>(c),
                #[cfg(target_arch = "aarch64")]
                HalfIsa::NeonFp16 => arm::run_fp16(self, c),
            }
        }
        Ok(())
    }
}

impl<T: Copy + Default> Operands<'_, T> {
    /// That the slices' lengths fit `m`, `k` and `n` and `B`'s panels the kernel's width
    /// (`panel`): an error, not a read out of bounds.
    fn check(&self, c: usize, panel: usize) -> TractResult<()> {
        let (m, k, n) = (self.m, self.k, self.n);
        ensure!(
            m > 0
                && k > 0
                && n > 0
                && self.a.len() == m * k
                && self.b.len() == k * n
                && (self.biases.len() == if self.column_bias { n } else { m }
                    || self.biases.is_empty())
                && self.c_stride >= n
                && c == (m - 1) * self.c_stride + n,
            "a product of {m}x{k} by {k}x{n} given {}, {} and {} biases into {c} (rows {} apart)",
            self.a.len(),
            self.b.len(),
            self.biases.len(),
            self.c_stride
        );
        if let Some(packed) = self.b_panel {
            ensure!(
                packed == panel,
                "B packed in panels of {packed} columns for a kernel that reads {panel}"
            );
        }
        Ok(())
    }

    /// Every block of `C`: panel by panel of columns (chunks of them where the sums are
    /// short), and in each, the sums' terms in parts of at most `MAX_DEPTH`, every block of
    /// `R` rows over each part.
    ///
    /// # Safety
    /// The CPU must run `V`'s instructions; the slices' lengths match `m`, `k`, `n`.
    #[inline(always)]
    pub(crate) unsafe fn columns<V: Register<Value = T>, const R: usize, const BL: usize>(
        &self,
        c: &mut [T],
    ) {
        let panel = BL * V::LEN;
        let depth = self.k.min(MAX_DEPTH);
        // One panel at a time (its `B` stays in the L1 cache while every block of rows
        // passes over it) unless the sums are short: then `C`, not `B`, is the traffic,
        // and wide chunks write it a long run per row.
        let chunk = if depth < SHORT_SUMS {
            (CHUNK_FLOATS / depth).max(panel) / panel * panel
        } else {
            panel
        };
        let mut start = 0;
        while start < self.n {
            let end = (start + chunk).min(self.n);
            let mut terms = 0;
            while terms < self.k {
                let to = (terms + depth).min(self.k);
                let sums = Sums {
                    from: terms,
                    to,
                    last: to == self.k,
                };
                unsafe { self.rows::<V, R, BL>(start, end, sums, c) };
                terms = to;
            }
            start = end;
        }
    }

    /// Columns `start..end` of every row, `R` rows at a time, then 4, 2 and 1.
    #[inline(always)]
    unsafe fn rows<V: Register<Value = T>, const R: usize, const BL: usize>(
        &self,
        start: usize,
        end: usize,
        sums: Sums,
        c: &mut [T],
    ) {
        let mut y = 0;
        unsafe {
            while y + R <= self.m {
                self.panels::<V, R, BL>(y, start, end, sums, c);
                y += R;
            }
            if R > 4 && y + 4 <= self.m {
                self.panels::<V, 4, BL>(y, start, end, sums, c);
                y += 4;
            }
            if R > 2 && y + 2 <= self.m {
                self.panels::<V, 2, BL>(y, start, end, sums, c);
                y += 2;
            }
            while y < self.m {
                self.panels::<V, 1, BL>(y, start, end, sums, c);
                y += 1;
            }
        }
    }

    /// Rows `y..y + R`, columns `start..end`: panels of `BL` registers, the last narrower
    /// with its last register partly filled where `end` is not a whole number of them.
    #[inline(always)]
    unsafe fn panels<V: Register<Value = T>, const R: usize, const BL: usize>(
        &self,
        y: usize,
        start: usize,
        end: usize,
        sums: Sums,
        c: &mut [T],
    ) {
        let panel = BL * V::LEN;
        let mut x = start;
        unsafe {
            while x + panel <= end {
                self.block::<V, R, BL, false>(y, x, V::LEN, sums, c);
                x += panel;
            }
            let left = end - x;
            if left > 0 {
                // The registers the rest needs, the last one with `lanes` columns.
                let registers = left.div_ceil(V::LEN);
                let lanes = left - (registers - 1) * V::LEN;
                match registers {
                    1 => self.block::<V, R, 1, true>(y, x, lanes, sums, c),
                    2 if BL > 2 => self.block::<V, R, 2, true>(y, x, lanes, sums, c),
                    3 if BL > 3 => self.block::<V, R, 3, true>(y, x, lanes, sums, c),
                    _ => self.block::<V, R, BL, true>(y, x, lanes, sums, c),
                }
            }
        }
    }

    /// Rows `y..y + R`, columns `x..` (`BL` registers, the last holding `lanes` columns if
    /// `PARTIAL`) of `C`: the bias (or what earlier terms summed), then for each of the
    /// terms `sums` covers one row of `B`'s registers times each row's value of `A`, then,
    /// after the last terms, the clamp.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    unsafe fn block<
        V: Register<Value = T>,
        const R: usize,
        const BL: usize,
        const PARTIAL: bool,
    >(
        &self,
        y: usize,
        x: usize,
        lanes: usize,
        sums: Sums,
        c: &mut [T],
    ) {
        let (k, n, ldc) = (self.k, self.n, self.c_stride);
        let line = LINE_BYTES / size_of::<T>();
        debug_assert!(y + R <= self.m);
        debug_assert!(x + (BL - 1) * V::LEN + if PARTIAL { lanes } else { V::LEN } <= n);
        unsafe {
            let out = c.as_mut_ptr().add(y * ldc + x);
            // A bias per row starts the sums; one per column is added to them at the end.
            let no_row_bias = self.biases.is_empty() || self.column_bias;
            let mut acc: [[V; BL]; R] = if sums.from == 0 && no_row_bias {
                [[V::splat(T::default()); BL]; R]
            } else if sums.from == 0 {
                let biases = self.biases.as_ptr().add(y);
                std::array::from_fn(|r| [V::splat(*biases.add(r)); BL])
            } else {
                std::array::from_fn(|r| {
                    std::array::from_fn(|j| {
                        let at = out.add(r * ldc + j * V::LEN);
                        if PARTIAL && j == BL - 1 {
                            V::load_partial(at, lanes)
                        } else {
                            V::load(at)
                        }
                    })
                })
            };
            let a = self.a.as_ptr().add(y * k);
            // Where `B`'s row of this panel starts, and the next one.
            let (b, b_stride) = match self.b_panel {
                None => (self.b.as_ptr().add(x), n),
                Some(panel) => (self.b.as_ptr().add(x * k), panel.min(n - x)),
            };
            // The first block of rows over a part of `B` brings it in (a layer's weights from
            // memory, a layer's activations from rows a page or more apart); the others
            // find it in the L1 cache.
            let b_ahead = if y == 0 {
                B_PREFETCH_ROWS * b_stride
            } else {
                0
            };
            // Packed `B`'s next part follows this one (in this panel, or the next panel's
            // first): this block's share of it, one line per term.
            let next_part = b.wrapping_add(sums.to * b_stride);
            let (next_first, next_lines) = match self.b_panel {
                Some(_) => {
                    let lines = (MAX_DEPTH.min(k) * b_stride).div_ceil(line);
                    let first = y / ROWS * (sums.to - sums.from);
                    (first, lines.saturating_sub(first).min(sums.to - sums.from))
                }
                None => (0, 0),
            };
            for i in sums.from..sums.to {
                let b_row = b.add(i * b_stride);
                if b_ahead > 0 {
                    for j in 0..BL {
                        V::prefetch(b_row.wrapping_add(b_ahead + j * V::LEN));
                    }
                }
                let term = i - sums.from;
                if term < next_lines {
                    V::prefetch_l2(next_part.wrapping_add((next_first + term) * line));
                }
                let row: [V; BL] = std::array::from_fn(|j| {
                    if PARTIAL && j == BL - 1 {
                        V::load_partial(b_row.add(j * V::LEN), lanes)
                    } else {
                        V::load(b_row.add(j * V::LEN))
                    }
                });
                V::prefetch(a.wrapping_add(i * R + PREFETCH_AHEAD_BYTES / size_of::<T>()));
                for r in 0..R {
                    let weight = V::splat(*a.add(i * R + r));
                    for j in 0..BL {
                        acc[r][j] = weight.mul_add(row[j], acc[r][j]);
                    }
                }
            }
            if sums.last && self.column_bias && !self.biases.is_empty() {
                let biases = self.biases.as_ptr().add(x);
                for j in 0..BL {
                    let bias = if PARTIAL && j == BL - 1 {
                        V::load_partial(biases.add(j * V::LEN), lanes)
                    } else {
                        V::load(biases.add(j * V::LEN))
                    };
                    for r in 0..R {
                        acc[r][j] = acc[r][j].add(bias);
                    }
                }
            }
            if let (Some((low, high)), true) = (self.clamp, sums.last) {
                let (low, high) = (V::splat(low), V::splat(high));
                // Index loops, unrolled whole: an iterator loop here keeps the sums in
                // memory, stored after every multiply-add of the loop above.
                for r in 0..R {
                    for j in 0..BL {
                        acc[r][j] = acc[r][j].max(low).min(high);
                    }
                }
            }
            for r in 0..R {
                for j in 0..BL {
                    let at = out.add(r * ldc + j * V::LEN);
                    if PARTIAL && j == BL - 1 {
                        acc[r][j].store_partial(at, lanes);
                    } else {
                        acc[r][j].store(at);
                    }
                }
            }
        }
    }
}

impl Op for Product {
    fn name(&self) -> StaticName {
        "MatMul(lightcap)".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let m = self.m.map_or("M".to_string(), |m| m.to_string());
        Ok(vec![format!(
            "{m}x{} by {}x{} clamp {:?}",
            self.k,
            self.k,
            self.n,
            self.clamp
                .map(|(low, high)| (f32::from_bits(low), f32::from_bits(high)))
        )])
    }

    fn validation(&self) -> Validation {
        // Sums in another order than tract's: equal up to rounding.
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for Product {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, b, biases) = args_3!(inputs);
        let shape = match &self.output {
            Some(shape) => shape.clone(),
            None => tvec![a.len() / self.k.max(1), self.n],
        };
        let dt = a.datum_type();
        // SAFETY: floats need no initialisation to be valid, and `run` writes every value.
        let mut c = unsafe { Tensor::uninitialized_dt(dt, &shape)? };
        {
            let a = a.try_as_plain_ram()?;
            let b = b.try_as_plain_ram()?;
            let biases = biases.try_as_plain_ram()?;
            let mut view = c.try_as_plain_ram_mut()?;
            // The widest registers, also on planes that fill the last one partly (49 or 196
            // values): the masked last register costs less than narrower registers
            // throughout (AVX-512 took 0.77-0.9x AVX2's time on EfficientNet-Lite0's).
            if dt == f16::datum_type() {
                self.run_half(
                    HalfIsa::widest(),
                    a.as_slice::<f16>()?,
                    b.as_slice::<f16>()?,
                    biases.as_slice::<f16>()?,
                    view.as_slice_mut::<f16>()?,
                )?;
            } else {
                self.run(
                    Isa::widest(),
                    a.as_slice::<f32>()?,
                    b.as_slice::<f32>()?,
                    biases.as_slice::<f32>()?,
                    view.as_slice_mut::<f32>()?,
                )?;
            }
        }
        Ok(tvec!(c.into_tvalue()))
    }
}

impl TypedOp for Product {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 3, "A, B and biases");
        let dt = inputs[0].datum_type;
        ensure!(
            (dt == f32::datum_type() || dt == f16::datum_type())
                && inputs.iter().all(|f| f.datum_type == dt),
            "float32 or float16 throughout"
        );
        match (self.m, &self.output) {
            (Some(m), Some(output)) => {
                ensure!(
                    output.iter().product::<usize>() == m * self.n,
                    "an output of {output:?} for {m}x{} values",
                    self.n
                );
                Ok(tvec!(dt.fact(&**output)))
            }
            (None, None) => {
                let a = &inputs[0].shape;
                ensure!(
                    a.rank() == 2 && a[1] == self.k.to_dim(),
                    "A of {a:?} for rows of {}",
                    self.k
                );
                Ok(tvec!(dt.fact([a[0].clone(), self.n.to_dim()])))
            }
            _ => bail!("rows known and output shape not, or the other way round"),
        }
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let rows = match self.m {
            Some(m) => m.to_dim(),
            None => inputs[0].shape[0].clone(),
        };
        Ok(tvec!((
            Cost::FMA(inputs[0].datum_type),
            rows * (self.k * self.n)
        )))
    }

    as_op!();
}

/// The generic kernel compiled for each x86-64 instruction set, with the block that fills
/// its registers: 6 x 2 of AVX2's 16 (and 2 for `B`'s row, 1 for `A`'s value), 6 x 4 of
/// AVX-512's 32. (4 x 3 on AVX2 left too few registers and spilled sums to memory.)
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{AVX2_REGISTERS, AVX512_REGISTERS, Operands, ROWS};
    use crate::kernels::lanes::{Avx2, Avx512};

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_avx2(operands: &Operands, c: &mut [f32]) {
        unsafe { operands.columns::<Avx2, ROWS, AVX2_REGISTERS>(c) }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn run_avx512(operands: &Operands, c: &mut [f32]) {
        unsafe { operands.columns::<Avx512, ROWS, AVX512_REGISTERS>(c) }
    }
}

/// The float16 kernel compiled with FP16 arithmetic: the same block as NEON's float32 one,
/// 6 x 4 registers of 8 lanes.
#[cfg(target_arch = "aarch64")]
mod arm {
    use tract_nnef::internal::f16;

    use super::{NEON_REGISTERS, Operands, ROWS};
    use crate::kernels::half::NeonFp16;

    #[target_feature(enable = "fp16")]
    pub(super) unsafe fn run_fp16(operands: &Operands<f16>, c: &mut [f16]) {
        unsafe { operands.columns::<NeonFp16, ROWS, NEON_REGISTERS>(c) }
    }
}
