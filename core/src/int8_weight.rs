//! Int8 weights kept int8 inside a tract graph, for the pre-optimised pack form (`nnef`).
//!
//! The pre-optimised form is written from the graph as loading declutters it, where the
//! pack's int8 weights are float32 (`dequantize` folds them before tract sees the graph)
//! and some are transposed or copied. Stored like that they would take four times their
//! bytes. So before writing, every large float32 constant that lies exactly on a
//! per-channel int8 grid (`q * scale` gives back each value bit for bit) is put back
//! behind an [`Int8Dequantize`] of its int8 values: an op that tract cannot fold (it
//! has no out-of-plan evaluation), which loading folds into the same float32 constant
//! ([`crate::nnef::fold_int8_weights`]) before tract optimises the graph.

use tract_nnef::tract_core::internal::*;

/// How many consecutive values share a scale: all of them for a single scale, else one
/// channel's slice of the dimensions after `axis`.
pub(crate) fn run_length(dims: &[usize], axis: Option<usize>, len: usize) -> usize {
    match axis {
        None => len.max(1),
        Some(axis) => dims[axis + 1..].iter().product::<usize>().max(1),
    }
}

/// `(q - zero_point) * scale` for every int8 value (as a byte), runs of `run` values
/// sharing a scale, channels cycling through `scales` (the ONNX path, `dequantize`).
#[cfg(feature = "onnx")]
pub(crate) fn for_each_dequantized(
    values: &[u8],
    run: usize,
    scales: &[f32],
    zero_points: &[i8],
    mut emit: impl FnMut(f32),
) {
    let channels = scales.iter().zip(zero_points).cycle();
    for (chunk, (&s, &z)) in values.chunks(run).zip(channels) {
        let z = f32::from(z);
        for &q in chunk {
            emit(dequantized(q, s, z));
        }
    }
}

/// One int8 value (as a byte) made float32: the formula both graph forms use.
#[inline(always)]
fn dequantized(q: u8, scale: f32, zero_point: f32) -> f32 {
    (f32::from(q as i8) - zero_point) * scale
}

/// Runs shorter than this share a scale with too few values to loop over one at a time.
const SHORT_RUN: usize = 16;

/// The scales of a run of int8 values: one for all, or one each.
#[derive(Clone, Copy)]
enum Scales<'a> {
    One(f32),
    Each(&'a [f32]),
}

/// `out[i] = q[i] * scale` for int8 values `q` (as bytes), as [`dequantized`] computes it,
/// 16 values at a time in SSE2 or NEON, which every x86-64 and aarch64 CPU has. (Written
/// out because the plain loop is left scalar by the release build: it optimises for size,
/// where the vectoriser will not add the loop's scalar tail.)
fn widen_scaled(q: &[u8], scales: Scales, out: &mut [f32]) {
    let len = q.len().min(out.len());
    if let Scales::Each(each) = scales {
        assert!(each.len() >= len, "a scale for every value");
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    // SAFETY: `simd::widen_scaled` reads and writes the first `len / 16 * 16` values of
    // `q`, `out` and (for `Each`) the scales, all at least `len` long.
    let done = unsafe { simd::widen_scaled(&q[..len], scales, &mut out[..len]) };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let done = 0;
    for i in done..len {
        let scale = match scales {
            Scales::One(s) => s,
            Scales::Each(each) => each[i],
        };
        out[i] = dequantized(q[i], scale, 0.0);
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    use super::Scales;

    /// [`super::widen_scaled`] on the first multiple of 16 values; returns how many.
    /// `q`, `out` (and `Each`'s scales) must be as long as `q`.
    pub(super) unsafe fn widen_scaled(q: &[u8], scales: Scales, out: &mut [f32]) -> usize {
        let done = q.len() / 16 * 16;
        for i in (0..done).step_by(16) {
            unsafe {
                let bytes = _mm_loadu_si128(q.as_ptr().add(i).cast());
                // Each byte into both halves of a 16-bit lane, shifted down with its sign;
                // then each 16-bit value the same way into 32 bits.
                let low = _mm_srai_epi16::<8>(_mm_unpacklo_epi8(bytes, bytes));
                let high = _mm_srai_epi16::<8>(_mm_unpackhi_epi8(bytes, bytes));
                let words = [
                    _mm_srai_epi32::<16>(_mm_unpacklo_epi16(low, low)),
                    _mm_srai_epi32::<16>(_mm_unpackhi_epi16(low, low)),
                    _mm_srai_epi32::<16>(_mm_unpacklo_epi16(high, high)),
                    _mm_srai_epi32::<16>(_mm_unpackhi_epi16(high, high)),
                ];
                for (j, word) in words.into_iter().enumerate() {
                    let at = i + 4 * j;
                    let scale = match scales {
                        Scales::One(s) => _mm_set1_ps(s),
                        Scales::Each(each) => _mm_loadu_ps(each.as_ptr().add(at)),
                    };
                    let value = _mm_mul_ps(_mm_cvtepi32_ps(word), scale);
                    _mm_storeu_ps(out.as_mut_ptr().add(at), value);
                }
            }
        }
        done
    }
}

#[cfg(target_arch = "aarch64")]
mod simd {
    use std::arch::aarch64::*;

    use super::Scales;

    /// [`super::widen_scaled`] on the first multiple of 16 values; returns how many.
    /// `q`, `out` (and `Each`'s scales) must be as long as `q`.
    pub(super) unsafe fn widen_scaled(q: &[u8], scales: Scales, out: &mut [f32]) -> usize {
        let done = q.len() / 16 * 16;
        for i in (0..done).step_by(16) {
            unsafe {
                let bytes = vld1q_s8(q.as_ptr().add(i).cast());
                let low = vmovl_s8(vget_low_s8(bytes));
                let high = vmovl_high_s8(bytes);
                let words = [
                    vmovl_s16(vget_low_s16(low)),
                    vmovl_high_s16(low),
                    vmovl_s16(vget_low_s16(high)),
                    vmovl_high_s16(high),
                ];
                for (j, word) in words.into_iter().enumerate() {
                    let at = i + 4 * j;
                    let scale = match scales {
                        Scales::One(s) => vdupq_n_f32(s),
                        Scales::Each(each) => vld1q_f32(each.as_ptr().add(at)),
                    };
                    let value = vmulq_f32(vcvtq_f32_s32(word), scale);
                    vst1q_f32(out.as_mut_ptr().add(at), value);
                }
            }
        }
        done
    }
}

/// An int8 weight made float32: `q * scales[channel]`, channels along `axis` (one scale for
/// the whole tensor when `axis` is `None`). Inputs: the int8 values, the scales (1-D).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Int8Dequantize {
    pub axis: Option<usize>,
}

impl Int8Dequantize {
    pub fn dequantize(&self, values: &Tensor, scales: &Tensor) -> TractResult<Tensor> {
        // SAFETY: floats need no initialisation to be valid; `dequantize_into` writes every
        // value (or fails, and the tensor is dropped unread).
        let mut out = unsafe { Tensor::uninitialized::<f32>(values.shape())? };
        {
            let mut view = out.try_as_plain_ram_mut()?;
            self.dequantize_into(values, scales, view.as_slice_mut::<f32>()?)?;
        }
        Ok(out)
    }

    /// The float32 values written into `out` (as many as the weight has), in the weight's
    /// order: for a reader that has somewhere to put them already.
    pub fn dequantize_into(
        &self,
        values: &Tensor,
        scales: &Tensor,
        out: &mut [f32],
    ) -> TractResult<()> {
        ensure!(
            values.datum_type() == i8::datum_type(),
            "the weight is not int8"
        );
        let scales = scales.try_as_plain_ram()?;
        let scales = scales.as_slice::<f32>()?;
        let channels = match self.axis {
            None => 1,
            Some(axis) => *values.shape().get(axis).context("axis out of range")?,
        };
        ensure!(
            scales.len() == channels,
            "{} scales for {channels} channels",
            scales.len()
        );
        let bytes = values.try_as_plain_ram()?.as_bytes();
        ensure!(
            out.len() == bytes.len(),
            "{} values for a weight of {}",
            out.len(),
            bytes.len()
        );
        if bytes.is_empty() {
            return Ok(());
        }
        let run = run_length(values.shape(), self.axis, bytes.len());
        // This runs over every weight of a pack at load: long runs one scale at a time;
        // short runs (a scale per column, as matrix weights have) against the scales spread
        // out to one per value. Both in SIMD (`widen_scaled`).
        if run >= SHORT_RUN {
            let runs = out.chunks_mut(run).zip(bytes.chunks(run));
            for ((out, q), &s) in runs.zip(scales.iter().cycle()) {
                widen_scaled(q, Scales::One(s), out);
            }
        } else {
            let spread: Vec<f32> = scales
                .iter()
                .flat_map(|&s| std::iter::repeat_n(s, run))
                .collect();
            let rows = out.chunks_mut(spread.len()).zip(bytes.chunks(spread.len()));
            for (out, q) in rows {
                widen_scaled(q, Scales::Each(&spread[..q.len()]), out);
            }
        }
        Ok(())
    }
}

impl Op for Int8Dequantize {
    fn name(&self) -> StaticName {
        "Int8Dequantize".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Int8Dequantize {
    // Deliberately none: decluttering would fold the weight into float32 before it is written.
    not_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (values, scales) = args_2!(inputs);
        Ok(tvec!(self.dequantize(&values, &scales)?.into_tvalue()))
    }
}

impl TypedOp for Int8Dequantize {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }

    as_op!();
}

// Writing (the exporter): finding the int8 weights in a decluttered graph.

/// The smallest weight worth storing as int8 (as `scripts/lightcap/quantize.py` decides).
#[cfg(feature = "onnx")]
const MIN_INT8_ELEMENTS: usize = 4096;

/// The per-channel int8 grid a float32 tensor lies on, if it does exactly: `q` and one
/// scale per channel along `axis` such that `q * scale` gives back every value bit for
/// bit. The scale is the channel's largest magnitude over 127, as packs quantize.
#[cfg(feature = "onnx")]
fn exact_int8_grid(tensor: &Tensor, axis: usize) -> Option<(Tensor, Tensor)> {
    let values = tensor.try_as_plain_ram().ok()?;
    let values = values.as_slice::<f32>().ok()?;
    let shape = tensor.shape();
    let channels = shape[axis];
    let run = run_length(shape, Some(axis), values.len());
    let mut max_abs = vec![0f32; channels];
    for (chunk, c) in values.chunks(run).zip((0..channels).cycle()) {
        for v in chunk {
            max_abs[c] = max_abs[c].max(v.abs());
        }
    }
    let scales: Vec<f32> = max_abs
        .iter()
        .map(|&m| if m > 0.0 { m / 127.0 } else { 1.0 })
        .collect();
    let mut q = Vec::with_capacity(values.len());
    for (chunk, c) in values.chunks(run).zip((0..channels).cycle()) {
        for &v in chunk {
            let level = (v / scales[c]).round();
            if !(-127.0..=127.0).contains(&level) || level * scales[c] != v {
                return None;
            }
            q.push(level as i8);
        }
    }
    let q = Tensor::from_shape(shape, &q).ok()?;
    let scales = Tensor::from_shape(&[channels], &scales).ok()?;
    Some((q, scales))
}

/// Put every large float32 constant that lies exactly on a per-channel int8 grid behind
/// an [`Int8Dequantize`] of its int8 values, so the pre-optimised form stores it as int8.
/// Returns how many were replaced.
#[cfg(feature = "onnx")]
pub(crate) fn keep_int8_weights(model: &mut TypedModel) -> TractResult<usize> {
    let mut patch = TypedModelPatch::default();
    let mut kept = 0;
    for node in model.nodes() {
        let Some(konst) = node.op_as::<tract_nnef::tract_core::ops::konst::Const>() else {
            continue;
        };
        let tensor = konst.val();
        if tensor.datum_type() != f32::datum_type()
            || tensor.len() < MIN_INT8_ELEMENTS
            || konst.exotic_fact().is_some()
        {
            continue;
        }
        let Some((axis, (q, scales))) =
            (0..tensor.rank()).find_map(|axis| exact_int8_grid(tensor, axis).map(|g| (axis, g)))
        else {
            continue;
        };
        let q = patch.add_const(format!("{}.int8", node.name), q)?;
        let scales = patch.add_const(format!("{}.scales", node.name), scales)?;
        let weight = patch.wire_node(
            format!("{}.dequantize", node.name),
            Int8Dequantize { axis: Some(axis) },
            &[q, scales],
        )?[0];
        patch.shunt_outside(model, node.id.into(), weight)?;
        kept += 1;
    }
    patch.apply(model)?;
    Ok(kept)
}

#[cfg(all(test, feature = "onnx"))]
mod tests {
    use super::*;

    fn weight(shape: &[usize], values: &[f32]) -> Tensor {
        Tensor::from_shape(shape, values).unwrap()
    }

    fn contents<T: Datum + Copy>(t: &Tensor) -> Vec<T> {
        t.try_as_plain_ram()
            .unwrap()
            .as_slice::<T>()
            .unwrap()
            .to_vec()
    }

    #[test]
    fn a_per_channel_grid_is_found_and_dequantizes_bit_for_bit() {
        // Rows scaled by 0.1 and 0.03 (axis 0): a grid along rows, not along columns.
        let q = [127.0f32, -3.0, 5.0, 1.0, -127.0, 64.0];
        let scales = [0.1f32, 0.03];
        let grid: Vec<f32> = q
            .iter()
            .enumerate()
            .map(|(i, &q)| q * scales[i / 3])
            .collect();
        let tensor = weight(&[2, 3], &grid);
        let (int8, found) = exact_int8_grid(&tensor, 0).expect("a grid along axis 0");
        assert_eq!(contents::<f32>(&found), scales);
        let back = Int8Dequantize { axis: Some(0) }
            .dequantize(&int8, &found)
            .unwrap();
        let bits =
            |t: &Tensor| -> Vec<u32> { contents::<f32>(t).iter().map(|v| v.to_bits()).collect() };
        assert_eq!(bits(&back), bits(&tensor));
        assert!(
            exact_int8_grid(&tensor, 1).is_none(),
            "columns mix two scales"
        );
    }

    #[test]
    fn every_axis_dequantizes_with_its_own_channel_scales() {
        // Runs of 1 and 2 (the short path) and of 20 and 40 (one scale at a time).
        for (shape, axis) in [
            (vec![3, 4, 20], 0),
            (vec![3, 4, 20], 1),
            (vec![3, 4, 20], 2),
            (vec![3, 5, 2], 1),
            (vec![2, 3, 40], 0),
        ] {
            let len: usize = shape.iter().product();
            let q: Vec<i8> = (0..len).map(|i| (i * 37 % 255) as u8 as i8).collect();
            let channels = shape[axis];
            let scales: Vec<f32> = (0..channels).map(|c| 0.01 + c as f32 * 0.5).collect();
            let after: usize = shape[axis + 1..].iter().product();
            let expected: Vec<f32> = q
                .iter()
                .enumerate()
                .map(|(i, &q)| f32::from(q) * scales[i / after % channels])
                .collect();
            let values = Tensor::from_shape(&shape, &q).unwrap();
            let scales = Tensor::from_shape(&[channels], &scales).unwrap();
            let out = Int8Dequantize { axis: Some(axis) }
                .dequantize(&values, &scales)
                .unwrap();
            assert_eq!(out.shape(), &shape[..]);
            assert_eq!(contents::<f32>(&out), expected, "{shape:?} along {axis}");
        }
    }

    #[test]
    fn simd_widening_gives_the_plain_formulas_values_at_every_length() {
        // Every int8 value, at lengths around the 16 a SIMD step takes, one scale for all
        // and one each.
        let q: Vec<u8> = (0..=255u8).chain(0..=255).collect();
        let each: Vec<f32> = (0..q.len()).map(|i| 0.001 + i as f32 * 0.37).collect();
        for len in [0, 1, 15, 16, 17, 31, 33, 48, 255, 512] {
            for (offset, scales) in [(0, Scales::One(0.0173)), (3, Scales::Each(&each[2..]))] {
                let q = &q[offset..offset + len.min(q.len() - offset)];
                let mut out = vec![f32::NAN; q.len()];
                widen_scaled(q, scales, &mut out);
                for (i, (&got, &q)) in out.iter().zip(q).enumerate() {
                    let scale = match scales {
                        Scales::One(s) => s,
                        Scales::Each(each) => each[i],
                    };
                    let want = dequantized(q, scale, 0.0);
                    assert_eq!(got.to_bits(), want.to_bits(), "{len} values: {i}");
                }
            }
        }
    }

    #[test]
    fn values_off_the_grid_stay_float() {
        let tensor = weight(&[2, 2], &[1.0, 0.5, 0.3333, -1.0]);
        assert!(exact_int8_grid(&tensor, 0).is_none());
        assert!(exact_int8_grid(&tensor, 1).is_none());
    }

    #[test]
    fn an_all_zero_channel_gets_scale_one() {
        let tensor = weight(&[2, 2], &[0.0, 0.0, 63.5, -1.5]);
        let (int8, scales) = exact_int8_grid(&tensor, 0).unwrap();
        assert_eq!(contents::<f32>(&scales)[0], 1.0);
        assert_eq!(contents::<i8>(&int8)[..2], [0, 0]);
    }

    #[test]
    fn decluttering_does_not_fold_an_int8_weight_and_loading_does() {
        let mut model = TypedModel::default();
        let int8 = model
            .add_const("w.int8", tensor2(&[[1i8, -2], [3, 127]]))
            .unwrap();
        let scales = model
            .add_const("w.scales", tensor1(&[0.5f32, 2.0]))
            .unwrap();
        let w = model
            .wire_node("w", Int8Dequantize { axis: Some(0) }, &[int8, scales])
            .unwrap()[0];
        model.select_output_outlets(&[w]).unwrap();
        let mut model = model.into_decluttered().unwrap();
        let kept = model
            .nodes()
            .iter()
            .filter(|n| n.op_is::<Int8Dequantize>())
            .count();
        assert_eq!(kept, 1);
        assert_eq!(crate::nnef::fold_int8_weights(&mut model).unwrap(), 1);
        let output = model
            .outlet_fact(model.output_outlets().unwrap()[0])
            .unwrap();
        let value = output.konst.clone().expect("a constant once folded");
        assert_eq!(contents::<f32>(&value), [0.5, -1.0, 6.0, 254.0]);
    }
}
