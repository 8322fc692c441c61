//! Each source file's migration (transpiled, compiles, validated, hand-ported), as
//! `batuta status --files` shows it; the rows come from `commands::files`.

use crate::commands::files::FileStatus;

use super::format::{self, Row, esc};

const HEAD: [&str; 3] = ["source", "Rust module", "status"];

fn file_cells(f: &FileStatus) -> Vec<String> {
    vec![
        f.source.clone().unwrap_or_else(|| "–".to_owned()),
        f.module.clone().unwrap_or_else(|| "–".to_owned()),
        f.status.clone(),
    ]
}

/// Per-file migration status (`batuta status --files`), shown once files are transpiled.
pub fn markdown(s: &mut String, files: &[FileStatus]) {
    if files.is_empty() {
        return;
    }
    s.push_str("\n## Files\n\n");
    format::md_table(s, &HEAD, files.iter().map(file_cells));
}

pub fn html(s: &mut String, files: &[FileStatus]) {
    if files.is_empty() {
        return;
    }
    s.push_str("<h2>Files</h2>\n");
    let rows = files
        .iter()
        .map(|f| Row::plain(file_cells(f).iter().map(|c| esc(c)).collect()));
    format::html_table(s, "files", &HEAD, rows);
}
