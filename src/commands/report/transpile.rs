//! The transpilation section: each transpile action (one per source file for an `each`
//! task) with the tool that translates it, that tool's version, and how its last run
//! ended.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use batuta_engine::graph::{Action, ActionGraph, ActionKind};
use batuta_engine::manifest::{Manifest, Phase};
use serde::Serialize;

use batuta_rules::transpile::stubs::{self, Stub};

use super::format::{self, Row, Segment, esc};
use super::outcome::{Outcome, Outcomes, Status};

#[derive(Debug, Serialize)]
pub struct FileResult {
    pub action: String,
    /// The source it translates (the first input), `None` for an action without inputs.
    pub file: Option<String>,
    pub inputs: usize,
    pub outputs: Vec<String>,
    /// The manifest tool, or the program a plain command runs, or `builtin NAME`.
    pub tool: String,
    /// The first line of the tool's version output as installed now; `None` for a
    /// program that is not a declared tool, or a tool that cannot run here.
    pub tool_version: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Stubs in the generated Rust (a transpiled `.rs` output), with the source lines
    /// they stand for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stubs: Vec<Stub>,
    /// First lines of items of the generated Rust that do not parse (not searched).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unread_items: Vec<usize>,
}

pub fn collect(m: &Manifest, g: &ActionGraph, outcomes: &Outcomes<'_>) -> Vec<FileResult> {
    // A tool's version is asked once, whatever the number of files it translates.
    let mut versions: BTreeMap<String, Option<String>> = BTreeMap::new();
    g.actions
        .iter()
        .filter(|a| a.phase == Phase::Transpile)
        .map(|a| {
            let (tool, declared) = tool_of(a);
            let tool_version = match declared {
                Some(name) => versions
                    .entry(name.to_owned())
                    .or_insert_with(|| version(m, name))
                    .clone(),
                None => None,
            };
            let outcome = outcomes.of(a);
            let found = match (&outcome.status, a.inputs.first(), rust_output(a)) {
                (Status::Ok, Some(source), Some(rust)) => {
                    stubs::in_files(&m.root, source, rust).unwrap_or_default()
                }
                _ => stubs::Found::default(),
            };
            FileResult {
                action: a.id.clone(),
                file: a.inputs.first().cloned(),
                inputs: a.inputs.len(),
                outputs: a.outputs.clone(),
                tool,
                tool_version,
                outcome,
                stubs: found.stubs,
                unread_items: found.unread,
            }
        })
        .collect()
}

/// The Rust file a transpile action wrote, if it wrote one.
fn rust_output(a: &Action) -> Option<&str> {
    a.outputs
        .iter()
        .map(String::as_str)
        .find(|o| o.ends_with(".rs"))
}

/// What runs the action, and the manifest tool's name when it is one.
fn tool_of(a: &Action) -> (String, Option<&str>) {
    match &a.kind {
        ActionKind::Command { tool: Some(t), .. } => (t.clone(), Some(t)),
        ActionKind::Command { argv, .. } => {
            let program = argv.first().map(String::as_str).unwrap_or_default();
            let base = program.rsplit('/').next().unwrap_or(program);
            (base.to_owned(), None)
        }
        ActionKind::Builtin { name, .. } => (format!("builtin {name}"), None),
        ActionKind::Kernel { name, .. } => (format!("kernel {name}"), None),
    }
}

/// The tool's version command, as the build runs it to key the tool's actions.
fn version(m: &Manifest, name: &str) -> Option<String> {
    let tool = m.tool(name)?;
    let out = batuta_engine::probe::tool_version(&m.root, tool).ok()?;
    out.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
}

fn counts(rows: &[FileResult]) -> [(Status, usize); 3] {
    [Status::Ok, Status::Failed, Status::NotRun]
        .map(|st| (st, rows.iter().filter(|r| r.outcome.status == st).count()))
}

fn summary(rows: &[FileResult]) -> String {
    let parts: Vec<String> = counts(rows)
        .iter()
        .map(|(st, n)| format!("{n} {}", st.label()))
        .collect();
    let actions = if rows.len() == 1 { "action" } else { "actions" };
    format!("{} transpile {actions}: {}.", rows.len(), parts.join(", "))
}

fn source(r: &FileResult) -> String {
    match (&r.file, r.inputs) {
        (None, _) => "(no inputs)".to_owned(),
        (Some(f), 1) => f.clone(),
        (Some(f), n) => format!("{f} and {} more", n - 1),
    }
}

const HEAD: [&str; 6] = ["file", "output", "tool", "version", "outcome", "code"];

fn row(r: &FileResult) -> [String; 6] {
    [
        source(r),
        r.outputs.join(", "),
        r.tool.clone(),
        r.tool_version.clone().unwrap_or_default(),
        r.outcome.text(),
        r.outcome.code.clone().unwrap_or_default(),
    ]
}

const NONE: &str = "The target has no transpile actions.";

pub fn markdown(s: &mut String, rows: &[FileResult]) {
    s.push_str("\n## Transpilation\n\n");
    if rows.is_empty() {
        let _ = writeln!(s, "{NONE}");
        return;
    }
    let _ = writeln!(s, "{}\n", summary(rows));
    format::md_table(s, &HEAD, rows.iter().map(|r| row(r).into()));
    if let Some(title) = stubs_title(rows) {
        let _ = writeln!(s, "\n### Stubs\n\n{title}\n");
        format::md_table(s, &STUB_HEAD, stub_rows(rows));
    }
}

const STUB_HEAD: [&str; 4] = ["source", "Rust", "kind", "stub"];

/// "3 stubs in 2 files: code the tool wrote in place of a translation." or `None`.
fn stubs_title(rows: &[FileResult]) -> Option<String> {
    let n: usize = rows.iter().map(|r| r.stubs.len()).sum();
    let files = rows.iter().filter(|r| !r.stubs.is_empty()).count();
    (n > 0).then(|| {
        format!(
            "{n} stub{} in {files} file{}: code the tool wrote in place of a translation, which compiles and computes nothing of the original.",
            if n == 1 { "" } else { "s" },
            if files == 1 { "" } else { "s" }
        )
    })
}

/// One row per stub: the source line it stands for, its Rust line, its kind, and what it is.
fn stub_rows(rows: &[FileResult]) -> impl Iterator<Item = Vec<String>> + '_ {
    rows.iter().flat_map(|r| {
        let source = r.file.clone().unwrap_or_default();
        let rust = rust_of(r);
        r.stubs.iter().map(move |st| {
            vec![
                match st.source_line {
                    Some(l) => format!("{source}:{l}"),
                    None => source.clone(),
                },
                format!("{rust}:{}", st.rust_line),
                serde_json::to_value(&st.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(|k| k.replace('_', " ")))
                    .unwrap_or_default(),
                st.to_string(),
            ]
        })
    })
}

fn rust_of(r: &FileResult) -> String {
    r.outputs
        .iter()
        .find(|o| o.ends_with(".rs"))
        .cloned()
        .unwrap_or_default()
}

pub fn html(s: &mut String, rows: &[FileResult]) {
    s.push_str("<h2>Transpilation</h2>\n");
    if rows.is_empty() {
        let _ = writeln!(s, "<p class=\"note\">{NONE}</p>");
        return;
    }
    let _ = writeln!(s, "<p>{}</p>", esc(&summary(rows)));
    let segments = counts(rows).map(|(st, count)| Segment {
        label: st.label(),
        count,
        color: match st {
            Status::Ok => format::GREEN,
            Status::Failed => format::RED,
            Status::NotRun => format::GREY,
        },
    });
    s.push_str(&format::stacked_bar(
        "transpile-outcomes",
        "transpile outcomes",
        &segments,
    ));
    let table = rows.iter().map(|r| {
        let mut cells: Vec<String> = row(r).iter().map(|c| esc(c)).collect();
        cells[4] = format!("<span class=\"outcome\">{}</span>", cells[4]);
        Row {
            class: r.outcome.status.class().to_owned(),
            cells,
        }
    });
    format::html_table(s, "transpile", &HEAD, table);
    if let Some(title) = stubs_title(rows) {
        let _ = writeln!(s, "<h3>Stubs</h3>\n<p>{}</p>", esc(&title));
        let table = stub_rows(rows).map(|cells| Row::plain(cells.iter().map(|c| esc(c)).collect()));
        format::html_table(s, "stubs", &STUB_HEAD, table);
    }
}
