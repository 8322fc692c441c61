//! The validation section: each check of the validate phase, how it ended, and what it
//! found — the compared aspects, the system-call divergences, the test outcomes (from the
//! JUnit report of the last run), the speedups.

use std::fmt::Write as _;
use std::path::Path;

use batuta_engine::graph::{Action, ActionGraph, ActionKind};
use batuta_engine::manifest::Phase;
use batuta_engine::rule::failure::Kind;
use serde::Serialize;
use serde_json::Value;

use super::format::{self, Bar, Row, esc};
use super::outcome::{Outcome, Outcomes, Status};

#[derive(Debug, Serialize)]
pub struct Check {
    pub action: String,
    /// `builtin NAME`, `kernel NAME`, or the program a command runs.
    pub check: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What it found, in a line.
    pub summary: String,
    /// A cargo-test's test cases, from the JUnit report of its last run.
    pub tests: Option<Tests>,
    /// A syscalls check that failed: the operations only one side performed.
    pub divergence: Option<Divergence>,
    /// A bench's speedup, original median over migrated median.
    pub speedup: Option<f64>,
    /// The JSON the rule wrote at its last successful run.
    pub result: Option<Value>,
}

#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Tests {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// The names of the failed cases.
    pub failing: Vec<String>,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct Divergence {
    pub missing: usize,
    pub extra: usize,
}

pub fn collect(root: &Path, g: &ActionGraph, outcomes: &Outcomes<'_>) -> Vec<Check> {
    g.actions
        .iter()
        .filter(|a| a.phase == Phase::Validate)
        .map(|a| check(root, a, outcomes.of(a)))
        .collect()
}

fn check(root: &Path, a: &Action, outcome: Outcome) -> Check {
    let (check, rule) = match &a.kind {
        ActionKind::Builtin { name, .. } => (format!("builtin {name}"), name.as_str()),
        ActionKind::Kernel { name, .. } => (format!("kernel {name}"), name.as_str()),
        ActionKind::Command { argv, .. } => (argv.join(" "), ""),
    };
    // A result left by an earlier success says nothing about a run that failed since.
    let result = (outcome.status == Status::Ok)
        .then(|| json_output(root, a))
        .flatten();
    let tests = (rule == "cargo-test")
        .then(|| {
            let path = batuta_rules::validate::junit::last_run_path(root, &a.id);
            let xml = std::fs::read_to_string(path).ok()?;
            junit(&xml)
        })
        .flatten();
    let divergence = match outcome.kind {
        Some(Kind::Divergence { missing, extra }) => Some(Divergence { missing, extra }),
        _ => None,
    };
    let speedup = result
        .as_ref()
        .filter(|_| rule == "bench")
        .and_then(|r| r["speedup"].as_f64());
    let summary = summary(rule, result.as_ref(), tests.as_ref(), divergence.as_ref());
    Check {
        action: a.id.clone(),
        check,
        outcome,
        summary,
        tests,
        divergence,
        speedup,
        result,
    }
}

/// The first declared output that holds JSON.
fn json_output(root: &Path, a: &Action) -> Option<Value> {
    a.outputs
        .iter()
        .filter(|o| o.ends_with(".json"))
        .find_map(|o| serde_json::from_str(&std::fs::read_to_string(root.join(o)).ok()?).ok())
}

/// The counts of a JUnit report; `None` when it is not JUnit XML.
fn junit(xml: &str) -> Option<Tests> {
    use batuta_rules::validate::libtest::Outcome;
    let mut t = Tests::default();
    for case in batuta_rules::validate::junit::read(xml)? {
        match case.outcome {
            Outcome::Failed => {
                t.failed += 1;
                t.failing.push(case.name);
            }
            Outcome::Ignored => t.skipped += 1,
            Outcome::Passed => t.passed += 1,
        }
    }
    Some(t)
}

fn summary(
    rule: &str,
    result: Option<&Value>,
    tests: Option<&Tests>,
    divergence: Option<&Divergence>,
) -> String {
    if let Some(t) = tests {
        let mut s = format!(
            "{} passed, {} failed, {} skipped",
            t.passed, t.failed, t.skipped
        );
        if !t.failing.is_empty() {
            let _ = write!(s, ": {}", t.failing.join(", "));
        }
        return s;
    }
    if let Some(d) = divergence {
        return format!(
            "system calls diverge: {} missing, {} extra",
            d.missing, d.extra
        );
    }
    let Some(r) = result else {
        return String::new();
    };
    let ms = |side: &str, key: &str| r[side][key].as_f64().map(|v| format!("{v:.1} ms"));
    match rule {
        "compare-outputs" => {
            let compared: Vec<&str> = r["compared"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!(
                "same {}; original {}, migrated {}",
                compared.join(", "),
                ms("original", "duration_ms").unwrap_or_default(),
                ms("migrated", "duration_ms").unwrap_or_default()
            )
        }
        "syscalls" => format!(
            "same {} observable operations",
            r["operations"].as_array().map_or(0, Vec::len)
        ),
        "bench" => format!(
            "migrated {:.2}× the speed of the original (median {} vs {}, {} runs)",
            r["speedup"].as_f64().unwrap_or(0.0),
            ms("migrated", "median_ms").unwrap_or_default(),
            ms("original", "median_ms").unwrap_or_default(),
            r["runs"]
        ),
        _ => highlights(r),
    }
}

/// A result's top-level numbers, strings and booleans, in a line.
pub fn highlights(v: &Value) -> String {
    let Value::Object(map) = v else {
        return v.to_string();
    };
    let parts: Vec<String> = map
        .iter()
        .filter(|(_, v)| matches!(v, Value::Number(_) | Value::Bool(_) | Value::String(_)))
        .take(8)
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect();
    parts.join(", ")
}

const HEAD: [&str; 5] = ["check", "rule", "outcome", "code", "result"];

fn row(c: &Check) -> [String; 5] {
    [
        c.action.clone(),
        c.check.clone(),
        c.outcome.text(),
        c.outcome.code.clone().unwrap_or_default(),
        c.summary.clone(),
    ]
}

const NONE: &str = "The target has no validation checks.";

pub fn markdown(s: &mut String, checks: &[Check]) {
    s.push_str("\n## Validation\n\n");
    if checks.is_empty() {
        let _ = writeln!(s, "{NONE}");
        return;
    }
    format::md_table(s, &HEAD, checks.iter().map(|c| row(c).into()));
}

pub fn html(s: &mut String, checks: &[Check]) {
    s.push_str("<h2>Validation</h2>\n");
    if checks.is_empty() {
        let _ = writeln!(s, "<p class=\"note\">{NONE}</p>");
        return;
    }
    let rows = checks.iter().map(|c| {
        let mut cells: Vec<String> = row(c).iter().map(|x| esc(x)).collect();
        cells[2] = format!("<span class=\"outcome\">{}</span>", cells[2]);
        Row {
            class: c.outcome.status.class().to_owned(),
            cells,
        }
    });
    format::html_table(s, "validation", &HEAD, rows);
    let bars: Vec<Bar> = checks
        .iter()
        .filter_map(|c| {
            c.speedup.map(|x| Bar {
                label: c.action.clone(),
                value: x,
                text: format!("{x:.2}×"),
                color: if x >= 1.0 {
                    format::TEAL
                } else {
                    format::ORANGE
                },
            })
        })
        .collect();
    if !bars.is_empty() {
        s.push_str("<h3>Speedups</h3>\n");
        s.push_str(&format::bar_chart(
            "speedups",
            "migrated speed over original",
            &bars,
            None,
        ));
    }
}
