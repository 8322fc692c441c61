//! What the last `cargo-build` run of an action said, kept beside the journal in
//! `.batuta/build/<action>.json` for `batuta status --files`.
//!
//! It is deliberately not a declared output: the engine discards a failed action's
//! outputs, and the failed run's diagnostics are exactly what has to survive.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::messages::Diagnostic;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub action: String,
    /// The crate's folder, relative to the workspace.
    #[serde(rename = "crate")]
    pub crate_dir: String,
    /// Whether the crate compiled.
    pub ok: bool,
    pub diagnostics: Vec<Diagnostic>,
}

impl Record {
    /// Errors per file (workspace-relative), for the files the diagnostics point at.
    pub fn errors_in(&self, file: &str) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.is_error() && d.file.as_deref() == Some(file))
            .count()
    }
}

/// `.batuta/build/<action>.json`, the action id made a file name.
pub fn path(root: &Path, action: &str) -> PathBuf {
    crate::last_run::path(root, "build", action, "json")
}

pub fn write(root: &Path, r: &Record) -> std::io::Result<()> {
    let mut json = serde_json::to_vec_pretty(r).map_err(std::io::Error::other)?;
    json.push(b'\n');
    batuta_engine::fsutil::write_atomic(&path(root, &r.action), &json)
}

/// The record of `action`, if one was written and is readable.
pub fn read(root: &Path, action: &str) -> Option<Record> {
    let bytes = std::fs::read(path(root, action)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let r = Record {
            action: "build/build".into(),
            crate_dir: "rust".into(),
            ok: false,
            diagnostics: vec![Diagnostic {
                level: "error".into(),
                code: None,
                message: "m".into(),
                file: Some("rust/src/a.rs".into()),
                line: Some(1),
                column: Some(2),
                rendered: "r".into(),
            }],
        };
        write(dir.path(), &r).unwrap();
        assert!(path(dir.path(), "build/build").ends_with(".batuta/build/build_build.json"));
        let back = read(dir.path(), "build/build").unwrap();
        assert_eq!(back, r);
        assert_eq!(back.errors_in("rust/src/a.rs"), 1);
        assert_eq!(back.errors_in("rust/src/b.rs"), 0);
    }
}
