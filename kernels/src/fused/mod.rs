//! Fused element-wise kernels.
//!
//! PLACEHOLDER (skeleton commit): validates and calls the reference. Per-ISA kernels replace it.

use crate::reference::{self, SoftmaxStats};
use crate::{Isa, KernelError, Kernels, Xoshiro256PlusPlus};

/// The fused-kernel part of a kernel table.
pub(crate) struct FusedTable {
    #[allow(dead_code)]
    isa: Isa,
}

impl FusedTable {
    pub(crate) fn for_supported_isa(isa: Isa) -> FusedTable {
        FusedTable { isa }
    }
}

fn check_len(kernel: &str, what: &str, got: usize, want: usize) -> Result<(), KernelError> {
    if got != want {
        return Err(KernelError::new(format!(
            "{kernel}: {what} has {got} elements, expected {want}"
        )));
    }
    Ok(())
}

impl Kernels {
    /// Kernel 1: `y[r,c] = s(y[r,c] + bias[c])` in place; see [`reference::sigmoid_bias_inplace`].
    pub fn sigmoid_bias_inplace(
        &self,
        y: &mut [f32],
        rows: usize,
        cols: usize,
        bias: &[f32],
    ) -> Result<(), KernelError> {
        check_len("sigmoid_bias_inplace", "y", y.len(), rows * cols)?;
        check_len("sigmoid_bias_inplace", "bias", bias.len(), cols)?;
        reference::sigmoid_bias_inplace(y, rows, cols, bias);
        Ok(())
    }

    /// Kernel 2: sigmoid cross-entropy from logits; see [`reference::sigmoid_xent`].
    #[allow(clippy::too_many_arguments)]
    pub fn sigmoid_xent(
        &self,
        a: &mut [f32],
        x: &[f32],
        rows: usize,
        cols: usize,
        bias: Option<&[f32]>,
        z_out: Option<&mut [f32]>,
        bias_grad: Option<&mut [f32]>,
    ) -> Result<f64, KernelError> {
        check_len("sigmoid_xent", "a", a.len(), rows * cols)?;
        check_len("sigmoid_xent", "x", x.len(), rows * cols)?;
        Ok(reference::sigmoid_xent(a, x, rows, cols, bias, z_out, bias_grad))
    }

    /// Kernel 2b: sigmoid squared error; see [`reference::sigmoid_sqerr`].
    #[allow(clippy::too_many_arguments)]
    pub fn sigmoid_sqerr(
        &self,
        a: &mut [f32],
        x: &[f32],
        rows: usize,
        cols: usize,
        bias: Option<&[f32]>,
        z_out: Option<&mut [f32]>,
        bias_grad: Option<&mut [f32]>,
    ) -> Result<f64, KernelError> {
        check_len("sigmoid_sqerr", "a", a.len(), rows * cols)?;
        check_len("sigmoid_sqerr", "x", x.len(), rows * cols)?;
        Ok(reference::sigmoid_sqerr(a, x, rows, cols, bias, z_out, bias_grad))
    }

    /// Kernel 3: sigmoid backward with bias-gradient column sums; see [`reference::sigmoid_backward`].
    pub fn sigmoid_backward(
        &self,
        d: &mut [f32],
        h: &[f32],
        rows: usize,
        cols: usize,
        bias_grad: &mut [f32],
    ) -> Result<(), KernelError> {
        check_len("sigmoid_backward", "d", d.len(), rows * cols)?;
        check_len("sigmoid_backward", "h", h.len(), rows * cols)?;
        check_len("sigmoid_backward", "bias_grad", bias_grad.len(), cols)?;
        reference::sigmoid_backward(d, h, rows, cols, bias_grad);
        Ok(())
    }

    /// Kernel 4: softmax + NLL + gradient; see [`reference::softmax_nll`].
    #[allow(clippy::too_many_arguments)]
    pub fn softmax_nll(
        &self,
        logits: &mut [f32],
        rows: usize,
        cols: usize,
        bias: Option<&[f32]>,
        labels: &[u32],
        bias_grad: Option<&mut [f32]>,
        pred: Option<&mut [u32]>,
    ) -> Result<SoftmaxStats, KernelError> {
        check_len("softmax_nll", "logits", logits.len(), rows * cols)?;
        check_len("softmax_nll", "labels", labels.len(), rows)?;
        Ok(reference::softmax_nll(logits, rows, cols, bias, labels, bias_grad, pred))
    }

    /// Kernel 5: masking noise with exactly `count` zeros per row; see [`reference::mask_fixed`].
    #[allow(clippy::too_many_arguments)]
    pub fn mask_fixed(
        &self,
        x: &[f32],
        out: &mut [f32],
        rows: usize,
        cols: usize,
        count: usize,
        rng: &mut Xoshiro256PlusPlus,
        scratch: &mut [u32],
    ) -> Result<(), KernelError> {
        check_len("mask_fixed", "x", x.len(), rows * cols)?;
        check_len("mask_fixed", "out", out.len(), rows * cols)?;
        reference::mask_fixed(x, out, rows, cols, count, rng, scratch);
        Ok(())
    }

    /// Kernel 5b: Bernoulli masking; see [`reference::mask_bernoulli`].
    pub fn mask_bernoulli(
        &self,
        x: &[f32],
        out: &mut [f32],
        p: f32,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<(), KernelError> {
        check_len("mask_bernoulli", "out", out.len(), x.len())?;
        reference::mask_bernoulli(x, out, p, rng);
        Ok(())
    }

    /// Kernel 6: `w -= lr * (g + weight_decay * w)`; see [`reference::sgd_update`].
    pub fn sgd_update(
        &self,
        w: &mut [f32],
        g: &[f32],
        lr: f32,
        weight_decay: f32,
    ) -> Result<(), KernelError> {
        check_len("sgd_update", "g", g.len(), w.len())?;
        reference::sgd_update(w, g, lr, weight_decay);
        Ok(())
    }
}
