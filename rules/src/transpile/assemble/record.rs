//! What `assemble` made of the modules: which went into the crate and which were
//! quarantined, with the compiler's errors that put them there. It is one of the action's
//! outputs, so it is cached and restored with the crate root it describes, and
//! `batuta status --files` and the report read it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::build::messages::Diagnostic;

/// Where the record of the crate at `output` (`project.output`) is kept, relative to the
/// workspace: the assemble task writes it whatever outputs it declares.
pub const RECORD: &str = ".batuta/transpile/{output}/assembly.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assembly {
    /// The crate's folder, relative to the workspace.
    #[serde(rename = "crate")]
    pub crate_dir: String,
    /// Whether the modules were compiled (`with: { check: false }` lists them all unchecked).
    pub checked: bool,
    /// Every module file, in path order.
    pub modules: Vec<Module>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    /// The module's file, relative to the workspace.
    pub file: String,
    /// Left out of the crate's module tree because it does not compile.
    pub quarantined: bool,
    /// In the program, but left out of test builds: its own tests do not compile.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tests_quarantined: bool,
    /// The compiler's errors in the file when it was quarantined (from either build).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Diagnostic>,
    /// The modules quarantined before it, when it compiled until they left (it used them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Its source stays in its own language, linked in (C through the C ABI), and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridged: Option<String>,
    /// The source file, for a bridged one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Module {
    /// A module in the crate, with nothing to say about it.
    pub fn in_crate(file: &str) -> Module {
        Module {
            file: file.to_owned(),
            quarantined: false,
            tests_quarantined: false,
            errors: Vec::new(),
            after: Vec::new(),
            bridged: None,
            source: None,
        }
    }
}

impl Assembly {
    pub fn module(&self, file: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.file == file)
    }

    pub fn quarantined(&self) -> impl Iterator<Item = &Module> {
        self.modules.iter().filter(|m| m.quarantined)
    }
}

/// Whether an output of an assemble action is its record (see [`RECORD`]).
pub fn is_record(output: &str) -> bool {
    output.starts_with(".batuta/transpile/") && output.ends_with("/assembly.json")
}

/// The record at `rel` (an assemble action's output), if it was written and reads as one.
pub fn read(root: &Path, rel: &str) -> Option<Assembly> {
    let bytes = std::fs::read(root.join(rel)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_among_outputs() {
        assert!(is_record(".batuta/transpile/rust/assembly.json"));
        assert!(is_record(".batuta/transpile/assembly.json"));
        assert!(!is_record("rust/assembly.json"));
    }
}
