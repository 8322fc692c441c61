//! How batuta talks: diagnostics for people (miette, colour only on a terminal) and for
//! machines (one JSON object per line).

use std::io::{IsTerminal, Write};

use batuta_engine::manifest::{Diagnostic, Diagnostics, Manifest, Severity};
use miette::{GraphicalReportHandler, GraphicalTheme};
use serde_json::json;

use crate::cli::ColorChoice;

/// Decisions about output made once at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub color: bool,
    /// `-q`: print only errors (and warnings), no progress, reports or summary of success.
    pub quiet: bool,
}

impl Ui {
    pub fn new(choice: ColorChoice, quiet: bool) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        Self { color, quiet }
    }

    /// Render every diagnostic, then a one-line summary, on stderr.
    pub fn report(&self, diags: &Diagnostics) {
        let count = |severity| {
            diags
                .items
                .iter()
                .filter(|d| d.severity == severity)
                .count()
        };
        let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let (summary, colour) = if errors > 0 {
            (format!("error: {diags}"), "1;31")
        } else {
            let name = &diags.source.name;
            let advice = diags.items.len() - warnings;
            let (kind, colour) = if warnings > 0 {
                ("warning", "1;33")
            } else {
                ("advice", "1;36")
            };
            let counts = [(warnings, "warning"), (advice, "suggestion")]
                .into_iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| plural(n, what))
                .collect::<Vec<_>>()
                .join(" and ");
            (format!("{kind}: {name} has {counts}"), colour)
        };
        self.render(diags, &summary, colour);
    }

    /// What the manifest's loading and the graph's expansion (`found`) found that stops
    /// nothing: warnings, and with `advice` the advice too (`check` shows it, a build does
    /// not).
    pub fn warnings(&self, m: &Manifest, found: &[Diagnostic], advice: bool) {
        let items = notes(m, found, advice);
        if !items.is_empty() {
            self.report(&Diagnostics {
                source: m.source.clone(),
                items,
            });
        }
    }

    fn render(&self, diags: &Diagnostics, summary: &str, colour: &str) {
        let theme = if self.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_links(false);
        let mut text = String::new();
        for report in diags.reports() {
            // Writing into a String cannot fail.
            let _ = handler.render_report(&mut text, &report);
            text.push('\n');
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{text}");
        let _ = if self.color {
            writeln!(err, "\x1b[{colour}m{summary}\x1b[0m")
        } else {
            writeln!(err, "{summary}")
        };
    }
}

/// The manifest's warnings and those of its graph (`found`), in the order of the text;
/// with `advice` its advice too.
pub fn notes(m: &Manifest, found: &[Diagnostic], advice: bool) -> Vec<Diagnostic> {
    let mut all: Vec<Diagnostic> = m
        .warnings
        .iter()
        .chain(found)
        .filter(|d| advice || d.severity != Severity::Advice)
        .cloned()
        .collect();
    all.sort_by_key(|d| d.span.map_or(0, |s| s.offset));
    all
}

/// One JSON object per problem, on stdout, for editors and scripts.
pub fn diagnostics_json(diags: &Diagnostics) -> Vec<serde_json::Value> {
    diags
        .items
        .iter()
        .map(|d| {
            let (line, column) = d
                .span
                .map(|s| diags.source.line_col(s.offset))
                .map_or((None, None), |(l, c)| (Some(l), Some(c)));
            json!({
                "event": "diagnostic",
                "severity": d.severity.as_str(),
                "code": d.code.as_str(),
                "message": d.message,
                "file": diags.source.name,
                "line": line,
                "column": column,
                "help": d.help,
            })
        })
        .collect()
}

/// Print one JSON value per line on stdout.
pub fn print_json_lines(values: impl IntoIterator<Item = serde_json::Value>) {
    let mut out = std::io::stdout().lock();
    for v in values {
        let _ = writeln!(out, "{v}");
    }
}
