//! The cost model that picks a backend per call (REFERENCE.md, "the 5× rule"): the GPU only
//! pays when its compute time exceeds five times the time to move the data to it and back
//! (Gregg and Hazelwood, ISPASS 2011).

/// What the model assumes of the machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    /// Host↔device bandwidth, bytes per second (PCIe 4.0 x16: ~32 GB/s).
    pub transfer_bytes_per_s: f64,
    /// Device throughput, floating-point operations per second.
    pub gpu_flops: f64,
    /// How many times the transfer time the compute time must exceed.
    pub factor: f64,
}

impl Default for CostModel {
    fn default() -> CostModel {
        CostModel {
            transfer_bytes_per_s: 32e9,
            gpu_flops: 20e12,
            factor: 5.0,
        }
    }
}

/// The work of one call: bytes moved to and from the device, and floating-point operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    pub bytes: f64,
    pub flops: f64,
}

impl Work {
    /// An element-wise kernel or reduction over `inputs` arrays of `n` elements of `size`
    /// bytes, doing `ops` operations per element.
    pub fn elementwise(n: usize, inputs: usize, size: usize, ops: f64) -> Work {
        Work {
            bytes: (n * inputs * size) as f64,
            flops: n as f64 * ops,
        }
    }

    /// `(m×k)·(k×n)`: A and B go to the device, C comes back; 2·m·k·n operations.
    pub fn matmul(m: usize, k: usize, n: usize, size: usize) -> Work {
        Work {
            bytes: ((m * k + k * n + m * n) * size) as f64,
            flops: 2.0 * m as f64 * k as f64 * n as f64,
        }
    }
}

impl CostModel {
    pub fn transfer_seconds(&self, w: Work) -> f64 {
        w.bytes / self.transfer_bytes_per_s
    }

    pub fn compute_seconds(&self, w: Work) -> f64 {
        w.flops / self.gpu_flops
    }

    /// compute / transfer.
    pub fn ratio(&self, w: Work) -> f64 {
        self.compute_seconds(w) / self.transfer_seconds(w).max(f64::MIN_POSITIVE)
    }

    /// Whether the GPU is worth it for this work.
    pub fn prefers_gpu(&self, w: Work) -> bool {
        self.compute_seconds(w) > self.factor * self.transfer_seconds(w)
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
        assert!(m.prefers_gpu(Work::matmul(32768, 32768, 32768, 4)));
    }
}
