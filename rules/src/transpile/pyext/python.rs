//! The Python side: what the interpreter itself reads in the ported files ([`DEFS`]), and
//! which of their functions a native one can stand for.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::rule::Call;
use batuta_engine::rule::Failure;
use serde::Deserialize;

use super::record::Function;
use super::signature::{RustFn, Signature};
use crate::validate::run::{self, Output};

/// The reader, run with the task's interpreter (see its header).
const DEFS: &str = include_str!("defs.py");

/// What [`DEFS`] says of one file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PyFile {
    #[serde(default)]
    pub code_lines: usize,
    #[serde(default)]
    pub functions: Vec<PyDef>,
    /// Why the interpreter could not read it.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PyDef {
    pub name: String,
    pub line: usize,
    pub code_lines: usize,
    pub params: usize,
    pub varargs: bool,
    pub decorated: bool,
    pub is_async: bool,
    pub generator: bool,
}

/// Reads `files` (relative to the workspace) with `python`, by file.
pub fn read(
    call: &Call<'_>,
    python: &Path,
    files: &[String],
    timeout: Duration,
) -> Result<BTreeMap<String, PyFile>, Failure> {
    if files.is_empty() {
        return Ok(BTreeMap::new());
    }
    let root = call
        .root
        .canonicalize()
        .map_err(|e| Failure::new(codes::B001, format!("cannot resolve the workspace: {e}")))?;
    let mut args = vec!["-c".to_owned(), DEFS.to_owned()];
    args.extend(
        files
            .iter()
            .map(|f| root.join(f).to_string_lossy().into_owned()),
    );
    let cmd = run::command(python, &args, &root, &call.env);
    let done = run::run(
        cmd,
        "build",
        "python3",
        None,
        Output::Separate,
        timeout,
        call.cancel,
    )
    .map_err(|e| e.failure(codes::B001))?;
    if !done.status.success() {
        return Err(Failure::new(
            codes::B001,
            format!(
                "{} could not read the Python files ({})",
                python.display(),
                run::exit_text(&done.status)
            ),
        )
        .detail(String::from_utf8_lossy(&done.stderr).into_owned()));
    }
    let by_path: BTreeMap<String, PyFile> = serde_json::from_slice(&done.stdout)
        .map_err(|e| Failure::new(codes::B001, format!("the Python reader said no JSON: {e}")))?;
    Ok(files
        .iter()
        .map(|f| {
            let abs = root.join(f).to_string_lossy().into_owned();
            (f.clone(), by_path.get(&abs).cloned().unwrap_or_default())
        })
        .collect())
}

/// Each top-level function of a Python file, native when the module's Rust function of
/// the same name can be wrapped and called as Python calls it; the wrapped ones, with
/// their signatures, for the extension.
pub fn match_functions(
    py: &PyFile,
    rust: &[RustFn],
    module: &str,
) -> (Vec<Function>, Vec<(String, String, Signature)>) {
    let mut out = Vec::new();
    let mut wrapped: Vec<(String, String, Signature)> = Vec::new();
    for d in &py.functions {
        let why = why_not(d, rust, module);
        if why.is_none()
            && let Some(r) = rust.iter().find(|r| r.name == d.name)
            && let Ok(sig) = &r.wrap
            && !wrapped.iter().any(|(n, _, _)| *n == d.name)
        {
            wrapped.push((d.name.clone(), r.ident.clone(), sig.clone()));
        }
        out.push(Function {
            name: d.name.clone(),
            line: d.line,
            code_lines: d.code_lines,
            native: why.is_none(),
            why,
        });
    }
    (out, wrapped)
}

fn why_not(d: &PyDef, rust: &[RustFn], module: &str) -> Option<String> {
    let Some(r) = rust.iter().find(|r| r.name == d.name) else {
        return Some(format!("no fn {} in {module}", d.name));
    };
    let sig = match &r.wrap {
        Ok(sig) => sig,
        Err(why) => return Some(format!("fn {} (line {}): {why}", r.ident, r.line)),
    };
    if d.varargs {
        Some("takes *args or **kwargs in Python".to_owned())
    } else if d.decorated {
        Some("decorated in Python: Python calls what its decorator returns".to_owned())
    } else if d.is_async {
        Some("an `async def` in Python: its callers await a coroutine".to_owned())
    } else if d.generator {
        Some("a generator in Python (it yields)".to_owned())
    } else if d.params != sig.params.len() {
        Some(format!(
            "takes {} parameter{} in Python and {} in Rust",
            d.params,
            if d.params == 1 { "" } else { "s" },
            sig.params.len()
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::signature::functions;
    use super::*;

    fn def(name: &str, params: usize) -> PyDef {
        PyDef {
            name: name.into(),
            line: 1,
            code_lines: 5,
            params,
            varargs: false,
            decorated: false,
            is_async: false,
            generator: false,
        }
    }

    #[test]
    fn a_python_function_is_native_when_its_rust_one_is_wrapped_and_fits() {
        let rust = functions(
            "pub fn shout(s: &str) -> String { s.to_uppercase() }\npub fn count(v: &mut Vec<i64>) {}\npub fn pair(a: i64, b: i64) -> i64 { a }\n",
        )
        .unwrap();
        let mut gen_ = def("pair", 2);
        gen_.generator = true;
        let py = PyFile {
            code_lines: 20,
            functions: vec![def("shout", 1), def("count", 1), def("whisper", 1), gen_],
            error: None,
        };
        let (fs, wrapped) = match_functions(&py, &rust, "rust/src/t.rs");
        assert!(fs[0].native);
        assert!(
            fs[1]
                .why
                .as_deref()
                .unwrap()
                .starts_with("fn count (line 2): parameter `v: &mut Vec<i64>`"),
            "{fs:?}"
        );
        assert_eq!(fs[2].why.as_deref(), Some("no fn whisper in rust/src/t.rs"));
        assert_eq!(
            fs[3].why.as_deref(),
            Some("a generator in Python (it yields)")
        );
        assert_eq!(wrapped.len(), 1);
        assert_eq!(wrapped[0].0, "shout");
        let py = PyFile {
            code_lines: 3,
            functions: vec![def("shout", 2)],
            error: None,
        };
        let (fs, _) = match_functions(&py, &rust, "m");
        assert_eq!(
            fs[0].why.as_deref(),
            Some("takes 2 parameters in Python and 1 in Rust")
        );
    }
}
