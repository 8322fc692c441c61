//! Calibration: the cost model's numbers measured on this machine. The kernels are timed on
//! each backend there is (scalar, SIMD, the GPU) at a few sizes, and the host↔device
//! bandwidth by copying buffers to the device and back. The result is a small JSON table,
//! `.batuta/calibration.json`, written by one action that the `optimize` builtin brings into
//! the graph (`Catalog.companions`). The action has no inputs: its rule's version carries a
//! fingerprint of the machine (CPU model and features, core count, GPU adapter and driver,
//! or none), so it runs once per machine and is restored from the cache after that.

use std::sync::OnceLock;
use std::time::Instant;

use batuta_engine::codes::phase_code;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};
use serde::{Deserialize, Serialize};

use crate::kernels::{
    self, CostModel, Rates, Select, SimdLevel, Work, gpu_driver, gpu_info, gpu_roundtrip,
};

/// Bumped when what calibration measures, or how, changes.
pub const FORMAT: u32 = 1;

/// The GPU calibration found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuAdapter {
    /// `name, device type, backend`.
    pub adapter: String,
    pub driver: String,
}

/// One timed call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// `dot`, `matmul` or `roundtrip`.
    pub kernel: String,
    /// `scalar`, `simd`, `gpu`.
    pub backend: String,
    /// Elements per input (matmul: the side of its square matrices; roundtrip: bytes).
    pub n: usize,
    /// The fastest of the repetitions.
    pub seconds: f64,
}

/// What `.batuta/calibration.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub format: u32,
    pub fingerprint: String,
    /// The best SIMD level of the CPU; `scalar` when it has none.
    pub simd: String,
    pub threads: usize,
    /// `None`: no adapter, `BATUTA_DISABLE_GPU=1`, or the GPU failed being timed.
    pub gpu: Option<GpuAdapter>,
    /// Why `gpu` is `None`, when there is a reason to tell.
    #[serde(default)]
    pub gpu_error: Option<String>,
    /// The cost model with the measured numbers; the 5× factor is the book's.
    pub model: CostModel,
    pub samples: Vec<Sample>,
    /// How long calibrating took.
    pub seconds: f64,
}

impl Calibration {
    pub fn has_simd(&self) -> bool {
        self.simd != SimdLevel::Scalar.name()
    }
}

/// The machine as calibration sees it, one line: what changes the numbers changes this.
pub fn fingerprint() -> &'static str {
    static PRINT: OnceLock<String> = OnceLock::new();
    PRINT.get_or_init(|| {
        let levels: Vec<&str> = SimdLevel::available_levels()
            .iter()
            .map(|l| l.name())
            .collect();
        let gpu = match (gpu_info(), gpu_driver()) {
            (Ok(name), Some(driver)) => format!("{name}, driver {}", driver.trim()),
            (Ok(name), None) => name,
            (Err(why), _) => format!("none ({why})"),
        };
        format!(
            "cpu {} ({}); {} {}; {} threads; gpu {gpu}",
            cpu_model(),
            levels.join(" "),
            std::env::consts::OS,
            std::env::consts::ARCH,
            threads(),
        )
    })
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The CPU's model name (`/proc/cpuinfo` on Linux), else the architecture.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

/// Repetitions of each timing; the fastest counts (the others met a busy machine).
const REPS: usize = 3;

fn fastest(mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut best = f64::INFINITY;
    for _ in 0..REPS {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best.max(1e-9))
}

/// Sizes timed: elements for `dot`, matrix sides for `matmul`. Small enough that the whole
/// calibration stays well under two seconds on a two-core machine with a software GPU.
const DOT_SIZES: [usize; 2] = [1 << 14, 1 << 20];
const MATMUL_SIDES: [usize; 2] = [64, 192];
const ROUNDTRIP_BYTES: usize = 8 << 20;

/// Measure this machine. `gpu`: whether to time the GPU (an adapter is there and allowed).
/// A GPU that fails while being timed is recorded as none, with the reason.
pub fn measure(gpu: bool) -> Result<Calibration, String> {
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut model = CostModel::default();
    let level = SimdLevel::best();
    time_backend(&mut model, &mut samples, "scalar", Select::Scalar)?;
    if level == SimdLevel::Scalar {
        // No SIMD: the plan never picks it, and its estimate is the scalar one.
        model.stream.simd = model.stream.scalar;
        model.matmul.simd = model.matmul.scalar;
    } else {
        time_backend(&mut model, &mut samples, "simd", Select::Simd)?;
    }
    let mut gpu_error = None;
    let gpu = match gpu_info() {
        Ok(adapter) if gpu => match time_gpu(&mut model, &mut samples) {
            Ok(()) => Some(GpuAdapter {
                adapter,
                driver: gpu_driver().unwrap_or_default().trim().to_owned(),
            }),
            Err(e) => {
                gpu_error = Some(format!("the GPU {adapter} failed while being timed: {e}"));
                None
            }
        },
        Ok(_) => None,
        Err(why) => {
            gpu_error = Some(why);
            None
        }
    };
    Ok(Calibration {
        format: FORMAT,
        fingerprint: fingerprint().to_owned(),
        simd: level.name().to_owned(),
        threads: threads(),
        gpu,
        gpu_error,
        model,
        samples,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The bandwidth and latency of the device, then its compute rates.
fn time_gpu(model: &mut CostModel, samples: &mut Vec<Sample>) -> Result<(), String> {
    // Bandwidth first: the GPU's compute rate is what remains of a call once the transfer
    // and the fixed latency are taken out.
    let latency = fastest(|| gpu_roundtrip(4).map(drop))?;
    let t = fastest(|| gpu_roundtrip(ROUNDTRIP_BYTES).map(drop))?;
    samples.push(sample("roundtrip", "gpu", 4, latency));
    samples.push(sample("roundtrip", "gpu", ROUNDTRIP_BYTES, t));
    model.gpu_latency_s = latency;
    model.transfer_bytes_per_s = 2.0 * ROUNDTRIP_BYTES as f64 / (t - latency).max(t / 10.0);
    time_backend(model, samples, "gpu", Select::Gpu)
}

/// The stream and matmul rates of one backend: the best over the sizes timed.
fn time_backend(
    model: &mut CostModel,
    samples: &mut Vec<Sample>,
    name: &str,
    select: Select,
) -> Result<(), String> {
    let mut stream = 0.0f64;
    for n in DOT_SIZES {
        let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32 * 0.5).collect();
        let t = fastest(|| {
            kernels::dot(&a, &a, select)
                .map(drop)
                .map_err(|e| e.to_string())
        })?;
        samples.push(sample("dot", name, n, t));
        let w = Work::elementwise(n, 2, 4, 2.0);
        stream = stream.max(w.flops / compute_part(model, name, w, t));
    }
    let mut matmul = 0.0f64;
    for side in MATMUL_SIDES {
        let a: Vec<f32> = (0..side * side).map(|i| (i % 5) as f32 * 0.25).collect();
        let t = fastest(|| {
            kernels::matmul(&a, &a, (side, side, side), select)
                .map(drop)
                .map_err(|e| e.to_string())
        })?;
        samples.push(sample("matmul", name, side, t));
        let w = Work::matmul(side, side, side, 4);
        matmul = matmul.max(w.flops / compute_part(model, name, w, t));
    }
    let set = |r: &mut Rates, v: f64| match name {
        "scalar" => r.scalar = v,
        "simd" => r.simd = v,
        _ => r.gpu = v,
    };
    set(&mut model.stream, stream);
    set(&mut model.matmul, matmul);
    Ok(())
}

/// The part of a GPU call's `t` spent computing (at least a tenth of it: timings are noisy,
/// and a rate must stay finite); the whole of a CPU call's.
fn compute_part(model: &CostModel, backend: &str, w: Work, t: f64) -> f64 {
    if backend == "gpu" {
        (t - model.gpu_latency_s - model.transfer_seconds(w)).max(t / 10.0)
    } else {
        t
    }
}

fn sample(kernel: &str, backend: &str, n: usize, seconds: f64) -> Sample {
    Sample {
        kernel: kernel.to_owned(),
        backend: backend.to_owned(),
        n,
        seconds,
    }
}

/// `builtin: calibrate`, the companion of `optimize`: writes its one output, the table.
pub struct Calibrate;

impl Rule for Calibrate {
    fn version(&self) -> &str {
        static VERSION: OnceLock<String> = OnceLock::new();
        VERSION.get_or_init(|| {
            // The kernels' speed is batuta's too: a new batuta calibrates again.
            format!(
                "calibrate-{FORMAT} {} {}",
                env!("CARGO_PKG_VERSION"),
                fingerprint()
            )
        })
    }

    /// The fingerprint opens the GPU (tens of milliseconds with lavapipe): it is kept with
    /// what could change it, so a no-op build does not probe the GPU. The Vulkan loader
    /// finds its drivers through the ICD folders and these variables; `/dev/dri` is made
    /// anew at every boot (new hardware); the CPU and core count are cheap to read.
    fn version_inputs(&self) -> Option<batuta_engine::rule::VersionInputs> {
        let mut files: Vec<std::path::PathBuf> = [
            "/usr/share/vulkan/icd.d",
            "/usr/local/share/vulkan/icd.d",
            "/etc/vulkan/icd.d",
            "/dev/dri",
        ]
        .map(Into::into)
        .into();
        if let Some(home) = std::env::var_os("HOME") {
            files.push(std::path::Path::new(&home).join(".local/share/vulkan/icd.d"));
        }
        Some(batuta_engine::rule::VersionInputs {
            files,
            env: vec![
                "BATUTA_DISABLE_GPU",
                "VK_ICD_FILENAMES",
                "VK_DRIVER_FILES",
                "VK_ADD_DRIVER_FILES",
                "WGPU_BACKEND",
            ],
            facts: vec![cpu_model(), threads().to_string()],
        })
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let fail = |m: String| Failure::new(phase_code(call.phase), m);
        let [out] = call.outputs else {
            return Err(fail(
                "calibrate writes one file, the calibration table".to_owned(),
            ));
        };
        let c = measure(true).map_err(|e| fail(format!("calibration failed: {e}")))?;
        let json = serde_json::to_vec_pretty(&c)
            .map_err(|e| fail(format!("cannot encode the calibration: {e}")))?;
        batuta_engine::fsutil::write_atomic(&call.path(out), &json)
            .map_err(|e| fail(format!("cannot write '{out}': {e}")))?;
        let m = &c.model;
        Ok(Note::new(format!(
            "calibrated in {:.2} s: matmul scalar {:.1} / simd {:.1}{} GFLOP/s{}",
            c.seconds,
            m.matmul.scalar / 1e9,
            m.matmul.simd / 1e9,
            c.gpu.as_ref().map_or(String::new(), |_| format!(
                " / gpu {:.1}",
                m.matmul.gpu / 1e9
            )),
            c.gpu.as_ref().map_or(" (no GPU)".to_owned(), |g| format!(
                ", {:.1} GB/s to {}",
                m.transfer_bytes_per_s / 1e9,
                g.adapter
            )),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_is_measured_and_the_gpu_only_when_asked() {
        let c = measure(false).unwrap();
        assert!(c.gpu.is_none());
        assert!(c.model.stream.scalar > 1e6, "{:?}", c.model);
        assert!(
            c.model.matmul.simd >= c.model.matmul.scalar * 0.5,
            "{:?}",
            c.model
        );
        assert!(c.samples.iter().all(|s| s.backend != "gpu"));
        assert!(c.fingerprint.contains("threads"));
        assert_eq!(c.model.factor, 5.0);
    }

    #[test]
    fn the_gpu_is_timed_when_there_is_one_or_the_reason_is_kept() {
        let c = measure(true).unwrap();
        match &c.gpu {
            Some(g) => {
                assert!(!g.adapter.is_empty());
                assert!(c.model.matmul.gpu > 0.0 && c.model.stream.gpu > 0.0);
                assert!(c.model.transfer_bytes_per_s > 0.0 && c.model.gpu_latency_s > 0.0);
                assert!(c.samples.iter().any(|s| s.kernel == "roundtrip"));
                assert!(c.gpu_error.is_none());
            }
            None => assert!(c.gpu_error.is_some(), "{c:?}"),
        }
    }

    #[test]
    fn the_fingerprint_names_the_cpu_and_the_gpu_or_none() {
        let f = fingerprint();
        assert!(f.starts_with("cpu "), "{f}");
        assert!(f.contains("; gpu "), "{f}");
    }
}
