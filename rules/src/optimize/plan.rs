//! The optimization plan: for every numeric operation the analysis found, the backend the
//! cost model picks with the calibrated numbers, and why.
//!
//! The size of an operation's data comes from `with: { sizes: … }` (by `file:line`, else by
//! operation, `np.dot` or `numpy.dot`; a number of elements per input, or `[m, k, n]` for a
//! matrix product), else it is estimated as `default_size` elements (1 000 000 unless the
//! task says otherwise: a 1000×1000 matrix, a million-sample column), and the plan says so.

use std::collections::BTreeSet;

use serde::Serialize;

use super::calibrate::Calibration;
use crate::analyze::FileReport;
use crate::kernels::{Choice, CostModel, Estimate, SIMD_MIN_ELEMENTS, Work};

/// The estimate for an operation whose size nobody declared.
pub const DEFAULT_ELEMENTS: u64 = 1_000_000;

/// `auto | off | force` for a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Auto,
    Off,
    Force,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "auto" => Some(Mode::Auto),
            "off" => Some(Mode::Off),
            "force" => Some(Mode::Force),
            _ => None,
        }
    }
}

/// A declared size: elements per input, or a matrix product's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Elements(u64),
    Matmul(u64, u64, u64),
}

/// What the task's `with` asks of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub gpu: Mode,
    pub simd: Mode,
    /// Keys as written (`np.dot`, `src/model.py:12`).
    pub sizes: Vec<(String, Size)>,
    pub default_elements: u64,
    /// Bytes per element: 4 (f32) or 8 (f64).
    pub element_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            gpu: Mode::Auto,
            simd: Mode::Auto,
            sizes: Vec::new(),
            default_elements: DEFAULT_ELEMENTS,
            element_bytes: 4,
        }
    }
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// `simd: force` on a CPU without SIMD (BATUTA-O-001).
    NoSimd,
    /// `gpu: force` without a usable GPU (BATUTA-O-003); the calibration's reason.
    NoGpu(String),
}

/// One operation at one place, and the backend chosen for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// As the analysis resolved it: `numpy.dot`, `sklearn.cluster.KMeans`.
    pub operation: String,
    /// Relative to `project.source`.
    pub file: String,
    pub line: usize,
    /// Elements per input.
    pub elements: u64,
    /// `[m, k, n]` for a matrix product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<[u64; 3]>,
    /// `declared` (in `with.sizes`) or `estimated`.
    pub size: &'static str,
    pub bytes: f64,
    pub flops: f64,
    pub backend: Choice,
    pub estimate: Estimate,
    /// The Sovereign-stack call it becomes, when the mapping table has one.
    pub call: Option<String>,
    pub reason: String,
}

/// An operation found but not planned: it computes nothing a backend could speed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unplanned {
    pub operation: String,
    pub file: String,
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub operations: Vec<Entry>,
    pub unplanned: Vec<Unplanned>,
    /// `with.sizes` keys that matched no operation (a typo, or code that went away).
    pub unused_sizes: Vec<String>,
}

/// How an operation's work grows with its data.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Element-wise or reduction over `inputs` arrays, `ops` operations per element.
    Stream {
        inputs: usize,
        ops: f64,
    },
    Matmul,
    /// A model fitted on the CPU (aprender): O(n) passes, never the GPU.
    Model,
}

/// The kind of an operation, or why it is not planned.
fn kind(operation: &str) -> Result<Kind, &'static str> {
    let fw = operation.split('.').next().unwrap_or("");
    let last = operation.rsplit('.').next().unwrap_or(operation);
    let stream = |inputs, ops| Ok(Kind::Stream { inputs, ops });
    match (fw, last) {
        ("numpy" | "torch", "matmul" | "mm" | "bmm") => Ok(Kind::Matmul),
        ("numpy" | "torch", "dot" | "vdot" | "inner") => stream(2, 2.0),
        ("numpy" | "torch", "sum" | "mean" | "prod" | "max" | "min" | "amax" | "amin") => {
            stream(1, 1.0)
        }
        ("numpy" | "torch", "argmax" | "argmin" | "cumsum") => stream(1, 1.0),
        ("numpy" | "torch", "std" | "var" | "norm") => stream(1, 3.0),
        ("numpy" | "torch", "add" | "subtract" | "multiply" | "divide" | "maximum" | "minimum") => {
            stream(2, 1.0)
        }
        ("numpy" | "torch", "power" | "where") => stream(2, 2.0),
        ("numpy" | "torch", "exp" | "log" | "sqrt" | "sin" | "cos" | "tanh" | "abs" | "clip") => {
            stream(1, 4.0)
        }
        // A forward pass or a generation step is dominated by its dense layers.
        ("torch", "forward" | "generate") => Ok(Kind::Matmul),
        ("torch", "load" | "save") => Err("reads or writes a file: no computation to place"),
        ("sklearn", l) if l.chars().next().is_some_and(char::is_uppercase) => Ok(Kind::Model),
        _ => Err("no numeric kernel known for it"),
    }
}

/// `np.dot` → `numpy.dot`: the alias people write for the name the analysis resolves.
fn canonical(key: &str) -> String {
    match key.split_once('.') {
        Some(("np", rest)) => format!("numpy.{rest}"),
        Some(("pd", rest)) => format!("pandas.{rest}"),
        _ => key.to_owned(),
    }
}

/// Plan every ML call of the analysed files.
pub fn plan(
    reports: &[FileReport],
    calibration: &Calibration,
    opts: &Options,
) -> Result<Plan, PlanError> {
    if opts.simd == Mode::Force && !calibration.has_simd() {
        return Err(PlanError::NoSimd);
    }
    if opts.gpu == Mode::Force && calibration.gpu.is_none() {
        return Err(PlanError::NoGpu(format!(
            "calibration found no GPU: {}",
            calibration.gpu_error.as_deref().unwrap_or("no adapter")
        )));
    }
    let ctx = Ctx {
        model: &calibration.model,
        calibration,
        opts,
    };
    let mut used = BTreeSet::new();
    let mut plan = Plan {
        operations: Vec::new(),
        unplanned: Vec::new(),
        unused_sizes: Vec::new(),
    };
    for report in reports {
        for call in &report.ml_calls {
            let site = (report.path.as_str(), call.line, call.operation.as_str());
            match kind(&call.operation) {
                Err(reason) => plan.unplanned.push(Unplanned {
                    operation: call.operation.clone(),
                    file: report.path.clone(),
                    line: call.line,
                    reason: reason.to_owned(),
                }),
                Ok(k) => {
                    let (size, key) = declared(opts, site);
                    if let Some(key) = key {
                        used.insert(key);
                    }
                    let gpu_capable = call
                        .backend
                        .as_deref()
                        .map_or(k != Kind::Model, |b| b.contains("GPU"));
                    let entry = ctx.place(site, k, size, gpu_capable);
                    plan.operations.push(Entry {
                        call: call.target.clone(),
                        ..entry
                    });
                }
            }
        }
    }
    plan.operations
        .sort_by(|a, b| (&a.file, a.line, &a.operation).cmp(&(&b.file, b.line, &b.operation)));
    plan.unplanned
        .sort_by(|a, b| (&a.file, a.line, &a.operation).cmp(&(&b.file, b.line, &b.operation)));
    plan.unused_sizes = opts
        .sizes
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| !used.contains(k))
        .collect();
    Ok(plan)
}

/// The declared size of an operation at a site, and the key that declared it.
fn declared(
    opts: &Options,
    (file, line, op): (&str, usize, &str),
) -> (Option<Size>, Option<String>) {
    let at = format!("{file}:{line}");
    let found = opts
        .sizes
        .iter()
        .find(|(k, _)| *k == at)
        .or_else(|| opts.sizes.iter().find(|(k, _)| canonical(k) == op));
    match found {
        Some((k, s)) => (Some(*s), Some(k.clone())),
        None => (None, None),
    }
}

/// What every placement reads.
struct Ctx<'a> {
    model: &'a CostModel,
    calibration: &'a Calibration,
    opts: &'a Options,
}

impl Ctx<'_> {
    fn place(
        &self,
        (file, line, op): (&str, usize, &str),
        kind: Kind,
        size: Option<Size>,
        gpu_capable: bool,
    ) -> Entry {
        let (model, opts) = (self.model, self.opts);
        let declared = size.is_some();
        let size = size.unwrap_or(Size::Elements(opts.default_elements));
        let eb = opts.element_bytes;
        let (work, elements, shape) = match (kind, size) {
            (Kind::Matmul, Size::Matmul(m, k, n)) => {
                let w = Work::matmul(m as usize, k as usize, n as usize, eb);
                (w, m * k, Some([m, k, n]))
            }
            (Kind::Matmul, Size::Elements(e)) => {
                // Square matrices of `e` elements each.
                let side = (e as f64).sqrt().round().max(1.0) as u64;
                let s = side as usize;
                (Work::matmul(s, s, s, eb), e, Some([side; 3]))
            }
            (Kind::Stream { inputs, ops }, s) => {
                let e = elements_of(s);
                (Work::elementwise(e as usize, inputs, eb, ops), e, None)
            }
            (Kind::Model, s) => {
                let e = elements_of(s);
                // A fit reads its data a few times over: ten operations per element.
                (Work::elementwise(e as usize, 1, eb, 10.0), e, None)
            }
        };
        let simd = opts.simd != Mode::Off && self.calibration.has_simd();
        let gpu = self.calibration.gpu.is_some() && opts.gpu != Mode::Off && gpu_capable;
        // No GPU estimate where there is no GPU, or the Rust target has no GPU path.
        let estimate = model.estimate(work, self.calibration.gpu.is_some() && gpu_capable);
        let choice = model.choose(work, elements as usize, simd, gpu);
        let (backend, reason) = if gpu && opts.gpu == Mode::Force {
            (Choice::Gpu, "gpu: force".to_owned())
        } else if choice == Choice::Scalar && opts.simd == Mode::Force {
            (Choice::Simd, "simd: force".to_owned())
        } else {
            (choice, self.why(work, elements, choice, simd, gpu_capable))
        };
        Entry {
            operation: op.to_owned(),
            file: file.to_owned(),
            line,
            elements,
            shape,
            size: if declared { "declared" } else { "estimated" },
            bytes: work.bytes,
            flops: work.flops,
            backend,
            estimate,
            call: None,
            reason,
        }
    }

    /// The reason for `choice`, in a few words.
    fn why(&self, w: Work, elements: u64, choice: Choice, simd: bool, gpu_capable: bool) -> String {
        let model = self.model;
        let ratio = model.ratio(w);
        let gpu_s = model.estimate(w, true).gpu_s.unwrap_or(f64::INFINITY);
        let gpu_note = if self.calibration.gpu.is_none() {
            "no GPU".to_owned()
        } else if self.opts.gpu == Mode::Off {
            "gpu: off".to_owned()
        } else if !gpu_capable {
            "its Rust target has no GPU path".to_owned()
        } else if !model.prefers_gpu(w) {
            format!(
                "5× rule fails: compute/transfer {ratio:.2} ≤ {}",
                model.factor
            )
        } else {
            format!(
                "5× rule holds ({ratio:.1}) but the GPU call ({}) is slower",
                seconds(gpu_s)
            )
        };
        match choice {
            Choice::Gpu => format!(
                "5× rule holds: compute/transfer {ratio:.1} > {}, and the GPU beats the CPU",
                model.factor
            ),
            Choice::Simd => gpu_note,
            Choice::Scalar if self.opts.simd == Mode::Off => format!("simd: off; {gpu_note}"),
            Choice::Scalar if !simd => format!("no SIMD on this CPU; {gpu_note}"),
            Choice::Scalar => format!("{elements} < {SIMD_MIN_ELEMENTS} elements; {gpu_note}"),
        }
    }
}

fn elements_of(s: Size) -> u64 {
    match s {
        Size::Elements(e) => e,
        // A product's shape declared for an element-wise operation: its largest operand.
        Size::Matmul(m, k, n) => (m * k).max(k * n).max(m * n),
    }
}

/// `1.2 ms`, `35 µs`, `2.0 s`.
pub fn seconds(s: f64) -> String {
    if !s.is_finite() {
        "—".to_owned()
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else if s >= 1e-6 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.0} ns", s * 1e9)
    }
}

/// `1.0 M`, `4.2 K`, `800`.
pub fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1} G", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1} M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.0} K", n as f64 / 1e3),
        n => n.to_string(),
    }
}
