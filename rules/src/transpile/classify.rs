//! What a transpiler's failure means (for actions that run a `tool`; a plain command keeps
//! the engine's code): the book's code (T-002 syntax, T-003 type inference,
//! T-004 unsupported construct, else T-001), the file and line it pointed at, and what to do.
//!
//! The patterns are the words the tools print (depyler, decy, bashrs, ruchy, and the
//! parsers under them); the first pattern family that matches wins, in the order
//! unsupported, type inference, syntax: a tool that cannot transpile a construct often
//! says so inside a message that also mentions parsing.

use std::sync::OnceLock;

use batuta_engine::codes::{self, ErrorCode};
use batuta_engine::graph::{Action, ActionKind};
use batuta_engine::manifest::Phase;
use batuta_engine::rule::Failure;
use batuta_engine::rule::failure::Kind;
use regex::Regex;

/// Words that mark each kind of failure, matched case-insensitively.
const UNSUPPORTED: &[&str] = &[
    "unsupported",
    "not supported",
    "not yet supported",
    "not implemented",
    "unimplemented",
    "cannot transpile",
    "cannot be transpiled",
    "no support for",
];
const TYPE_INFERENCE: &[&str] = &[
    "type inference",
    "cannot infer",
    "could not infer",
    "unable to infer",
    "failed to infer",
    "type annotation",
    "type mismatch",
    "type error",
    "typeerror",
    "unknown type",
];
const SYNTAX: &[&str] = &[
    "syntax error",
    "error[syntax]",
    "error[parse]",
    "syntaxerror",
    "parse error",
    "parseerror",
    "failed to parse",
    "parsing failed",
    "could not parse",
    "unable to parse",
    "invalid syntax",
    "unexpected token",
    "unexpected eof",
    "unexpected end of",
    "unterminated",
    "unexpected indent",
    "expected an indented block",
];

/// The code a transpiler's error output means.
pub fn code_for(stderr: &str) -> ErrorCode {
    let lower = stderr.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(UNSUPPORTED) {
        codes::T004
    } else if has(TYPE_INFERENCE) {
        codes::T003
    } else if has(SYNTAX) {
        codes::T002
    } else {
        codes::T001
    }
}

/// Where the tool said the problem is, as `file:line`, when it printed one. Prefers a
/// location in `input` (the file the action transpiled).
pub fn location(stderr: &str, input: Option<&str>) -> Option<String> {
    static PATTERNS: OnceLock<Vec<Regex>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            // Python: File "x.py", line 42
            r#"File "([^"]+)", line (\d+)"#,
            // compilers and most tools: x.py:42:5 or x.py:42
            r"([A-Za-z0-9_./\-]+\.[A-Za-z0-9]+):(\d+)(?::\d+)?",
            // rustc-style: --> x.py:42:5
            r"-->\s*([^\s:]+):(\d+)",
        ]
        .iter()
        .map(|p| Regex::new(p).expect("valid pattern"))
        .collect()
    });
    let mut found: Vec<(String, String)> = Vec::new();
    for re in patterns {
        for c in re.captures_iter(stderr) {
            found.push((c[1].to_owned(), c[2].to_owned()));
        }
    }
    let in_input =
        |f: &str| input.is_some_and(|i| i == f || i.ends_with(&format!("/{f}")) || f.ends_with(i));
    if let Some((f, l)) = found.iter().find(|(f, _)| in_input(f)) {
        return Some(format!("{f}:{l}"));
    }
    // The tool was handed one file; some name it otherwise (decy says `input.c`).
    if let Some((f, l)) = found.first() {
        return Some(match input {
            Some(i) => format!("{i}:{l}"),
            None => format!("{f}:{l}"),
        });
    }
    // A bare "line 42" (with no file) is about the input.
    static LINE: OnceLock<Regex> = OnceLock::new();
    let line = LINE.get_or_init(|| Regex::new(r"(?i)\bline (\d+)").expect("valid pattern"));
    match (line.captures(stderr), input) {
        (Some(c), Some(i)) => Some(format!("{i}:{}", &c[1])),
        _ => None,
    }
}

/// Whether the failure is the tool's own non-zero exit (as opposed to a tool that could
/// not start, or an input that is missing): only then does its error output say what is
/// wrong with the source.
fn tool_exited(f: &Failure) -> bool {
    matches!(*f.kind, Kind::Command { .. })
}

/// The transpile phase's explanation of a failed action (see `Rules::explain`).
pub fn explain(a: &Action, f: Failure) -> Failure {
    if a.phase != Phase::Transpile {
        return f;
    }
    // Only a tool's output is read: a plain command's words mean nothing known.
    let ActionKind::Command {
        tool: Some(program),
        ..
    } = &a.kind
    else {
        return f;
    };
    if matches!(*f.kind, Kind::ToolMissing { .. }) {
        // The tool is missing: name the file that needed it.
        let file = a.inputs.first().map(String::as_str).unwrap_or(&a.id);
        return f.hint(format!("{file} needs it"));
    }
    if !tool_exited(&f) {
        return f;
    }
    let input = a.inputs.first().map(String::as_str);
    let detail = without_backtrace(&strip_ansi(&f.detail));
    // A gate (bashrs lint of the purified script) that fails found lint errors, unless the
    // script does not even parse.
    let gate = a.id.contains("#gate:");
    let code = match code_for(&detail) {
        c if gate && c != codes::T002 => codes::Q003,
        c => c,
    };
    let mut out =
        Failure::of_kind(code, (*f.kind).clone(), f.message.clone()).detail(detail.clone());
    let f = Failure { detail, ..f };
    let at = location(&f.detail, input);
    if let Some(at) = &at {
        out.message = format!("{} at {at}", f.message);
    }
    let file = at.as_deref().or(input).unwrap_or(&a.id);
    let todo = match code {
        c if c == codes::T002 => format!(
            "Fix the syntax error in {file}; it must run under its own interpreter or compiler first"
        ),
        c if c == codes::T003 => {
            format!("Add type annotations in {file} where {program} could not infer a type")
        }
        c if c == codes::Q003 => format!(
            "Fix the lint errors {program} reports in {file} (the purified script); the lines refer to it, and the fix usually belongs in the source script"
        ),
        c if c == codes::T004 => format!(
            "Rewrite the construct {program} does not support in {file}, or port the module by hand (exclude it from the task and write its Rust file in project.output)"
        ),
        _ => format!("Read {program}'s error output above; run it by hand on {file} to reproduce"),
    };
    out = out.hint(todo);
    for h in f.hints {
        out = out.hint(h);
    }
    out
}

/// A Rust tool's `Stack backtrace:` (anyhow) is about the tool, not the source: the report
/// keeps what comes before it.
pub fn without_backtrace(s: &str) -> String {
    match s.find("\nStack backtrace:") {
        Some(at) => format!("{}\n", s[..at].trim_end()),
        None => s.to_owned(),
    }
}

/// Tools colour their output even into a pipe; the report shows plain text.
pub fn strip_ansi(s: &str) -> String {
    static ANSI: OnceLock<Regex> = OnceLock::new();
    let re = ANSI.get_or_init(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("valid pattern"));
    re.replace_all(s, "").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_by_words() {
        assert_eq!(
            code_for("Error: Unsupported Python feature: metaclass"),
            codes::T004
        );
        assert_eq!(code_for("error: could not infer type of x"), codes::T003);
        assert_eq!(code_for("SyntaxError: invalid syntax"), codes::T002);
        assert_eq!(code_for("Parse error at line 3"), codes::T002);
        assert_eq!(code_for("segfault"), codes::T001);
        assert_eq!(code_for(""), codes::T001);
    }

    #[test]
    fn backtraces_are_dropped() {
        let d = "error[syntax]: x\n --> a.py:2:5\nError: transpilation failed\n\nStack backtrace:\n   0: anyhow\n";
        assert_eq!(
            without_backtrace(d),
            "error[syntax]: x\n --> a.py:2:5\nError: transpilation failed\n"
        );
    }

    #[test]
    fn colours_are_stripped() {
        assert_eq!(
            strip_ansi("\x1b[1;31merror[syntax]\x1b[0m: x"),
            "error[syntax]: x"
        );
    }

    #[test]
    fn locations() {
        assert_eq!(
            location("  File \"complex_class.py\", line 42\n", None).as_deref(),
            Some("complex_class.py:42")
        );
        assert_eq!(
            location("error: src/a.c:7:3: expected ';'", Some("src/a.c")).as_deref(),
            Some("src/a.c:7")
        );
        assert_eq!(
            location("Parse error at line 3", Some("legacy/x.py")).as_deref(),
            Some("legacy/x.py:3")
        );
        assert_eq!(location("nothing here", Some("x.py")), None);
        // decy names its input `input.c`.
        assert_eq!(
            location(
                "error[parse]: expected expression\n --> input.c:2:13",
                Some("legacy/bad.c")
            )
            .as_deref(),
            Some("legacy/bad.c:2")
        );
    }

    #[test]
    fn only_a_tools_own_exit_is_read_for_what_it_says() {
        let exited = Failure::of_kind(
            codes::E004,
            Kind::Command {
                program: "depyler".into(),
                exit_code: Some(1),
                log: None,
            },
            "depyler exited with code 1".into(),
        );
        assert!(tool_exited(&exited));
        let broken = Failure::of_kind(
            codes::E002,
            Kind::Contract {
                not_written: vec!["y".into()],
                undeclared: Vec::new(),
            },
            "depyler exited with code 1, and yet".into(),
        );
        assert!(!tool_exited(&broken), "the kind decides, not the words");
    }
}
