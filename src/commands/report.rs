//! `batuta report`: where the migration stands, for people and machines — the five-phase
//! board, the results the rules wrote, the release artifacts with their digests, and the
//! history of builds — as markdown, JSON, or one self-contained HTML page.
//!
//! It reads what builds left behind (the state file, the journal, the history, the rules'
//! JSON outputs) and never runs anything or waits for a running build.

use std::fmt::Write as _;
use std::path::Path;

use batuta_engine::graph::{self, ActionGraph, ActionKind};
use batuta_engine::history::{self, Entry};
use batuta_engine::journal::Journal;
use batuta_engine::manifest::{Manifest, Phase};
use batuta_engine::state::{self, State, Status};
use serde::Serialize;
use serde_json::Value;

use crate::Exit;
use crate::cli::{ManifestArg, ReportFormat};
use crate::output::Ui;

/// The builds a report shows, most recent last.
const HISTORY_SHOWN: usize = 50;

#[derive(Debug, Serialize)]
pub struct Report {
    pub project: String,
    pub generated: String,
    pub overall_percent: u32,
    pub phases: Vec<PhaseRow>,
    pub results: Vec<RuleResult>,
    pub artifacts: Vec<Artifact>,
    pub builds: Vec<Entry>,
    /// History lines damaged by a crash and skipped.
    pub damaged_history_lines: usize,
}

#[derive(Debug, Serialize)]
pub struct PhaseRow {
    pub phase: &'static str,
    pub status: Status,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub duration: Option<String>,
    pub error: Option<String>,
}

/// What a built-in rule or kernel wrote as its JSON result.
#[derive(Debug, Serialize)]
pub struct RuleResult {
    pub action: String,
    pub rule: String,
    pub output: String,
    pub result: Value,
}

/// A file the build phase produced, as the last build recorded it.
#[derive(Debug, Serialize)]
pub struct Artifact {
    pub path: String,
    pub blake3: String,
    pub bytes: Option<u64>,
}

pub fn run(ui: &Ui, manifest: &ManifestArg, format: ReportFormat, out: Option<&Path>) -> Exit {
    let loaded = super::load(manifest).and_then(|m| graph::expand_all(&m).map(|g| (m, g)));
    let (m, g) = match loaded {
        Ok(x) => x,
        Err(d) => {
            ui.report(&d);
            return Exit::Usage;
        }
    };
    let report = match collect(&m, &g) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    let text = match format {
        ReportFormat::Markdown => markdown(&report),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&report).expect("a report is plain data") + "\n"
        }
        ReportFormat::Html => html(&report),
    };
    match out {
        None => print!("{text}"),
        Some(path) => {
            if let Err(e) = batuta_engine::fsutil::write_atomic(path, text.as_bytes()) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return Exit::Failed;
            }
            eprintln!("wrote {}", path.display());
        }
    }
    Exit::Success
}

pub fn collect(m: &Manifest, g: &ActionGraph) -> Result<Report, String> {
    let root = &m.root;
    let state = State::load(&state::path(root)).map_err(|e| e.to_string())?;
    let (journal, _) = Journal::load(&batuta_engine::journal::path(root));
    let (mut builds, damaged) = history::read(root)
        .map_err(|e| format!("cannot read {}: {e}", history::path(root).display()))?;
    builds.drain(..builds.len().saturating_sub(HISTORY_SHOWN));
    let phases = Phase::ALL
        .into_iter()
        .map(|p| {
            let s = state.phase(p);
            PhaseRow {
                phase: p.title(),
                status: s.status,
                started_at: s.started_at,
                completed_at: s.completed_at,
                duration: s.duration,
                error: s.error,
            }
        })
        .collect();
    let mut results = Vec::new();
    let mut artifacts = Vec::new();
    for a in &g.actions {
        let rule = match &a.kind {
            ActionKind::Builtin { name, .. } => Some(format!("builtin {name}")),
            ActionKind::Kernel { name, .. } => Some(format!("kernel {name}")),
            ActionKind::Command { .. } => None,
        };
        if let Some(rule) = rule {
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
        if a.phase == Phase::Build
            && let Some(record) = journal.actions.get(&a.id)
        {
            for (path, digest) in &record.outputs {
                artifacts.push(Artifact {
                    path: path.clone(),
                    blake3: digest.to_hex(),
                    bytes: std::fs::metadata(root.join(path)).ok().map(|m| m.len()),
                });
            }
        }
    }
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Report {
        project: m.project.name.value.clone(),
        generated: state::now_rfc3339(),
        overall_percent: state.progress(),
        phases,
        results,
        artifacts,
        builds,
        damaged_history_lines: damaged,
    })
}

/// A table cell: no line breaks, no stray column separators.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A rule's result in one line: its top-level numbers, strings and booleans.
fn highlights(v: &Value) -> String {
    let Value::Object(map) = v else {
        return cell(&v.to_string());
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
    cell(&parts.join(", "))
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Migration report: {}\n", r.project);
    let _ = writeln!(
        s,
        "Generated {}. Overall: {}% complete.\n",
        r.generated, r.overall_percent
    );
    s.push_str("## Phases\n\n| | phase | status | started | ended | duration |\n|---|---|---|---|---|---|\n");
    for p in &r.phases {
        let (mark, label) = super::status::mark(p.status);
        let fix = if p.status == Status::Failed {
            " ← Fix this!"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "| {mark} | {} | {label}{fix} | {} | {} | {} |",
            p.phase,
            p.started_at.as_deref().unwrap_or(""),
            p.completed_at.as_deref().unwrap_or(""),
            p.duration.as_deref().unwrap_or("")
        );
    }
    let failures: Vec<&PhaseRow> = r.phases.iter().filter(|p| p.error.is_some()).collect();
    if !failures.is_empty() {
        s.push_str("\n### Failures\n\n");
        for p in failures {
            for e in p.error.as_deref().unwrap_or("").split("; ") {
                let _ = writeln!(s, "- **{}**: {e}", p.phase);
            }
        }
    }
    s.push_str("\n## Results\n\n");
    if r.results.is_empty() {
        s.push_str("No rule has written a result yet.\n");
    } else {
        s.push_str("| action | rule | result |\n|---|---|---|\n");
        for x in &r.results {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                cell(&x.action),
                x.rule,
                highlights(&x.result)
            );
        }
    }
    s.push_str("\n## Artifacts\n\n");
    if r.artifacts.is_empty() {
        s.push_str("The build phase has produced nothing yet.\n");
    } else {
        s.push_str("| file | bytes | BLAKE3 |\n|---|---|---|\n");
        for a in &r.artifacts {
            let bytes = a.bytes.map_or("missing".to_owned(), |b| b.to_string());
            let _ = writeln!(s, "| {} | {bytes} | `{}` |", cell(&a.path), a.blake3);
        }
    }
    s.push_str("\n## Builds\n\n");
    if r.builds.is_empty() {
        s.push_str("No build has done any work yet.\n");
    } else {
        s.push_str(
            "| finished | target | duration | executed | cached | up to date | failed |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for b in r.builds.iter().rev() {
            let _ = writeln!(
                s,
                "| {} | {} | {:.2}s | {} | {} | {} | {}{} |",
                b.finished,
                cell(&b.target),
                b.duration_ms as f64 / 1000.0,
                b.executed,
                b.cached,
                b.up_to_date,
                b.failed,
                if b.cancelled { " (cancelled)" } else { "" }
            );
        }
    }
    if r.damaged_history_lines > 0 {
        let _ = writeln!(
            s,
            "\n{} damaged history lines were skipped.",
            r.damaged_history_lines
        );
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One page, no network: inline CSS and SVG, printable.
pub fn html(r: &Report) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Migration report: {p}</title><style>{CSS}</style></head><body>\n\
         <h1>Migration report: {p}</h1>\n<p>Generated {g}.</p>\n",
        p = esc(&r.project),
        g = esc(&r.generated)
    );
    s.push_str(&progress_svg(r.overall_percent));
    s.push_str("<h2>Phases</h2>\n<table id=\"board\"><tr><th></th><th>phase</th><th>status</th><th>duration</th></tr>\n");
    for p in &r.phases {
        let (mark, label) = super::status::mark(p.status);
        let _ = writeln!(
            s,
            "<tr class=\"{cls}\"><td>{mark}</td><td>{}</td><td>{label}{}</td><td>{}</td></tr>",
            p.phase,
            if p.status == Status::Failed {
                " ← Fix this!"
            } else {
                ""
            },
            esc(p.duration.as_deref().unwrap_or("")),
            cls = label.to_lowercase().replace(' ', "-"),
        );
    }
    s.push_str("</table>\n");
    for p in r.phases.iter().filter(|p| p.error.is_some()) {
        let _ = writeln!(
            s,
            "<p class=\"error\"><b>{}</b>: {}</p>",
            p.phase,
            esc(p.error.as_deref().unwrap_or(""))
        );
    }
    s.push_str("<h2>Results</h2>\n");
    if r.results.is_empty() {
        s.push_str("<p>No rule has written a result yet.</p>\n");
    } else {
        s.push_str("<table><tr><th>action</th><th>rule</th><th>result</th></tr>\n");
        for x in &r.results {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&x.action),
                esc(&x.rule),
                esc(&highlights(&x.result))
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("<h2>Artifacts</h2>\n");
    if r.artifacts.is_empty() {
        s.push_str("<p>The build phase has produced nothing yet.</p>\n");
    } else {
        s.push_str("<table><tr><th>file</th><th>bytes</th><th>BLAKE3</th></tr>\n");
        for a in &r.artifacts {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&a.path),
                a.bytes.map_or("missing".to_owned(), |b| b.to_string()),
                a.blake3
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("<h2>Builds</h2>\n");
    if r.builds.is_empty() {
        s.push_str("<p>No build has done any work yet.</p>\n");
    } else {
        s.push_str(&history_svg(&r.builds));
    }
    s.push_str("</body></html>\n");
    s
}

const CSS: &str = "body{font:15px/1.4 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f4f4f4}tr.completed td:first-child{color:#1a7f37}tr.failed{background:#fdecea}\
tr.failed td:first-child{color:#c62828}.error{color:#c62828}code{font-size:85%}\
svg text{font:12px system-ui,sans-serif}@media print{body{margin:0}}";

/// The overall progress as a bar.
fn progress_svg(percent: u32) -> String {
    let w = 400.0 * f64::from(percent.min(100)) / 100.0;
    format!(
        "<svg id=\"progress\" width=\"420\" height=\"34\" role=\"img\" aria-label=\"{percent}% complete\">\
         <rect x=\"0\" y=\"4\" width=\"400\" height=\"18\" fill=\"#e6e6e6\"/>\
         <rect x=\"0\" y=\"4\" width=\"{w:.1}\" height=\"18\" fill=\"#1a7f37\"/>\
         <text x=\"405\" y=\"18\">{percent}%</text></svg>\n"
    )
}

/// Each build as a bar: its height the duration, red when something failed.
fn history_svg(builds: &[Entry]) -> String {
    let (w, h, pad) = (600.0, 160.0, 30.0);
    let longest = builds
        .iter()
        .map(|b| b.duration_ms)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let step = (w - pad) / builds.len() as f64;
    let mut s = format!(
        "<svg id=\"history\" width=\"{w}\" height=\"{}\" role=\"img\" aria-label=\"build durations\">\n",
        h + 20.0
    );
    for (i, b) in builds.iter().enumerate() {
        let bh = (h - 10.0) * b.duration_ms as f64 / longest;
        let color = if b.failed > 0 || b.cancelled {
            "#c62828"
        } else {
            "#2f6fb0"
        };
        let _ = writeln!(
            s,
            "<rect class=\"build\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\">\
             <title>{}: {:.2}s, {} executed, {} cached, {} failed</title></rect>",
            pad + i as f64 * step,
            h - bh,
            (step * 0.8).max(1.0),
            esc(&b.finished),
            b.duration_ms as f64 / 1000.0,
            b.executed,
            b.cached,
            b.failed
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"0\" y=\"12\">{:.1}s</text><text x=\"{pad}\" y=\"{}\">{} builds, oldest first</text></svg>",
        longest / 1000.0,
        h + 16.0,
        builds.len()
    );
    s
}
