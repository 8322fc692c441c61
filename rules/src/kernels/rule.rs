//! The kernels as rules: `kernel: allclose` in a manifest task. A kernel rule reads the
//! task's `inputs` (raw, `.npy` or CSV), computes on the backend the cost model picks (or
//! the one `with: { backend: ... }` forces), writes a JSON result to each declared output,
//! and fails with BATUTA-V-001 when a check (allclose, or a `max`/`max_ulp` gate) does not
//! hold.

use std::path::Path;

use batuta_engine::codes;
use batuta_engine::codes::phase_code;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};
use serde_json::{Map, Value, json};

use super::load::{self, AnyArray, Array, Column, Format};
use super::{
    Backend, Computed, Dtype, Element, KernelError, Select, SimdElement, SimdLevel, Tolerance,
};

/// Which kernel a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Allclose,
    MaxAbsDiff,
    UlpDistance,
    Dot,
    Sum,
    Mean,
    Matmul,
}

impl Kernel {
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Allclose => "allclose",
            Kernel::MaxAbsDiff => "max_abs_diff",
            Kernel::UlpDistance => "ulp_distance",
            Kernel::Dot => "dot",
            Kernel::Sum => "sum",
            Kernel::Mean => "mean",
            Kernel::Matmul => "matmul",
        }
    }

    fn inputs(self) -> usize {
        match self {
            Kernel::Sum | Kernel::Mean => 1,
            _ => 2,
        }
    }

    /// The `with` keys this kernel reads, beyond the common ones.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kernel::Allclose => &["rtol", "atol", "equal_nan"],
            Kernel::MaxAbsDiff => &["max"],
            Kernel::UlpDistance => &["equal_nan", "max_ulp"],
            Kernel::Matmul => &["m", "k", "n"],
            Kernel::Dot | Kernel::Sum | Kernel::Mean => &[],
        }
    }
}

const COMMON_KEYS: &[&str] = &["dtype", "format", "column", "columns", "backend"];

/// One kernel, as a rule.
pub struct KernelRule(pub Kernel);

pub static RULES: [KernelRule; 7] = [
    KernelRule(Kernel::Allclose),
    KernelRule(Kernel::MaxAbsDiff),
    KernelRule(Kernel::UlpDistance),
    KernelRule(Kernel::Dot),
    KernelRule(Kernel::Sum),
    KernelRule(Kernel::Mean),
    KernelRule(Kernel::Matmul),
];

pub fn find(name: &str) -> Option<&'static KernelRule> {
    RULES.iter().find(|r| r.0.name() == name)
}

impl Rule for KernelRule {
    fn version(&self) -> &str {
        concat!("batuta-rules ", env!("CARGO_PKG_VERSION"), " kernels 1")
    }

    fn check(&self, with: &Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        use batuta_engine::manifest::WithProblem;
        let known: Vec<&str> = COMMON_KEYS.iter().chain(self.0.keys()).copied().collect();
        let message = match with {
            Value::Null => return Ok(()),
            Value::Object(m) => match m.keys().find(|k| !known.contains(&k.as_str())) {
                Some(key) => format!("the kernel '{}' has no option '{key}'", self.0.name()),
                None => return Ok(()),
            },
            other => format!("'with' must be a mapping, not {other}"),
        };
        Err(WithProblem::new(with, &known, message))
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let opts = Options::parse(self.0, call)?;
        if call.cancelled() {
            return Err(bad(call, "cancelled".into()));
        }
        let arrays = call
            .inputs
            .iter()
            .enumerate()
            .map(|(i, input)| opts.load(call, i, input))
            .collect::<Result<Vec<_>, _>>()?;
        let dtype = opts.dtype.unwrap_or_else(|| arrays[0].dtype());
        let done = match dtype {
            Dtype::F32 => compute::<f32>(self.0, &opts, call, arrays)?,
            Dtype::F64 => compute::<f64>(self.0, &opts, call, arrays)?,
        };
        for out in call.outputs {
            let bytes = match (&done.matrix, out.ends_with(".json")) {
                (Some(m), false) => m.clone(),
                _ => {
                    let mut s = serde_json::to_string_pretty(&done.json).expect("JSON");
                    s.push('\n');
                    s.into_bytes()
                }
            };
            write(call, out, &bytes)?;
        }
        match done.failure {
            Some(f) => Err(f),
            None => Ok(Note::new(done.report)),
        }
    }
}

fn write(call: &Call<'_>, out: &str, bytes: &[u8]) -> Result<(), Failure> {
    let path = call.path(out);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| bad(call, format!("cannot create the folder of '{out}': {e}")))?;
    }
    std::fs::write(&path, bytes).map_err(|e| bad(call, format!("cannot write '{out}': {e}")))
}

/// A problem with the task itself (its `with`, its inputs): the phase's code.
fn bad(call: &Call<'_>, msg: String) -> Failure {
    Failure::new(phase_code(call.phase), msg)
}

/// The task's `with`, checked.
struct Options {
    dtype: Option<Dtype>,
    format: Option<Format>,
    columns: Vec<Column>,
    select: Select,
    tol: Tolerance,
    max: Option<f64>,
    max_ulp: Option<u64>,
    dims: [Option<usize>; 3],
}

impl Options {
    fn parse(kernel: Kernel, call: &Call<'_>) -> Result<Options, Failure> {
        let name = kernel.name();
        let empty = Map::new();
        let with = match call.with {
            Value::Null => &empty,
            Value::Object(m) => m,
            other => return Err(bad(call, format!("'with' must be a mapping, not {other}"))),
        };
        for key in with.keys() {
            if !COMMON_KEYS.contains(&key.as_str()) && !kernel.keys().contains(&key.as_str()) {
                let mut known: Vec<&str> = COMMON_KEYS.to_vec();
                known.extend(kernel.keys());
                return Err(bad(
                    call,
                    format!(
                        "the kernel '{name}' has no option '{key}' (it knows: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        if call.inputs.len() != kernel.inputs() {
            return Err(bad(
                call,
                format!(
                    "the kernel '{name}' takes {} input file(s), the task declares {}",
                    kernel.inputs(),
                    call.inputs.len()
                ),
            )
            .hint("list them under 'inputs:'"));
        }
        let string = |key: &str| -> Result<Option<&str>, Failure> {
            match with.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(v) => Err(bad(call, format!("'{key}' must be a string, not {v}"))),
            }
        };
        let number = |key: &str| -> Result<Option<f64>, Failure> {
            match with.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| bad(call, format!("'{key}' must be a number, not {v}"))),
            }
        };
        let count = |key: &str| -> Result<Option<u64>, Failure> {
            match with.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| bad(call, format!("'{key}' must be a whole number, not {v}"))),
            }
        };
        let dtype = match string("dtype")? {
            None => None,
            Some(s) => Some(Dtype::parse(s).ok_or_else(|| {
                bad(
                    call,
                    format!("dtype '{s}' is not supported; use f32 or f64"),
                )
            })?),
        };
        let format = match string("format")? {
            None => None,
            Some(s) => Some(Format::parse(s).ok_or_else(|| {
                bad(
                    call,
                    format!("format '{s}' is not known; use raw, npy or csv"),
                )
            })?),
        };
        let column = |v: &Value| -> Result<Column, Failure> {
            match v {
                Value::String(s) => Ok(Column::Name(s.clone())),
                v => v
                    .as_u64()
                    .map(|i| Column::Index(i as usize))
                    .ok_or_else(|| bad(call, format!("a column is a name or an index, not {v}"))),
            }
        };
        let mut columns = Vec::new();
        if let Some(c) = with.get("column") {
            columns = vec![column(c)?; call.inputs.len()];
        }
        if let Some(cs) = with.get("columns") {
            let Some(list) = cs.as_array().filter(|l| l.len() == call.inputs.len()) else {
                return Err(bad(
                    call,
                    format!(
                        "'columns' must list one column per input ({})",
                        call.inputs.len()
                    ),
                ));
            };
            columns = list.iter().map(column).collect::<Result<_, _>>()?;
        }
        let select = match string("backend")? {
            None => Select::Auto,
            Some(s) => Select::parse(s).ok_or_else(|| {
                bad(
                    call,
                    format!(
                        "backend '{s}' is not known; use auto, scalar, simd, sse2, avx2, avx512, neon, rayon or gpu"
                    ),
                )
            })?,
        };
        let defaults = Tolerance::default();
        let equal_nan = match with.get("equal_nan") {
            None => defaults.equal_nan,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                return Err(bad(
                    call,
                    format!("'equal_nan' must be true or false, not {v}"),
                ));
            }
        };
        let tol = Tolerance {
            rtol: number("rtol")?.unwrap_or(defaults.rtol),
            atol: number("atol")?.unwrap_or(defaults.atol),
            equal_nan,
        };
        let dim = |k: &str| count(k).map(|v| v.map(|v| v as usize));
        Ok(Options {
            dtype,
            format,
            columns,
            select,
            tol,
            max: number("max")?,
            max_ulp: count("max_ulp")?,
            dims: [dim("m")?, dim("k")?, dim("n")?],
        })
    }

    fn load(&self, call: &Call<'_>, i: usize, input: &str) -> Result<AnyArray, Failure> {
        let path = call.path(input);
        let format = self.format.unwrap_or_else(|| Format::of(Path::new(input)));
        let loaded = match format {
            Format::Npy => load::npy(&path),
            Format::Csv => {
                let column = self.columns.get(i).cloned().unwrap_or(Column::Index(0));
                load::csv(&path, &column)
            }
            Format::Raw => {
                let by_ext = match Path::new(input).extension().and_then(|e| e.to_str()) {
                    Some("f64" | "d" | "double") => Dtype::F64,
                    _ => Dtype::F32,
                };
                load::raw(&path, self.dtype.unwrap_or(by_ext))
            }
        };
        loaded.map_err(|e| bad(call, format!("cannot read input '{input}': {e}")))
    }
}

/// What a kernel run produced.
struct Done {
    json: Value,
    report: String,
    /// For matmul: the product, as the bytes of its non-JSON outputs.
    matrix: Option<Vec<u8>>,
    failure: Option<Failure>,
}

/// A float as JSON: a number when finite, else "NaN", "inf" or "-inf".
fn float(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else if x.is_nan() {
        json!("NaN")
    } else if x > 0.0 {
        json!("inf")
    } else {
        json!("-inf")
    }
}

fn backend_failure(call: &Call<'_>, e: KernelError) -> Failure {
    match e {
        KernelError::SimdUnavailable(_) => Failure::new(codes::O001, e.to_string())
            .hint("use backend: simd or auto, which pick the best level this CPU has"),
        KernelError::GpuUnavailable(_) => Failure::new(codes::O003, e.to_string())
            .hint("use backend: auto to let the cost model fall back to the CPU"),
        KernelError::Gpu(ref m) if m.contains("BATUTA-O-002") => {
            Failure::new(codes::O002, e.to_string())
        }
        KernelError::Gpu(_) => Failure::new(codes::O003, e.to_string()),
        KernelError::Length { .. } | KernelError::Shape(_) => bad(call, e.to_string()),
    }
}

fn compute<T: SimdElement>(
    kernel: Kernel,
    o: &Options,
    call: &Call<'_>,
    arrays: Vec<AnyArray>,
) -> Result<Done, Failure> {
    let shapes: Vec<Vec<usize>> = arrays.iter().map(|a| a.shape().to_vec()).collect();
    let arrays: Vec<Array<T>> = arrays.into_iter().map(AnyArray::into_type::<T>).collect();
    let a = arrays[0].as_slice();
    let b = arrays.get(1).map_or(a, |x| x.as_slice());
    let name = kernel.name();
    let dtype = T::DTYPE;
    let fail = |e| backend_failure(call, e);
    let mut json = json!({
        "kernel": name,
        "dtype": dtype.name(),
        "inputs": call.inputs,
    });
    let mut failure = None;
    let mut matrix = None;
    let described = |c: &Backend| -> (Value, String) { (json!(c.kind()), c.to_string()) };
    let (backend, n, summary) = match kernel {
        Kernel::Allclose => {
            let r = super::allclose(a, b, o.tol, o.select).map_err(fail)?;
            let c = &r.value;
            json["value"] = json!(c.pass);
            json["pass"] = json!(c.pass);
            json["mismatches"] = json!(c.mismatches);
            json["rtol"] = json!(o.tol.rtol);
            json["atol"] = json!(o.tol.atol);
            json["equal_nan"] = json!(o.tol.equal_nan);
            let tol = format!("rtol {:e}, atol {:e}", o.tol.rtol, o.tol.atol);
            let summary = match &c.worst {
                None => format!("all {} {dtype} pairs are close ({tol})", r.n),
                Some(w) => {
                    json["worst"] = json!({
                        "index": w.index, "a": float(w.a), "b": float(w.b),
                        "diff": float(w.diff), "tolerance": float(w.tolerance),
                    });
                    let msg = format!(
                        "{} of {} {dtype} pairs are not close ({tol}); the worst is at index {}: a = {}, b = {}, |a - b| = {} > {}",
                        c.mismatches,
                        r.n,
                        w.index,
                        T::from_f64(w.a),
                        T::from_f64(w.b),
                        T::from_f64(w.diff),
                        T::from_f64(w.tolerance)
                    );
                    failure = Some(msg.clone());
                    msg
                }
            };
            (r.backend, r.n, summary)
        }
        Kernel::MaxAbsDiff => {
            let r = super::max_abs_diff(a, b, o.select).map_err(fail)?;
            let v = r.value.to_f64();
            json["value"] = float(v);
            let mut summary = format!("max |a - b| = {v} over {} {dtype} pairs", r.n);
            if let Some(max) = o.max {
                let pass = v <= max;
                json["pass"] = json!(pass);
                json["max"] = json!(max);
                if !pass {
                    summary = format!("{summary}, more than the allowed {max}");
                    failure = Some(summary.clone());
                }
            }
            (r.backend, r.n, summary)
        }
        Kernel::UlpDistance => {
            let r = super::ulp_distance(a, b, o.tol.equal_nan, o.select).map_err(fail)?;
            json["value"] = json!(r.value);
            json["equal_nan"] = json!(o.tol.equal_nan);
            let shown = if r.value == u64::MAX {
                "unbounded (a NaN on one side)".to_owned()
            } else {
                r.value.to_string()
            };
            let mut summary = format!("max ULP distance {shown} over {} {dtype} pairs", r.n);
            if let Some(max) = o.max_ulp {
                let pass = r.value <= max;
                json["pass"] = json!(pass);
                json["max_ulp"] = json!(max);
                if !pass {
                    summary = format!("{summary}, more than the allowed {max}");
                    failure = Some(summary.clone());
                }
            }
            (r.backend, r.n, summary)
        }
        Kernel::Dot => scalar_result(&mut json, super::dot(a, b, o.select).map_err(fail)?, "a·b"),
        Kernel::Sum => scalar_result(&mut json, super::sum(a, o.select).map_err(fail)?, "Σ a"),
        Kernel::Mean => scalar_result(
            &mut json,
            super::mean(a, o.select).map_err(fail)?,
            "mean(a)",
        ),
        Kernel::Matmul => {
            let (m, k, n) =
                matmul_dims(&shapes, a.len(), b.len(), o.dims).map_err(|e| bad(call, e))?;
            let r = super::matmul(a, b, (m, k, n), o.select).map_err(fail)?;
            json["shape"] = json!([m, n]);
            let sum: f64 = r.value.iter().map(|x| x.to_f64()).sum();
            json["sum"] = float(sum);
            let file = call.outputs.iter().find(|p| !p.ends_with(".json"));
            match file {
                Some(p) if p.ends_with(".npy") => {
                    let bytes = load::npy_bytes(&r.value, &[m, n])
                        .map_err(|e| bad(call, format!("cannot write the product as .npy: {e}")))?;
                    matrix = Some(bytes);
                }
                Some(_) => matrix = Some(r.value.iter().flat_map(|x| x.to_le()).collect()),
                None => {
                    json["value"] = Value::Array(
                        r.value
                            .chunks(n.max(1))
                            .map(|row| {
                                Value::Array(row.iter().map(|x| float(x.to_f64())).collect())
                            })
                            .collect(),
                    );
                }
            }
            if let Some(p) = file {
                json["value_file"] = json!(p);
            }
            let summary = format!("({m}×{k})·({k}×{n}) {dtype} product, sum of its elements {sum}");
            (r.backend, m * k, summary)
        }
    };
    let (kind, detail) = described(&backend);
    json["n"] = json!(n);
    json["backend"] = kind;
    json["backend_detail"] = json!(detail);
    if let Backend::Simd(l) | Backend::Rayon { level: l, .. } = backend {
        json["simd_level"] = json!(l.name());
    } else if backend == Backend::Scalar {
        json["simd_level"] = json!(SimdLevel::Scalar.name());
    }
    let report = format!("{name}: {summary}; computed on {detail}");
    let failure = failure.map(|msg| {
        Failure::new(codes::V001, format!("{name}: {msg}; computed on {detail}"))
            .hint(match call.inputs {
                [x, y] => format!("a is '{x}', b is '{y}'"),
                _ => format!("the input is '{}'", call.inputs.join("', '")),
            })
            .hint(match kernel {
                Kernel::Allclose => "if the difference is acceptable, raise rtol or atol in 'with'",
                _ => "if the difference is acceptable, raise the limit in 'with'",
            })
    });
    Ok(Done {
        json,
        report,
        matrix,
        failure,
    })
}

fn scalar_result<T: Element>(
    json: &mut Value,
    r: Computed<T>,
    what: &str,
) -> (Backend, usize, String) {
    let v = r.value.to_f64();
    json["value"] = float(v);
    let summary = format!("{what} = {v} over {} {} elements", r.n, T::DTYPE);
    (r.backend, r.n, summary)
}

/// (m, k, n) from the inputs' shapes (2-D `.npy`) or from `with: { m, k, n }` (k alone
/// suffices: m and n follow from the lengths).
fn matmul_dims(
    shapes: &[Vec<usize>],
    len_a: usize,
    len_b: usize,
    [m, k, n]: [Option<usize>; 3],
) -> Result<(usize, usize, usize), String> {
    if let ([ma, ka], [kb, nb]) = (shapes[0].as_slice(), shapes[1].as_slice()) {
        if ka != kb {
            return Err(format!(
                "cannot multiply a ({ma}×{ka}) matrix by a ({kb}×{nb}) one: the inner dimensions differ"
            ));
        }
        return Ok((*ma, *ka, *nb));
    }
    let k = match (k, m, n) {
        (Some(k), _, _) => k,
        (None, Some(m), _) if m > 0 && len_a.is_multiple_of(m) => len_a / m,
        (None, _, Some(n)) if n > 0 && len_b.is_multiple_of(n) => len_b / n,
        _ => {
            return Err(
                "matmul needs the shapes: 2-D .npy inputs, or 'k' (and optionally 'm', 'n') in 'with'"
                    .into(),
            );
        }
    };
    if k == 0 || !len_a.is_multiple_of(k) || !len_b.is_multiple_of(k) {
        return Err(format!(
            "with k = {k}, the inputs ({len_a} and {len_b} elements) are not (m×k) and (k×n) matrices"
        ));
    }
    let (mm, nn) = (len_a / k, len_b / k);
    if m.is_some_and(|m| m != mm) || n.is_some_and(|n| n != nn) {
        return Err(format!(
            "the inputs hold a ({mm}×{k}) and a ({k}×{nn}) matrix, not the m and n given in 'with'"
        ));
    }
    Ok((mm, k, nn))
}
