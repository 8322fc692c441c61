//! bashrs 7's failures. `purify` prints one rustc-style diagnostic, `error[syntax]: …` with
//! ` --> file:line[:col]` and a snippet; bashrs's parser is not the shell's, so valid POSIX
//! (backticks, `$((…))` forms) is often rejected under that tag: `checks` asks `sh -n`.
//! `lint` lists `✗ LINE:COL-END LINE:COL-END [error] CODE: message` under
//! `Issues found in FILE:`; its lines are the purified script's.

use std::sync::OnceLock;

use regex::Regex;

use super::output;
use super::{Found, Input, Kind, Place, ToolError, crash, place_of};

pub fn first_error(out: &str, input: &Input<'_>) -> Option<ToolError> {
    if let Some(b) = output::blocks(out, " ").into_iter().find(|b| b.is_error()) {
        let kind = match b.tag.as_str() {
            "syntax" | "parse" => Kind::Syntax,
            _ => Kind::Unsupported,
        };
        return Some(ToolError {
            kind,
            place: b.location.as_ref().and_then(|l| place_of(l, input)),
            message: b.message,
            excerpt: b.lines,
        });
    }
    output::panic(out).map(crash)
}

pub fn first_lint_error(out: &str) -> Option<ToolError> {
    static ISSUE: OnceLock<Regex> = OnceLock::new();
    static FILE: OnceLock<Regex> = OnceLock::new();
    let issue = ISSUE.get_or_init(|| {
        Regex::new(r"^\s*✗ (\d+):(\d+)-\d+ \S+ \[error\] ([A-Z]+[0-9]+): (.*)$").expect("valid")
    });
    let file = FILE.get_or_init(|| Regex::new(r"^Issues found in (.*):$").expect("valid"));
    let mut current = None;
    for line in out.lines() {
        if let Some(c) = file.captures(line) {
            current = Some(c[1].to_owned());
        } else if let Some(c) = issue.captures(line) {
            let place = current.clone().map(|file| Place {
                file,
                line: c[1].parse().ok(),
                column: c[2].parse().ok(),
                found: Found::Tool,
            });
            return Some(ToolError {
                kind: Kind::Lint(c[3].to_owned()),
                message: format!("{}: {}", &c[3], &c[4]),
                place,
                excerpt: vec![line.trim().to_owned()],
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purify_names_line_and_column() {
        // gzexe from gzip (every Debian machine), under bashrs 7.4.2.
        let out = "error[syntax]: Unexpected character '`' at line 94, column 10\n --> /usr/bin/gzexe:94:10\n93 |   if test $decomp -eq 0; then\n94 |     case `LC_ALL=C sed` in\n   |          ^\n95 |     skip=[0-9])\n  help: '`' is not valid in this context\n\n";
        let input = Input {
            path: "/usr/bin/gzexe",
            text: None,
            headers: &[],
        };
        let e = first_error(out, &input).unwrap();
        assert_eq!(e.kind, Kind::Syntax);
        assert_eq!(e.place.unwrap().to_string(), "/usr/bin/gzexe:94:10");
        assert_eq!(e.excerpt.len(), 7);
    }

    #[test]
    fn lint_errors_are_the_purified_scripts() {
        let out = "Issues found in scripts/lcf.sh:\n\n✗ 36:9-13 36:9-13 [error] SEC001: Command injection risk via eval - manual review required\n\n✗ 85:1-5 85:1-5 [error] SEC001: x\n\nSummary: 2 error(s), 0 warning(s), 0 info(s)\n";
        let e = first_lint_error(out).unwrap();
        assert_eq!(e.kind, Kind::Lint("SEC001".into()));
        assert_eq!(e.place.unwrap().to_string(), "scripts/lcf.sh:36:9");
        assert!(e.message.starts_with("SEC001: Command injection"));
    }
}
