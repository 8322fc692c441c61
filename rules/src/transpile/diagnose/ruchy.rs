//! ruchy 4's failures: anyhow reports — `Failed to parse input` with the parser's words as
//! the cause (no line: `ruchy check`, ruchy's own checker, gives one), `Failed to parse
//! generated tokens as Rust syntax` when its own output is not Rust, `Failed to read
//! file` — or a panic in code generation.

use super::output;
use super::{Input, Kind, Place, ToolError, crash};

pub fn first_error(out: &str, input: &Input<'_>) -> Option<ToolError> {
    if let Some(p) = output::panic(out) {
        return Some(crash(p));
    }
    let report = output::anyhow_report(out)?;
    let kind = match report.error.as_str() {
        "Failed to parse input" => Kind::Syntax,
        e if e.starts_with("Failed to read file") => Kind::Io,
        _ => Kind::Internal,
    };
    let message = match kind {
        Kind::Internal => format!("{}: {}", report.error, report.root()),
        _ => report.root().to_owned(),
    };
    Some(ToolError {
        kind,
        message,
        place: Some(Place {
            file: input.path.to_owned(),
            line: None,
            column: None,
            found: super::Found::Tool,
        }),
        excerpt: report.lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_failure_is_syntax_with_its_cause() {
        let out = "Error: Failed to parse input\n\nCaused by:\n    Expected RightBrace, found EOF\n\nStack backtrace:\n   0: anyhow";
        let input = Input {
            path: "src/a.ruchy",
            text: None,
            headers: &[],
        };
        let e = first_error(out, &input).unwrap();
        assert_eq!(e.kind, Kind::Syntax);
        assert_eq!(e.message, "Expected RightBrace, found EOF");
        assert_eq!(e.excerpt.len(), 3);
        let out = "Error: Failed to parse generated tokens as Rust syntax\n\nCaused by:\n    expected one of: `fn`\n";
        let e = first_error(out, &input).unwrap();
        assert_eq!(e.kind, Kind::Internal);
    }
}
