//! `batuta status --files`: where each source file stands in its migration, as of the last
//! build. It joins three things batuta already keeps:
//!
//! - the graph: which transpile action turned which source file into which Rust module,
//!   which files are ported by hand (`hand_ported:`), which modules assemble takes in;
//! - the journal: which actions last succeeded (a failed action has no record);
//! - the cargo-build record (`.batuta/build/<action>.json`): the compiler's diagnostics,
//!   each with the file it points at.
//!
//! A module counts as validated when every validate action that depends on it (reads it,
//! or reads something built from it, such as the release binary) passed its last run.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use batuta_engine::graph::{ActionGraph, ActionKind};
use batuta_engine::journal::Journal;
use batuta_engine::manifest::Phase;
use batuta_engine::state::State;
use batuta_rules::build::record::{self, Record};
use serde::Serialize;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStatus {
    /// The legacy file, relative to the workspace (`None` for a module written in Rust from
    /// the start).
    pub source: Option<String>,
    /// The Rust module it became.
    pub module: Option<String>,
    /// `generated`, `hand-ported` or `hand-written`.
    pub origin: &'static str,
    /// The transpiler (generated modules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub transpile: Step,
    pub compile: Compile,
    pub validate: Step,
    /// The furthest point reached, in words: `validated`, `compiles`,
    /// `does not compile (3 errors)`, `transpile failed (BATUTA-T-003)`, …
    pub status: String,
}

/// How one step ended for the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "code")]
pub enum Step {
    Ok,
    /// Failed, with the book's code when the state recorded one.
    Failed(Option<String>),
    NotRun,
    /// Nothing does this step for the file (no transpiler for a hand port, no validate
    /// action depending on it).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Compile {
    Ok,
    Errors {
        count: usize,
        /// The first one: `rust/src/stats.rs:12:5: error[E0308]: mismatched types`.
        first: String,
    },
    /// The crate failed, but not in this file.
    NoErrors,
    NotBuilt,
}

/// The rows for every source file and module the graph knows, in source order.
pub fn table(
    g: &ActionGraph,
    journal: &Journal,
    state: &State,
    root: &std::path::Path,
) -> Vec<FileStatus> {
    let ok = |id: &str| journal.actions.contains_key(id);
    let failures = transpile_failures(state);
    let written: BTreeSet<&str> = g
        .actions
        .iter()
        .flat_map(|a| a.outputs.iter().map(String::as_str))
        .collect();

    let mut rows: Vec<FileStatus> = Vec::new();
    for a in g.actions.iter().filter(|a| a.phase == Phase::Transpile) {
        let ActionKind::Command { tool, .. } = &a.kind else {
            continue;
        };
        // A per-file action is `stage/task:path`; its gate (`stage/task#gate:path`) only
        // checks its output.
        if a.id.contains("#gate:") || !a.id.contains(':') {
            continue;
        }
        let (Some(source), Some(module)) = (a.inputs.first(), a.outputs.first()) else {
            continue;
        };
        let gate_id = a.id.replacen(':', "#gate:", 1);
        let gate = g.actions.iter().find(|x| x.id == gate_id);
        let step_of = |id: &str| {
            if ok(id) {
                Step::Ok
            } else if let Some(code) = failures.get(id) {
                Step::Failed(code.clone())
            } else {
                Step::NotRun
            }
        };
        let transpile = match (step_of(&a.id), gate.map(|x| step_of(&x.id))) {
            (Step::Ok, Some(other)) if other != Step::Ok => other,
            (s, _) => s,
        };
        rows.push(row(
            Some(source),
            module,
            "generated",
            tool.clone(),
            transpile,
        ));
    }
    for h in &g.hand_ported {
        rows.push(row(
            Some(&h.source),
            &h.module,
            "hand-ported",
            None,
            Step::None,
        ));
    }
    // Modules assemble takes in that no action writes: the user's own Rust.
    let known: BTreeSet<String> = rows.iter().filter_map(|r| r.module.clone()).collect();
    let hand_written: BTreeSet<&str> = g
        .actions
        .iter()
        .filter(|a| matches!(&a.kind, ActionKind::Builtin { name, .. } if name == "assemble"))
        .flat_map(|a| &a.inputs)
        .map(String::as_str)
        .filter(|i| i.ends_with(".rs") && !written.contains(i) && !known.contains(*i))
        .collect();
    for m in hand_written {
        let mut r = row(None, m, "hand-written", None, Step::None);
        r.source = None;
        rows.push(r);
    }

    rows.sort_by(|a, b| {
        let key = |r: &FileStatus| r.source.clone().or(r.module.clone()).unwrap_or_default();
        key(a).cmp(&key(b))
    });

    let builds: Vec<Build<'_>> = g
        .actions
        .iter()
        .filter(|a| matches!(&a.kind, ActionKind::Builtin { name, .. } if name == "cargo-build"))
        .map(|a| Build {
            inputs: &a.inputs,
            passed: ok(&a.id),
            record: record::read(root, &a.id),
        })
        .collect();
    let validations = validations(g, journal);
    for r in &mut rows {
        let module = r.module.clone().unwrap_or_default();
        r.compile = compile_of(&module, &builds, &r.transpile);
        let covering: Vec<bool> = validations
            .iter()
            .filter(|(upstream, _)| upstream.contains(module.as_str()))
            .map(|(_, passed)| *passed)
            .collect();
        r.validate = if covering.is_empty() {
            Step::None
        } else if covering.iter().all(|p| *p) && r.compile == Compile::Ok {
            Step::Ok
        } else {
            Step::NotRun
        };
        r.status = summary(r);
    }
    rows
}

fn row(
    source: Option<&String>,
    module: &str,
    origin: &'static str,
    tool: Option<String>,
    transpile: Step,
) -> FileStatus {
    FileStatus {
        source: source.cloned(),
        module: Some(module.to_owned()),
        origin,
        tool,
        transpile,
        compile: Compile::NotBuilt,
        validate: Step::None,
        status: String::new(),
    }
}

/// A cargo-build action: the files it reads, whether its last run passed, what it said.
struct Build<'g> {
    inputs: &'g [String],
    passed: bool,
    record: Option<Record>,
}

/// How the last builds that read `module` went for it; the worst one counts.
fn compile_of(module: &str, builds: &[Build<'_>], transpile: &Step) -> Compile {
    if matches!(transpile, Step::Failed(_) | Step::NotRun) {
        return Compile::NotBuilt;
    }
    let rank = |c: &Compile| match c {
        Compile::NotBuilt => 0,
        Compile::Ok => 1,
        Compile::NoErrors => 2,
        Compile::Errors { .. } => 3,
    };
    let mut result = Compile::NotBuilt;
    for b in builds
        .iter()
        .filter(|b| b.inputs.iter().any(|i| i == module))
    {
        // The journal is the authority on success: a build restored from the cache after a
        // failed run leaves that run's record behind.
        let this = match (&b.record, b.passed) {
            (_, true) => Compile::Ok,
            (None, false) => Compile::NotBuilt,
            (Some(rec), false) => {
                let errors: Vec<_> = rec
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error() && d.file.as_deref() == Some(module))
                    .collect();
                match errors.first() {
                    Some(first) => Compile::Errors {
                        count: errors.len(),
                        first: first.headline(),
                    },
                    None if rec.ok => Compile::Ok,
                    None => Compile::NoErrors,
                }
            }
        };
        if rank(&this) > rank(&result) {
            result = this;
        }
    }
    result
}

/// Each validate action with the files it depends on, and whether it passed last time.
fn validations<'g>(g: &'g ActionGraph, journal: &Journal) -> Vec<(BTreeSet<&'g str>, bool)> {
    let writer: HashMap<&str, usize> = g
        .actions
        .iter()
        .enumerate()
        .flat_map(|(i, a)| a.outputs.iter().map(move |o| (o.as_str(), i)))
        .collect();
    g.actions
        .iter()
        .filter(|a| a.phase == Phase::Validate)
        .map(|a| {
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            let mut todo: Vec<&str> = a.inputs.iter().map(String::as_str).collect();
            while let Some(f) = todo.pop() {
                if !seen.insert(f) {
                    continue;
                }
                if let Some(&w) = writer.get(f) {
                    todo.extend(g.actions[w].inputs.iter().map(String::as_str));
                }
            }
            (seen, journal.actions.contains_key(&a.id))
        })
        .collect()
}

/// The transpile phase's recorded failures, by action id, with their codes: the state keeps
/// them as `id: message [BATUTA-X-NNN]; …`.
fn transpile_failures(state: &State) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    let Some(text) = state.phase(Phase::Transpile).error else {
        return out;
    };
    for part in text.split("; ") {
        let Some((id, rest)) = part.split_once(": ") else {
            continue;
        };
        let code = rest
            .rfind("[BATUTA-")
            .and_then(|i| rest[i + 1..].split_once(']'))
            .map(|(c, _)| c.to_owned());
        out.insert(id.to_owned(), code);
    }
    out
}

fn summary(r: &FileStatus) -> String {
    if r.origin != "generated" && r.validate == Step::Ok {
        return format!("{} (validated)", r.origin);
    }
    match (&r.transpile, &r.compile, &r.validate) {
        (Step::Failed(code), _, _) => match code {
            Some(c) => format!("transpile failed ({c})"),
            None => "transpile failed".to_owned(),
        },
        (Step::NotRun, _, _) => "not transpiled".to_owned(),
        (_, Compile::Errors { count, .. }, _) => format!(
            "does not compile ({count} error{})",
            if *count == 1 { "" } else { "s" }
        ),
        (_, Compile::Ok, Step::Ok) => "validated".to_owned(),
        _ if r.origin != "generated" => r.origin.to_owned(),
        (_, Compile::Ok, _) => "compiles".to_owned(),
        (_, Compile::NoErrors, _) => "no errors here (the crate failed elsewhere)".to_owned(),
        (_, Compile::NotBuilt, _) => "transpiled".to_owned(),
    }
}

fn step_text(s: &Step) -> String {
    match s {
        Step::Ok => "yes".to_owned(),
        Step::Failed(Some(c)) => format!("failed ({c})"),
        Step::Failed(None) => "failed".to_owned(),
        Step::NotRun => "not yet".to_owned(),
        Step::None => "–".to_owned(),
    }
}

fn compile_text(c: &Compile) -> String {
    match c {
        Compile::Ok => "yes".to_owned(),
        Compile::Errors { count, .. } => {
            format!("{count} error{}", if *count == 1 { "" } else { "s" })
        }
        Compile::NoErrors => "no errors here".to_owned(),
        Compile::NotBuilt => "not built".to_owned(),
    }
}

/// The table for people.
pub fn text(rows: &[FileStatus]) -> String {
    use std::fmt::Write as _;
    if rows.is_empty() {
        return "No source files: the manifest has no transpile tasks with `each`.\n".to_owned();
    }
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let transpile = match (&r.transpile, &r.tool) {
                (Step::Ok, Some(t)) => format!("yes ({t})"),
                (Step::None, _) => r.origin.to_owned(),
                (s, _) => step_text(s),
            };
            [
                r.source.clone().unwrap_or_else(|| "–".to_owned()),
                r.module.clone().unwrap_or_default(),
                transpile,
                compile_text(&r.compile),
                step_text(&r.validate),
            ]
        })
        .collect();
    let head = [
        "SOURCE",
        "RUST MODULE",
        "TRANSPILED",
        "COMPILES",
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
    let widths: Vec<usize> = (0..5).map(width).collect();
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
    for (r, c) in rows.iter().zip(&cells) {
        let c: Vec<&str> = c.iter().map(String::as_str).collect();
        line(&mut out, &c, &r.status);
    }
    for r in rows {
        if let Compile::Errors { first, .. } = &r.compile {
            let _ = writeln!(
                out,
                "\n{}: first error: {first}",
                r.source.as_deref().or(r.module.as_deref()).unwrap_or("")
            );
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        let key = if r.status.starts_with("does not compile") {
            "with compile errors"
        } else if r.status.starts_with("transpile failed") {
            "failed to transpile"
        } else {
            r.status.as_str()
        };
        *counts.entry(key).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(
        out,
        "\n{} file{}: {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        parts.join(", ")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_read_from_the_state_with_their_codes() {
        let mut s = State::default();
        s.start(Phase::Transpile, "2026-01-01T00:00:00Z");
        s.finish(
            Phase::Transpile,
            "2026-01-01T00:00:01Z",
            1.0,
            Some("transpile/python:a.py: depyler could not infer a type [BATUTA-T-003]; transpile/c:b.c: failed [BATUTA-T-001]".into()),
        );
        let f = transpile_failures(&s);
        assert_eq!(f["transpile/python:a.py"].as_deref(), Some("BATUTA-T-003"));
        assert_eq!(f["transpile/c:b.c"].as_deref(), Some("BATUTA-T-001"));
    }

    #[test]
    fn the_status_is_the_furthest_step_reached() {
        let mut r = row(
            Some(&"legacy/a.py".to_owned()),
            "rust/src/a.rs",
            "generated",
            Some("depyler".into()),
            Step::Ok,
        );
        r.compile = Compile::Errors {
            count: 3,
            first: "x".into(),
        };
        assert_eq!(summary(&r), "does not compile (3 errors)");
        r.compile = Compile::Ok;
        assert_eq!(summary(&r), "compiles");
        r.validate = Step::Ok;
        assert_eq!(summary(&r), "validated");
        r.transpile = Step::Failed(Some("BATUTA-T-003".into()));
        assert_eq!(summary(&r), "transpile failed (BATUTA-T-003)");
        let mut h = row(
            Some(&"legacy/a.py".to_owned()),
            "rust/src/a.rs",
            "hand-ported",
            None,
            Step::None,
        );
        h.compile = Compile::Ok;
        assert_eq!(summary(&h), "hand-ported");
    }
}
