//! `batuta status --files`: where each source file stands in its migration, as of the last
//! build, ranked as the team's to-do list. It joins what batuta already keeps:
//!
//! - the graph: which transpile action turned which source file into which Rust module or
//!   purified script, which files are ported by hand (`hand_ported:`), which modules
//!   assemble takes in;
//! - the journal (which actions last succeeded) and the state (which failed, and why);
//! - assemble's record (`.batuta/transpile/<crate>/assembly.json`): the modules it
//!   quarantined and their compiler errors; and the cargo-build record for a crate that
//!   assemble did not check;
//! - the checks that cover each file ([`coverage`]), and who uses whom ([`rank`]);
//! - the Python extension's record: which functions run native ([`native`], which also
//!   counts the share of code lines that run as native Rust, the headline).

pub mod coverage;
mod native;
mod rank;
mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use batuta_engine::graph::{ActionGraph, ActionKind, How};
use batuta_engine::journal::Journal;
use batuta_engine::manifest::Phase;
use batuta_engine::state::State;
use batuta_rules::build::record::{self, Record};
use batuta_rules::transpile::assemble::{self, record::Assembly};
use serde::Serialize;

pub use native::{Point, Share, read_history as native_history, record as record_native, share};
pub use text::text;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStatus {
    /// The project of a workspace (`projects:`) the file belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The legacy file, relative to the workspace (`None` for a module written in Rust from
    /// the start).
    pub source: Option<String>,
    /// What it became: the Rust module, or the purified script.
    pub module: Option<String>,
    pub kind: Kind,
    /// `generated`, `hand-ported` or `hand-written`.
    pub origin: &'static str,
    /// The transpiler (generated files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub transpile: Step,
    /// Modules: whether it compiles; scripts: whether the purified script lints clean.
    pub compile: Compile,
    pub validate: Validation,
    /// The furthest point reached, in words: `validated`, `quarantined (3 errors)`,
    /// `transpile failed (BATUTA-T-004)`, `linked, not exercised`, …
    pub status: String,
    /// Its place on the to-do list (1 is next), when it needs work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<usize>,
    /// Stubs found in its generated Rust (functions that ignore their parameters and return
    /// a constant, the tool's stand-ins for library calls, `todo!()`, emptied tables).
    pub stubs: usize,
    /// How many other source files use it.
    pub dependents: usize,
    /// The source's lines.
    pub lines: usize,
    /// Its code lines (see [`native`]), and of those the lines that run as native Rust.
    pub code_lines: usize,
    pub native_lines: usize,
    /// A Python file the Python extension reads: which of its functions run native.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native: Option<native::Native>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A Rust module of the crate.
    Module,
    /// A shell script that stays a script (purified).
    Script,
}

/// How one step ended for the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "code")]
pub enum Step {
    Ok,
    /// Failed, with the book's code when the state recorded one.
    Failed(Option<String>),
    NotRun,
    /// Nothing does this step for the file (no transpiler for a hand port).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Compile {
    Ok,
    /// It does not compile, and assemble left it out of the crate.
    Quarantined {
        count: usize,
        /// The first one: `rust/src/stats.rs:12:5: error[E0308]: mismatched types`.
        first: String,
    },
    /// It compiles, but its own tests do not: test builds leave it out.
    TestsQuarantined {
        count: usize,
        first: String,
    },
    /// It does not compile (a crate assemble did not check: its build failed).
    Errors {
        count: usize,
        first: String,
    },
    /// The crate failed, but not in this file.
    NoErrors,
    NotBuilt,
    /// Its original code is linked into the program instead of a module (C through the C
    /// ABI), and why.
    Bridged {
        why: String,
    },
    /// A script: the purified script lints clean.
    Lints,
    /// A script: its lint failed, with the code.
    LintFailed {
        code: Option<String>,
    },
}

/// What the checks that cover the file said (see [`coverage`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "checks")]
pub enum Validation {
    /// A check that exercises it passed, and none that covers it failed.
    Ok(Vec<String>),
    /// A check that covers it failed.
    Failed(Vec<String>),
    /// Only checks of what it is linked into passed: batuta cannot tell it ran.
    LinkedNotExercised(Vec<String>),
    /// Checks cover it but have not run (or did not get to it).
    NotRun,
    /// No check covers it.
    None,
}

/// The rows for every source file and module the graph knows, the to-do list first.
/// `source_root` is `project.source`, which the sources' own imports are relative to.
pub fn table(
    g: &ActionGraph,
    journal: &Journal,
    state: &State,
    root: &Path,
    source_root: &str,
) -> Vec<FileStatus> {
    let mut rows = unranked(g, journal, state, root, source_root);
    // Sizes and users, for the ranking.
    let sources: Vec<&str> = rows.iter().filter_map(|r| r.source.as_deref()).collect();
    let users = rank::dependents(root, source_root, &sources);
    for r in &mut rows {
        let Some(src) = &r.source else { continue };
        r.dependents = users.get(src).copied().unwrap_or(0);
        r.lines = std::fs::read(root.join(src))
            .map(|b| bytecount(&b))
            .unwrap_or(0);
    }
    order(&mut rows);
    group_by_project(g, &mut rows);
    rows
}

/// Whether anything of the graph can run as native Rust: a module some task writes, one
/// ported by hand, or one kept bridged. Without one, a program of scripts has no share to
/// keep, and the build does not read every source to say so.
pub fn has_modules(g: &ActionGraph) -> bool {
    let writes_rust = |a: &batuta_engine::graph::Action| {
        a.phase == Phase::Transpile
            && (a.outputs.iter().any(|o| o.ends_with(".rs"))
                || matches!(&a.kind, ActionKind::Builtin { name, .. } if name == assemble::NAME))
    };
    !g.hand_ported.is_empty()
        || g.plan.iter().any(|p| p.how == How::Bridged)
        || g.actions.iter().any(writes_rust)
}

/// The rows in the graph's order, without what ranks them (each source's users and size,
/// which reads every source again).
pub(crate) fn unranked(
    g: &ActionGraph,
    journal: &Journal,
    state: &State,
    root: &Path,
    source_root: &str,
) -> Vec<FileStatus> {
    let ok = |id: &str| journal.actions.contains_key(id);
    let failures = failures(state);
    let step_of = |id: &str| {
        if ok(id) {
            Step::Ok
        } else if let Some(code) = failures.get(id) {
            Step::Failed(code.clone())
        } else {
            Step::NotRun
        }
    };
    let written: BTreeSet<&str> = g
        .actions
        .iter()
        .flat_map(|a| a.outputs.iter().map(String::as_str))
        .collect();

    // Gates by id: a script's row looks its gate up, and a scan per row was quadratic
    // (4.4 s of a one-edit build at 10,000 scripts).
    let gates: HashMap<&str, &batuta_engine::graph::Action> = g
        .actions
        .iter()
        .filter(|a| a.id.contains("#gate:"))
        .map(|a| (a.id.as_str(), a))
        .collect();
    let mut rows: Vec<FileStatus> = Vec::new();
    for a in g.actions.iter().filter(|a| a.phase == Phase::Transpile) {
        let ActionKind::Command { tool, .. } = &a.kind else {
            continue;
        };
        // A per-file action is `stage/task:path`; its gate (`stage/task#gate:path`) checks
        // its output.
        if a.id.contains("#gate:") || !a.id.contains(':') {
            continue;
        }
        let (Some(source), Some(output)) = (a.inputs.first(), a.outputs.first()) else {
            continue;
        };
        let kind = if output.ends_with(".rs") {
            Kind::Module
        } else {
            Kind::Script
        };
        let mut r = row(Some(source), output, kind, "generated", step_of(&a.id));
        r.tool = tool.clone();
        if kind == Kind::Script {
            let gate = gates.get(a.id.replacen(':', "#gate:", 1).as_str());
            r.compile = match (gate.map(|x| step_of(&x.id)), &r.transpile) {
                (_, Step::Failed(_) | Step::NotRun) => Compile::NotBuilt,
                (Some(Step::Ok), _) => Compile::Lints,
                (Some(Step::Failed(code)), _) => Compile::LintFailed { code },
                _ => Compile::NotBuilt,
            };
        }
        rows.push(r);
    }
    for h in &g.hand_ported {
        rows.push(row(
            Some(&h.source),
            &h.module,
            Kind::Module,
            "hand-ported",
            Step::None,
        ));
    }
    // Files the manifest keeps in their own language (`bridged:`): no action of theirs.
    for p in g.plan.iter().filter(|p| p.how == How::Bridged) {
        let mut r = row(
            Some(&p.source),
            &p.module,
            Kind::Module,
            "bridged",
            Step::None,
        );
        r.tool = p.tool.clone();
        rows.push(r);
    }
    // Modules assemble takes in that no action writes: the user's own Rust.
    let known: BTreeSet<String> = rows.iter().filter_map(|r| r.module.clone()).collect();
    let assembles: Vec<_> = g
        .actions
        .iter()
        .filter(|a| matches!(&a.kind, ActionKind::Builtin { name, .. } if name == assemble::NAME))
        .collect();
    let hand_written: BTreeSet<&str> = assembles
        .iter()
        .flat_map(|a| &a.inputs)
        .map(String::as_str)
        .filter(|i| i.ends_with(".rs") && !written.contains(i) && !known.contains(*i))
        .filter(|i| !i.ends_with("/src/lib.rs") && !i.ends_with("/src/main.rs"))
        .collect();
    for m in hand_written {
        rows.push(row(None, m, Kind::Module, "hand-written", Step::None));
    }

    // What each crate's assembly and build said of its modules.
    let assemblies: Vec<(&batuta_engine::graph::Action, Option<Assembly>)> = assembles
        .iter()
        .map(|a| {
            let rec = a
                .outputs
                .iter()
                .find(|o| assemble::record::is_record(o))
                .and_then(|o| assemble::record::read(root, o));
            (*a, rec)
        })
        .collect();
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
    let failed_check = |id: &str| failures.contains_key(id);
    let checks = coverage::checks(g, journal, &failed_check, root);
    for r in rows.iter_mut().filter(|r| r.kind == Kind::Module) {
        let module = r.module.clone().unwrap_or_default();
        r.compile = compile_of(&module, &assemblies, &builds, &r.transpile);
    }
    // Modules of a crate assembled as a standalone program run native in it.
    let in_program = |module: &str| {
        assemblies.iter().any(|(a, rec)| {
            let program = a.outputs.iter().any(|o| o.ends_with("src/main.rs"));
            program
                && rec
                    .as_ref()
                    .and_then(|r| r.module(module))
                    .is_some_and(|m| !m.quarantined && m.bridged.is_none())
        })
    };
    native::fill(&mut rows, g, root, source_root, &in_program);
    // What the tools stood in for: only generated Rust that was written.
    for r in rows
        .iter_mut()
        .filter(|r| r.origin == "generated" && r.kind == Kind::Module && r.transpile == Step::Ok)
    {
        if let (Some(src), Some(module)) = (&r.source, &r.module)
            && let Ok(found) = batuta_rules::transpile::stubs::in_files(root, src, module)
        {
            r.stubs = found.stubs.len();
        }
    }
    for r in &mut rows {
        let output = r.module.clone().unwrap_or_default();
        let path = (r.kind == Kind::Module)
            .then(|| module_path(&output, &assemblies))
            .flatten();
        // What did not become part of the program cannot be validated in it.
        let bridged = matches!(r.compile, Compile::Bridged { .. });
        let absent = !bridged
            && (matches!(r.transpile, Step::Failed(_) | Step::NotRun)
                || matches!(r.compile, Compile::Quarantined { .. }));
        r.validate = if absent {
            Validation::None
        } else {
            validation(&checks, r.source.as_deref(), &output, path.as_deref())
        };
        r.status = summary(r);
    }
    rows
}

/// In a workspace, each row names its project (the one whose source holds the file, or
/// whose output holds the module), and the rows are grouped by project in the graph's
/// order, each group still in to-do order.
fn group_by_project(g: &ActionGraph, rows: &mut [FileStatus]) {
    if g.projects.is_empty() {
        return;
    }
    let under = |dir: &str, path: &str| dir.is_empty() || path.starts_with(&format!("{dir}/"));
    let which = |r: &FileStatus| {
        g.projects.iter().position(|p| {
            r.source
                .as_deref()
                .is_some_and(|s| under(&p.scope.source, s))
                || r.module
                    .as_deref()
                    .is_some_and(|m| under(&p.scope.output, m))
        })
    };
    for r in rows.iter_mut() {
        r.project = which(r).map(|k| g.projects[k].scope.name.clone());
    }
    rows.sort_by_key(|r| {
        r.project
            .as_ref()
            .and_then(|n| g.projects.iter().position(|p| &p.scope.name == n))
            .unwrap_or(usize::MAX)
    });
}

fn bytecount(b: &[u8]) -> usize {
    let n = b.iter().filter(|c| **c == b'\n').count();
    n + usize::from(b.last().is_some_and(|c| *c != b'\n'))
}

/// A row with nothing known of the file yet beyond how it was made.
pub(crate) fn row(
    source: Option<&String>,
    module: &str,
    kind: Kind,
    origin: &'static str,
    transpile: Step,
) -> FileStatus {
    FileStatus {
        project: None,
        source: source.cloned(),
        module: Some(module.to_owned()),
        kind,
        origin,
        tool: None,
        transpile,
        compile: Compile::NotBuilt,
        validate: Validation::None,
        status: String::new(),
        next: None,
        stubs: 0,
        dependents: 0,
        lines: 0,
        code_lines: 0,
        native_lines: 0,
        native: None,
    }
}

/// A cargo-build action: the files it reads, whether its last run passed, what it said.
struct Build<'g> {
    inputs: &'g [String],
    passed: bool,
    record: Option<Record>,
}

/// Whether `module` compiles: assemble's check says so for a crate it checked; otherwise
/// the last builds that read the module (the worst one counts).
fn compile_of(
    module: &str,
    assemblies: &[(&batuta_engine::graph::Action, Option<Assembly>)],
    builds: &[Build<'_>],
    transpile: &Step,
) -> Compile {
    for (_, rec) in assemblies {
        if let Some(why) = rec
            .as_ref()
            .and_then(|r| r.module(module))
            .and_then(|m| m.bridged.as_ref())
        {
            return Compile::Bridged {
                why: why.trim_start_matches("bridged: ").to_owned(),
            };
        }
    }
    if matches!(transpile, Step::Failed(_) | Step::NotRun) {
        return Compile::NotBuilt;
    }
    for (_, rec) in assemblies {
        let Some(m) = rec
            .as_ref()
            .filter(|r| r.checked)
            .and_then(|r| r.module(module))
        else {
            continue;
        };
        return match m.errors.first() {
            Some(first) if m.quarantined => Compile::Quarantined {
                count: m.errors.len(),
                first: first.headline(),
            },
            Some(first) if m.tests_quarantined => Compile::TestsQuarantined {
                count: m.errors.len(),
                first: first.headline(),
            },
            _ => Compile::Ok,
        };
    }
    let rank = |c: &Compile| match c {
        Compile::Ok => 1,
        Compile::NoErrors => 2,
        Compile::Errors { .. } => 3,
        _ => 0,
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

/// The Rust path of a module file of a crate assemble built (`rust/src/a/b.rs` → `a::b`).
fn module_path(
    file: &str,
    assemblies: &[(&batuta_engine::graph::Action, Option<Assembly>)],
) -> Option<String> {
    assemblies.iter().find_map(|(_, rec)| {
        let rec = rec.as_ref()?;
        let src = match rec.crate_dir.as_str() {
            "" | "." => "src/".to_owned(),
            d => format!("{d}/src/"),
        };
        let rel = file.strip_prefix(&src)?.strip_suffix(".rs")?;
        Some(
            rel.split('/')
                .map(assemble::ident)
                .collect::<Vec<_>>()
                .join("::"),
        )
    })
}

fn validation(
    checks: &[coverage::Check<'_>],
    source: Option<&str>,
    output: &str,
    module_path: Option<&str>,
) -> Validation {
    use coverage::{Reach, Result};
    let mut failed = Vec::new();
    let mut exercised = Vec::new();
    let mut linked = Vec::new();
    let mut pending = false;
    for c in checks {
        let Some(reach) = c.reach(source, output, module_path) else {
            continue;
        };
        match (c.result, reach) {
            (Result::Failed, _) => failed.push(c.id.to_owned()),
            (Result::Passed, Reach::Exercises) => exercised.push(c.id.to_owned()),
            (Result::Passed, Reach::Links) => linked.push(c.id.to_owned()),
            (Result::NotRun, _) => pending = true,
        }
    }
    if !failed.is_empty() {
        Validation::Failed(failed)
    } else if !exercised.is_empty() {
        Validation::Ok(exercised)
    } else if !linked.is_empty() {
        Validation::LinkedNotExercised(linked)
    } else if pending {
        Validation::NotRun
    } else {
        Validation::None
    }
}

/// The failed actions of the last build, by id, with their codes, as the state keeps them
/// (as data, beside each phase's error text). An action that did not run because what it
/// reads failed is not among them.
pub fn failures(state: &State) -> BTreeMap<String, Option<String>> {
    Phase::ALL
        .into_iter()
        .flat_map(|p| state.phase(p).failures)
        .map(|f| (f.action, Some(f.code)))
        .collect()
}

/// The error count of a row that needs work, for the ranking.
fn errors(r: &FileStatus) -> usize {
    match &r.compile {
        Compile::Quarantined { count, .. } | Compile::Errors { count, .. } => *count,
        _ => 1,
    }
}

/// Whether the row is on the to-do list.
fn needs_work(r: &FileStatus) -> bool {
    matches!(r.transpile, Step::Failed(_))
        || matches!(
            r.compile,
            Compile::Quarantined { .. }
                | Compile::Errors { .. }
                | Compile::LintFailed { .. }
                | Compile::Bridged { .. }
        )
        || matches!(r.validate, Validation::Failed(_))
}

/// The to-do list first (most used, fewest errors, smallest first), then the rest in
/// source order; each row of the list gets its place.
fn order(rows: &mut [FileStatus]) {
    let key = |r: &FileStatus| r.source.clone().or(r.module.clone()).unwrap_or_default();
    rows.sort_by(|a, b| {
        let (wa, wb) = (needs_work(a), needs_work(b));
        wb.cmp(&wa).then_with(|| {
            if wa {
                b.dependents
                    .cmp(&a.dependents)
                    .then(errors(a).cmp(&errors(b)))
                    .then(a.lines.cmp(&b.lines))
                    .then(key(a).cmp(&key(b)))
            } else {
                key(a).cmp(&key(b))
            }
        })
    });
    let mut n = 0;
    for r in rows.iter_mut().filter(|r| needs_work(r)) {
        n += 1;
        r.next = Some(n);
    }
}

/// What of a Python file the extension reads runs native, as its status says it:
/// `1 of 2 functions native`, or `still Python` for one whose module compiles.
pub(super) fn native_part(r: &FileStatus) -> Option<String> {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match &r.native {
        Some(n) if n.functions > 0 => Some(format!(
            "{} of {} native",
            n.functions,
            plural(n.of, "function")
        )),
        Some(_) if r.compile == Compile::Ok => Some("still Python".to_owned()),
        _ => None,
    }
}

/// The status in words, with the stubs found when the file got that far.
fn summary(r: &FileStatus) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let status = match native_part(r) {
        Some(part) => format!("{}, {part}", furthest(r)),
        None => furthest(r),
    };
    let failed = matches!(r.transpile, Step::Failed(_))
        || matches!(
            r.compile,
            Compile::Quarantined { .. } | Compile::Errors { .. }
        );
    if r.stubs > 0 && !failed {
        format!("{status}, {}", plural(r.stubs, "stub"))
    } else {
        status
    }
}

/// How far the file got, in words.
fn furthest(r: &FileStatus) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let checked = match &r.validate {
        Validation::Ok(_) => Some("validated"),
        Validation::LinkedNotExercised(_) => Some("linked, not exercised"),
        _ => None,
    };
    if let Compile::Bridged { .. } = &r.compile {
        return match checked {
            Some(c) => format!("bridged ({c})"),
            None => "bridged".to_owned(),
        };
    }
    match (&r.transpile, &r.compile, &r.validate) {
        (Step::Failed(Some(c)), _, _) => format!("transpile failed ({c})"),
        (Step::Failed(None), _, _) => "transpile failed".to_owned(),
        (Step::NotRun, _, _) => "not transpiled".to_owned(),
        (_, Compile::Quarantined { count, .. }, _) => {
            format!("quarantined ({})", plural(*count, "error"))
        }
        (_, Compile::Errors { count, .. }, _) => {
            format!("does not compile ({})", plural(*count, "error"))
        }
        (_, Compile::LintFailed { code: Some(c) }, _) => format!("lint failed ({c})"),
        (_, Compile::LintFailed { code: None }, _) => "lint failed".to_owned(),
        (_, _, Validation::Failed(_)) => "check failed".to_owned(),
        _ if r.origin != "generated" => match checked {
            Some(c) => format!("{} ({c})", r.origin),
            None => r.origin.to_owned(),
        },
        _ if checked.is_some() => checked.unwrap_or_default().to_owned(),
        (_, Compile::Ok, _) => "compiles".to_owned(),
        (_, Compile::TestsQuarantined { .. }, _) => "compiles (not its tests)".to_owned(),
        (_, Compile::Lints, _) => "purified".to_owned(),
        (_, Compile::NoErrors, _) => "no errors here (the crate failed elsewhere)".to_owned(),
        _ => "transpiled".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generated module's row for `source`, for the tests of the parts.
    pub(super) fn row_for_tests(source: &str) -> FileStatus {
        row(
            Some(&source.to_owned()),
            "rust/src/m.rs",
            Kind::Module,
            "generated",
            Step::Ok,
        )
    }

    #[test]
    fn failures_are_read_from_the_state_with_their_codes() {
        use batuta_engine::rule::failure::{Kind, Recorded};
        let mut s = State::default();
        s.start(Phase::Transpile, "2026-01-01T00:00:00Z");
        s.finish(
            Phase::Transpile,
            "2026-01-01T00:00:01Z",
            1.0,
            Some("transpile/python:a.py: depyler could not infer a type [BATUTA-T-003]; transpile/c:b.c: failed [BATUTA-T-001]; transpile/crate#x: not run, it reads what a did not write".into()),
        );
        let failed = |action: &str, code: &str| Recorded {
            action: action.into(),
            code: code.into(),
            message: "failed".into(),
            kind: Kind::Rule,
        };
        s.set_failures(
            Phase::Transpile,
            vec![
                failed("transpile/python:a.py", "BATUTA-T-003"),
                failed("transpile/c:b.c", "BATUTA-T-001"),
            ],
        );
        let f = failures(&s);
        assert_eq!(f["transpile/python:a.py"].as_deref(), Some("BATUTA-T-003"));
        assert_eq!(f["transpile/c:b.c"].as_deref(), Some("BATUTA-T-001"));
        assert_eq!(f.len(), 2, "what did not run did not fail");
    }

    #[test]
    fn the_status_is_the_furthest_step_reached() {
        let src = "legacy/a.py".to_owned();
        let mut r = row(
            Some(&src),
            "rust/src/a.rs",
            Kind::Module,
            "generated",
            Step::Ok,
        );
        r.compile = Compile::Quarantined {
            count: 3,
            first: "x".into(),
        };
        assert_eq!(summary(&r), "quarantined (3 errors)");
        r.compile = Compile::Ok;
        assert_eq!(summary(&r), "compiles");
        r.validate = Validation::LinkedNotExercised(vec!["validate/run".into()]);
        assert_eq!(summary(&r), "linked, not exercised");
        r.validate = Validation::Ok(vec!["validate/tests".into()]);
        assert_eq!(summary(&r), "validated");
        r.validate = Validation::Failed(vec!["validate/tests".into()]);
        assert_eq!(summary(&r), "check failed");
        r.transpile = Step::Failed(Some("BATUTA-T-003".into()));
        assert_eq!(summary(&r), "transpile failed (BATUTA-T-003)");
        let mut h = row(
            Some(&src),
            "rust/src/a.rs",
            Kind::Module,
            "hand-ported",
            Step::None,
        );
        h.compile = Compile::Ok;
        assert_eq!(summary(&h), "hand-ported");
        let mut s = row(
            Some(&src),
            "rust/scripts/a.sh",
            Kind::Script,
            "generated",
            Step::Ok,
        );
        s.compile = Compile::Lints;
        assert_eq!(summary(&s), "purified");
        r.transpile = Step::Ok;
        r.validate = Validation::None;
        r.compile = Compile::NotBuilt;
        r.stubs = 2;
        assert_eq!(summary(&r), "transpiled, 2 stubs");
        r.compile = Compile::Quarantined {
            count: 1,
            first: "x".into(),
        };
        assert_eq!(
            summary(&r),
            "quarantined (1 error)",
            "a failure says only that"
        );
    }

    #[test]
    fn the_to_do_list_puts_the_most_used_and_cheapest_first() {
        let src = |s: &str| Some(s.to_owned());
        let mut rows: Vec<FileStatus> = ["a.py", "b.py", "c.py", "d.py"]
            .iter()
            .map(|n| row(src(n).as_ref(), "m.rs", Kind::Module, "generated", Step::Ok))
            .collect();
        let q = |n| Compile::Quarantined {
            count: n,
            first: String::new(),
        };
        rows[0].compile = q(9);
        rows[1].compile = q(2);
        rows[1].dependents = 0;
        rows[2].compile = q(5);
        rows[2].dependents = 3;
        rows[3].compile = Compile::Ok;
        order(&mut rows);
        let names: Vec<_> = rows.iter().map(|r| r.source.clone().unwrap()).collect();
        assert_eq!(names, ["c.py", "b.py", "a.py", "d.py"]);
        assert_eq!(rows[0].next, Some(1));
        assert_eq!(rows[3].next, None);
    }
}
