//! `batuta report`: where the migration stands, for people and machines — the five-phase
//! board, the analysis, each file's transpilation, the validation checks, the release
//! artifacts with their digests, and the history of builds — as markdown, JSON, or one
//! self-contained HTML page.
//!
//! It reads what builds left behind (the state file, the journal, the history, the rules'
//! outputs) and never waits for a running build. The one thing it runs is each transpile
//! tool's version command (what a build runs too), to say which version translates.
//!
//! Each section is a module with `collect`, `markdown` and `html`; JSON is the
//! [`Report`] itself. A new section is a new module and a line in each of the three.

mod analysis;
mod artifacts;
mod board;
mod builds;
mod files;
mod format;
mod outcome;
mod pages;
mod plan;
mod projects;
mod results;
mod transpile;
mod validation;

use std::fmt::Write as _;
use std::path::Path;

use batuta_engine::graph::ActionGraph;
use batuta_engine::history::{self, Entry};
use batuta_engine::journal::Journal;
use batuta_engine::manifest::Manifest;
use batuta_engine::state::{self, State};
use serde::Serialize;

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
    pub phases: Vec<board::PhaseRow>,
    /// A workspace's projects (`projects:`), each with its board; empty for one project.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<projects::Project>,
    /// `None` until an analysis ran.
    pub analysis: Option<analysis::Section>,
    pub transpile: Vec<transpile::FileResult>,
    pub validation: Vec<validation::Check>,
    /// The optimize stage's plans (usually one).
    pub optimization: Vec<plan::Section>,
    /// Each source file's migration: transpiled, compiles, validated, or hand-ported.
    pub files: Vec<crate::commands::files::FileStatus>,
    /// The share of the program's code lines that run as native Rust (the headline).
    pub native: crate::commands::files::Share,
    /// That share after each build that recorded one, oldest first (each names its
    /// build's `finished`).
    pub native_history: Vec<crate::commands::files::Point>,
    /// Results of other rules that no section above shows.
    pub results: Vec<results::RuleResult>,
    pub artifacts: Vec<artifacts::Artifact>,
    pub builds: Vec<Entry>,
    /// History lines damaged by a crash and skipped.
    pub damaged_history_lines: usize,
    /// What could not be read, and so is missing above.
    pub notes: Vec<String>,
}

pub fn run(ui: &Ui, manifest: &ManifestArg, format: ReportFormat, out: Option<&Path>) -> Exit {
    let (m, g) = match super::load_graph(ui, manifest) {
        Ok(x) => x,
        Err(exit) => return exit,
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
        ReportFormat::Html => {
            // Each file gets a page of its own, beside a report written to a file.
            let pages = out.map(pages::dir_for);
            let folder = pages
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned());
            html(&report, folder.as_deref())
        }
    };
    match out {
        None => {
            print!("{text}");
            if format == ReportFormat::Html && !report.files.is_empty() {
                eprintln!("note: the pages of each source file are written only with -o FILE");
            }
        }
        Some(path) => {
            if let Err(e) = batuta_engine::fsutil::write_atomic(path, text.as_bytes()) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return Exit::Failed;
            }
            eprintln!("wrote {}", path.display());
            if format == ReportFormat::Html && !report.files.is_empty() {
                return write_pages(&m, &g, &report, path);
            }
        }
    }
    Exit::Success
}

/// The per-file pages of an HTML report written to `path` (see [`pages`]).
fn write_pages(m: &Manifest, g: &ActionGraph, report: &Report, path: &Path) -> Exit {
    let dir = pages::dir_for(path);
    let state = State::load(&state::path(&m.root)).unwrap_or_default();
    let (journal, _) = Journal::load(&batuta_engine::journal::path(&m.root));
    let report_name = path.file_name().unwrap_or_default().to_string_lossy();
    match pages::write(
        &m.root,
        g,
        &journal,
        &state,
        &report.files,
        &dir,
        &report_name,
    ) {
        Ok(n) => {
            eprintln!(
                "wrote {n} page{} of source beside its Rust in {}",
                if n == 1 { "" } else { "s" },
                dir.display()
            );
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: cannot write the pages in {}: {e}", dir.display());
            Exit::Failed
        }
    }
}

pub fn collect(m: &Manifest, g: &ActionGraph) -> Result<Report, String> {
    let root = &m.root;
    let state = State::load(&state::path(root)).map_err(|e| e.to_string())?;
    let (journal, journal_note) = Journal::load(&batuta_engine::journal::path(root));
    let (mut builds, damaged) = history::read(root)
        .map_err(|e| format!("cannot read {}: {e}", history::path(root).display()))?;
    builds.drain(..builds.len().saturating_sub(HISTORY_SHOWN));
    let mut notes: Vec<String> = journal_note.into_iter().collect();
    let analysis = analysis::collect(root).unwrap_or_else(|e| {
        notes.push(e);
        None
    });
    let outcomes = outcome::Outcomes::new(&state, &journal);
    let optimization = plan::collect(root, g, &mut notes);
    let files = crate::commands::files::table(g, &journal, &state, root, &m.project.source.value);
    let native = crate::commands::files::share(&files);
    let projects = projects::collect(m, &state, &files, &mut notes);
    Ok(Report {
        project: m.project.name.value.clone(),
        generated: state::now_rfc3339(),
        overall_percent: if projects.is_empty() {
            state.progress()
        } else {
            projects::overall(&projects)
        },
        phases: board::collect(&state),
        projects,
        analysis,
        transpile: transpile::collect(m, g, &outcomes),
        validation: validation::collect(root, g, &outcomes),
        optimization,
        files,
        native,
        native_history: crate::commands::files::native_history(root),
        results: results::collect(root, g),
        artifacts: artifacts::collect(root, g, &journal),
        builds,
        damaged_history_lines: damaged,
        notes,
    })
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Migration report: {}\n", r.project);
    let _ = writeln!(
        s,
        "Generated {}. Overall: {}% complete.\n",
        r.generated, r.overall_percent
    );
    board::markdown(&mut s, &r.phases);
    projects::markdown(&mut s, &r.projects);
    analysis::markdown(&mut s, r.analysis.as_ref());
    transpile::markdown(&mut s, &r.transpile);
    plan::markdown(&mut s, &r.optimization);
    validation::markdown(&mut s, &r.validation);
    files::markdown(&mut s, &r.files, &r.native);
    results::markdown(&mut s, &r.results);
    artifacts::markdown(&mut s, &r.artifacts);
    builds::markdown(
        &mut s,
        &r.builds,
        &r.native_history,
        r.damaged_history_lines,
    );
    if !r.notes.is_empty() {
        s.push_str("\n## Notes\n\n");
        for n in &r.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

/// One page, no network: inline CSS and SVG, printable. With `pages` (the folder of the
/// per-file pages, relative to the report), each file of the Files table links to its page.
pub fn html(r: &Report, pages: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<p>Generated {}. Overall: {}% complete.</p>",
        format::esc(&r.generated),
        r.overall_percent
    );
    s.push_str(&format::progress(r.overall_percent));
    board::html(&mut s, &r.phases);
    projects::html(&mut s, &r.projects);
    analysis::html(&mut s, r.analysis.as_ref());
    transpile::html(&mut s, &r.transpile);
    plan::html(&mut s, &r.optimization);
    validation::html(&mut s, &r.validation);
    files::html(&mut s, &r.files, &r.native, pages);
    results::html(&mut s, &r.results);
    artifacts::html(&mut s, &r.artifacts);
    builds::html(
        &mut s,
        &r.builds,
        &r.native_history,
        r.damaged_history_lines,
    );
    if !r.notes.is_empty() {
        s.push_str("<h2>Notes</h2>\n<ul class=\"note\">\n");
        for n in &r.notes {
            let _ = writeln!(s, "<li>{}</li>", format::esc(n));
        }
        s.push_str("</ul>\n");
    }
    format::page(&format!("Migration report: {}", r.project), &s)
}
