//! A workspace's report (`projects:`): the roll-up of every project (its share done, its
//! phases, its files and lines), then a section per project with its own board and why
//! its failed phases failed. The sections after it (transpilation, validation, files…)
//! cover the whole workspace, each row naming its project's folders.

use std::fmt::Write as _;

use batuta_engine::manifest::{Manifest, Phase};
use batuta_engine::state::State;
use serde::Serialize;

use super::analysis;
use super::board::{self, PhaseRow};
use super::format::{self, Row, esc};
use crate::commands::files::FileStatus;
use crate::commands::status::mark;

#[derive(Debug, Serialize)]
pub struct Project {
    pub name: String,
    pub source: String,
    pub output: String,
    pub needs: Vec<String>,
    pub overall_percent: u32,
    pub phases: Vec<PhaseRow>,
    /// Its source files (as `batuta status --files` counts them) and how many are done.
    pub files: usize,
    pub done: usize,
    /// Its analysis, once one ran: lines of code and the main language.
    pub code: Option<u64>,
    pub primary_language: Option<String>,
}

/// Each project of the workspace, in the manifest's order; empty for one project.
pub fn collect(
    m: &Manifest,
    state: &State,
    files: &[FileStatus],
    notes: &mut Vec<String>,
) -> Vec<Project> {
    m.projects
        .iter()
        .map(|p| {
            let name = p.project.name.value.clone();
            let own = state.projects.get(&name).cloned().unwrap_or_default();
            let mine: Vec<&FileStatus> = files
                .iter()
                .filter(|f| f.project.as_deref() == Some(name.as_str()))
                .collect();
            let analysis = analysis::collect_project(&m.root, &name).unwrap_or_else(|e| {
                notes.push(e);
                None
            });
            Project {
                needs: p.needs.iter().map(|n| n.value.clone()).collect(),
                source: p.project.source.value.clone(),
                output: p.project.output.value.clone(),
                overall_percent: own.progress(),
                phases: board::collect(&own),
                files: mine.len(),
                done: mine.iter().filter(|f| is_done(f)).count(),
                code: analysis.as_ref().map(|a| a.code),
                primary_language: analysis.and_then(|a| a.primary_language),
                name,
            }
        })
        .collect()
}

/// Whether a file's migration is as far as it goes: validated, purified, or ported.
fn is_done(f: &FileStatus) -> bool {
    matches!(f.status.as_str(), "validated" | "purified" | "hand-ported")
}

/// The whole workspace's share: the mean of its projects'.
pub fn overall(projects: &[Project]) -> u32 {
    if projects.is_empty() {
        return 0;
    }
    projects.iter().map(|p| p.overall_percent).sum::<u32>() / projects.len() as u32
}

fn phase_marks(p: &Project) -> Vec<String> {
    Phase::ALL
        .iter()
        .zip(&p.phases)
        .map(|(_, row)| mark(row.status).0.to_owned())
        .collect()
}

fn head() -> Vec<&'static str> {
    let mut h = vec!["project", "done", "files", "lines"];
    h.extend(Phase::ALL.map(Phase::title));
    h
}

fn cells(p: &Project) -> Vec<String> {
    let mut c = vec![
        p.name.clone(),
        format!("{}%", p.overall_percent),
        format!("{} of {} done", p.done, p.files),
        p.code.map_or_else(|| "–".to_owned(), |c| c.to_string()),
    ];
    c.extend(phase_marks(p));
    c
}

pub fn markdown(s: &mut String, projects: &[Project]) {
    if projects.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Projects\n");
    format::md_table(s, &head(), projects.iter().map(cells));
    for p in projects {
        let _ = writeln!(
            s,
            "\n## Project {}: {}% complete\n\n{} → {}{}{}\n",
            p.name,
            p.overall_percent,
            p.source,
            p.output,
            p.primary_language
                .as_deref()
                .map(|l| format!(", mostly {l}"))
                .unwrap_or_default(),
            if p.needs.is_empty() {
                String::new()
            } else {
                format!(", needs {}", p.needs.join(", "))
            }
        );
        for row in p.phases.iter().filter(|r| r.error.is_some()) {
            for e in row.error.as_deref().unwrap_or("").split("; ") {
                let _ = writeln!(s, "- **{}**: {e}", row.phase);
            }
        }
    }
    s.push('\n');
}

pub fn html(s: &mut String, projects: &[Project]) {
    if projects.is_empty() {
        return;
    }
    s.push_str("<h2>Projects</h2>\n");
    let rows = projects
        .iter()
        .map(|p| Row::plain(cells(p).iter().map(|c| esc(c)).collect()));
    format::html_table(s, "projects", &head(), rows);
    for p in projects {
        let _ = writeln!(
            s,
            "<section class=\"project\" id=\"project-{}\"><h3>Project {}: {}% complete</h3>",
            esc(&p.name),
            esc(&p.name),
            p.overall_percent
        );
        let _ = writeln!(
            s,
            "<p>{} → {}{}</p>",
            esc(&p.source),
            esc(&p.output),
            if p.needs.is_empty() {
                String::new()
            } else {
                format!(", needs {}", esc(&p.needs.join(", ")))
            }
        );
        s.push_str(&format::progress(p.overall_percent));
        for row in p.phases.iter().filter(|r| r.error.is_some()) {
            let _ = writeln!(
                s,
                "<p class=\"error\"><b>{}</b>: {}</p>",
                row.phase,
                esc(row.error.as_deref().unwrap_or(""))
            );
        }
        s.push_str("</section>\n");
    }
}
