//! Which checks (validate actions) cover which file, and whether they exercise it.
//!
//! A check *exercises* a file when what it runs is that file or comes straight from it:
//! it reads the file itself, names it in the programs it compares (a purified script run
//! against the original), or, for `cargo-test`, ran a test inside the module (its test
//! path starts with the module's) or an integration test that names the module. A check
//! that only reads something built from the file (the binary it is linked into) covers it
//! without exercising it: a module of constants is not validated because the program
//! around it passed.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use batuta_engine::graph::{Action, ActionGraph, ActionKind};
use batuta_engine::journal::Journal;
use batuta_engine::manifest::Phase;
use batuta_rules::validate::junit;
use batuta_rules::validate::libtest::Outcome;

/// How a check's last run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Result {
    Passed,
    Failed,
    NotRun,
}

/// One validate action as the table needs it.
pub struct Check<'g> {
    pub id: &'g str,
    pub result: Result,
    /// What it reads itself, and the paths its programs name.
    direct: BTreeSet<String>,
    /// Everything it reads through the actions that wrote what it reads.
    upstream: BTreeSet<&'g str>,
    /// cargo-test: the test cases of its last run, and the integration tests' sources.
    tests: Option<Tests>,
}

struct Tests {
    cases: Vec<junit::Case>,
    /// The text of each integration test file (`tests/*.rs` of the crate).
    integration: Vec<String>,
}

/// How one check relates to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Exercises,
    Links,
}

impl Check<'_> {
    /// Whether this check reaches the file `output` (a module or a script) made from
    /// `source`; `module_path` is the module's Rust path (`slugify::special`), for modules.
    pub fn reach(
        &self,
        source: Option<&str>,
        output: &str,
        module_path: Option<&str>,
    ) -> Option<Reach> {
        let named = |f: &str| self.direct.contains(f);
        if named(output) || source.is_some_and(named) {
            return Some(Reach::Exercises);
        }
        if !self.upstream.contains(output) {
            return None;
        }
        if let (Some(tests), Some(path)) = (&self.tests, module_path) {
            let inside = format!("{path}::");
            let ran_inside = tests
                .cases
                .iter()
                .any(|c| c.outcome != Outcome::Ignored && c.name.starts_with(&inside));
            let named = tests.integration.iter().any(|t| names_module(t, path));
            if ran_inside || named {
                return Some(Reach::Exercises);
            }
        }
        Some(Reach::Links)
    }
}

/// Whether an integration test's text names the module at `path` through the crate
/// (`stats::stats::mean`, `use stats::util;`): `::path` followed by no more of a name.
fn names_module(text: &str, path: &str) -> bool {
    let needle = format!("::{path}");
    text.match_indices(&needle).any(|(i, _)| {
        let after = text[i + needle.len()..].chars().next();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Every validate action of the graph, with its last result.
pub fn checks<'g>(
    g: &'g ActionGraph,
    journal: &Journal,
    failed: &dyn Fn(&str) -> bool,
    root: &Path,
) -> Vec<Check<'g>> {
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
            let mut upstream: BTreeSet<&str> = BTreeSet::new();
            let mut todo: Vec<&str> = a.inputs.iter().map(String::as_str).collect();
            while let Some(f) = todo.pop() {
                if !upstream.insert(f) {
                    continue;
                }
                if let Some(&w) = writer.get(f) {
                    todo.extend(g.actions[w].inputs.iter().map(String::as_str));
                }
            }
            let result = if journal.actions.contains_key(&a.id) {
                Result::Passed
            } else if failed(&a.id) {
                Result::Failed
            } else {
                Result::NotRun
            };
            Check {
                id: &a.id,
                result,
                direct: direct(a),
                upstream,
                tests: tests(a, root),
            }
        })
        .collect()
}

/// The files an action reads itself: its own inputs that no glob matched, and the paths
/// its `with:` names among its programs' arguments (`original: [python3, legacy/main.py]`).
fn direct(a: &Action) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = a
        .inputs
        .iter()
        .filter(|i| !a.is_matched(i))
        .cloned()
        .collect();
    // An input glob over a crate's sources reads every module: that is linking, not
    // running them. A command names what it runs in its arguments.
    if let ActionKind::Command { argv, .. } = &a.kind {
        out.extend(argv.iter().cloned());
    }
    if let ActionKind::Builtin {
        with: Some(with), ..
    } = &a.kind
    {
        let mut strings = Vec::new();
        collect_strings(with, &mut strings);
        out.extend(strings);
    }
    // The crate a cargo-test reads is linked, not exercised by being read.
    if matches!(&a.kind, ActionKind::Builtin { name, .. } if name == "cargo-test") {
        out.retain(|f| !f.ends_with(".rs") && !f.ends_with("Cargo.toml"));
    }
    out
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// A cargo-test action's last JUnit report and its crate's integration tests.
fn tests(a: &Action, root: &Path) -> Option<Tests> {
    if !matches!(&a.kind, ActionKind::Builtin { name, .. } if name == "cargo-test") {
        return None;
    }
    // The last run's report (kept whatever the outcome), else the declared one.
    let reports = std::iter::once(junit::last_run_path(root, &a.id)).chain(
        a.outputs
            .iter()
            .filter(|o| o.ends_with(".xml"))
            .map(|o| root.join(o)),
    );
    let cases = reports
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find_map(|xml| junit::read(&xml))
        .unwrap_or_default();
    let integration = a
        .inputs
        .iter()
        .filter(|i| i.contains("/tests/") && i.ends_with(".rs"))
        .filter_map(|i| std::fs::read_to_string(root.join(i)).ok())
        .collect();
    Some(Tests { cases, integration })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_names_a_module_through_its_crate() {
        let t = "use stats::util;\n#[test]\nfn t() { assert_eq!(stats::stats::mean(&[1.0]), Ok(1.0)); }";
        assert!(names_module(t, "stats"));
        assert!(names_module(t, "util"));
        assert!(!names_module(t, "stat"));
        assert!(!names_module(t, "mean_x"));
        assert!(names_module("x::a::b::c()", "a::b"));
    }
}
