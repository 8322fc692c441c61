//! `builtin: trace-shapes`: runs the original program over the validation cases with a
//! shim first on its import path (`shim.py`, as `sitecustomize`), and writes the shapes and
//! dtypes the operands of every planned call site had (`.batuta/trace/shapes.json`), which
//! `optimize` plans with instead of guessing.
//!
//! Its `with` is a compare-outputs `with` (share it with a YAML anchor): `original`, and
//! `cases` or the one case `stdin` makes ([`crate::validate::cases::validation_cases`]);
//! compare-outputs' other keys are accepted and not used. Its `inputs` are the program's
//! files and data, as compare-outputs lists them: the action is cached by the program, its
//! inputs and the cases. The call sites are found by analysing the `.py` files among them.

pub mod shapes;

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use batuta_engine::codes::phase_code;
use batuta_engine::fsutil::write_atomic;
use batuta_engine::manifest::BuiltinFiles;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};
use serde_json::{Value, json};

use crate::analyze::ml::Via;
use crate::validate::cases::{Cases, validation_cases};
use crate::validate::run::{self, Output};
use crate::validate::workcopy::WorkCopy;
use shapes::{ProcessTrace, Shapes};

pub const NAME: &str = "trace-shapes";
const VERSION: &str = concat!("trace-shapes-", env!("CARGO_PKG_VERSION"), "-2");
const SHIM: &str = include_str!("shim.py");
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the trace goes, relative to the workspace; `optimize` reads it when it is there.
pub const SHAPES: &str = ".batuta/trace/shapes.json";

/// With no `outputs:`, the task writes [`SHAPES`].
pub const FILES: BuiltinFiles = BuiltinFiles {
    builtin: NAME,
    inputs: &[],
    outputs: &[SHAPES],
    records: &[],
};

/// compare-outputs' keys: a trace task shares its `with`.
const KEYS: &[&str] = &[
    "original",
    "migrated",
    "compare",
    "files",
    "rtol",
    "atol",
    "normalize",
    "stdin",
    "timeout",
    "cases",
];

pub struct TraceShapes;

impl Rule for TraceShapes {
    fn version(&self) -> &str {
        VERSION
    }

    fn check(&self, with: &Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        let problem = |m: String| batuta_engine::manifest::WithProblem::new(with, KEYS, m);
        if let Some(k) = with
            .as_object()
            .and_then(|m| m.keys().find(|k| !KEYS.contains(&k.as_str())))
        {
            return Err(problem(format!(
                "unknown key `{k}`; trace-shapes takes compare-outputs' `with`"
            )));
        }
        validation_cases(NAME, with)
            .map(|_| ())
            .map_err(|e| problem(e.message))
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let code = phase_code(call.phase);
        let fail = |m: String| Failure::new(code, m);
        let cases = validation_cases(NAME, call.with).map_err(|e| {
            e.failure(
                code,
                "compare-outputs' keys: original, cases or stdin, timeout",
            )
        })?;
        let out = call
            .outputs
            .iter()
            .find(|o| o.ends_with(".json"))
            .ok_or_else(|| {
                fail(format!(
                    "{NAME} writes one .json file; its outputs have none"
                ))
            })?;
        let sites = sites(call)?;
        let n_sites: usize = sites.values().map(Vec::len).sum();
        let scratch = tempfile::Builder::new()
            .prefix("batuta-trace-")
            .tempdir()
            .map_err(|e| fail(format!("cannot create a temporary folder: {e}")))?;
        let shim_dir = scratch.path().join("shim");
        std::fs::create_dir_all(&shim_dir)
            .and_then(|_| std::fs::write(shim_dir.join("sitecustomize.py"), SHIM))
            .and_then(|_| {
                std::fs::write(
                    scratch.path().join("sites.json"),
                    json!({ "files": sites }).to_string(),
                )
            })
            .map_err(|e| fail(format!("cannot write the tracer: {e}")))?;
        let traces_dir = scratch.path().join("traces");
        let started = std::time::Instant::now();
        for (n, case) in cases.cases.iter().enumerate() {
            run_case(call, &cases, n, case, scratch.path(), &traces_dir)?;
        }
        let elapsed = started.elapsed();
        let shapes = Shapes::merge(cases.cases.len(), read_traces(&traces_dir)?);
        let bytes = serde_json::to_vec_pretty(&shapes)
            .map_err(|e| fail(format!("cannot encode the trace: {e}")))?;
        write_atomic(&call.path(out), &bytes)
            .map_err(|e| fail(format!("cannot write '{out}': {e}")))?;
        let calls: u64 = shapes.sites.iter().map(|s| s.count).sum();
        Ok(Note::new(format!(
            "traced {} case(s) in {:.2} s: {calls} calls at {} of {n_sites} call sites\n",
            cases.cases.len(),
            elapsed.as_secs_f64(),
            shapes.sites.len()
        )))
    }
}

/// The call sites to trace, by file relative to `project.source`: every NumPy, SciPy and
/// model call the analysis finds in the `.py` inputs, by its anchor (the `(` or `@` the
/// shim finds in Python's own parse of the file). Calls without one (files only the
/// tree-sitter fallback reads) are not traced.
fn sites(call: &Call<'_>) -> Result<std::collections::BTreeMap<String, Vec<Value>>, Failure> {
    let mut out = std::collections::BTreeMap::new();
    for input in call.inputs.iter().filter(|i| i.ends_with(".py")) {
        let text = std::fs::read_to_string(call.path(input)).map_err(|e| {
            Failure::new(
                phase_code(call.phase),
                format!("cannot read '{input}': {e}"),
            )
        })?;
        let Ok(facts) = crate::analyze::python::facts(&text, true) else {
            continue;
        };
        let list: Vec<Value> = facts
            .ml_calls
            .iter()
            .filter_map(|c| {
                Some(json!({
                    "line": c.line,
                    "anchor": c.anchor?,
                    "operation": c.operation,
                    "via": match c.via { Via::Function => "function", Via::Method { .. } => "method", Via::Operator => "operator" },
                    "axis": c.axis,
                }))
            })
            .collect();
        if !list.is_empty() {
            out.insert(source_relative(call.source, input), list);
        }
    }
    Ok(out)
}

/// `legacy/pkg/a.py` → `pkg/a.py` when the source is `legacy`.
fn source_relative(source: &str, input: &str) -> String {
    if source.is_empty() {
        return input.to_owned();
    }
    input
        .strip_prefix(source)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(input)
        .to_owned()
}

fn run_case(
    call: &Call<'_>,
    cases: &Cases,
    n: usize,
    case: &crate::validate::cases::Case,
    scratch: &Path,
    traces: &Path,
) -> Result<(), Failure> {
    let code = phase_code(call.phase);
    let label = format!("case {} ({})", n + 1, case.args.join(" "));
    let wc = WorkCopy::new(call.root, call.inputs, "trace")
        .map_err(|e| Failure::new(code, format!("{NAME}: {e}")))?;
    let mut env: Vec<(String, OsString)> = call
        .env
        .iter()
        .filter(|(k, _)| k != "PYTHONPATH")
        .cloned()
        .collect();
    let mut pythonpath = OsString::from(scratch.join("shim"));
    if let Some((_, p)) = call.env.iter().find(|(k, _)| k == "PYTHONPATH") {
        pythonpath.push(":");
        pythonpath.push(p);
    }
    env.push(("PYTHONPATH".into(), pythonpath));
    env.push((
        "BATUTA_TRACE_SITES".into(),
        scratch.join("sites.json").into(),
    ));
    env.push((
        "BATUTA_TRACE_ROOT".into(),
        wc.path().join(call.source).into(),
    ));
    env.push(("BATUTA_TRACE_OUT".into(), traces.into()));
    let argv = &cases.original;
    let program = run::resolve("original", &argv[0], wc.path(), &env)
        .map_err(|e| Failure::new(code, format!("{NAME}: {e}")))?;
    let args: Vec<String> = argv[1..].iter().chain(&case.args).cloned().collect();
    let cmd = run::command(&program, &args, wc.path(), &env);
    let stdin = case.stdin.as_ref().map(|s| wc.path().join(s));
    let limit = cases
        .timeout
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64);
    let done = run::run(
        cmd,
        "original",
        &argv[0],
        stdin.as_deref(),
        Output::Separate,
        limit,
        call.cancel,
    )
    .map_err(|e| Failure::new(code, format!("{NAME}, {label}: {e}")))?;
    if !done.status.success() {
        let stderr = String::from_utf8_lossy(&done.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
        return Err(Failure::new(
            code,
            format!(
                "{NAME}, {label}: the original program {} under the tracer:\n{}",
                run::exit_text(&done.status),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ),
        )
        .hint("it must pass its validation cases untraced first; run compare-outputs"));
    }
    wc.close()
        .map_err(|e| Failure::new(code, format!("cannot remove the working copy: {e}")))
}

fn read_traces(dir: &Path) -> Result<Vec<ProcessTrace>, Failure> {
    let code = batuta_engine::codes::O003;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let bytes = std::fs::read(&p)
            .map_err(|e| Failure::new(code, format!("cannot read {}: {e}", p.display())))?;
        let t: ProcessTrace = serde_json::from_slice(&bytes).map_err(|e| {
            Failure::new(code, format!("the tracer wrote {} badly: {e}", p.display()))
        })?;
        if t.format != shapes::FORMAT {
            return Err(Failure::new(
                code,
                format!(
                    "{}: trace format {}, expected {}",
                    p.display(),
                    t.format,
                    shapes::FORMAT
                ),
            ));
        }
        out.push(t);
    }
    Ok(out)
}
