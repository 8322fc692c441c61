//! How batuta talks: diagnostics for people (miette, colour only on a terminal) and for
//! machines (one JSON object per line).

use std::io::{IsTerminal, Write};

use batuta_engine::manifest::Diagnostics;
use miette::{GraphicalReportHandler, GraphicalTheme};
use serde_json::json;

use crate::cli::ColorChoice;

/// Decisions about output made once at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub color: bool,
}

impl Ui {
    pub fn new(choice: ColorChoice) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        Self { color }
    }

    /// Render every diagnostic, then a one-line summary, on stderr.
    pub fn report(&self, diags: &Diagnostics) {
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
        let summary = format!("error: {diags}");
        let _ = if self.color {
            writeln!(err, "\x1b[1;31m{summary}\x1b[0m")
        } else {
            writeln!(err, "{summary}")
        };
    }
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
                "severity": "error",
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
