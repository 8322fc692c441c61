//! What other built-in rules and kernels wrote as JSON: those a section of its own does
//! not show (the analysis and the validation checks have theirs).

use std::path::Path;

use batuta_engine::graph::{ActionGraph, ActionKind};
use batuta_engine::manifest::Phase;
use serde::Serialize;
use serde_json::Value;

use super::format::{self, Row, esc};
use super::validation::highlights;

#[derive(Debug, Serialize)]
pub struct RuleResult {
    pub action: String,
    pub rule: String,
    pub output: String,
    pub result: Value,
}

pub fn collect(root: &Path, g: &ActionGraph) -> Vec<RuleResult> {
    let mut results = Vec::new();
    for a in g.actions.iter().filter(|a| a.phase != Phase::Validate) {
        let rule = match &a.kind {
            // These have sections of their own (analysis, optimization plan, artifacts).
            ActionKind::Builtin { name, .. }
                if name.starts_with("analyze")
                    || matches!(name.as_str(), "optimize" | "calibrate" | "cargo-build") =>
            {
                continue;
            }
            ActionKind::Builtin { name, .. } => format!("builtin {name}"),
            ActionKind::Kernel { name, .. } => format!("kernel {name}"),
            ActionKind::Command { .. } => continue,
        };
        for out in a.outputs.iter().filter(|o| o.ends_with(".json")) {
            // A rule's result as its last successful run wrote it; unreadable or not
            // JSON (a rule that writes something else) is simply not shown.
            let Ok(text) = std::fs::read_to_string(root.join(out)) else {
                continue;
            };
            if let Ok(result) = serde_json::from_str(&text) {
                results.push(RuleResult {
                    action: a.id.clone(),
                    rule: rule.clone(),
                    output: out.clone(),
                    result,
                });
            }
        }
    }
    results
}

const HEAD: [&str; 3] = ["action", "rule", "result"];

/// Shown only when there is something: most workspaces have no such rule.
pub fn markdown(s: &mut String, results: &[RuleResult]) {
    if results.is_empty() {
        return;
    }
    s.push_str("\n## Other results\n\n");
    let rows = results
        .iter()
        .map(|x| vec![x.action.clone(), x.rule.clone(), highlights(&x.result)]);
    format::md_table(s, &HEAD, rows);
}

pub fn html(s: &mut String, results: &[RuleResult]) {
    if results.is_empty() {
        return;
    }
    s.push_str("<h2>Other results</h2>\n");
    let rows = results.iter().map(|x| {
        Row::plain(vec![
            esc(&x.action),
            esc(&x.rule),
            esc(&highlights(&x.result)),
        ])
    });
    format::html_table(s, "results", &HEAD, rows);
}
