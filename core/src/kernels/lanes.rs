//! The vector registers our kernels are written over, one type per instruction set, and
//! the choice among them at run time.
//!
//! A kernel is written once, generic over [`Lanes`], and instantiated inside a function
//! compiled for the instruction set (`#[target_feature]`), so the trait's methods inline
//! into real vector instructions there. [`Isa::for_rows_of`] picks, among the sets this CPU
//! has, the one for an operator's rows.

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// `LEN` lanes of one register, each a `Value` (float32, or float16 where a kernel has a
/// half-precision form): what the depthwise convolution and the matrix product are
/// written over, in either precision.
///
/// # Safety
/// The methods are the instruction set's intrinsics: call them only from code compiled
/// for (or running on a CPU with) that set, with pointers valid for `LEN` values.
pub(crate) trait Register: Copy {
    type Value: Copy + Default;
    const LEN: usize;
    unsafe fn splat(x: Self::Value) -> Self;
    unsafe fn load(ptr: *const Self::Value) -> Self;
    unsafe fn store(self, ptr: *mut Self::Value);
    /// The first `count` (1 to `LEN`) values at `ptr`, zeros after: reads no further.
    unsafe fn load_partial(ptr: *const Self::Value, count: usize) -> Self;
    /// The first `count` (1 to `LEN`) lanes to `ptr`: writes no further.
    unsafe fn store_partial(self, ptr: *mut Self::Value, count: usize);
    /// The even-indexed and the odd-indexed lanes of `a` followed by `b`.
    unsafe fn unzip(a: Self, b: Self) -> (Self, Self);
    /// The even-indexed and the odd-indexed values of the `2 * LEN` values at `ptr`.
    #[inline(always)]
    unsafe fn load_pairs(ptr: *const Self::Value) -> (Self, Self) {
        unsafe { Self::unzip(Self::load(ptr), Self::load(ptr.add(Self::LEN))) }
    }
    /// `self * b + c`, fused (one rounding) where the instruction set has it.
    unsafe fn mul_add(self, b: Self, c: Self) -> Self;
    unsafe fn add(self, other: Self) -> Self;
    unsafe fn max(self, other: Self) -> Self;
    unsafe fn min(self, other: Self) -> Self;
    /// A hint to bring the cache line at `ptr` into the L1 cache: any address (a prefetch
    /// never faults). Nothing where the set has no such instruction.
    #[inline(always)]
    unsafe fn prefetch(ptr: *const Self::Value) {
        let _ = ptr;
    }
    /// The same hint for the L2 cache: data needed after what the L1 cache now holds.
    #[inline(always)]
    unsafe fn prefetch_l2(ptr: *const Self::Value) {
        let _ = ptr;
    }
}

/// `LEN` float32 lanes, and the arithmetic the float32-only kernels (softmax, the batched
/// products) use beyond [`Register`]'s.
pub(crate) trait Lanes: Register<Value = f32> {
    unsafe fn mul(self, other: Self) -> Self;
    /// Each lane rounded to the nearest integer (ties to even).
    unsafe fn round(self) -> Self;
    /// `2^n` for lanes holding integers `n` in -126..=127 (a normal float's exponents).
    unsafe fn pow2i(self) -> Self;
    /// `self` in the lanes where `x >= bound`, zero in the others (and where `x` is NaN).
    unsafe fn zero_unless_at_least(self, x: Self, bound: Self) -> Self;
}

/// One lane in plain Rust: the kernel for CPUs without the sets below, and the
/// reference the vector ones are tested against.
#[derive(Clone, Copy)]
pub(crate) struct Scalar(f32);

impl Register for Scalar {
    type Value = f32;
    const LEN: usize = 1;
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        Scalar(self.0 + other.0)
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Scalar(x)
    }
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Scalar(unsafe { *ptr })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { *ptr = self.0 }
    }
    #[inline(always)]
    unsafe fn load_partial(ptr: *const f32, _count: usize) -> Self {
        unsafe { Self::load(ptr) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, ptr: *mut f32, _count: usize) {
        unsafe { self.store(ptr) }
    }
    #[inline(always)]
    unsafe fn unzip(a: Self, b: Self) -> (Self, Self) {
        (a, b)
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // Not `f32::mul_add`: without an FMA instruction that is a slow library call.
        Scalar(self.0 * b.0 + c.0)
    }
    #[inline(always)]
    unsafe fn max(self, other: Self) -> Self {
        Scalar(self.0.max(other.0))
    }
    #[inline(always)]
    unsafe fn min(self, other: Self) -> Self {
        Scalar(self.0.min(other.0))
    }
}

impl Lanes for Scalar {
    #[inline(always)]
    unsafe fn mul(self, other: Self) -> Self {
        Scalar(self.0 * other.0)
    }
    #[inline(always)]
    unsafe fn round(self) -> Self {
        Scalar(self.0.round_ties_even())
    }
    #[inline(always)]
    unsafe fn pow2i(self) -> Self {
        Scalar(f32::from_bits(((self.0 as i32 + 127) as u32) << 23))
    }
    #[inline(always)]
    unsafe fn zero_unless_at_least(self, x: Self, bound: Self) -> Self {
        if x.0 >= bound.0 { self } else { Scalar(0.0) }
    }
}

/// 8 lanes of AVX2 with FMA (x86-64 since Haswell, 2013).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx2(__m256);

#[cfg(target_arch = "x86_64")]
impl Register for Avx2 {
    type Value = f32;
    const LEN: usize = 8;
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_add_ps(self.0, other.0) })
    }
    #[inline(always)]
    unsafe fn prefetch(ptr: *const f32) {
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast()) }
    }
    #[inline(always)]
    unsafe fn prefetch_l2(ptr: *const f32) {
        unsafe { _mm_prefetch::<_MM_HINT_T1>(ptr.cast()) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Avx2(unsafe { _mm256_set1_ps(x) })
    }
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Avx2(unsafe { _mm256_loadu_ps(ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { _mm256_storeu_ps(ptr, self.0) }
    }
    #[inline(always)]
    unsafe fn load_partial(ptr: *const f32, count: usize) -> Self {
        Avx2(unsafe { _mm256_maskload_ps(ptr, avx2_mask(count)) })
    }
    #[inline(always)]
    unsafe fn store_partial(self, ptr: *mut f32, count: usize) {
        unsafe { _mm256_maskstore_ps(ptr, avx2_mask(count), self.0) }
    }
    #[inline(always)]
    unsafe fn unzip(a: Self, b: Self) -> (Self, Self) {
        unsafe {
            let (a, b) = (a.0, b.0);
            // Within each 128-bit half: a's then b's evens (odds); then the halves' middle
            // 64-bit quarters swapped, to put a's four before b's.
            let order = |x: __m256| {
                _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(x)))
            };
            (
                Avx2(order(_mm256_shuffle_ps::<0b10_00_10_00>(a, b))),
                Avx2(order(_mm256_shuffle_ps::<0b11_01_11_01>(a, b))),
            )
        }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        Avx2(unsafe { _mm256_fmadd_ps(self.0, b.0, c.0) })
    }
    #[inline(always)]
    unsafe fn max(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_max_ps(self.0, other.0) })
    }
    #[inline(always)]
    unsafe fn min(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_min_ps(self.0, other.0) })
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx2 {
    #[inline(always)]
    unsafe fn mul(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_mul_ps(self.0, other.0) })
    }
    #[inline(always)]
    unsafe fn round(self) -> Self {
        Avx2(unsafe {
            _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)
        })
    }
    #[inline(always)]
    unsafe fn pow2i(self) -> Self {
        unsafe {
            let n = _mm256_cvtps_epi32(self.0);
            let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(n, _mm256_set1_epi32(127)));
            Avx2(_mm256_castsi256_ps(bits))
        }
    }
    #[inline(always)]
    unsafe fn zero_unless_at_least(self, x: Self, bound: Self) -> Self {
        Avx2(unsafe { _mm256_and_ps(self.0, _mm256_cmp_ps::<_CMP_GE_OQ>(x.0, bound.0)) })
    }
}

/// The lanes below `count` set, for AVX2's masked loads and stores (a lane's sign bit).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn avx2_mask(count: usize) -> __m256i {
    unsafe {
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(count as i32), lanes)
    }
}

/// The lanes below `count` set, for AVX-512's masked loads and stores.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn avx512_mask(count: usize) -> __mmask16 {
    ((1u32 << count.min(16)) - 1) as __mmask16
}

/// 16 lanes of AVX-512F (Intel server and recent desktop CPUs, AMD Zen 4).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx512(__m512);

#[cfg(target_arch = "x86_64")]
impl Register for Avx512 {
    type Value = f32;
    const LEN: usize = 16;
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_add_ps(self.0, other.0) })
    }
    #[inline(always)]
    unsafe fn prefetch(ptr: *const f32) {
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast()) }
    }
    #[inline(always)]
    unsafe fn prefetch_l2(ptr: *const f32) {
        unsafe { _mm_prefetch::<_MM_HINT_T1>(ptr.cast()) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Avx512(unsafe { _mm512_set1_ps(x) })
    }
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Avx512(unsafe { _mm512_loadu_ps(ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { _mm512_storeu_ps(ptr, self.0) }
    }
    #[inline(always)]
    unsafe fn load_partial(ptr: *const f32, count: usize) -> Self {
        Avx512(unsafe { _mm512_maskz_loadu_ps(avx512_mask(count), ptr) })
    }
    #[inline(always)]
    unsafe fn store_partial(self, ptr: *mut f32, count: usize) {
        unsafe { _mm512_mask_storeu_ps(ptr, avx512_mask(count), self.0) }
    }
    #[inline(always)]
    unsafe fn unzip(a: Self, b: Self) -> (Self, Self) {
        unsafe {
            let (a, b) = (a.0, b.0);
            // Indices 0..16 pick from a, 16..32 from b.
            let evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
            let odds = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
            (
                Avx512(_mm512_permutex2var_ps(a, evens, b)),
                Avx512(_mm512_permutex2var_ps(a, odds, b)),
            )
        }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        Avx512(unsafe { _mm512_fmadd_ps(self.0, b.0, c.0) })
    }
    #[inline(always)]
    unsafe fn max(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_max_ps(self.0, other.0) })
    }
    #[inline(always)]
    unsafe fn min(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_min_ps(self.0, other.0) })
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx512 {
    #[inline(always)]
    unsafe fn mul(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_mul_ps(self.0, other.0) })
    }
    #[inline(always)]
    unsafe fn round(self) -> Self {
        Avx512(unsafe {
            _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)
        })
    }
    #[inline(always)]
    unsafe fn pow2i(self) -> Self {
        unsafe {
            let n = _mm512_cvtps_epi32(self.0);
            let bits = _mm512_slli_epi32::<23>(_mm512_add_epi32(n, _mm512_set1_epi32(127)));
            Avx512(_mm512_castsi512_ps(bits))
        }
    }
    #[inline(always)]
    unsafe fn zero_unless_at_least(self, x: Self, bound: Self) -> Self {
        Avx512(unsafe {
            _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_GE_OQ>(x.0, bound.0), self.0)
        })
    }
}

/// 4 lanes of NEON, which every aarch64 CPU has.
#[cfg(target_arch = "aarch64")]
#[derive(Clone, Copy)]
pub(crate) struct Neon(float32x4_t);

#[cfg(target_arch = "aarch64")]
impl Register for Neon {
    type Value = f32;
    const LEN: usize = 4;
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        Neon(unsafe { vaddq_f32(self.0, other.0) })
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Neon(unsafe { vdupq_n_f32(x) })
    }
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Neon(unsafe { vld1q_f32(ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { vst1q_f32(ptr, self.0) }
    }
    #[inline(always)]
    unsafe fn load_partial(ptr: *const f32, count: usize) -> Self {
        // NEON has no masked loads: a pair and a lane, into zeros (no copy through memory:
        // the depthwise kernel ends every row of a 7- or 14-wide plane so).
        unsafe {
            let zero = vdupq_n_f32(0.0);
            Neon(match count {
                0 => zero,
                1 => vld1q_lane_f32::<0>(ptr, zero),
                2 => vcombine_f32(vld1_f32(ptr), vget_low_f32(zero)),
                3 => {
                    vld1q_lane_f32::<2>(ptr.add(2), vcombine_f32(vld1_f32(ptr), vget_low_f32(zero)))
                }
                _ => vld1q_f32(ptr),
            })
        }
    }
    #[inline(always)]
    unsafe fn store_partial(self, ptr: *mut f32, count: usize) {
        unsafe {
            match count {
                0 => {}
                1 => vst1q_lane_f32::<0>(ptr, self.0),
                2 => vst1_f32(ptr, vget_low_f32(self.0)),
                3 => {
                    vst1_f32(ptr, vget_low_f32(self.0));
                    vst1q_lane_f32::<2>(ptr.add(2), self.0);
                }
                _ => vst1q_f32(ptr, self.0),
            }
        }
    }
    #[inline(always)]
    unsafe fn unzip(a: Self, b: Self) -> (Self, Self) {
        unsafe { (Neon(vuzp1q_f32(a.0, b.0)), Neon(vuzp2q_f32(a.0, b.0))) }
    }
    #[inline(always)]
    unsafe fn load_pairs(ptr: *const f32) -> (Self, Self) {
        let pairs = unsafe { vld2q_f32(ptr) };
        (Neon(pairs.0), Neon(pairs.1))
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // vfmaq_f32(a, b, c) is a + b * c.
        Neon(unsafe { vfmaq_f32(c.0, self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn max(self, other: Self) -> Self {
        Neon(unsafe { vmaxq_f32(self.0, other.0) })
    }
    #[inline(always)]
    unsafe fn min(self, other: Self) -> Self {
        Neon(unsafe { vminq_f32(self.0, other.0) })
    }
}

#[cfg(target_arch = "aarch64")]
impl Lanes for Neon {
    #[inline(always)]
    unsafe fn mul(self, other: Self) -> Self {
        Neon(unsafe { vmulq_f32(self.0, other.0) })
    }
    #[inline(always)]
    unsafe fn round(self) -> Self {
        Neon(unsafe { vrndnq_f32(self.0) })
    }
    #[inline(always)]
    unsafe fn pow2i(self) -> Self {
        unsafe {
            let n = vcvtnq_s32_f32(self.0);
            let bits = vshlq_n_s32::<23>(vaddq_s32(n, vdupq_n_s32(127)));
            Neon(vreinterpretq_f32_s32(bits))
        }
    }
    #[inline(always)]
    unsafe fn zero_unless_at_least(self, x: Self, bound: Self) -> Self {
        unsafe {
            let keep = vcgeq_f32(x.0, bound.0);
            Neon(vreinterpretq_f32_u32(vandq_u32(
                vreinterpretq_u32_f32(self.0),
                keep,
            )))
        }
    }
}

/// An instruction set a kernel can run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "aarch64")]
    Neon,
}

impl Isa {
    /// The vector set for rows of `width` values: the widest that computes no more padding
    /// lanes than a narrower one would (on a 7-wide row, 16 lanes do twice the work of 8 for
    /// the same results), the plain-Rust one where the CPU has none.
    pub fn for_rows_of(width: usize) -> Isa {
        let vectors: Vec<Isa> = Isa::available()
            .into_iter()
            .filter(|&isa| isa != Isa::Scalar)
            .collect();
        let computed = |isa: Isa| width.div_ceil(isa.lanes()) * isa.lanes();
        let least = vectors.iter().map(|&isa| computed(isa)).min();
        vectors
            .into_iter()
            .rev()
            .find(|&isa| Some(computed(isa)) == least)
            .unwrap_or(Isa::Scalar)
    }

    /// The widest set this CPU runs.
    pub fn widest() -> Isa {
        *Isa::available().last().unwrap_or(&Isa::Scalar)
    }

    /// Float32 lanes per register.
    pub fn lanes(self) -> usize {
        match self {
            Isa::Scalar => Scalar::LEN,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Avx2::LEN,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Avx512::LEN,
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => Neon::LEN,
        }
    }

    /// Every set this CPU runs, narrowest first (tests run each one).
    pub fn available() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut sets = vec![Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                sets.push(Isa::Avx2);
                if is_x86_feature_detected!("avx512f") {
                    sets.push(Isa::Avx512);
                }
            }
        }
        #[cfg(target_arch = "aarch64")]
        sets.push(Isa::Neon);
        sets
    }
}
