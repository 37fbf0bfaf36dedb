//! Fused kernels, scalar twin: the generic bodies over one portable `f32` lane.

super::shims::fused_shims!(crate::simd::scalar::Scalar);
