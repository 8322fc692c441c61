//! The analysis section: languages, the technical debt grade with its sub-scores, and the
//! ML operations found with their Sovereign-stack mappings — as the last `builtin: analyze`
//! wrote them to `.batuta/analysis/analysis.json`.

use std::fmt::Write as _;
use std::path::Path;

use batuta_rules::analyze::Analysis;
use batuta_rules::analyze::report::{FORMAT, Framework, LanguageStat, Operation};
use batuta_rules::analyze::tdg::Tdg;
use serde::Serialize;

use super::format::{self, Bar, Row, esc};

#[derive(Debug, Serialize)]
pub struct Section {
    pub files: usize,
    pub code: u64,
    pub primary_language: Option<String>,
    pub languages: Vec<LanguageStat>,
    pub tdg: Tdg,
    pub frameworks: Vec<Framework>,
    /// Each operation with its Sovereign-stack target; `target: null` is unmapped.
    pub operations: Vec<Operation>,
    pub unmapped: usize,
}

/// The analysis, `None` when no analysis ran here; an error says why a file that is there
/// cannot be shown.
pub fn collect(root: &Path) -> Result<Option<Section>, String> {
    read(&root.join(batuta_rules::ANALYSIS_DIR).join("analysis.json"))
}

/// The analysis of one project of a workspace, in its own folder of the analysis.
pub fn collect_project(root: &Path, project: &str) -> Result<Option<Section>, String> {
    read(
        &root
            .join(batuta_rules::ANALYSIS_DIR)
            .join(project)
            .join("analysis.json"),
    )
}

fn read(path: &Path) -> Result<Option<Section>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let a: Analysis = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not an analysis this batuta reads ({e}); `batuta build` writes it again",
            path.display()
        )
    })?;
    if a.format != FORMAT {
        return Err(format!(
            "{} has format {} and this batuta reads {FORMAT}; `batuta build` writes it again",
            path.display(),
            a.format
        ));
    }
    let unmapped =
        a.ml.operations
            .iter()
            .filter(|o| o.target.is_none())
            .count();
    Ok(Some(Section {
        files: a.files,
        code: a.code,
        primary_language: a.primary_language,
        languages: a.languages,
        tdg: a.tdg,
        frameworks: a.ml.frameworks,
        operations: a.ml.operations,
        unmapped,
    }))
}

const NONE: &str = "No analysis yet: a stage with `builtin: analyze` writes it when it runs.";

fn summary(a: &Section) -> String {
    format!(
        "{} files, {} lines of code{}. Technical debt grade: {:.1} ({}).",
        a.files,
        a.code,
        a.primary_language
            .as_deref()
            .map(|l| format!("; primary language {l}"))
            .unwrap_or_default(),
        a.tdg.score,
        a.tdg.grade
    )
}

fn language_row(l: &LanguageStat) -> [String; 4] {
    [
        l.name.clone(),
        l.files.to_string(),
        l.code.to_string(),
        format!("{:.1}%", l.percent),
    ]
}

fn subscore_row(s: &batuta_rules::analyze::tdg::SubScore) -> [String; 4] {
    [
        s.name.clone(),
        format!("{:.0}%", s.weight * 100.0),
        format!("{:.1}", s.score),
        s.detail.clone(),
    ]
}

fn operation_row(o: &Operation) -> [String; 6] {
    [
        o.framework.clone(),
        o.operation.clone(),
        o.count.to_string(),
        o.files.to_string(),
        o.target.clone().unwrap_or_else(|| "unmapped".to_owned()),
        o.backend.clone().unwrap_or_default(),
    ]
}

const LANGUAGE_HEAD: [&str; 4] = ["language", "files", "code", "share"];
const TDG_HEAD: [&str; 4] = ["sub-score", "weight", "score", "detail"];
const OPERATION_HEAD: [&str; 6] = [
    "framework",
    "operation",
    "calls",
    "files",
    "Sovereign stack",
    "backend",
];

fn unmapped_note(a: &Section) -> Option<String> {
    (a.unmapped > 0).then(|| {
        format!(
            "{} of {} operations have no Sovereign-stack mapping yet.",
            a.unmapped,
            a.operations.len()
        )
    })
}

pub fn markdown(s: &mut String, a: Option<&Section>) {
    s.push_str("\n## Analysis\n\n");
    let Some(a) = a else {
        let _ = writeln!(s, "{NONE}");
        return;
    };
    let _ = writeln!(s, "{}\n", summary(a));
    format::md_table(
        s,
        &LANGUAGE_HEAD,
        a.languages.iter().map(|l| language_row(l).into()),
    );
    let _ = writeln!(
        s,
        "\n### Technical debt grade: {:.1} ({})\n",
        a.tdg.score, a.tdg.grade
    );
    format::md_table(
        s,
        &TDG_HEAD,
        a.tdg.subscores.iter().map(|x| subscore_row(x).into()),
    );
    s.push_str("\n### ML operations\n\n");
    if a.operations.is_empty() {
        s.push_str("No ML framework calls found.\n");
        return;
    }
    format::md_table(
        s,
        &OPERATION_HEAD,
        a.operations.iter().map(|o| operation_row(o).into()),
    );
    if let Some(n) = unmapped_note(a) {
        let _ = writeln!(s, "\n{n}");
    }
}

pub fn html(s: &mut String, a: Option<&Section>) {
    s.push_str("<h2>Analysis</h2>\n");
    let Some(a) = a else {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(NONE));
        return;
    };
    let _ = writeln!(s, "<p>{}</p>", esc(&summary(a)));
    let bars: Vec<Bar> = a
        .languages
        .iter()
        .map(|l| Bar {
            label: l.name.clone(),
            value: l.code as f64,
            text: format!(
                "{} line{} ({:.1}%)",
                l.code,
                if l.code == 1 { "" } else { "s" },
                l.percent
            ),
            color: format::BLUE,
        })
        .collect();
    if !bars.is_empty() {
        s.push_str(&format::bar_chart(
            "languages",
            "lines of code per language",
            &bars,
            None,
        ));
    }
    let rows = a.languages.iter().map(|l| {
        let [name, files, code, share] = language_row(l).map(|c| esc(&c));
        Row::plain(vec![name, files, code, share])
    });
    format::html_table(s, "languages-table", &LANGUAGE_HEAD, rows);
    let _ = writeln!(
        s,
        "<h3>Technical debt grade: {:.1} ({})</h3>",
        a.tdg.score,
        esc(&a.tdg.grade)
    );
    let bars: Vec<Bar> = a
        .tdg
        .subscores
        .iter()
        .map(|x| Bar {
            label: x.name.clone(),
            value: x.score,
            text: format!("{:.1}", x.score),
            color: format::PURPLE,
        })
        .collect();
    s.push_str(&format::bar_chart(
        "tdg",
        "technical debt sub-scores out of 100",
        &bars,
        Some(100.0),
    ));
    let rows = a
        .tdg
        .subscores
        .iter()
        .map(|x| Row::plain(subscore_row(x).iter().map(|c| esc(c)).collect()));
    format::html_table(s, "tdg-table", &TDG_HEAD, rows);
    s.push_str("<h3>ML operations</h3>\n");
    if a.operations.is_empty() {
        s.push_str("<p>No ML framework calls found.</p>\n");
        return;
    }
    let rows = a.operations.iter().map(|o| Row {
        class: if o.target.is_none() {
            "unmapped".to_owned()
        } else {
            String::new()
        },
        cells: operation_row(o).iter().map(|c| esc(c)).collect(),
    });
    format::html_table(s, "ml-operations", &OPERATION_HEAD, rows);
    if let Some(n) = unmapped_note(a) {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(&n));
    }
}
