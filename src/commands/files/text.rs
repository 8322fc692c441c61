//! The per-file table for people: one line a file, the to-do list first with its order,
//! each one's first error under the table, and a count of where the files stand.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Compile, FileStatus, Kind, Step, Validation};

fn step_text(s: &Step) -> String {
    match s {
        Step::Ok => "yes".to_owned(),
        Step::Failed(Some(c)) => format!("failed ({c})"),
        Step::Failed(None) => "failed".to_owned(),
        Step::NotRun => "not yet".to_owned(),
        Step::None => "–".to_owned(),
    }
}

fn plural(n: usize, w: &str) -> String {
    format!("{n} {w}{}", if n == 1 { "" } else { "s" })
}

/// The CHECKED column: for a module whether it compiles, for a script whether it lints.
fn compile_text(c: &Compile, kind: Kind) -> String {
    match c {
        Compile::Ok => "compiles".to_owned(),
        Compile::Quarantined { count, .. } => format!("{}, quarantined", plural(*count, "error")),
        Compile::Errors { count, .. } => plural(*count, "error"),
        Compile::TestsQuarantined { count, .. } => {
            format!("compiles, tests: {}", plural(*count, "error"))
        }
        Compile::NoErrors => "no errors here".to_owned(),
        Compile::NotBuilt if kind == Kind::Script => "not linted".to_owned(),
        Compile::NotBuilt => "not built".to_owned(),
        Compile::Bridged { .. } => "still C (bridged)".to_owned(),
        Compile::Lints => "lints clean".to_owned(),
        Compile::LintFailed { code: Some(c) } => format!("lint failed ({c})"),
        Compile::LintFailed { code: None } => "lint failed".to_owned(),
    }
}

fn validation_text(v: &Validation) -> String {
    match v {
        Validation::Ok(_) => "yes".to_owned(),
        Validation::Failed(_) => "failed".to_owned(),
        Validation::LinkedNotExercised(_) => "linked only".to_owned(),
        Validation::NotRun => "not yet".to_owned(),
        Validation::None => "–".to_owned(),
    }
}

/// The table for people.
pub fn text(rows: &[FileStatus]) -> String {
    if rows.is_empty() {
        return "No source files: the manifest has no transpile tasks with `each`.\n".to_owned();
    }
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let transpile = match (&r.transpile, &r.tool) {
                (Step::Ok, Some(t)) => format!("yes ({t})"),
                (Step::None, _) => r.origin.to_owned(),
                (s, _) => step_text(s),
            };
            [
                r.next.map_or_else(String::new, |n| n.to_string()),
                r.source.clone().unwrap_or_else(|| "–".to_owned()),
                r.module.clone().unwrap_or_default(),
                transpile,
                compile_text(&r.compile, r.kind),
                validation_text(&r.validate),
            ]
        })
        .collect();
    let head = [
        "NEXT",
        "SOURCE",
        "BECAME",
        "TRANSPILED",
        "CHECKED",
        "VALIDATED",
    ];
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..head.len()).map(width).collect();
    let mut out = String::new();
    let line = |out: &mut String, c: &[&str], status: &str| {
        for (i, cell) in c.iter().enumerate() {
            let _ = write!(
                out,
                "{cell}{}  ",
                " ".repeat(widths[i] - cell.chars().count())
            );
        }
        let _ = writeln!(out, "{status}");
    };
    line(&mut out, &head, "STATUS");
    let mut project: Option<&str> = None;
    for (r, c) in rows.iter().zip(&cells) {
        // A workspace's rows come grouped by project, each under its name.
        if let Some(p) = r.project.as_deref()
            && project != Some(p)
        {
            project = Some(p);
            let _ = writeln!(out, "[{p}]");
        }
        let c: Vec<&str> = c.iter().map(String::as_str).collect();
        line(&mut out, &c, &r.status);
    }
    for r in rows {
        let name = r.source.as_deref().or(r.module.as_deref()).unwrap_or("");
        match (&r.compile, &r.validate) {
            (Compile::Quarantined { first, .. } | Compile::Errors { first, .. }, _) => {
                let _ = writeln!(out, "\n{name}: first error: {first}");
            }
            (_, Validation::Failed(checks)) => {
                let _ = writeln!(out, "\n{name}: failed: {}", checks.join(", "));
            }
            _ => {}
        }
        // What of a Python file stays Python, and why: the extension's to-do list.
        if let Some(n) = &r.native
            && (n.functions > 0 || !n.python.is_empty())
        {
            let _ = writeln!(
                out,
                "\n{name}: {} of {} native ({})",
                n.functions,
                plural(n.of, "function"),
                plural(n.lines, "code line")
            );
            for p in &n.python {
                let _ = writeln!(out, "  {} stays Python: {}", p.name, p.why);
            }
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        // `hand-ported, 1 of 2 functions native` counts as hand-ported: the native part
        // is in the headline.
        let status = match super::native_part(r) {
            Some(part) => r
                .status
                .split_once(&format!(", {part}"))
                .map_or(r.status.as_str(), |(head, _)| head),
            None => r.status.as_str(),
        };
        let key = if status.starts_with("quarantined") {
            "quarantined"
        } else if status.starts_with("does not compile") {
            "with compile errors"
        } else if status.starts_with("transpile failed") {
            "failed to transpile"
        } else if status.starts_with("lint failed") {
            "failed to lint"
        } else {
            status
        };
        *counts.entry(key).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(
        out,
        "\n{}: {}",
        plural(rows.len(), "file"),
        parts.join(", ")
    );
    let share = super::share(rows);
    let _ = write!(out, "Native Rust: {}", share.headline());
    if share.checks.is_empty() {
        out.push_str(".\n");
    } else {
        let _ = writeln!(out, "; checks passed on it: {}.", share.checks.join(", "));
    }
    if let Some(first) = rows.iter().find(|r| r.next == Some(1)) {
        let name = first
            .source
            .as_deref()
            .or(first.module.as_deref())
            .unwrap_or("");
        let users = match first.dependents {
            0 => String::new(),
            1 => "; 1 other file uses it".to_owned(),
            n => format!("; {n} other files use it"),
        };
        let _ = writeln!(out, "Next: {name}: {}{users}.", first.status);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::native::{Native, StaysPython};
    use super::super::tests::row_for_tests;
    use super::*;

    #[test]
    fn a_python_files_native_functions_are_listed_and_counted_under_its_status() {
        let mut r = row_for_tests("pkg/text.py");
        r.compile = Compile::Ok;
        r.origin = "hand-ported";
        r.transpile = Step::None;
        r.code_lines = 40;
        r.native_lines = 12;
        r.native = Some(Native {
            functions: 1,
            of: 2,
            lines: 12,
            stays: None,
            python: vec![StaysPython {
                name: "shout".into(),
                why: "a generator in Python (it yields)".into(),
            }],
        });
        r.status = super::super::summary(&r);
        assert_eq!(r.status, "hand-ported, 1 of 2 functions native");
        let mut other = row_for_tests("pkg/consts.py");
        other.compile = Compile::Ok;
        other.code_lines = 10;
        other.native = Some(Native {
            functions: 0,
            of: 0,
            lines: 0,
            stays: None,
            python: Vec::new(),
        });
        other.status = super::super::summary(&other);
        assert_eq!(other.status, "compiles, still Python");
        let t = text(&[r, other]);
        assert!(
            t.contains("\npkg/text.py: 1 of 2 functions native (12 code lines)\n  shout stays Python: a generator in Python (it yields)\n"),
            "{t}"
        );
        assert!(t.contains("\n2 files: 1 compiles, 1 hand-ported\n"), "{t}");
        assert!(
            t.contains("Native Rust: 12 of 50 code lines run as native Rust (24.0 %).\n"),
            "{t}"
        );
    }
}
