//! Depthwise 2-D convolution over channel planes (`[N,] C, H, W`, float32 or float16):
//! each channel convolved with its own `kh x kw` kernel, any stride, zero padding, an
//! optional fused clamp (ReLU6).
//!
//! Why our own: tract's `DepthWiseConv` walks the kernel's taps for each output point with
//! scalar arithmetic outside unit-stride unpadded zones (sonos/tract#2734, #2739), about
//! 3-7 GFLOP/s here, where EfficientNet-Lite0 is mostly 3x3 and 5x5 depthwise
//! convolutions with padding and stride 2. Ours vectorises along the output row instead:
//! each channel's plane is first copied into a zero-bordered scratch, split into one
//! plane per column phase when the stride is 2 or more, so every tap of every output row
//! is a run of contiguous loads and fused multiply-adds, whatever the padding and stride.
//!
//! The kernel is written once over [`Register`], for float32 lanes and for float16 ones
//! (`super::half`): a float16 graph, what phones run, computes its depthwise layers in
//! FP16 arithmetic, 8 lanes a register.

use tract_nnef::internal::*;

use super::half::{HalfIsa, HalfScalar};
use super::lanes::{Isa, Register, Scalar};

/// How the planes and kernels of one convolution fit together (height, width order).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Geometry {
    pub input: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Zero rows above and zero columns left of the input (the padding after is implied
    /// by `output`).
    pub pad_before: [usize; 2],
    pub output: [usize; 2],
}

/// The convolution as a tract operator. Inputs: the image (`[N,] C, H, W`), the kernels
/// `[C, kh * kw]` and the biases `[C]`, all float32 or all float16.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DepthwiseConv {
    pub geometry: Geometry,
    /// Bounds the output is clamped to, as `f32` bits (a ReLU6 that followed it).
    pub clamp: Option<(u32, u32)>,
}

impl DepthwiseConv {
    fn clamp(&self) -> Option<(f32, f32)> {
        self.clamp
            .map(|(low, high)| (f32::from_bits(low), f32::from_bits(high)))
    }

    /// Convolve float32 channel planes (batch times channels) with `isa`'s kernel.
    pub fn run(
        &self,
        isa: Isa,
        input: &[f32],
        kernels: &[f32],
        biases: &[f32],
        output: &mut [f32],
    ) -> TractResult<()> {
        self.check(input.len(), kernels.len(), biases.len(), output.len())?;
        let planes = Planes {
            geometry: &self.geometry,
            input,
            kernels,
            biases,
            clamp: self.clamp(),
        };
        // SAFETY: each arm runs only where `Isa::available` found its instruction set.
        unsafe {
            match isa {
                Isa::Scalar => planes.run::<Scalar>(output),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => x86::run_avx2(&planes, output),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => x86::run_avx512(&planes, output),
                #[cfg(target_arch = "aarch64")]
                Isa::Neon => planes.run::<super::lanes::Neon>(output),
            }
        }
        Ok(())
    }

    /// Convolve float16 channel planes with `isa`'s kernel.
    pub fn run_half(
        &self,
        isa: HalfIsa,
        input: &[f16],
        kernels: &[f16],
        biases: &[f16],
        output: &mut [f16],
    ) -> TractResult<()> {
        self.check(input.len(), kernels.len(), biases.len(), output.len())?;
        let planes = Planes {
            geometry: &self.geometry,
            input,
            kernels,
            biases,
            clamp: self
                .clamp()
                .map(|(low, high)| (f16::from_f32(low), f16::from_f32(high))),
        };
        // SAFETY: each arm runs only where `HalfIsa` found its instruction set (`widest`, or
        // `available` in tests).
        unsafe {
            match isa {
                HalfIsa::Scalar => planes.run::<HalfScalar>(output),
                #[cfg(target_arch = "aarch64")]
                HalfIsa::NeonFp16 => arm::run_fp16(&planes, output),
            }
        }
        Ok(())
    }

    /// That the slices' lengths fit the geometry (an error, not a read out of bounds).
    fn check(
        &self,
        input: usize,
        kernels: usize,
        channels: usize,
        output: usize,
    ) -> TractResult<()> {
        let g = &self.geometry;
        let [h, w] = g.input;
        let [oh, ow] = g.output;
        let taps = g.kernel[0] * g.kernel[1];
        ensure!(
            channels > 0 && kernels == channels * taps,
            "{kernels} kernel values for {channels} channels of {taps} taps"
        );
        let planes = input / (h * w).max(1);
        ensure!(
            h * w > 0
                && input == planes * h * w
                && planes.is_multiple_of(channels)
                && output == planes * oh * ow,
            "input of {input} values, output of {output} for {channels} channels of {h}x{w} -> {oh}x{ow}"
        );
        Ok(())
    }
}

impl Op for DepthwiseConv {
    fn name(&self) -> StaticName {
        "DepthwiseConv(lightcap)".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let g = &self.geometry;
        Ok(vec![format!(
            "kernel {:?} stride {:?} pad {:?} {:?} -> {:?} clamp {:?}",
            g.kernel,
            g.stride,
            g.pad_before,
            g.input,
            g.output,
            self.clamp()
        )])
    }

    fn validation(&self) -> Validation {
        // Sums in another order than tract's reference: equal up to rounding.
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for DepthwiseConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (image, kernels, biases) = args_3!(inputs);
        let shape = self.output_shape(image.shape())?;
        let half = image.datum_type() == f16::datum_type();
        let mut output = if half {
            Tensor::zero::<f16>(&shape)?
        } else {
            Tensor::zero::<f32>(&shape)?
        };
        {
            let image = image.try_as_plain_ram()?;
            let kernels = kernels.try_as_plain_ram()?;
            let biases = biases.try_as_plain_ram()?;
            let mut view = output.try_as_plain_ram_mut()?;
            if half {
                self.run_half(
                    HalfIsa::widest(),
                    image.as_slice::<f16>()?,
                    kernels.as_slice::<f16>()?,
                    biases.as_slice::<f16>()?,
                    view.as_slice_mut::<f16>()?,
                )?;
            } else {
                self.run(
                    Isa::for_rows_of(self.geometry.output[1]),
                    image.as_slice::<f32>()?,
                    kernels.as_slice::<f32>()?,
                    biases.as_slice::<f32>()?,
                    view.as_slice_mut::<f32>()?,
                )?;
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl DepthwiseConv {
    fn output_shape<D: Clone + From<usize>>(&self, input: &[D]) -> TractResult<TVec<D>> {
        ensure!(
            input.len() >= 3,
            "a depthwise convolution's image is [N,] C, H, W"
        );
        let mut shape: TVec<D> = input.iter().cloned().collect();
        let rank = shape.len();
        shape[rank - 2] = self.geometry.output[0].into();
        shape[rank - 1] = self.geometry.output[1].into();
        Ok(shape)
    }
}

impl TypedOp for DepthwiseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 3, "image, kernels and biases");
        let datum_type = inputs[0].datum_type;
        ensure!(
            [f32::datum_type(), f16::datum_type()].contains(&datum_type)
                && inputs.iter().all(|input| input.datum_type == datum_type),
            "float32 or float16, all three inputs alike"
        );
        let shape: TVec<TDim> = self.output_shape(&inputs[0].shape.to_tvec())?;
        Ok(tvec!(datum_type.fact(shape)))
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let g = &self.geometry;
        let per_plane = g.output[0] * g.output[1] * g.kernel[0] * g.kernel[1];
        let rank = inputs[0].rank();
        let planes: TDim = inputs[0].shape.iter().take(rank - 2).product();
        Ok(tvec!((Cost::FMA(inputs[0].datum_type), planes * per_plane)))
    }

    as_op!();
}

/// One call's planes, kernels and biases (of float32 or float16 values `T`): what every
/// instruction set's kernel reads.
struct Planes<'a, T> {
    geometry: &'a Geometry,
    input: &'a [T],
    kernels: &'a [T],
    biases: &'a [T],
    clamp: Option<(T, T)>,
}

/// The zero-bordered copy of one channel plane that the row kernel reads: for each padded
/// row, `stride_w` phase rows, phase `p` holding padded columns `p, p + s, p + 2s, ...`, so
/// that tap `j` of output columns `x..x + LEN` reads phase `j % s` from column `x + j / s`
/// on, contiguously.
struct Scratch<T> {
    values: Vec<T>,
    /// Values per phase row: the rounded output row plus the kernel's reach in a phase.
    row_len: usize,
    /// Padded rows held (those some output row reads).
    rows: usize,
    /// Where each tap's run starts, relative to its output row's first padded row.
    tap_offsets: Vec<usize>,
}

impl<T: Copy + Default> Scratch<T> {
    fn new(g: &Geometry, lanes: usize) -> Scratch<T> {
        let [kh, kw] = g.kernel;
        let [sh, sw] = g.stride;
        let [oh, ow] = g.output;
        let row_len = ow.div_ceil(lanes) * lanes + (kw - 1) / sw;
        let rows = (oh - 1) * sh + kh;
        let tap_offsets = (0..kh * kw)
            .map(|t| {
                let (i, j) = (t / kw, t % kw);
                (i * sw + j % sw) * row_len + j / sw
            })
            .collect();
        Scratch {
            values: vec![T::default(); rows * sw * row_len],
            row_len,
            rows,
            tap_offsets,
        }
    }

    /// Copy one channel's plane in; the border stays as `new` left it, zero.
    #[inline(always)]
    unsafe fn fill<V: Register<Value = T>>(&mut self, g: &Geometry, plane: &[T]) {
        let [h, w] = g.input;
        let sw = g.stride[1];
        let [pad_top, pad_left] = g.pad_before;
        for r in pad_top..(pad_top + h).min(self.rows) {
            let src = &plane[(r - pad_top) * w..][..w];
            let dst = &mut self.values[r * sw * self.row_len..][..sw * self.row_len];
            match sw {
                1 => {
                    let n = w.min(self.row_len.saturating_sub(pad_left));
                    unsafe { copy::<V>(&src[..n], &mut dst[pad_left..pad_left + n]) };
                }
                2 => unsafe { split_columns::<V>(src, dst, self.row_len, pad_left) },
                _ => {
                    // Input column c is padded column c + pad_left.
                    for (c, &value) in src.iter().enumerate() {
                        let (phase, q) = ((c + pad_left) % sw, (c + pad_left) / sw);
                        if q < self.row_len {
                            dst[phase * self.row_len + q] = value;
                        }
                    }
                }
            }
        }
    }
}

/// One input row into the two phase rows of stride 2: its even columns and its odd ones,
/// each to the phase and place their padded columns fall in.
#[inline(always)]
unsafe fn split_columns<V: Register>(
    src: &[V::Value],
    dst: &mut [V::Value],
    row_len: usize,
    pad_left: usize,
) {
    // Input column 2i is padded column 2i + pad_left: phase pad_left % 2, place i + pad_left / 2.
    let even_start = (pad_left % 2) * row_len + pad_left / 2;
    let odd_start = ((pad_left + 1) % 2) * row_len + pad_left.div_ceil(2);
    let evens = src
        .len()
        .div_ceil(2)
        .min(row_len.saturating_sub(pad_left / 2));
    let odds = (src.len() / 2).min(row_len.saturating_sub(pad_left.div_ceil(2)));
    let pairs = evens.min(odds);
    let mut i = 0;
    unsafe {
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
        while i + V::LEN <= pairs {
            let (even, odd) = V::load_pairs(s.add(2 * i));
            even.store(d.add(even_start + i));
            odd.store(d.add(odd_start + i));
            i += V::LEN;
        }
        // The last (at most `LEN`) evens and odds from partial loads: a plane 28 or 14 wide
        // is nothing but this tail.
        if i < evens {
            let rest = (src.len() - 2 * i).min(2 * V::LEN);
            let first = V::load_partial(s.add(2 * i), rest.min(V::LEN));
            let second = if rest > V::LEN {
                V::load_partial(s.add(2 * i + V::LEN), rest - V::LEN)
            } else {
                V::splat(V::Value::default())
            };
            let (even, odd) = V::unzip(first, second);
            even.store_partial(d.add(even_start + i), evens - i);
            if i < odds {
                odd.store_partial(d.add(odd_start + i), odds - i);
            }
        }
    }
}

/// `src` into `dst` (as long), whole registers then one partial one: rows of a few dozen
/// values, where a call to `memcpy` per row costs more than the copy.
#[inline(always)]
unsafe fn copy<V: Register>(src: &[V::Value], dst: &mut [V::Value]) {
    debug_assert_eq!(src.len(), dst.len());
    let mut i = 0;
    unsafe {
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
        while i + V::LEN <= src.len() {
            V::load(s.add(i)).store(d.add(i));
            i += V::LEN;
        }
        if i < src.len() {
            V::load_partial(s.add(i), src.len() - i).store_partial(d.add(i), src.len() - i);
        }
    }
}

impl<T: Copy + Default> Planes<'_, T> {
    /// Every plane, in the lanes of `V`.
    ///
    /// # Safety
    /// The CPU must run `V`'s instructions.
    #[inline(always)]
    unsafe fn run<V: Register<Value = T>>(&self, output: &mut [T]) {
        let g = self.geometry;
        let [h, w] = g.input;
        let [oh, ow] = g.output;
        let taps = g.kernel[0] * g.kernel[1];
        let channels = self.biases.len();
        let mut scratch = Scratch::<T>::new(g, V::LEN);
        let registers = ow.div_ceil(V::LEN);
        let planes = self.input.chunks_exact(h * w);
        for (index, (plane, out)) in planes.zip(output.chunks_exact_mut(oh * ow)).enumerate() {
            let channel = index % channels;
            let kernel = &self.kernels[channel * taps..][..taps];
            let bias = self.biases[channel];
            unsafe {
                scratch.fill::<V>(g, plane);
                // Eight independent sums at a time keep the multiply-add units busy: along the
                // row where it is wide, over several rows where it is narrow.
                match registers {
                    1 => self.plane::<V, 8, 1>(&scratch, kernel, bias, out),
                    2 | 3 => self.plane::<V, 4, 2>(&scratch, kernel, bias, out),
                    4..=7 => self.plane::<V, 2, 4>(&scratch, kernel, bias, out),
                    _ => self.plane::<V, 1, 8>(&scratch, kernel, bias, out),
                }
            }
        }
    }

    /// One output plane, in blocks of `R` rows by `B` registers.
    #[inline(always)]
    unsafe fn plane<V: Register<Value = T>, const R: usize, const B: usize>(
        &self,
        scratch: &Scratch<T>,
        kernel: &[T],
        bias: T,
        out: &mut [T],
    ) {
        let oh = self.geometry.output[0];
        let mut y = 0;
        unsafe {
            while y + R <= oh {
                self.rows::<V, R, B>(scratch, kernel, bias, y, out);
                y += R;
            }
            // The rows left, in halving blocks.
            if R > 4 && y + 4 <= oh {
                self.rows::<V, 4, B>(scratch, kernel, bias, y, out);
                y += 4;
            }
            if R > 2 && y + 2 <= oh {
                self.rows::<V, 2, B>(scratch, kernel, bias, y, out);
                y += 2;
            }
            while y < oh {
                self.rows::<V, 1, B>(scratch, kernel, bias, y, out);
                y += 1;
            }
        }
    }

    /// Output rows `y..y + R`, `B` registers at a time, then narrower blocks for the rest.
    #[inline(always)]
    unsafe fn rows<V: Register<Value = T>, const R: usize, const B: usize>(
        &self,
        scratch: &Scratch<T>,
        kernel: &[T],
        bias: T,
        y: usize,
        out: &mut [T],
    ) {
        let registers = self.geometry.output[1].div_ceil(V::LEN);
        let mut done = 0;
        unsafe {
            while done + B <= registers {
                self.block::<V, R, B>(scratch, kernel, bias, y, done * V::LEN, out);
                done += B;
            }
            while B > 4 && done + 4 <= registers {
                self.block::<V, R, 4>(scratch, kernel, bias, y, done * V::LEN, out);
                done += 4;
            }
            while B > 2 && done + 2 <= registers {
                self.block::<V, R, 2>(scratch, kernel, bias, y, done * V::LEN, out);
                done += 2;
            }
            while done < registers {
                self.block::<V, R, 1>(scratch, kernel, bias, y, done * V::LEN, out);
                done += 1;
            }
        }
    }

    /// `R` rows by `B` registers of output from row `y`, column `x`: bias, then every tap's
    /// weight times the scratch's run at the tap's offset, then the clamp.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // Counted loops on purpose: see below.
    unsafe fn block<V: Register<Value = T>, const R: usize, const B: usize>(
        &self,
        scratch: &Scratch<T>,
        kernel: &[T],
        bias: T,
        y: usize,
        x: usize,
        out: &mut [T],
    ) {
        let [sh, sw] = self.geometry.stride;
        // Scratch values between the first padded rows of consecutive output rows.
        let row_step = sh * sw * scratch.row_len;
        let ow = self.geometry.output[1];
        let first = y * row_step + x;
        debug_assert!(
            first + (R - 1) * row_step + scratch.tap_offsets.last().unwrap() + B * V::LEN
                <= scratch.values.len()
        );
        debug_assert!((y + R - 1) * ow + x < out.len());
        // Counted loops over `R` and `B` (not iterators), which the compiler unrolls even
        // around the float16 register's inline assembly, so the sums stay in registers.
        unsafe {
            let src = scratch.values.as_ptr().add(first);
            let mut acc = [[V::splat(bias); B]; R];
            for (&weight, &offset) in kernel.iter().zip(&scratch.tap_offsets) {
                let weight = V::splat(weight);
                for r in 0..R {
                    let run = src.add(r * row_step + offset);
                    for b in 0..B {
                        acc[r][b] = weight.mul_add(V::load(run.add(b * V::LEN)), acc[r][b]);
                    }
                }
            }
            let clamp = self
                .clamp
                .map(|(low, high)| (V::splat(low), V::splat(high)));
            // Straight into the output rows, the register past a row's end partly.
            let dst = out.as_mut_ptr().add(y * ow + x);
            for r in 0..R {
                for b in 0..B {
                    let mut value = acc[r][b];
                    if let Some((low, high)) = clamp {
                        value = value.max(low).min(high);
                    }
                    let column = x + b * V::LEN;
                    let to = dst.add(r * ow + b * V::LEN);
                    if column + V::LEN <= ow {
                        value.store(to);
                    } else {
                        value.store_partial(to, ow - column);
                    }
                }
            }
        }
    }
}

/// The generic kernel compiled for each x86-64 instruction set.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Planes;
    use crate::kernels::lanes::{Avx2, Avx512};

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_avx2(planes: &Planes<f32>, output: &mut [f32]) {
        unsafe { planes.run::<Avx2>(output) }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn run_avx512(planes: &Planes<f32>, output: &mut [f32]) {
        unsafe { planes.run::<Avx512>(output) }
    }
}

/// The generic kernel compiled for ARMv8.2's FP16 arithmetic.
#[cfg(target_arch = "aarch64")]
mod arm {
    use tract_nnef::internal::f16;

    use super::Planes;
    use crate::kernels::half::NeonFp16;

    #[target_feature(enable = "fp16")]
    pub(super) unsafe fn run_fp16(planes: &Planes<f16>, output: &mut [f16]) {
        unsafe { planes.run::<NeonFp16>(output) }
    }
}
