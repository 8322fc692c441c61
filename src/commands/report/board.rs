//! The five-phase board: each phase's status and times, and why a failed phase failed.

use std::fmt::Write as _;

use batuta_engine::manifest::Phase;
use batuta_engine::state::{State, Status};
use serde::Serialize;

use super::format::{self, Row, esc};
use crate::commands::status::mark;

#[derive(Debug, Serialize)]
pub struct PhaseRow {
    pub phase: &'static str,
    pub status: Status,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub duration: Option<String>,
    pub error: Option<String>,
}

pub fn collect(state: &State) -> Vec<PhaseRow> {
    Phase::ALL
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
        .collect()
}

fn status_text(p: &PhaseRow) -> String {
    let (_, label) = mark(p.status);
    if p.status == Status::Failed {
        format!("{label} ← Fix this!")
    } else {
        label.to_owned()
    }
}

pub fn markdown(s: &mut String, phases: &[PhaseRow]) {
    s.push_str("## Phases\n\n");
    let rows = phases.iter().map(|p| {
        vec![
            mark(p.status).0.to_owned(),
            p.phase.to_owned(),
            status_text(p),
            p.started_at.clone().unwrap_or_default(),
            p.completed_at.clone().unwrap_or_default(),
            p.duration.clone().unwrap_or_default(),
        ]
    });
    format::md_table(
        s,
        &["", "phase", "status", "started", "ended", "duration"],
        rows,
    );
    let failures: Vec<&PhaseRow> = phases.iter().filter(|p| p.error.is_some()).collect();
    if !failures.is_empty() {
        s.push_str("\n### Failures\n\n");
        for p in failures {
            for e in p.error.as_deref().unwrap_or("").split("; ") {
                let _ = writeln!(s, "- **{}**: {e}", p.phase);
            }
        }
    }
}

pub fn html(s: &mut String, phases: &[PhaseRow]) {
    s.push_str("<h2>Phases</h2>\n");
    let rows = phases.iter().map(|p| Row {
        class: mark(p.status).1.to_lowercase().replace(' ', "-"),
        cells: vec![
            mark(p.status).0.to_owned(),
            p.phase.to_owned(),
            esc(&status_text(p)),
            esc(p.duration.as_deref().unwrap_or("")),
        ],
    });
    format::html_table(s, "board", &["", "phase", "status", "duration"], rows);
    for p in phases.iter().filter(|p| p.error.is_some()) {
        let _ = writeln!(
            s,
            "<p class=\"error\"><b>{}</b>: {}</p>",
            p.phase,
            esc(p.error.as_deref().unwrap_or(""))
        );
    }
}
