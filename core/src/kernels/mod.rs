//! Operators of our own, where tract's kernels are slow for the graphs packs hold, and the
//! pass (`pass/`) that puts them in a graph before tract optimises it.
//!
//! - [`depthwise::DepthwiseConv`]: depthwise convolutions (EfficientNet-Lite0's 3x3 and 5x5,
//!   stride 1 and 2, padded), with the ReLU6 after them fused.
//! - [`product::Product`]: matrix products: those 1x1 convolutions become (`C, H*W` planes
//!   times a constant `C_out x C` matrix, with their bias and ReLU6 fused) and layers'
//!   (activations times constant weights, with their bias fused).
//! - [`batched::BatchedProduct`]: batched products of two activations (attention's scores
//!   and weighted values, head by head).
//! - [`dense::DenseConv`]: other convolutions (the stem, ResNet-50's 3x3 and 7x7), as
//!   bands of patches through the product's kernel, with their ReLU or ReLU6 fused.
//! - [`softmax::Softmax`]: softmax over the last axis (attention's rows of 69 scores and
//!   more), with an exponential of ours.
//!
//! Each is float32 and picks its instruction set at run time ([`lanes::Isa`]): AVX2 + FMA
//! or AVX-512 on x86-64, NEON on aarch64, plain Rust elsewhere. All but softmax also run
//! float16 graphs, which phones run, in ARMv8.2's FP16 arithmetic ([`half::HalfIsa`]);
//! softmax and the element-wise operators of those graphs stay tract's, which has float16
//! kernels for those CPUs.

pub(crate) mod batched;
pub(crate) mod dense;
pub(crate) mod depthwise;
pub(crate) mod half;
pub(crate) mod lanes;
mod pass;
pub(crate) mod product;
pub(crate) mod softmax;

pub(crate) use pass::use_own_kernels;

#[cfg(test)]
mod tests;
