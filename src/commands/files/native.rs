//! How much of the program runs as native Rust: each source file's code lines, and of
//! those the lines its Rust stands for in the program that runs.
//!
//! - A C file (any language linked through the C ABI) runs native when its module is in
//!   the crate and compiles; bridged, it is still C.
//! - A Python file runs native where the Python extension (`builtin: python-extension`)
//!   replaces its functions in the mixed program: those functions' lines, as the
//!   extension's record counts them; or all of it once its module is part of a standalone
//!   Rust program (a crate assembled with a `main`) that compiles, or when no extension
//!   reads it (the crate, where its module compiles, is then what the migration ships).
//! - A shell script stays a script.
//!
//! Code lines are tokei's (the analysis's per-file count) where the analysis ran, and the
//! extension's own count (the same definition: no blank, comment or docstring line) for
//! the Python files it reads; otherwise the file's non-blank lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use batuta_engine::graph::{ActionGraph, ActionKind};
use batuta_engine::history;
use batuta_engine::journal::Journal;
use batuta_engine::state::{self, State};
use batuta_rules::transpile::pyext::{self, record::Extension};
use serde::{Deserialize, Serialize};

use super::{Compile, FileStatus, Kind, Validation};

/// What runs native of a Python file the extension takes in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Native {
    /// Functions that run native, of all its top-level functions.
    pub functions: usize,
    pub of: usize,
    /// Code lines of those functions.
    pub lines: usize,
    /// Why none of it runs native, when none does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stays: Option<String>,
    /// The functions that stay Python, each with why.
    pub python: Vec<StaysPython>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaysPython {
    pub name: String,
    pub why: String,
}

/// The headline: the program's code lines, how many run as native Rust, and the checks
/// that passed on what runs them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Share {
    pub native_lines: usize,
    pub code_lines: usize,
    /// native / code, in percent (0 when there is no code).
    pub percent: f64,
    /// The checks that passed and exercise a file that runs native.
    pub checks: Vec<String>,
}

impl Share {
    /// `38 of 360 code lines run as native Rust (10.6 %)`.
    pub fn headline(&self) -> String {
        format!(
            "{} of {} code lines run as native Rust ({:.1} %)",
            self.native_lines, self.code_lines, self.percent
        )
    }
}

/// The share after one build, kept build by build beside the history
/// (`.batuta/native.jsonl`) so the report shows how it grew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// The build's `finished`, as its history line has it.
    pub finished: String,
    pub native_lines: usize,
    pub code_lines: usize,
}

pub fn history_path(root: &Path) -> PathBuf {
    root.join(".batuta").join("native.jsonl")
}

/// After a build that did work (and so added a line to the history): the share as it now
/// stands, under that build's time.
pub fn record(g: &ActionGraph, root: &Path, source_root: &str) -> std::io::Result<Option<Point>> {
    if !super::has_modules(g) {
        return Ok(None);
    }
    let (builds, _) = history::read(root)?;
    let Some(last) = builds.last() else {
        return Ok(None);
    };
    let state = State::load(&state::path(root)).map_err(std::io::Error::other)?;
    let (journal, _) = Journal::load(&batuta_engine::journal::path(root));
    let rows = super::unranked(g, &journal, &state, root, source_root);
    if rows.is_empty() {
        return Ok(None);
    }
    let s = share(&rows);
    let p = Point {
        finished: last.finished.clone(),
        native_lines: s.native_lines,
        code_lines: s.code_lines,
    };
    history::append_line(&history_path(root), &p)?;
    Ok(Some(p))
}

/// The share after each build that recorded one, oldest first.
pub fn read_history(root: &Path) -> Vec<Point> {
    history::read_lines::<Point>(&history_path(root))
        .map(|(points, _)| points)
        .unwrap_or_default()
}

/// Every python-extension record of the graph's actions, by source file.
pub fn extensions(g: &ActionGraph, root: &Path) -> BTreeMap<String, pyext::record::PythonFile> {
    let mut out = BTreeMap::new();
    for a in &g.actions {
        if !matches!(&a.kind, ActionKind::Builtin { name, .. } if name == pyext::NAME) {
            continue;
        }
        let rec: Option<Extension> = a
            .outputs
            .iter()
            .find(|o| pyext::record::is_record(o))
            .and_then(|o| pyext::record::read(root, o));
        for f in rec.into_iter().flat_map(|r| r.files) {
            out.insert(f.source.clone(), f);
        }
    }
    out
}

/// Fills each row's code lines, native lines and, for Python files the extension reads,
/// what of it runs native. `programs` are the module files of crates assembled as a
/// standalone program; `source_root` is `project.source`.
pub fn fill(
    rows: &mut [FileStatus],
    g: &ActionGraph,
    root: &Path,
    source_root: &str,
    programs: &dyn Fn(&str) -> bool,
) {
    let ext = extensions(g, root);
    for r in rows.iter_mut() {
        let Some(src) = r.source.clone() else {
            continue;
        };
        let python = ext.get(&src);
        r.code_lines = match python {
            Some(p) => p.code_lines,
            None => code_lines(root, source_root, &src),
        };
        let compiled = r.kind == Kind::Module
            && matches!(r.compile, Compile::Ok | Compile::TestsQuarantined { .. });
        let module = r.module.clone().unwrap_or_default();
        // A Python file the extension reads counts by function; one it does not read (no
        // extension: the crate is what the migration ships) counts whole, as C does.
        let whole = compiled && (!is_python(&src) || programs(&module) || python.is_none());
        r.native_lines = if whole {
            r.code_lines
        } else {
            python.map_or(0, |p| p.native_lines.min(r.code_lines))
        };
        r.native = python.map(|p| Native {
            functions: p.functions.iter().filter(|f| f.native).count(),
            of: p.functions.len(),
            lines: p.native_lines,
            stays: p.python.clone(),
            python: p
                .functions
                .iter()
                .filter(|f| !f.native)
                .filter_map(|f| {
                    Some(StaysPython {
                        name: f.name.clone(),
                        why: f.why.clone()?,
                    })
                })
                .collect(),
        });
    }
}

fn is_python(path: &str) -> bool {
    path.ends_with(".py") || path.ends_with(".pyw")
}

/// The headline over the rows [`fill`] filled.
pub fn share(rows: &[FileStatus]) -> Share {
    let native_lines: usize = rows.iter().map(|r| r.native_lines).sum();
    let code_lines: usize = rows.iter().map(|r| r.code_lines).sum();
    let mut checks: Vec<String> = rows
        .iter()
        .filter(|r| r.native_lines > 0)
        .filter_map(|r| match &r.validate {
            Validation::Ok(c) => Some(c.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    checks.sort();
    checks.dedup();
    Share {
        native_lines,
        code_lines,
        percent: if code_lines == 0 {
            0.0
        } else {
            native_lines as f64 * 100.0 / code_lines as f64
        },
        checks,
    }
}

/// The file's code lines: the analysis's count when it has one, else its non-blank lines.
fn code_lines(root: &Path, source_root: &str, src: &str) -> usize {
    let rel = match source_root {
        "" | "." => src,
        s => src
            .strip_prefix(s)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(src),
    };
    let analysed = std::fs::read(
        root.join(batuta_rules::ANALYSIS_DIR)
            .join("files")
            .join(format!("{rel}.json")),
    )
    .ok()
    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    .and_then(|v| v["code"].as_u64());
    match analysed {
        Some(n) => n as usize,
        None => std::fs::read(root.join(src))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .count()
            })
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_adds_the_rows_up_and_names_the_checks_of_native_files() {
        let mut a = super::super::tests::row_for_tests("a.py");
        a.code_lines = 30;
        a.native_lines = 10;
        a.validate = Validation::Ok(vec!["validate/same".into()]);
        let mut b = super::super::tests::row_for_tests("b.py");
        b.code_lines = 70;
        b.validate = Validation::Ok(vec!["validate/other".into()]);
        let s = share(&[a, b]);
        assert_eq!((s.native_lines, s.code_lines), (10, 100));
        assert_eq!(s.checks, ["validate/same"]);
        assert_eq!(
            s.headline(),
            "10 of 100 code lines run as native Rust (10.0 %)"
        );
        assert_eq!(share(&[]).percent, 0.0);
    }
}
