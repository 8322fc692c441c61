//! decy 2's failures. decy pastes the file's local headers into its text and replaces each
//! system `#include <…>` by prototypes of its own, then hands clang that text as `input.c`:
//! so clang's diagnostics (`error[parse|semantic|type]: …`, ` --> input.c:1488:53`, a
//! three-line snippet) count lines of *that* text, and its warnings about decy's own
//! prototypes (`'EOF' macro redefined`) point at lines the file does not have. The
//! snippet's lines are the file's own, so they are matched back to the file (or a local
//! header) to find the real line. Failures before clang runs are anyhow reports
//! (`Failed to find include file: …`); a crash is a panic.

use super::output::{self, Block};
use super::{Found, Input, Kind, Place, ToolError, crash};

/// decy prints four spaces between a snippet's `|` and the line.
const PAD: &str = "    ";

pub fn first_error(out: &str, input: &Input<'_>) -> Option<ToolError> {
    let blocks = output::blocks(out, PAD);
    let errors: Vec<&Block> = blocks.iter().filter(|b| b.is_error()).collect();
    // The first error in the file or its headers. Errors in decy's own prototypes come
    // only when none is: their place is not the file's, so none is given.
    if let Some((b, place)) = errors
        .iter()
        .find_map(|b| map_back(b, input).map(|p| (*b, p)))
    {
        return Some(error(b, Some(place)));
    }
    if let Some(b) = errors
        .iter()
        .find(|b| b.location.as_ref().is_some_and(|l| l.line.is_some()))
    {
        return Some(error(b, None));
    }
    if let Some(p) = output::panic(out) {
        return Some(crash(p));
    }
    let report = output::anyhow_report(out)?;
    let root = report.root().lines().next().unwrap_or_default().to_owned();
    let kind = if root.starts_with("Failed to find include file") {
        Kind::Io
    } else {
        Kind::Internal
    };
    Some(ToolError {
        kind,
        message: root,
        place: None,
        excerpt: report.lines,
    })
}

fn error(b: &Block, place: Option<Place>) -> ToolError {
    let kind = match b.tag.as_str() {
        "parse" => Kind::Syntax,
        "semantic" | "type" => Kind::Semantic,
        _ => Kind::Internal,
    };
    ToolError {
        kind,
        message: b.message.clone(),
        place,
        excerpt: b.lines.clone(),
    }
}

/// The file (or local header) and line whose text is the block's snippet.
fn map_back(b: &Block, input: &Input<'_>) -> Option<Place> {
    let loc = b.location.as_ref()?;
    let tool_line = loc.line?;
    if !b.snippet.iter().any(|s| s.number == tool_line) {
        return None;
    }
    let files = input
        .text
        .map(|t| (input.path, t))
        .into_iter()
        .chain(input.headers.iter().map(|(p, t)| (p.as_str(), t.as_str())));
    for (path, text) in files {
        let lines: Vec<&str> = text.lines().collect();
        let fits = |at: usize| {
            b.snippet.iter().all(|s| {
                let i = (at + s.number as usize).checked_sub(tool_line as usize);
                i.and_then(|i| lines.get(i)).is_some_and(|l| *l == s.text)
            })
        };
        // Text is only ever inserted before a line, so the real line is at or above
        // decy's; of several that fit, the nearest.
        let last = (tool_line as usize).min(lines.len());
        if let Some(at) = (0..last).rev().find(|&at| fits(at)) {
            let column = loc.column.map(|c| char_column(lines[at], c));
            return Some(Place {
                file: path.to_owned(),
                line: Some(at as u32 + 1),
                column,
                found: Found::Mapped {
                    tool_file: loc.file.clone(),
                    tool_line,
                },
            });
        }
    }
    None
}

/// clang counts columns in bytes; people count characters.
fn char_column(line: &str, byte_column: u32) -> u32 {
    let upto = (byte_column as usize).saturating_sub(1).min(line.len());
    let upto = (0..=upto)
        .rev()
        .find(|&i| line.is_char_boundary(i))
        .unwrap_or(0);
    line[..upto].chars().count() as u32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const SL: &str = include_str!("../../../tests/fixtures/decy/sl.c.err");

    #[test]
    fn the_first_error_is_mapped_back_past_decys_prototypes() {
        let text = "int a;\nint f(char *str, int x)\n{\n    for ( ; x < 0; ++x, ++str)\n        if (*str == '\\0')  return ERR;\n    for ( ; *str != '\\0'; ++str, ++x)\n}\n";
        let input = Input {
            path: "legacy/sl.c",
            text: Some(text),
            headers: &[],
        };
        let out = "warning[parse]: 'EOF' macro redefined\n --> input.c:138:9\n 137|    extern FILE* stderr;\n 138|    #define EOF (-1)\n    |            ^\n 139|    #define SEEK_SET 0\n\nerror[semantic]: use of undeclared identifier 'ERR'\n --> input.c:252:35\n 251|        for ( ; x < 0; ++x, ++str)\n 252|            if (*str == '\\0')  return ERR;\n    |                                      ^\n 253|        for ( ; *str != '\\0'; ++str, ++x)\n  note: n\n";
        let e = first_error(out, &input).unwrap();
        assert_eq!(e.kind, Kind::Semantic);
        let p = e.place.unwrap();
        assert_eq!(p.to_string(), "legacy/sl.c:5:35");
        assert_eq!(
            p.found,
            Found::Mapped {
                tool_file: "input.c".into(),
                tool_line: 252
            }
        );
        assert_eq!(e.excerpt.len(), 7);
    }

    #[test]
    fn an_error_in_no_file_has_no_place() {
        let input = Input {
            path: "legacy/x.c",
            text: Some("int x;\n"),
            headers: &[],
        };
        let out = "error[parse]: conflicting types for 'getline'\n --> input.c:40:7\n 40|    ssize_t getline(char **l);\n\n";
        let e = first_error(out, &input).unwrap();
        assert_eq!(e.place, None);
        assert_eq!(e.kind, Kind::Syntax);
    }

    #[test]
    fn a_missing_include_is_io() {
        let out = "Error: Failed to transpile legacy/a.c\n\nTry: Check\n\nCaused by:\n    Failed to find include file: legacy/missing.h\n\nStack backtrace:\n";
        let input = Input {
            path: "legacy/a.c",
            text: None,
            headers: &[],
        };
        let e = first_error(out, &input).unwrap();
        assert_eq!(e.kind, Kind::Io);
        assert_eq!(e.message, "Failed to find include file: legacy/missing.h");
    }

    #[test]
    fn real_sl_output_maps_to_line_60() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/corpus/sl-5.02/sl.c"
        ))
        .unwrap();
        let input = Input {
            path: "sl.c",
            text: Some(&text),
            headers: &[],
        };
        let e = first_error(SL, &input).unwrap();
        assert_eq!(e.place.unwrap().to_string(), "sl.c:60:35");
        assert_eq!(e.message, "use of undeclared identifier 'ERR'");
    }

    #[test]
    fn columns_are_characters() {
        assert_eq!(char_column("é = ERR;", 6), 5);
        assert_eq!(char_column("abc", 99), 4);
    }
}
