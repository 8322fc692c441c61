//! The history of builds that did work: when, how long, what ran and what was restored —
//! so a team sees progress over weeks.

use std::fmt::Write as _;

use batuta_engine::history::Entry;

use crate::commands::files::Point;

use super::format::{self, Row, esc};

const NONE: &str = "No build has done any work yet.";
const HEAD: [&str; 8] = [
    "finished",
    "target",
    "duration",
    "executed",
    "cached",
    "up to date",
    "failed",
    "native",
];

/// The share of native code after the build, when it recorded one.
fn native(b: &Entry, points: &[Point]) -> String {
    match points.iter().rev().find(|p| p.finished == b.finished) {
        Some(p) if p.code_lines > 0 => format!(
            "{:.1} % ({} of {})",
            p.native_lines as f64 * 100.0 / p.code_lines as f64,
            p.native_lines,
            p.code_lines
        ),
        _ => "–".to_owned(),
    }
}

fn row(b: &Entry, points: &[Point]) -> Vec<String> {
    vec![
        b.finished.clone(),
        b.target.clone(),
        format!("{:.2}s", b.duration_ms as f64 / 1000.0),
        b.executed.to_string(),
        b.cached.to_string(),
        b.up_to_date.to_string(),
        format!(
            "{}{}",
            b.failed,
            if b.cancelled { " (cancelled)" } else { "" }
        ),
        native(b, points),
    ]
}

/// Most recent first.
pub fn markdown(s: &mut String, builds: &[Entry], points: &[Point], damaged: usize) {
    s.push_str("\n## Builds\n\n");
    if builds.is_empty() {
        s.push_str(NONE);
        s.push('\n');
    } else {
        format::md_table(s, &HEAD, builds.iter().rev().map(|b| row(b, points)));
    }
    if damaged > 0 {
        let _ = writeln!(s, "\n{damaged} damaged history lines were skipped.");
    }
}

pub fn html(s: &mut String, builds: &[Entry], points: &[Point], damaged: usize) {
    s.push_str("<h2>Builds</h2>\n");
    if builds.is_empty() {
        let _ = writeln!(s, "<p class=\"note\">{NONE}</p>");
    } else {
        s.push_str(&chart(builds));
        let rows = builds.iter().rev().map(|b| Row {
            class: if b.failed > 0 || b.cancelled {
                "failed".to_owned()
            } else {
                String::new()
            },
            cells: row(b, points).iter().map(|c| esc(c)).collect(),
        });
        format::html_table(s, "builds", &HEAD, rows);
    }
    if damaged > 0 {
        let _ = writeln!(
            s,
            "<p class=\"note\">{damaged} damaged history lines were skipped.</p>"
        );
    }
}

/// Each build as a bar, oldest first: its height the duration, red when something failed.
fn chart(builds: &[Entry]) -> String {
    let (w, h, pad) = (600.0, 160.0, 40.0);
    let longest = builds
        .iter()
        .map(|b| b.duration_ms)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let step = (w - pad) / builds.len() as f64;
    // A lone build is a bar, not a wall.
    let bar_w = (step * 0.8).clamp(1.0, 40.0);
    let mut s = format!(
        "<svg id=\"history\" class=\"chart\" width=\"{w}\" height=\"{}\" role=\"img\" aria-label=\"build durations, oldest first\">\n",
        h + 20.0
    );
    for (i, b) in builds.iter().enumerate() {
        // The shortest build still shows.
        let bh = ((h - 10.0) * b.duration_ms as f64 / longest).max(2.0);
        let color = if b.failed > 0 || b.cancelled {
            format::RED
        } else {
            format::BLUE
        };
        let _ = writeln!(
            s,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{bh:.1}\" fill=\"{color}\">\
             <title>{}: {:.2}s, {} executed, {} cached, {} failed</title></rect>",
            pad + i as f64 * step,
            h - bh,
            esc(&b.finished),
            b.duration_ms as f64 / 1000.0,
            b.executed,
            b.cached,
            b.failed
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{pad}\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#888\"/>\
         <text x=\"0\" y=\"12\">{:.2}s</text><text x=\"{pad}\" y=\"{}\">{} builds, oldest first</text></svg>",
        longest / 1000.0,
        h + 16.0,
        builds.len()
    );
    s
}
