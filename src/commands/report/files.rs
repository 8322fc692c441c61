//! Each source file's migration (transpiled, compiles, validated, hand-ported, the lines
//! that run native), as `batuta status --files` shows it, under the headline: the share of
//! the program's code lines that run as native Rust. The rows come from `commands::files`.

use crate::commands::files::{FileStatus, Share};

use super::format::{self, Row, esc};

const HEAD: [&str; 4] = ["source", "Rust module", "native", "status"];
/// A workspace's table names each file's project first.
const HEAD_PROJECTS: [&str; 5] = ["project", "source", "Rust module", "native", "status"];

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
        format!("{} of {} lines", f.native_lines, f.code_lines),
        f.status.clone(),
    ];
    if projects {
        cells.insert(0, f.project.clone().unwrap_or_else(|| "–".to_owned()));
    }
    cells
}

/// `Native Rust: 38 of 360 code lines run as native Rust (10.6 %); checks passed on it: …`
fn headline(share: &Share) -> String {
    let mut s = format!("Native Rust: {}", share.headline());
    if !share.checks.is_empty() {
        s.push_str(&format!(
            "; checks passed on it: {}",
            share.checks.join(", ")
        ));
    }
    s.push('.');
    s
}

/// Per-file migration status (`batuta status --files`), shown once files are transpiled.
pub fn markdown(s: &mut String, files: &[FileStatus], share: &Share) {
    if files.is_empty() {
        return;
    }
    s.push_str("\n## Files\n\n");
    s.push_str(&headline(share));
    s.push_str("\n\n");
    let head = head(files);
    let projects = head.len() == HEAD_PROJECTS.len();
    format::md_table(s, head, files.iter().map(|f| file_cells(f, projects)));
}

/// With `pages`, the folder of the per-file pages, each source links to its page.
pub fn html(s: &mut String, files: &[FileStatus], share: &Share, pages: Option<&str>) {
    if files.is_empty() {
        return;
    }
    s.push_str("<h2>Files</h2>\n");
    s.push_str(&format!(
        "<p class=\"headline\">{}</p>\n",
        esc(&headline(share))
    ));
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
