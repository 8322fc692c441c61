//! Each source file's migration (transpiled, compiles, validated, hand-ported), as
//! `batuta status --files` shows it; the rows come from `commands::files`.

use crate::commands::files::FileStatus;

use super::format::{self, Row, esc};

const HEAD: [&str; 3] = ["source", "Rust module", "status"];
/// A workspace's table names each file's project first.
const HEAD_PROJECTS: [&str; 4] = ["project", "source", "Rust module", "status"];

fn head(files: &[FileStatus]) -> &'static [&'static str] {
    if files.iter().any(|f| f.project.is_some()) {
        &HEAD_PROJECTS
    } else {
        &HEAD
    }
}

fn file_cells(f: &FileStatus, projects: bool) -> Vec<String> {
    let mut cells = vec![
        f.source.clone().unwrap_or_else(|| "–".to_owned()),
        f.module.clone().unwrap_or_else(|| "–".to_owned()),
        f.status.clone(),
    ];
    if projects {
        cells.insert(0, f.project.clone().unwrap_or_else(|| "–".to_owned()));
    }
    cells
}

/// Per-file migration status (`batuta status --files`), shown once files are transpiled.
pub fn markdown(s: &mut String, files: &[FileStatus]) {
    if files.is_empty() {
        return;
    }
    s.push_str("\n## Files\n\n");
    let head = head(files);
    let projects = head.len() == HEAD_PROJECTS.len();
    format::md_table(s, head, files.iter().map(|f| file_cells(f, projects)));
}

/// With `pages`, the folder of the per-file pages, each source links to its page.
pub fn html(s: &mut String, files: &[FileStatus], pages: Option<&str>) {
    if files.is_empty() {
        return;
    }
    s.push_str("<h2>Files</h2>\n");
    let head = head(files);
    let projects = head.len() == HEAD_PROJECTS.len();
    let link = usize::from(projects);
    let rows = files.iter().map(|f| {
        let mut cells: Vec<String> = file_cells(f, projects).iter().map(|c| esc(c)).collect();
        if let (Some(dir), Some(page)) = (pages, super::pages::page_of(f)) {
            let href: String = format!("{dir}/{page}")
                .split('/')
                .map(percent)
                .collect::<Vec<_>>()
                .join("/");
            cells[link] = format!("<a href=\"{}\">{}</a>", esc(&href), cells[link]);
        }
        Row::plain(cells)
    });
    format::html_table(s, "files", head, rows);
}

/// A path segment as a URL path segment: what is not unreserved is percent-encoded.
fn percent(seg: &str) -> String {
    seg.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
