//! What `python-extension` made of the Python files: for each one the plan ports, whether
//! it runs native in the mixed program, which of its functions do and which stay Python
//! (with why), and its code lines. It is one of the action's outputs, so a cache restore
//! brings it back with the extension it describes; `batuta status --files` and the report
//! read it for their native share.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Where the record of the crate at `output` is kept, relative to the workspace.
pub const RECORD: &str = ".batuta/transpile/{output}/python.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The extension's crate, relative to the workspace.
    #[serde(rename = "crate")]
    pub crate_dir: String,
    /// The built extension module.
    pub module: String,
    /// The launcher that runs the mixed program.
    pub launcher: String,
    pub files: Vec<PythonFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonFile {
    /// The Python file, relative to the workspace.
    pub source: String,
    /// The Rust module the plan names for it.
    pub module: String,
    /// Code lines of the file (neither blank, comment nor docstring).
    pub code_lines: usize,
    /// Of those, the lines of its functions that run native.
    pub native_lines: usize,
    /// Why none of it runs native, when none does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// Its top-level functions, each native or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<Function>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub line: usize,
    pub code_lines: usize,
    pub native: bool,
    /// Why it stays Python.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl PythonFile {
    /// `1 of 2 functions native` / `stays Python: …`, for people.
    pub fn summary(&self) -> String {
        if let Some(why) = &self.python {
            return format!("stays Python: {why}");
        }
        if self.functions.is_empty() {
            return "no top-level function to wrap: it stays Python".to_owned();
        }
        let native = self.functions.iter().filter(|f| f.native).count();
        format!(
            "{native} of {} function{} native",
            self.functions.len(),
            if self.functions.len() == 1 { "" } else { "s" }
        )
    }
}

/// Whether an output of a python-extension action is its record (see [`RECORD`]).
pub fn is_record(output: &str) -> bool {
    output.starts_with(".batuta/transpile/") && output.ends_with("/python.json")
}

/// The record at `rel`, if it was written and reads as one.
pub fn read(root: &Path, rel: &str) -> Option<Extension> {
    let bytes = std::fs::read(root.join(rel)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_among_outputs_and_summarised() {
        assert!(is_record(".batuta/transpile/rust/python.json"));
        assert!(!is_record(".batuta/transpile/rust/assembly.json"));
        let mut f = PythonFile {
            source: "a.py".into(),
            module: "rust/src/a.rs".into(),
            code_lines: 10,
            native_lines: 4,
            python: None,
            functions: vec![
                Function {
                    name: "f".into(),
                    line: 1,
                    code_lines: 4,
                    native: true,
                    why: None,
                },
                Function {
                    name: "g".into(),
                    line: 7,
                    code_lines: 3,
                    native: false,
                    why: Some("no fn g".into()),
                },
            ],
        };
        assert_eq!(f.summary(), "1 of 2 functions native");
        f.python = Some("its module does not compile (quarantined)".into());
        assert_eq!(
            f.summary(),
            "stays Python: its module does not compile (quarantined)"
        );
    }
}
