//! The cost model that picks a backend per call (REFERENCE.md, "the 5× rule"): the GPU only
//! pays when its compute time exceeds five times the time to move the data to it and back
//! (Gregg and Hazelwood, ISPASS 2011).
//!
//! The numbers are the model's only knowledge of the machine. [`CostModel::default`] holds
//! book values (PCIe 4.0, a large discrete GPU); the `optimize` builtin replaces them with
//! what calibration measured here (`crate::optimize::calibrate`), so one model serves both
//! the kernels' run-time choice and the optimization plan.

use serde::{Deserialize, Serialize};

/// Throughput of each backend for one kind of work, floating-point operations per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub scalar: f64,
    /// One thread, the best SIMD level of the CPU.
    pub simd: f64,
    /// Compute only: the data already on the device.
    pub gpu: f64,
}

/// What the model assumes of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    /// Host↔device bandwidth, bytes per second (PCIe 4.0 x16: ~32 GB/s).
    pub transfer_bytes_per_s: f64,
    /// The fixed cost of one GPU call (submit, dispatch, wait for the result), seconds.
    pub gpu_latency_s: f64,
    /// Element-wise kernels and reductions: bound by memory more than arithmetic.
    pub stream: Rates,
    /// Matrix products: bound by arithmetic.
    pub matmul: Rates,
    /// How many times the transfer time the compute time must exceed.
    pub factor: f64,
}

impl Default for CostModel {
    fn default() -> CostModel {
        CostModel {
            transfer_bytes_per_s: 32e9,
            gpu_latency_s: 20e-6,
            stream: Rates {
                scalar: 1e9,
                simd: 4e9,
                gpu: 20e12,
            },
            matmul: Rates {
                scalar: 1e9,
                simd: 16e9,
                gpu: 20e12,
            },
            factor: 5.0,
        }
    }
}

/// The shape of a call's work, which decides the throughput it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// O(n): element-wise operations and reductions.
    Stream,
    /// O(n³): matrix products.
    Matmul,
}

/// The work of one call: bytes moved to and from the device, and floating-point operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    pub bytes: f64,
    pub flops: f64,
    pub shape: Shape,
}

impl Work {
    /// An element-wise kernel or reduction over `inputs` arrays of `n` elements of `size`
    /// bytes, doing `ops` operations per element.
    pub fn elementwise(n: usize, inputs: usize, size: usize, ops: f64) -> Work {
        Work {
            bytes: n as f64 * inputs as f64 * size as f64,
            flops: n as f64 * ops,
            shape: Shape::Stream,
        }
    }

    /// `(m×k)·(k×n)`: A and B go to the device, C comes back; 2·m·k·n operations.
    pub fn matmul(m: usize, k: usize, n: usize, size: usize) -> Work {
        let (m, k, n) = (m as f64, k as f64, n as f64);
        Work {
            bytes: (m * k + k * n + m * n) * size as f64,
            flops: 2.0 * m * k * n,
            shape: Shape::Matmul,
        }
    }
}

/// The backends the plan chooses between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    Scalar,
    Simd,
    Gpu,
}

/// Estimated seconds of one call on each backend; `gpu` is `None` without a GPU.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub scalar_s: f64,
    pub simd_s: f64,
    /// Latency + transfer + compute.
    pub gpu_s: Option<f64>,
    /// GPU compute time over transfer time: the 5× rule wants more than `factor`.
    pub gpu_ratio: Option<f64>,
}

/// Below this many elements the plain loop is kept: SIMD's gain is under a microsecond and
/// scalar code is the simplest to check (REFERENCE.md's table).
pub const SIMD_MIN_ELEMENTS: usize = 1_000;

impl CostModel {
    fn rates(&self, w: Work) -> Rates {
        match w.shape {
            Shape::Stream => self.stream,
            Shape::Matmul => self.matmul,
        }
    }

    pub fn transfer_seconds(&self, w: Work) -> f64 {
        w.bytes / self.transfer_bytes_per_s
    }

    /// GPU compute time, the data already on the device.
    pub fn compute_seconds(&self, w: Work) -> f64 {
        w.flops / self.rates(w).gpu
    }

    /// compute / transfer.
    pub fn ratio(&self, w: Work) -> f64 {
        self.compute_seconds(w) / self.transfer_seconds(w).max(f64::MIN_POSITIVE)
    }

    /// The 5× rule: whether the GPU's compute time exceeds `factor` times the transfer's.
    pub fn prefers_gpu(&self, w: Work) -> bool {
        self.compute_seconds(w) > self.factor * self.transfer_seconds(w)
    }

    pub fn estimate(&self, w: Work, gpu: bool) -> Estimate {
        let r = self.rates(w);
        Estimate {
            scalar_s: w.flops / r.scalar,
            simd_s: w.flops / r.simd,
            gpu_s: gpu
                .then(|| self.gpu_latency_s + self.transfer_seconds(w) + self.compute_seconds(w)),
            gpu_ratio: gpu.then(|| self.ratio(w)),
        }
    }

    /// The backend for `w` over `elements` elements: scalar below [`SIMD_MIN_ELEMENTS`]
    /// (or without `simd`), else SIMD, and the GPU (when `gpu`) only when the 5× rule holds
    /// *and* the whole GPU call — latency, transfer, compute — beats SIMD. The second
    /// condition matters with calibrated numbers: a slow device (a software rasteriser)
    /// computes for long, which satisfies the rule without winning anything.
    pub fn choose(&self, w: Work, elements: usize, simd: bool, gpu: bool) -> Choice {
        let e = self.estimate(w, gpu);
        let cpu = if simd && elements >= SIMD_MIN_ELEMENTS {
            Choice::Simd
        } else {
            Choice::Scalar
        };
        let cpu_s = if cpu == Choice::Simd {
            e.simd_s
        } else {
            e.scalar_s
        };
        match e.gpu_s {
            Some(g) if self.prefers_gpu(w) && g < cpu_s => Choice::Gpu,
            _ => cpu,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_books_example_stays_on_the_cpu() {
        // REFERENCE.md: a 2048×2048 f32 matmul computes for less than it transfers.
        let m = CostModel::default();
        let w = Work::matmul(2048, 2048, 2048, 4);
        assert!(m.ratio(w) < 1.0);
        assert!(!m.prefers_gpu(w));
        assert_eq!(m.choose(w, 2048 * 2048, true, true), Choice::Simd);
    }

    #[test]
    fn element_wise_work_never_goes_to_the_gpu() {
        let m = CostModel::default();
        for n in [1_000, 1_000_000, 1_000_000_000] {
            assert!(!m.prefers_gpu(Work::elementwise(n, 2, 4, 8.0)));
        }
    }

    #[test]
    fn a_huge_matmul_does() {
        let m = CostModel::default();
        let w = Work::matmul(32768, 32768, 32768, 4);
        assert!(m.prefers_gpu(w));
        assert_eq!(m.choose(w, 32768 * 32768, true, true), Choice::Gpu);
        assert_eq!(m.choose(w, 32768 * 32768, true, false), Choice::Simd);
    }

    #[test]
    fn a_slow_device_that_passes_the_rule_still_loses_to_simd() {
        let mut m = CostModel::default();
        m.matmul.gpu = 1e9; // slower than the CPU's 16 GFLOP/s
        let w = Work::matmul(4096, 4096, 4096, 4);
        assert!(m.prefers_gpu(w));
        assert_eq!(m.choose(w, 4096 * 4096, true, true), Choice::Simd);
    }

    #[test]
    fn tiny_work_stays_scalar() {
        let m = CostModel::default();
        assert_eq!(
            m.choose(Work::elementwise(999, 2, 4, 1.0), 999, true, true),
            Choice::Scalar
        );
        assert_eq!(
            m.choose(Work::elementwise(5000, 2, 4, 1.0), 5000, false, true),
            Choice::Scalar
        );
    }
}
