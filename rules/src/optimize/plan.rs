//! The optimization plan: for every numeric operation the analysis found, the backend the
//! cost model picks with the calibrated numbers, and why.
//!
//! The size of an operation's data comes, first found:
//! - `declared`: `with: { sizes: … }` (by `file:line`, else by operation, `np.dot` or
//!   `numpy.dot`; elements per input, or `[m, k, n]` for a matrix product);
//! - `measured`: the shapes a trace-shapes run saw there ([`Shapes`]): the plan places the
//!   median call, and takes the GPU only if it also wins for the smallest (the GPU's worst
//!   case: a transfer that does not pay);
//! - `stated`: what the code states (`np.zeros((3, 3))` earlier in the function);
//! - `declared`, again: `default_size`, when the task gives one;
//! - else it is a `guess`, planned scalar: nothing says the data is large.
//!
//! The operands decide what the operation is: `dot` of 2-D operands is a matrix product,
//! a reduction with `axis=` is along an axis, a call on Python scalars is no array work, a
//! product of sparse matrices is not NumPy's.

use std::collections::BTreeSet;

use serde::Serialize;

use super::calibrate::Calibration;
use super::trace::shapes::{Seen, Shapes, spread};
use crate::analyze::FileReport;
use crate::analyze::ml::MlCall;
use crate::kernels::{Choice, CostModel, Estimate, SIMD_MIN_ELEMENTS, Work};

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
    /// `default_size`: a declared size for every operation nothing else sizes.
    pub default_elements: Option<u64>,
    /// Bytes per element: 4 (f32) or 8 (f64).
    pub element_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            gpu: Mode::Auto,
            simd: Mode::Auto,
            sizes: Vec::new(),
            default_elements: None,
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
    /// The byte column of the call's `(` or `@` on its line, which tells apart two calls
    /// of one operation on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// Elements per input.
    pub elements: u64,
    /// `[m, k, n]` for a matrix product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<[u64; 3]>,
    /// Where the size comes from: `declared`, `measured`, `stated` or `guess`.
    pub size: &'static str,
    /// Measured: how many calls the trace saw, and the smallest, median and largest
    /// (elements of the largest operand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
    /// The operands' shapes of the call placed (the median one when measured).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operands: Vec<Vec<u64>>,
    pub bytes: f64,
    pub flops: f64,
    pub backend: Choice,
    pub estimate: Estimate,
    /// The Sovereign-stack call it becomes, when the mapping table has one.
    pub call: Option<String>,
    pub reason: String,
}

/// The calls a trace saw at a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Spread {
    pub count: u64,
    pub min: u64,
    pub median: u64,
    pub max: u64,
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
    Stream { inputs: usize, ops: f64 },
    /// `dot`, `matmul`, `@`: a dot product, a matrix-vector or a matrix product, by the
    /// operands' dimensions.
    Product,
    /// A model fitted or applied on the CPU (aprender): O(n) passes, never the GPU.
    Model,
}

/// A fitted model's methods that compute.
const MODEL_METHODS: &[&str] = &[
    "fit",
    "predict",
    "transform",
    "fit_transform",
    "fit_predict",
    "predict_proba",
    "score",
];

/// The kind of an operation, or why it is not planned.
fn kind(operation: &str) -> Result<Kind, &'static str> {
    let fw = operation.split('.').next().unwrap_or("");
    let last = operation.rsplit('.').next().unwrap_or(operation);
    let stream = |inputs, ops| Ok(Kind::Stream { inputs, ops });
    match (fw, last) {
        ("scipy", _) if operation.starts_with("scipy.sparse.matmul") => {
            Err("a scipy.sparse product: trueno and aprender have no sparse kernel")
        }
        ("numpy" | "torch", "matmul" | "mm" | "bmm" | "dot" | "vdot" | "inner") => {
            Ok(Kind::Product)
        }
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
        ("torch", "forward" | "generate") => Ok(Kind::Product),
        ("torch", "load" | "save") => Err("reads or writes a file: no computation to place"),
        ("sklearn", m) if MODEL_METHODS.contains(&m) => Ok(Kind::Model),
        ("sklearn", l) if l.chars().next().is_some_and(char::is_uppercase) => {
            Err("a constructor: it configures; its fit, predict and transform compute")
        }
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

/// An operation's work at one size.
#[derive(Debug, Clone, PartialEq)]
struct Sized {
    work: Work,
    elements: u64,
    shape: Option<[u64; 3]>,
    operands: Vec<Vec<u64>>,
    /// A product of 2-D operands: trueno's matrix product, whatever the function's name.
    matrix: bool,
}

/// The work of `kind` on `operands` (as traced or stated), or why it is no array work.
/// `Ok(None)`: the operands do not tell (one is unknown).
fn size_of(kind: Kind, operands: &[Seen], eb: usize) -> Result<Option<Sized>, &'static str> {
    if operands.iter().any(|o| o.kind() == "other") || operands.is_empty() {
        return Ok(None);
    }
    if operands.iter().any(|o| o.kind() == "sparse") {
        return Err("on scipy.sparse matrices: trueno and aprender have no sparse kernel");
    }
    let arrays: Vec<&Seen> = operands
        .iter()
        .filter(|o| o.kind() != "scalar" && !o.shape().is_empty())
        .collect();
    if arrays.is_empty() {
        return Err("called on Python scalars: not array work");
    }
    let shapes: Vec<Vec<u64>> = operands.iter().map(|o| o.shape().to_vec()).collect();
    let largest = arrays.iter().map(|o| o.elements()).max().unwrap_or(0);
    let stream = |inputs: usize, ops: f64| Sized {
        work: Work::elementwise(largest as usize, inputs, eb, ops),
        elements: largest,
        shape: None,
        operands: shapes.clone(),
        matrix: false,
    };
    Ok(Some(match kind {
        Kind::Stream { inputs, ops } => stream(inputs.min(arrays.len()).max(1), ops),
        Kind::Model => stream(1, 10.0),
        Kind::Product => {
            if operands.len() < 2 || arrays.len() < 2 {
                // A product with a scalar scales the array.
                return Ok(Some(stream(1, 1.0)));
            }
            let (a, b) = (operands[0].shape(), operands[1].shape());
            let (m, k, n) = match (a.len(), b.len()) {
                (1, 1) => {
                    let mut s = stream(2, 2.0);
                    s.elements = a[0];
                    return Ok(Some(s));
                }
                (1, _) => (1, a[0], b[b.len() - 1]),
                (_, 1) => (a[..a.len() - 1].iter().product(), a[a.len() - 1], 1),
                // Stacked matrices count as one tall product.
                _ => (
                    a[..a.len() - 1].iter().product(),
                    a[a.len() - 1],
                    b[b.len() - 1],
                ),
            };
            Sized {
                work: Work::matmul(m as usize, k as usize, n as usize, eb),
                elements: m * k,
                shape: Some([m, k, n]),
                operands: shapes,
                matrix: true,
            }
        }
    }))
}

/// The work of a declared size; an element count for `dot` is of two vectors.
fn declared_size(kind: Kind, size: Size, eb: usize, vector_dot: bool) -> Sized {
    let plain = |work, elements| Sized {
        work,
        elements,
        shape: None,
        operands: Vec::new(),
        matrix: false,
    };
    match (kind, size) {
        (Kind::Product, Size::Matmul(m, k, n)) => Sized {
            work: Work::matmul(m as usize, k as usize, n as usize, eb),
            elements: m * k,
            shape: Some([m, k, n]),
            operands: Vec::new(),
            matrix: true,
        },
        (Kind::Product, Size::Elements(e)) if vector_dot => {
            plain(Work::elementwise(e as usize, 2, eb, 2.0), e)
        }
        (Kind::Product, Size::Elements(e)) => {
            // Square matrices of `e` elements each.
            let side = (e as f64).sqrt().round().max(1.0) as u64;
            let s = side as usize;
            Sized {
                work: Work::matmul(s, s, s, eb),
                elements: e,
                shape: Some([side; 3]),
                operands: Vec::new(),
                matrix: true,
            }
        }
        (Kind::Stream { inputs, ops }, s) => {
            let e = elements_of(s);
            plain(Work::elementwise(e as usize, inputs, eb, ops), e)
        }
        (Kind::Model, s) => {
            let e = elements_of(s);
            // A fit reads its data a few times over: ten operations per element.
            plain(Work::elementwise(e as usize, 1, eb, 10.0), e)
        }
    }
}

/// Plan every ML call of the analysed files, with the traced shapes when there are some.
pub fn plan(
    reports: &[FileReport],
    calibration: &Calibration,
    opts: &Options,
    trace: Option<&Shapes>,
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
            let (declared, key) = declared(opts, site);
            if let Some(key) = key {
                used.insert(key);
            }
            match ctx.entry(site, call, declared, trace) {
                Ok(entry) => plan.operations.push(Entry {
                    column: call.anchor.map(|[_, column]| column),
                    ..entry
                }),
                Err(reason) => plan.unplanned.push(Unplanned {
                    operation: call.operation.clone(),
                    file: report.path.clone(),
                    line: call.line,
                    reason: reason.to_owned(),
                }),
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

/// The operands as the code states them, when it states every one.
fn stated(call: &MlCall) -> Option<Vec<Seen>> {
    call.operands
        .iter()
        .map(|o| {
            o.shape.as_ref().map(|s| {
                let kind = if s.is_empty() { "scalar" } else { "array" };
                Seen(kind.to_owned(), s.clone(), String::new())
            })
        })
        .collect()
}

impl Ctx<'_> {
    /// The plan entry of one call, or why it has none.
    fn entry(
        &self,
        site: (&str, usize, &str),
        call: &MlCall,
        declared: Option<Size>,
        trace: Option<&Shapes>,
    ) -> Result<Entry, &'static str> {
        let k = kind(&call.operation)?;
        let eb = self.opts.element_bytes;
        let last = call.operation.rsplit('.').next().unwrap_or("");
        let vector_dot = matches!(last, "dot" | "vdot" | "inner");
        let gpu_capable = call
            .backend
            .as_deref()
            .map_or(k != Kind::Model, |b| b.contains("GPU"));
        let target = |matrix: bool| {
            if matrix {
                Some(crate::analyze::targets::matmul())
            } else if call.axis {
                None
            } else {
                call.target.clone()
            }
        };
        if let Some(size) = declared {
            let s = declared_size(k, size, eb, vector_dot);
            let (call_target, gpu) = (target(s.matrix), gpu_capable || s.matrix);
            return Ok(self.place(site, s, "declared", None, None, gpu, call_target));
        }
        if let Some(traced) = trace.and_then(|t| t.site(site.0, call.anchor, site.2)) {
            let mut sample = Vec::new();
            let mut why_not = None;
            for o in &traced.observed {
                match size_of(k, &o.operands, eb) {
                    Ok(Some(s)) => sample.push((s, o.count)),
                    Ok(None) => {}
                    Err(e) => why_not = Some(e),
                }
            }
            if let Some([min, median, max]) = spread(&sample, |s| s.work.flops) {
                let spread = Spread {
                    count: sample.iter().map(|(_, n)| n).sum(),
                    min: min.elements,
                    median: median.elements,
                    max: max.elements,
                };
                let (call_target, gpu) = (target(median.matrix), gpu_capable || median.matrix);
                return Ok(self.place(
                    site,
                    median,
                    "measured",
                    Some(spread),
                    Some(min.work),
                    gpu,
                    call_target,
                ));
            }
            if let Some(e) = why_not {
                return Err(e);
            }
        }
        if let Some(operands) = stated(call)
            && let Some(s) = size_of(k, &operands, eb)?
        {
            let (call_target, gpu) = (target(s.matrix), gpu_capable || s.matrix);
            return Ok(self.place(site, s, "stated", None, None, gpu, call_target));
        }
        if let Some(e) = self.opts.default_elements {
            let s = declared_size(k, Size::Elements(e), eb, vector_dot);
            let (call_target, gpu) = (target(s.matrix), gpu_capable || s.matrix);
            return Ok(self.place(site, s, "declared", None, None, gpu, call_target));
        }
        // Nothing tells the size: planned scalar, and said to be a guess.
        let s = declared_size(k, Size::Elements(1), eb, true);
        let mut e = self.place(site, s, "guess", None, None, false, target(false));
        e.backend = Choice::Scalar;
        (e.elements, e.shape, e.bytes, e.flops) = (0, None, 0.0, 0.0);
        // No time for an unknown size (written as null, shown as —).
        (e.estimate.scalar_s, e.estimate.simd_s) = (f64::NAN, f64::NAN);
        e.reason = "size unknown: no trace reached it and the code states none; declare it in `with: sizes`".to_owned();
        Ok(e)
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &self,
        (file, line, op): (&str, usize, &str),
        sized: Sized,
        how: &'static str,
        spread: Option<Spread>,
        smallest: Option<Work>,
        gpu_capable: bool,
        call: Option<String>,
    ) -> Entry {
        let (model, opts) = (self.model, self.opts);
        let Sized {
            work,
            elements,
            shape,
            operands,
            ..
        } = sized;
        let simd = opts.simd != Mode::Off && self.calibration.has_simd();
        let gpu = self.calibration.gpu.is_some() && opts.gpu != Mode::Off && gpu_capable;
        // No GPU estimate where there is no GPU, or the Rust target has no GPU path.
        let estimate = model.estimate(work, self.calibration.gpu.is_some() && gpu_capable);
        let mut choice = model.choose(work, elements as usize, simd, gpu);
        let mut note = None;
        if choice == Choice::Gpu
            && let Some(w) = smallest
            && model.choose(w, elements as usize, simd, gpu) != Choice::Gpu
        {
            choice = model.choose(work, elements as usize, simd, false);
            note = Some("the GPU wins for the median call but not the smallest");
        }
        let (backend, reason) = if gpu && opts.gpu == Mode::Force {
            (Choice::Gpu, "gpu: force".to_owned())
        } else if choice == Choice::Scalar && opts.simd == Mode::Force {
            (Choice::Simd, "simd: force".to_owned())
        } else {
            let why = self.why(work, elements, choice, simd, gpu_capable);
            (choice, note.map_or(why.clone(), |n| format!("{n}; {why}")))
        };
        Entry {
            operation: op.to_owned(),
            column: None,
            file: file.to_owned(),
            line,
            elements,
            shape,
            size: how,
            spread,
            operands,
            bytes: work.bytes,
            flops: work.flops,
            backend,
            estimate,
            call,
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
