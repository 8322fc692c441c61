//! One HTML page per source file, beside the report: the source and the Rust it became
//! (generated, ported by hand, or whatever the manifest builds in its place) side by side,
//! each line numbered and linkable (`#s12` in the source, `#r12` in the Rust), with
//!
//! - the compiler's errors under the Rust lines they point at, as rustc rendered them
//!   (from assemble's quarantine record, or the last cargo-build's record);
//! - the stubs found in the Rust, at their lines and linked to the source lines they stand
//!   for;
//! - the checks that cover the file, with how each relates to it and how it last ended.
//!
//! Like the report, a page is one file with inline CSS and no script or address: it opens
//! offline. Files are written as the report is (0644 under the usual umask).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use batuta_engine::graph::{ActionGraph, ActionKind};
use batuta_engine::journal::Journal;
use batuta_engine::state::State;
use batuta_rules::build::messages::Diagnostic;
use batuta_rules::transpile::assemble::{self, record as assembly};
use batuta_rules::transpile::stubs::{self, Stub};

use super::format::{self, esc};
use crate::commands::files::coverage::{self, Reach};
use crate::commands::files::{self, Compile, FileStatus, Step, Validation};

/// Larger files are not shown line by line (a page of a million lines helps nobody).
const SHOWN_AT_MOST: u64 = 2 * 1024 * 1024;

/// The folder the pages of the report at `out` go to: `report.html` → `report-files/`.
pub fn dir_for(out: &Path) -> PathBuf {
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    out.with_file_name(format!("{stem}-files"))
}

/// The page of a row, relative to the pages' folder: its source path (or its module's,
/// for Rust written by hand) with `.html` added, so no two rows share one.
pub fn page_of(row: &FileStatus) -> Option<String> {
    let name = row.source.as_deref().or(row.module.as_deref())?;
    let safe: Vec<String> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .map(|p| p.replace(|c: char| c.is_control() || c == '\\', "_"))
        .collect();
    (!safe.is_empty()).then(|| format!("{}.html", safe.join("/")))
}

/// Write a page for every row into `dir`; `report` is the report's file name, which each
/// page links back to. Returns how many were written.
pub fn write(
    root: &Path,
    g: &ActionGraph,
    journal: &Journal,
    state: &State,
    rows: &[FileStatus],
    dir: &Path,
    report: &str,
) -> std::io::Result<usize> {
    let failed = files::failures(state);
    let is_failed = |id: &str| failed.contains_key(id);
    let checks = coverage::checks(g, journal, &is_failed, root);
    let errors = Errors::read(root, g);
    let mut n = 0;
    for row in rows {
        let Some(rel) = page_of(row) else { continue };
        let depth = rel.matches('/').count();
        let back = format!("{}{report}", "../".repeat(depth + 1));
        let html = page(root, row, &checks, &errors, &failed, &back);
        batuta_engine::fsutil::write_atomic(&dir.join(&rel), html.as_bytes())?;
        n += 1;
    }
    Ok(n)
}

/// The compiler's diagnostics by file: assemble's records first (the quarantine's
/// errors), then the last cargo-build records.
struct Errors(BTreeMap<String, Vec<(Diagnostic, &'static str)>>);

impl Errors {
    fn read(root: &Path, g: &ActionGraph) -> Errors {
        let mut by: BTreeMap<String, Vec<(Diagnostic, &'static str)>> = BTreeMap::new();
        for a in &g.actions {
            let ActionKind::Builtin { name, .. } = &a.kind else {
                continue;
            };
            if name == assemble::NAME {
                let rec = a
                    .outputs
                    .iter()
                    .find(|o| assembly::is_record(o))
                    .and_then(|o| assembly::read(root, o));
                for m in rec.into_iter().flat_map(|r| r.modules) {
                    let from = if m.tests_quarantined && !m.quarantined {
                        "its tests, in the test build"
                    } else {
                        "assemble's check"
                    };
                    for d in m.errors {
                        let file = d.file.clone().unwrap_or_else(|| m.file.clone());
                        by.entry(file).or_default().push((d, from));
                    }
                }
            } else if name == "cargo-build" {
                let rec = batuta_rules::build::record::read(root, &a.id);
                for d in rec.into_iter().flat_map(|r| r.diagnostics) {
                    if let Some(file) = d.file.clone().filter(|_| d.is_error()) {
                        by.entry(file)
                            .or_default()
                            .push((d, "the last cargo build"));
                    }
                }
            }
        }
        Errors(by)
    }

    fn of(&self, file: &str) -> &[(Diagnostic, &'static str)] {
        self.0.get(file).map_or(&[], Vec::as_slice)
    }
}

/// A file's lines for a page, or why they are not shown.
fn lines_of(root: &Path, rel: &str) -> Result<Vec<String>, String> {
    let p = root.join(rel);
    let meta = std::fs::metadata(&p).map_err(|_| format!("{rel} is not there"))?;
    if meta.len() > SHOWN_AT_MOST {
        return Err(format!("{rel} is too large to show ({} bytes)", meta.len()));
    }
    let bytes = std::fs::read(&p).map_err(|e| format!("{rel} cannot be read: {e}"))?;
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_owned)
        .collect())
}

fn page(
    root: &Path,
    row: &FileStatus,
    checks: &[coverage::Check<'_>],
    errors: &Errors,
    failed: &BTreeMap<String, Option<String>>,
    back: &str,
) -> String {
    let name = row
        .source
        .as_deref()
        .or(row.module.as_deref())
        .unwrap_or("");
    let module = row.module.as_deref().unwrap_or("");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<p><a href=\"{}\">← the migration report</a></p>",
        esc(back)
    );
    let kind = match (row.origin, &row.tool) {
        ("generated", Some(t)) => format!("generated by {t}"),
        (o, _) => o.to_owned(),
    };
    let _ = writeln!(
        s,
        "<p class=\"summary\"><b>{}</b> → <code>{}</code> ({}): <span class=\"status\">{}</span>{}</p>",
        esc(name),
        esc(module),
        esc(&kind),
        esc(&row.status),
        row.next.map_or(String::new(), |n| format!(
            " · number {n} on the to-do list"
        ))
    );
    if let Step::Failed(code) = &row.transpile {
        let log = failed_log(root, failed, row);
        let _ = writeln!(
            s,
            "<p class=\"error\">The transpiler failed on it{}{}.</p>",
            code.as_deref().map_or(String::new(), |c| format!(
                " ({}: <code>batuta explain {c}</code>)",
                esc(c)
            )),
            log.map_or(String::new(), |l| format!(
                "; its whole output is in <code>{}</code>",
                esc(&l)
            ))
        );
    }

    // What to show beside the source, and what to mark in it.
    let rust = (!module.is_empty()
        && matches!(row.kind, files::Kind::Module | files::Kind::Script))
    .then(|| lines_of(root, module));
    let errs: Vec<&(Diagnostic, &str)> = errors
        .of(module)
        .iter()
        .filter(|(d, _)| d.is_error() || matches!(row.compile, Compile::Quarantined { .. }))
        .collect();
    let found = match (&row.source, row.origin) {
        (Some(src), "generated") => stubs::in_files(root, src, module).unwrap_or_default(),
        _ => stubs::Found::default(),
    };
    checks_section(&mut s, row, checks);
    findings(&mut s, &errs, &found.stubs);
    s.push_str("<div class=\"pair\">\n");
    match &row.source {
        Some(src) => pane(
            &mut s,
            "s",
            src,
            lines_of(root, src),
            &BTreeMap::new(),
            &source_marks(&found.stubs),
        ),
        None => s.push_str("<section class=\"pane\"><h2>Source</h2><p class=\"note\">Written in Rust from the start: no legacy source.</p></section>\n"),
    }
    match rust {
        Some(lines) => pane(&mut s, "r", module, lines, &by_line(&errs), &rust_marks(&found.stubs)),
        None => s.push_str("<section class=\"pane\"><h2>Rust</h2><p class=\"note\">No Rust module.</p></section>\n"),
    }
    s.push_str("</div>\n");
    let mut html = format::page(&format!("{name}: source and Rust"), &s);
    html = html.replacen("</style>", &format!("{CSS}</style>"), 1);
    html
}

/// The log of the row's failed transpile action (the tool's whole output), relative to
/// the workspace, when it is there.
fn failed_log(
    root: &Path,
    failed: &BTreeMap<String, Option<String>>,
    row: &FileStatus,
) -> Option<String> {
    let src = row.source.as_deref()?;
    let id = failed.keys().find(|id| id.ends_with(&format!(":{src}")))?;
    let log = batuta_rules::last_run::path(root, "logs", id, "log");
    log.is_file()
        .then(|| log.strip_prefix(root).unwrap_or(&log).display().to_string())
}

fn checks_section(s: &mut String, row: &FileStatus, checks: &[coverage::Check<'_>]) {
    s.push_str("<h2>Checks that cover it</h2>\n");
    let module = row.module.as_deref().unwrap_or("");
    let exercised: &[String] = match &row.validate {
        Validation::Ok(ids) | Validation::Failed(ids) => ids,
        _ => &[],
    };
    let mut items = Vec::new();
    for c in checks {
        let Some(reach) = c.reach(row.source.as_deref(), module, None) else {
            continue;
        };
        let how = if reach == Reach::Exercises || exercised.iter().any(|e| e == c.id) {
            "runs it"
        } else {
            "checks what it is linked into (it may not run this file)"
        };
        let (class, result) = match c.result {
            coverage::Result::Passed => ("ok", "passed"),
            coverage::Result::Failed => ("failed", "failed"),
            coverage::Result::NotRun => ("not-run", "not run yet"),
        };
        items.push(format!(
            "<li class=\"{class}\"><code>{}</code>: {how}; <span class=\"outcome\">{result}</span></li>",
            esc(c.id)
        ));
    }
    if items.is_empty() {
        s.push_str("<p class=\"note\">No check covers it: nothing shows that its Rust behaves as the source does.</p>\n");
    } else {
        let _ = writeln!(s, "<ul id=\"checks\">{}</ul>", items.join(""));
    }
}

/// The errors and stubs as a list, each linked to its line.
fn findings(s: &mut String, errs: &[&(Diagnostic, &str)], stubs: &[Stub]) {
    if errs.is_empty() && stubs.is_empty() {
        return;
    }
    s.push_str("<h2>Found in the Rust</h2>\n<ul id=\"findings\">");
    for (d, from) in errs {
        let at = d.line.map_or(String::new(), |l| {
            format!("<a href=\"#r{l}\">line {l}</a>: ")
        });
        let _ = write!(
            s,
            "<li class=\"error\">{at}{} (from {from})</li>",
            esc(&d.headline())
        );
    }
    for st in stubs {
        let src = st.source_line.map_or(String::new(), |l| {
            format!(", for <a href=\"#s{l}\">source line {l}</a>")
        });
        let _ = write!(
            s,
            "<li class=\"stub\"><a href=\"#r{l}\">line {l}</a>: stub: {}{src}</li>",
            esc(&st.to_string()),
            l = st.rust_line
        );
    }
    s.push_str("</ul>\n");
}

fn by_line<'a>(errs: &[&'a (Diagnostic, &'a str)]) -> BTreeMap<usize, Vec<&'a Diagnostic>> {
    let mut m: BTreeMap<usize, Vec<&Diagnostic>> = BTreeMap::new();
    for (d, _) in errs {
        // An error with no line goes above the first.
        m.entry(d.line.unwrap_or(0) as usize).or_default().push(d);
    }
    m
}

fn rust_marks(stubs: &[Stub]) -> BTreeMap<usize, String> {
    stubs.iter().map(|s| (s.rust_line, s.to_string())).collect()
}

fn source_marks(stubs: &[Stub]) -> BTreeMap<usize, String> {
    stubs
        .iter()
        .filter_map(|s| Some((s.source_line?, format!("its Rust is a stub: {s}"))))
        .collect()
}

/// One side: a table of numbered lines (`id="{p}N"`), the errors under their lines.
fn pane(
    s: &mut String,
    prefix: &str,
    title: &str,
    lines: Result<Vec<String>, String>,
    errors: &BTreeMap<usize, Vec<&Diagnostic>>,
    marks: &BTreeMap<usize, String>,
) {
    let _ = writeln!(
        s,
        "<section class=\"pane\" id=\"{prefix}\"><h2><code>{}</code></h2>",
        esc(title)
    );
    let lines = match lines {
        Ok(l) => l,
        Err(why) => {
            let _ = writeln!(s, "<p class=\"note\">{}</p></section>", esc(&why));
            return;
        }
    };
    s.push_str("<table class=\"code\"><tbody>\n");
    let error_row = |s: &mut String, d: &Diagnostic| {
        let _ = writeln!(
            s,
            "<tr class=\"diag\"><td></td><td><pre>{}</pre></td></tr>",
            esc(d.rendered.trim_end())
        );
    };
    for d in errors.get(&0).into_iter().flatten() {
        error_row(s, d);
    }
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let class = match (errors.contains_key(&n), marks.get(&n)) {
            (true, _) => " class=\"has-error\"",
            (false, Some(_)) => " class=\"stub\"",
            _ => "",
        };
        let title = marks
            .get(&n)
            .map_or(String::new(), |m| format!(" title=\"{}\"", esc(m)));
        let _ = writeln!(
            s,
            "<tr id=\"{prefix}{n}\"{class}{title}><td class=\"ln\"><a href=\"#{prefix}{n}\">{n}</a></td><td><code>{}</code></td></tr>",
            esc(line)
        );
        for d in errors.get(&n).into_iter().flatten() {
            error_row(s, d);
        }
    }
    // Errors past the end (a line the file no longer has): still shown.
    for (_, ds) in errors.range(lines.len() + 1..) {
        for d in ds {
            error_row(s, d);
        }
    }
    s.push_str("</tbody></table></section>\n");
}

/// The pages' own layout, added to the report's stylesheet.
const CSS: &str = "body{max-width:none}.pair{display:flex;gap:1em;align-items:flex-start}\
.pane{flex:1 1 0;min-width:0;overflow-x:auto}table.code{border-collapse:collapse;width:100%;font:12px/1.35 ui-monospace,monospace}\
table.code td{border:0;padding:0 .5em;white-space:pre}td.ln{text-align:right;color:#888;user-select:none}td.ln a{color:inherit;text-decoration:none}\
tr:target{background:#fff6c4}tr.has-error td{background:#fdecea}tr.stub td{background:#fff3e0}\
tr.diag pre{margin:.2em 0 .4em;padding:.4em;background:#fdecea;border-left:3px solid #c62828;white-space:pre-wrap;font-size:11px}\
li.failed .outcome,li.error{color:#c62828}li.ok .outcome{color:#1a7f37}li.stub{color:#8a5a00}\
@media print{.pair{display:block}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_gets_a_page_of_its_own_inside_the_folder() {
        let mut r = files_row(Some("legacy/a b.py"), "rust/src/a_b.rs");
        assert_eq!(page_of(&r).as_deref(), Some("legacy/a b.py.html"));
        r.source = None;
        assert_eq!(page_of(&r).as_deref(), Some("rust/src/a_b.rs.html"));
        r.module = Some("../../etc/x.rs".into());
        assert_eq!(
            page_of(&r).as_deref(),
            Some("etc/x.rs.html"),
            "never outside"
        );
        assert_eq!(
            dir_for(Path::new("out/report.html")),
            PathBuf::from("out/report-files")
        );
    }

    #[test]
    fn an_error_sits_under_its_line() {
        let d = Diagnostic {
            level: "error".into(),
            code: Some("E0308".into()),
            message: "mismatched types".into(),
            file: Some("rust/src/a.rs".into()),
            line: Some(2),
            column: Some(5),
            rendered: "error[E0308]: mismatched <types>".into(),
        };
        let errs = [(d, "assemble's check")];
        let refs: Vec<&(Diagnostic, &str)> = errs.iter().collect();
        let mut s = String::new();
        pane(
            &mut s,
            "r",
            "rust/src/a.rs",
            Ok(vec![
                "fn a() {".into(),
                "    let x: u8 = \"s\";".into(),
                "}".into(),
            ]),
            &by_line(&refs),
            &BTreeMap::new(),
        );
        let line2 = s.find("<tr id=\"r2\" class=\"has-error\">").expect(&s);
        let diag = s.find("<tr class=\"diag\">").unwrap();
        let line3 = s.find("<tr id=\"r3\"").unwrap();
        assert!(line2 < diag && diag < line3, "{s}");
        assert!(s.contains("mismatched &lt;types&gt;"), "escaped: {s}");
        assert!(s.contains("<a href=\"#r2\">2</a>"));
    }

    fn files_row(source: Option<&str>, module: &str) -> FileStatus {
        let source = source.map(str::to_owned);
        FileStatus {
            compile: Compile::Ok,
            ..files::row(
                source.as_ref(),
                module,
                files::Kind::Module,
                "generated",
                Step::Ok,
            )
        }
    }
}
