//! depyler 4's failures: one rustc-style diagnostic, `error[syntax|unsupported|type|
//! codegen|io|internal]: message` and ` --> file` (rarely with a line), then anyhow's
//! `Error: transpilation failed`; or a panic. Its tag is chosen by words in the message
//! (depyler-core's `categorize_error`), so `error[syntax]` often marks valid Python it does
//! not support: `checks` asks python3.
//!
//! Some messages carry the failing expression's byte range in the file
//! (`Unsupported function call type: Call(ExprCall { range: 4102..4130, … })`): that is
//! the tool's own location.

use std::sync::OnceLock;

use regex::Regex;

use super::output::{self, Block};
use super::{Found, Input, Kind, Place, ToolError, crash, place_of};

pub fn first_error(out: &str, input: &Input<'_>) -> Option<ToolError> {
    let blocks = output::blocks(out, " ");
    if let Some(b) = blocks.iter().find(|b| b.is_error()) {
        return Some(from_block(b, input));
    }
    if let Some(p) = output::panic(out) {
        return Some(crash(p));
    }
    None
}

fn from_block(b: &Block, input: &Input<'_>) -> ToolError {
    let kind = match b.tag.as_str() {
        "syntax" => Kind::Syntax,
        "unsupported" => Kind::Unsupported,
        "type" => Kind::TypeInference,
        "io" => Kind::Io,
        _ => Kind::Internal,
    };
    let mut place = b.location.as_ref().and_then(|l| place_of(l, input));
    if place.as_ref().is_none_or(|p| p.line.is_none())
        && let Some(p) = offset_place(&b.message, input)
    {
        place = Some(p);
    }
    // The message may hold a whole AST dump; the excerpt keeps the block as printed.
    ToolError {
        kind,
        message: b.message.clone(),
        place: place.or_else(|| {
            // depyler names the file alone: keep it, with no line.
            b.location.as_ref().map(|_| Place {
                file: input.path.to_owned(),
                line: None,
                column: None,
                found: Found::Tool,
            })
        }),
        excerpt: b.lines.clone(),
    }
}

/// The first `range: START..END` of the message, as a place in the file.
fn offset_place(message: &str, input: &Input<'_>) -> Option<Place> {
    static RANGE: OnceLock<Regex> = OnceLock::new();
    let re = RANGE.get_or_init(|| Regex::new(r"range: (\d+)\.\.(\d+)").expect("valid"));
    let start: usize = re.captures(message)?[1].parse().ok()?;
    let text = input.text?;
    let (line, column) = line_col(text, start)?;
    Some(Place {
        file: input.path.to_owned(),
        line: Some(line),
        column: Some(column),
        found: Found::Offset { start },
    })
}

/// 1-based line and character column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> Option<(u32, u32)> {
    let before = text.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    Some((u32::try_from(line).ok()?, u32::try_from(column).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: Option<&'static str>) -> Input<'static> {
        Input {
            path: "legacy/docopt.py",
            text,
            headers: &[],
        }
    }

    #[test]
    fn a_file_without_a_line_gets_none() {
        // docopt.py under depyler 4.1.1 (tests/corpus/docopt), after its performance notes.
        let out = "🚀 Estimated overall speedup: 1.6x\n\nerror[syntax]: sum() requires exactly one argument\n --> /w/legacy/docopt.py\n  note: Transpilation failed\n  help: Check the Python source for syntax or feature issues\n\nError: transpilation failed\n\nStack backtrace:\n   0: anyhow";
        let e = first_error(out, &input(None)).unwrap();
        assert_eq!(e.kind, Kind::Syntax);
        assert_eq!(e.message, "sum() requires exactly one argument");
        let p = e.place.unwrap();
        assert_eq!((p.file.as_str(), p.line), ("legacy/docopt.py", None));
        assert_eq!(e.excerpt.len(), 4);
    }

    #[test]
    fn a_byte_range_is_the_tools_place() {
        let text = "x = 1\nif type(self)():\n    pass\n";
        let out = "error[unsupported]: Unsupported function call type: Call(ExprCall { range: 9..19, func: Name })\n --> legacy/docopt.py\n";
        let p = first_error(out, &input(Some(text))).unwrap().place.unwrap();
        assert_eq!((p.line, p.column), (Some(2), Some(4)));
        assert_eq!(p.found, Found::Offset { start: 9 });
    }

    #[test]
    fn a_panic_is_a_crash_without_the_tools_own_place() {
        let out = "thread 'main' (1345) panicked at /r/depyler-core-4.1.1/src/direct_rules_convert/method_stmt_convert.rs:388:28:\nunexpected token\nstack backtrace:\n";
        let e = first_error(out, &input(None)).unwrap();
        assert_eq!(e.kind, Kind::Crash);
        assert_eq!(e.place, None);
        assert_eq!(e.message, "panicked: unexpected token");
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_col("é = 1\nab", 8), Some((2, 2)));
        assert_eq!(line_col("abc", 0), Some((1, 1)));
        assert_eq!(line_col("abc", 9), None);
    }
}
