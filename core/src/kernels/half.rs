//! Float16 registers, for the kernels that have a half-precision form (the depthwise
//! convolution): what a float16 graph, the one [`Precision::Auto`] runs on phones, computes
//! in.
//!
//! ARMv8.2's FP16 arithmetic does 8 lanes per 128-bit register, twice float32's 4. Rust's
//! float16 NEON intrinsics are not stable, so the arithmetic is one instruction of inline
//! assembly each, over the stable `uint16x8_t` (loads, stores and shuffles are the 16-bit
//! integer intrinsics: they move the same bits). Elsewhere a plain-Rust register computes in
//! float32 and rounds each result to float16: a reference for tests, and a fallback where a
//! CPU without FP16 is asked for float16 graphs (`Precision::Float16`, emulated and slow
//! anyway).
//!
//! [`Precision::Auto`]: crate::Precision::Auto

use tract_nnef::internal::f16;

use super::lanes::Register;

/// Which float16 register a kernel runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HalfIsa {
    Scalar,
    /// NEON with FP16 arithmetic (ARMv8.2-A and later: phones since about 2018).
    #[cfg(target_arch = "aarch64")]
    NeonFp16,
}

impl HalfIsa {
    /// Every float16 set this CPU runs, narrowest first (tests run each one): the plain-Rust
    /// one, and the widest where that is another.
    #[cfg(test)]
    pub fn available() -> Vec<HalfIsa> {
        let mut sets = vec![HalfIsa::Scalar];
        if HalfIsa::widest() != HalfIsa::Scalar {
            sets.push(HalfIsa::widest());
        }
        sets
    }

    /// The widest float16 set this CPU runs (asked at every float16 operator's run: no
    /// list built).
    pub fn widest() -> HalfIsa {
        #[cfg(target_arch = "aarch64")]
        if std::arch::is_aarch64_feature_detected!("fp16") {
            return HalfIsa::NeonFp16;
        }
        HalfIsa::Scalar
    }
}

/// One float16 lane in plain Rust, each result computed in float32 and rounded to float16.
/// It converts in software (`half`'s `_const` forms, which inline): the hardware ones are a
/// call each behind a run-time check on x86, and took a float16 test of the real 1x1
/// layers a minute there.
#[derive(Clone, Copy)]
pub(crate) struct HalfScalar(f16);

/// `x` as float32, and `x` rounded to float16 (to nearest, ties to even).
#[inline(always)]
fn wide(x: f16) -> f32 {
    x.to_f32_const()
}
#[inline(always)]
fn narrow(x: f32) -> f16 {
    f16::from_f32_const(x)
}

impl Register for HalfScalar {
    type Value = f16;
    const LEN: usize = 1;
    #[inline(always)]
    unsafe fn splat(x: f16) -> Self {
        HalfScalar(x)
    }
    #[inline(always)]
    unsafe fn load(ptr: *const f16) -> Self {
        HalfScalar(unsafe { *ptr })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f16) {
        unsafe { *ptr = self.0 }
    }
    #[inline(always)]
    unsafe fn load_partial(ptr: *const f16, _count: usize) -> Self {
        unsafe { Self::load(ptr) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, ptr: *mut f16, _count: usize) {
        unsafe { self.store(ptr) }
    }
    #[inline(always)]
    unsafe fn unzip(a: Self, b: Self) -> (Self, Self) {
        (a, b)
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // Exact in float32 (a product of two float16s fits its 24 bits), then one rounding
        // to float32 for the sum and one to float16.
        HalfScalar(narrow(wide(self.0) * wide(b.0) + wide(c.0)))
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        HalfScalar(narrow(wide(self.0) + wide(other.0)))
    }
    #[inline(always)]
    unsafe fn max(self, other: Self) -> Self {
        HalfScalar(narrow(wide(self.0).max(wide(other.0))))
    }
    #[inline(always)]
    unsafe fn min(self, other: Self) -> Self {
        HalfScalar(narrow(wide(self.0).min(wide(other.0))))
    }
}

#[cfg(target_arch = "aarch64")]
pub(crate) use neon::NeonFp16;

#[cfg(target_arch = "aarch64")]
mod neon {
    use std::arch::aarch64::*;
    use std::arch::asm;

    use tract_nnef::internal::f16;

    use crate::kernels::lanes::Register;

    /// 8 float16 lanes of NEON with FP16 arithmetic. Call its methods only from code
    /// compiled with `#[target_feature(enable = "fp16")]`, on a CPU that has it.
    #[derive(Clone, Copy)]
    pub(crate) struct NeonFp16(uint16x8_t);

    /// The first `count` (0 to 4) of the 4 values at `ptr`, zeros after, lane by lane (NEON
    /// has no masked loads; lane loads read nothing past what they load).
    #[inline(always)]
    unsafe fn load_quarter(ptr: *const u16, count: usize) -> uint16x4_t {
        unsafe {
            let zero = vdup_n_u16(0);
            match count {
                0 => zero,
                1 => vld1_lane_u16::<0>(ptr, zero),
                2 => vld1_lane_u16::<1>(ptr.add(1), vld1_lane_u16::<0>(ptr, zero)),
                3 => vld1_lane_u16::<2>(
                    ptr.add(2),
                    vld1_lane_u16::<1>(ptr.add(1), vld1_lane_u16::<0>(ptr, zero)),
                ),
                _ => vld1_u16(ptr),
            }
        }
    }

    /// The first `count` (0 to 4) lanes of `half` to `ptr`.
    #[inline(always)]
    unsafe fn store_quarter(half: uint16x4_t, ptr: *mut u16, count: usize) {
        unsafe {
            if count >= 4 {
                return vst1_u16(ptr, half);
            }
            if count >= 1 {
                vst1_lane_u16::<0>(ptr, half);
            }
            if count >= 2 {
                vst1_lane_u16::<1>(ptr.add(1), half);
            }
            if count >= 3 {
                vst1_lane_u16::<2>(ptr.add(2), half);
            }
        }
    }

    impl Register for NeonFp16 {
        type Value = f16;
        const LEN: usize = 8;
        #[inline(always)]
        unsafe fn splat(x: f16) -> Self {
            NeonFp16(unsafe { vdupq_n_u16(x.to_bits()) })
        }
        #[inline(always)]
        unsafe fn load(ptr: *const f16) -> Self {
            NeonFp16(unsafe { vld1q_u16(ptr.cast()) })
        }
        #[inline(always)]
        unsafe fn store(self, ptr: *mut f16) {
            unsafe { vst1q_u16(ptr.cast(), self.0) }
        }
        #[inline(always)]
        unsafe fn load_partial(ptr: *const f16, count: usize) -> Self {
            let ptr: *const u16 = ptr.cast();
            unsafe {
                if count >= 8 {
                    return NeonFp16(vld1q_u16(ptr));
                }
                let low = load_quarter(ptr, count.min(4));
                let high = load_quarter(ptr.add(4), count.saturating_sub(4));
                NeonFp16(vcombine_u16(low, high))
            }
        }
        #[inline(always)]
        unsafe fn store_partial(self, ptr: *mut f16, count: usize) {
            let ptr: *mut u16 = ptr.cast();
            unsafe {
                if count >= 8 {
                    return vst1q_u16(ptr, self.0);
                }
                store_quarter(vget_low_u16(self.0), ptr, count.min(4));
                store_quarter(vget_high_u16(self.0), ptr.add(4), count.saturating_sub(4));
            }
        }
        #[inline(always)]
        unsafe fn unzip(a: Self, b: Self) -> (Self, Self) {
            unsafe {
                (
                    NeonFp16(vuzp1q_u16(a.0, b.0)),
                    NeonFp16(vuzp2q_u16(a.0, b.0)),
                )
            }
        }
        #[inline(always)]
        unsafe fn load_pairs(ptr: *const f16) -> (Self, Self) {
            let pairs = unsafe { vld2q_u16(ptr.cast()) };
            (NeonFp16(pairs.0), NeonFp16(pairs.1))
        }
        #[inline(always)]
        unsafe fn mul_add(self, b: Self, c: Self) -> Self {
            let mut sum = c.0;
            // FMLA: sum += self * b, lane by lane, one rounding.
            unsafe {
                asm!(
                    "fmla {sum:v}.8h, {a:v}.8h, {b:v}.8h",
                    sum = inout(vreg) sum,
                    a = in(vreg) self.0,
                    b = in(vreg) b.0,
                    options(pure, nomem, nostack, preserves_flags)
                )
            };
            NeonFp16(sum)
        }
        #[inline(always)]
        unsafe fn add(self, other: Self) -> Self {
            let out: uint16x8_t;
            unsafe {
                asm!(
                    "fadd {out:v}.8h, {a:v}.8h, {b:v}.8h",
                    out = lateout(vreg) out,
                    a = in(vreg) self.0,
                    b = in(vreg) other.0,
                    options(pure, nomem, nostack, preserves_flags)
                )
            };
            NeonFp16(out)
        }
        #[inline(always)]
        unsafe fn max(self, other: Self) -> Self {
            let out: uint16x8_t;
            unsafe {
                asm!(
                    "fmax {out:v}.8h, {a:v}.8h, {b:v}.8h",
                    out = lateout(vreg) out,
                    a = in(vreg) self.0,
                    b = in(vreg) other.0,
                    options(pure, nomem, nostack, preserves_flags)
                )
            };
            NeonFp16(out)
        }
        #[inline(always)]
        unsafe fn min(self, other: Self) -> Self {
            let out: uint16x8_t;
            unsafe {
                asm!(
                    "fmin {out:v}.8h, {a:v}.8h, {b:v}.8h",
                    out = lateout(vreg) out,
                    a = in(vreg) self.0,
                    b = in(vreg) other.0,
                    options(pure, nomem, nostack, preserves_flags)
                )
            };
            NeonFp16(out)
        }
    }
}
