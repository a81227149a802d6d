//! Dense 2-D convolution (every output channel over every input channel; float32 or
//! float16, `[N,] C, H, W`), any kernel size, stride and zero padding, an optional fused clamp: the
//! stem of EfficientNet-Lite0 (3x3, stride 2, 3 -> 32 channels, with its ReLU6) and the
//! 3x3 and 7x7 convolutions of the ResNet-50 backbone.
//!
//! Why our own: tract lowers these to its packed matrix kernels over an im2col it builds
//! lazily, which ran Lite0's stem at 15-20 GFLOP/s (27-value sums over 12,544 columns) and
//! ResNet-50's at about 74. Ours writes the patches out (`C * kh * kw` rows of the output
//! plane's length) and hands them to [`super::product`]'s kernel, which reads rows where
//! they lie and fuses the bias and clamp.

use std::cell::RefCell;
use std::thread::LocalKey;

use tract_nnef::internal::*;

use super::depthwise::Geometry;
use super::half::HalfIsa;
use super::lanes::Isa;
use super::product::Operands;

/// The convolution as a tract operator. Inputs: the image (`[N,] C, H, W`), the kernels
/// (`C_out x C * kh * kw` values, OIHW order, packed by [`super::product::pack_rows`]) and the biases
/// (`C_out`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DenseConv {
    pub geometry: Geometry,
    pub input_channels: usize,
    pub output_channels: usize,
    /// Bounds the output is clamped to, as `f32` bits (a ReLU or ReLU6 that followed it).
    pub clamp: Option<(u32, u32)>,
}

/// Values of patches written at a time (256 KiB of float32: within any L2 cache).
const BAND_VALUES: usize = 64 * 1024;

/// Output positions a band holds at least, whatever the size of its patches.
const MIN_BAND_COLUMNS: usize = 512;

thread_local! {
    /// The patches of the last band of rows convolved on this thread, reused rather than
    /// allocated again for every band (float32 and float16).
    static PATCHES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static HALF_PATCHES: RefCell<Vec<f16>> = const { RefCell::new(Vec::new()) };
}

impl DenseConv {
    fn clamp(&self) -> Option<(f32, f32)> {
        self.clamp
            .map(|(low, high)| (f32::from_bits(low), f32::from_bits(high)))
    }

    /// Values in one row of patches (and of one output channel's plane).
    fn columns(&self) -> usize {
        self.geometry.output[0] * self.geometry.output[1]
    }

    /// Rows of patches: one per input channel and tap.
    fn patch_rows(&self) -> usize {
        self.input_channels * self.geometry.kernel[0] * self.geometry.kernel[1]
    }

    /// Convolve the images in `input` (whole `C, H, W` images, one after another) with
    /// `isa`'s kernel.
    pub fn run(
        &self,
        isa: Isa,
        input: &[f32],
        kernels: &[f32],
        biases: &[f32],
        output: &mut [f32],
    ) -> TractResult<()> {
        let clamp = self.clamp();
        let operands = (input, kernels, biases);
        self.convolve(operands, output, &PATCHES, clamp, |product, c| {
            product.run(isa, c)
        })
    }

    /// The same in float16 with `isa`'s float16 kernel.
    pub fn run_half(
        &self,
        isa: HalfIsa,
        input: &[f16],
        kernels: &[f16],
        biases: &[f16],
        output: &mut [f16],
    ) -> TractResult<()> {
        let clamp = (self.clamp()).map(|(low, high)| (f16::from_f32(low), f16::from_f32(high)));
        let operands = (input, kernels, biases);
        self.convolve(operands, output, &HALF_PATCHES, clamp, |product, c| {
            product.run_half(isa, c)
        })
    }

    /// The convolution in either precision: patches band by band in `scratch`, each band
    /// through `product` (the product's kernel for the precision).
    fn convolve<T: Copy + Default + 'static>(
        &self,
        (input, kernels, biases): (&[T], &[T], &[T]),
        output: &mut [T],
        scratch: &'static LocalKey<RefCell<Vec<T>>>,
        clamp: Option<(T, T)>,
        product: impl Fn(&Operands<T>, &mut [T]) -> TractResult<()>,
    ) -> TractResult<()> {
        let [h, w] = self.geometry.input;
        let image = self.input_channels * h * w;
        let out_image = self.output_channels * self.columns();
        ensure!(
            image > 0 && input.len().is_multiple_of(image) && !input.is_empty(),
            "{} values are not whole images of {} channels of {h}x{w}",
            input.len(),
            self.input_channels
        );
        let images = input.len() / image;
        ensure!(
            output.len() == images * out_image,
            "an output of {} values for {images} images of {out_image}",
            output.len()
        );
        let [oh, ow] = self.geometry.output;
        // Bands of output rows whose patches fit the L2 cache: written, then read at once
        // by the product (ResNet-50's 3x3 over 112x112 would otherwise write and read back
        // 14 MB of patches); but wide enough that the kernels, read again for every band,
        // are not most of the traffic (its 512 -> 512 channel 3x3s have 9 MB of them).
        let band = (BAND_VALUES / (self.patch_rows() * ow))
            .max(MIN_BAND_COLUMNS.div_ceil(ow))
            .clamp(1, oh);
        scratch.with_borrow_mut(|patches| {
            for (image, out) in input
                .chunks_exact(image)
                .zip(output.chunks_exact_mut(out_image))
            {
                for first in (0..oh).step_by(band) {
                    let rows = first..(first + band).min(oh);
                    let n = rows.len() * ow;
                    patches.resize(self.patch_rows() * n, T::default());
                    self.write_patches(image, rows.clone(), patches);
                    let columns = self.columns();
                    let operands = Operands {
                        m: self.output_channels,
                        k: self.patch_rows(),
                        n,
                        a: kernels,
                        b: patches,
                        b_panel: None,
                        biases,
                        column_bias: false,
                        clamp,
                        c_stride: columns,
                    };
                    let c = &mut out[first * ow..][..(self.output_channels - 1) * columns + n];
                    product(&operands, c)?;
                }
            }
            Ok(())
        })
    }

    /// The patches of one image for output rows `rows`: row `(c, i, j)` holds, for each of
    /// their positions, the input value tap `(i, j)` of channel `c` meets there (zero in
    /// the padding).
    fn write_patches<T: Copy + Default>(
        &self,
        image: &[T],
        rows: std::ops::Range<usize>,
        patches: &mut [T],
    ) {
        let g = &self.geometry;
        let [h, w] = g.input;
        let [kh, kw] = g.kernel;
        let [sh, sw] = g.stride;
        let [pad_top, pad_left] = g.pad_before;
        let ow = g.output[1];
        let mut patch_rows = patches.chunks_exact_mut(rows.len() * ow);
        for plane in image.chunks_exact(h * w) {
            for i in 0..kh {
                for j in 0..kw {
                    let Some(row) = patch_rows.next() else { return };
                    // Output columns whose tap lands inside the input: x * sw + j - pad_left
                    // in 0..w.
                    let first = pad_left.saturating_sub(j).div_ceil(sw);
                    let end = (w + pad_left).saturating_sub(j).div_ceil(sw).min(ow);
                    for (y, out) in rows.clone().zip(row.chunks_exact_mut(ow)) {
                        let input_row = (y * sh + i).checked_sub(pad_top).filter(|&r| r < h);
                        let (Some(r), true) = (input_row, first < end) else {
                            out.fill(T::default());
                            continue;
                        };
                        let src = &plane[r * w..][..w];
                        out[..first].fill(T::default());
                        out[end..].fill(T::default());
                        let start = first * sw + j - pad_left;
                        if sw == 1 {
                            out[first..end].copy_from_slice(&src[start..start + end - first]);
                        } else {
                            for (value, x) in out[first..end].iter_mut().zip((start..).step_by(sw))
                            {
                                *value = src[x];
                            }
                        }
                    }
                }
            }
        }
    }

    fn output_shape<D: Clone + From<usize>>(&self, input: &[D]) -> TractResult<TVec<D>> {
        ensure!(input.len() >= 3, "a convolution's image is [N,] C, H, W");
        let mut shape: TVec<D> = input.iter().cloned().collect();
        let rank = shape.len();
        shape[rank - 3] = self.output_channels.into();
        shape[rank - 2] = self.geometry.output[0].into();
        shape[rank - 1] = self.geometry.output[1].into();
        Ok(shape)
    }
}

impl Op for DenseConv {
    fn name(&self) -> StaticName {
        "Conv(lightcap)".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let g = &self.geometry;
        Ok(vec![format!(
            "{} -> {} channels, kernel {:?} stride {:?} pad {:?} {:?} -> {:?} clamp {:?}",
            self.input_channels,
            self.output_channels,
            g.kernel,
            g.stride,
            g.pad_before,
            g.input,
            g.output,
            self.clamp()
        )])
    }

    fn validation(&self) -> Validation {
        // Sums in another order than tract's: equal up to rounding.
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for DenseConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (image, kernels, biases) = args_3!(inputs);
        let shape = self.output_shape(image.shape())?;
        let dt = image.datum_type();
        // SAFETY: floats need no initialisation to be valid, and `run` writes every value.
        let mut output = unsafe { Tensor::uninitialized_dt(dt, &shape)? };
        {
            let image = image.try_as_plain_ram()?;
            let kernels = kernels.try_as_plain_ram()?;
            let biases = biases.try_as_plain_ram()?;
            let mut view = output.try_as_plain_ram_mut()?;
            if dt == f16::datum_type() {
                self.run_half(
                    HalfIsa::widest(),
                    image.as_slice::<f16>()?,
                    kernels.as_slice::<f16>()?,
                    biases.as_slice::<f16>()?,
                    view.as_slice_mut::<f16>()?,
                )?;
            } else {
                self.run(
                    Isa::widest(),
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

impl TypedOp for DenseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 3, "image, kernels and biases");
        let dt = inputs[0].datum_type;
        ensure!(
            (dt == f32::datum_type() || dt == f16::datum_type())
                && inputs.iter().all(|f| f.datum_type == dt),
            "float32 or float16 throughout"
        );
        let shape: TVec<TDim> = self.output_shape(&inputs[0].shape.to_tvec())?;
        Ok(tvec!(dt.fact(shape)))
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let per_image = self.output_channels * self.patch_rows() * self.columns();
        let rank = inputs[0].rank();
        let images: TDim = inputs[0].shape.iter().take(rank - 3).product();
        Ok(tvec!((Cost::FMA(inputs[0].datum_type), images * per_image)))
    }

    as_op!();
}
