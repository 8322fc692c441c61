//! The artifacts section: the files the build phase produced, as the last build recorded
//! them, with their BLAKE3 digests.

use std::path::Path;

use batuta_engine::graph::ActionGraph;
use batuta_engine::journal::Journal;
use batuta_engine::manifest::Phase;
use serde::Serialize;

use super::format::{self, Row, esc};

#[derive(Debug, Serialize)]
pub struct Artifact {
    pub path: String,
    pub blake3: String,
    /// Its size now; `None` when it is gone.
    pub bytes: Option<u64>,
}

pub fn collect(root: &Path, g: &ActionGraph, journal: &Journal) -> Vec<Artifact> {
    let mut artifacts: Vec<Artifact> = g
        .actions
        .iter()
        .filter(|a| a.phase == Phase::Build)
        .filter_map(|a| journal.actions.get(&a.id))
        .flat_map(|record| &record.outputs)
        .map(|(path, digest)| Artifact {
            path: path.clone(),
            blake3: digest.to_hex(),
            bytes: std::fs::metadata(root.join(path)).ok().map(|m| m.len()),
        })
        .collect();
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    artifacts
}

const NONE: &str = "The build phase has produced nothing yet.";
const HEAD: [&str; 3] = ["file", "bytes", "BLAKE3"];

fn bytes(a: &Artifact) -> String {
    a.bytes.map_or("missing".to_owned(), |b| b.to_string())
}

pub fn markdown(s: &mut String, artifacts: &[Artifact]) {
    s.push_str("\n## Artifacts\n\n");
    if artifacts.is_empty() {
        s.push_str(NONE);
        s.push('\n');
        return;
    }
    let rows = artifacts
        .iter()
        .map(|a| vec![a.path.clone(), bytes(a), format!("`{}`", a.blake3)]);
    format::md_table(s, &HEAD, rows);
}

pub fn html(s: &mut String, artifacts: &[Artifact]) {
    s.push_str("<h2>Artifacts</h2>\n");
    if artifacts.is_empty() {
        s.push_str(&format!("<p class=\"note\">{NONE}</p>\n"));
        return;
    }
    let rows = artifacts.iter().map(|a| {
        Row::plain(vec![
            esc(&a.path),
            bytes(a),
            format!("<code>{}</code>", a.blake3),
        ])
    });
    format::html_table(s, "artifacts", &HEAD, rows);
}
