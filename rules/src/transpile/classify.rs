//! What a transpiler's failure means (for actions that run a built-in tool; any other
//! command keeps the engine's code): the tool's first error read from its own output
//! (`diagnose`), the book's code by the tool's own category and the language's own
//! verdict, the file, line and column, and what to do. The tool's whole output is kept in
//! `.batuta/logs/<action>.log`, which the failure names.
//!
//! The codes:
//! - T-001 only when the tool cannot be run (the engine says so before this is asked);
//! - T-002 only when the language's own interpreter or compiler rejects the file too
//!   (python3, `sh -n`/`bash -n`, `cc -fsyntax-only` with the project's flags, `ruchy
//!   check`), or the tool says syntax and none could be asked;
//! - T-003 when the tool could not infer a type and the language accepts the file;
//! - T-004 when the language accepts what the tool rejects or crashes on: a construct it
//!   does not support;
//! - Q-003 for lint errors of a gate (`bashrs lint` of the purified script).
//!
//! A failure that is not the tool's own non-zero exit (a missing input, a broken output
//! declaration) keeps the engine's code; so does output in which no known error is found.

use std::path::Path;

use batuta_engine::codes::{self, ErrorCode};
use batuta_engine::graph::{Action, ActionKind};
use batuta_engine::manifest::Phase;
use batuta_engine::rule::Failure;
use batuta_engine::rule::failure::Kind as FailureKind;

use super::diagnose::cflags::{self, CFlags};
use super::diagnose::checks::{self, Verdict};
use super::diagnose::output::strip_ansi;
use super::diagnose::{self, Found, Input, Kind, Place, Tool, ToolError, locate};

/// A one-line message keeps at most this many characters of the tool's message (depyler
/// prints whole syntax trees); the excerpt and the log keep all of it.
const MESSAGE_CHARS: usize = 200;

/// The transpile phase's explanation of a failed action (see `Rules::explain`).
pub fn explain(root: &Path, a: &Action, f: Failure) -> Failure {
    if a.phase != Phase::Transpile {
        return f;
    }
    let ActionKind::Command {
        tool: Some(name),
        argv,
    } = &a.kind
    else {
        return f;
    };
    if matches!(*f.kind, FailureKind::ToolMissing { .. }) {
        // The tool is missing: name the file that needed it.
        let file = a.inputs.first().map(String::as_str).unwrap_or(&a.id);
        return f.hint(format!("{file} needs it"));
    }
    if !tool_exited(&f) {
        return f;
    }
    let Some(tool) = Tool::of(name).or_else(|| argv.first().and_then(|p| Tool::of(p))) else {
        return f;
    };
    let output = strip_ansi(&f.detail);
    let log = keep_log(root, a, &output);
    let Some(path) = a.inputs.first() else {
        return f;
    };
    let source = Source::read(root, a, path, tool);
    let gate = a.id.contains("#gate:");
    match diagnose::first_error(tool, &output, &source.input(path), gate) {
        Some(err) => judged(root, a, f, tool, &source, err, gate, &log),
        None => unrecognised(f, &output, &log),
    }
}

/// Whether the failure is the tool's own non-zero exit (as opposed to a tool that could
/// not start, or an input that is missing): only then does its error output say what is
/// wrong with the source.
fn tool_exited(f: &Failure) -> bool {
    matches!(*f.kind, FailureKind::Command { .. })
}

/// The file the action transpiled, as the readers need it.
struct Source {
    text: Option<String>,
    headers: Vec<(String, String)>,
    /// For C: the project's flags, from a `compile_commands.json` among the inputs.
    cflags: Result<Option<CFlags>, String>,
    /// Whether a compilation database was declared at all.
    has_database: bool,
}

impl Source {
    fn read(root: &Path, a: &Action, path: &str, tool: Tool) -> Source {
        let text = std::fs::read_to_string(root.join(path)).ok();
        let mut source = Source {
            headers: Vec::new(),
            cflags: Ok(None),
            has_database: false,
            text,
        };
        if tool == Tool::Decy {
            if let Some(t) = &source.text {
                source.headers = local_headers(root, path, t);
            }
            if let Some(db) = super::compile_database(&a.inputs) {
                source.has_database = true;
                source.cflags = cflags::from_database(root, db, path).map_err(|e| e.to_string());
            }
        }
        source
    }

    fn input<'s>(&'s self, path: &'s str) -> Input<'s> {
        Input {
            path,
            text: self.text.as_deref(),
            headers: &self.headers,
        }
    }
}

/// The local headers a C file includes (`#include "x.h"`, found beside the including file
/// as decy finds them), and theirs, each once.
fn local_headers(root: &Path, path: &str, text: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut todo = vec![(path.to_owned(), text.to_owned())];
    while let Some((file, text)) = todo.pop() {
        let dir = Path::new(&file).parent().unwrap_or(Path::new(""));
        for line in text.lines() {
            let Some(rest) = line.trim_start().strip_prefix("#include") else {
                continue;
            };
            let Some(name) = rest
                .trim()
                .strip_prefix('"')
                .and_then(|r| r.split('"').next())
            else {
                continue;
            };
            let rel = dir.join(name).to_string_lossy().into_owned();
            if found.iter().any(|(p, _)| *p == rel) || found.len() >= 64 {
                continue;
            }
            if let Ok(t) = std::fs::read_to_string(root.join(&rel)) {
                found.push((rel.clone(), t.clone()));
                todo.push((rel, t));
            }
        }
    }
    found
}

/// `.batuta/logs/<action>.log`: the tool's whole output (colour removed). Returns the
/// path to name, or why it could not be written.
fn keep_log(root: &Path, a: &Action, output: &str) -> Result<String, String> {
    let path = crate::last_run::path(root, "logs", &a.id, "log");
    batuta_engine::fsutil::write_atomic(&path, output.as_bytes())
        .map_err(|e| format!("could not keep the full output in {}: {e}", path.display()))?;
    Ok(path
        .strip_prefix(root)
        .unwrap_or(&path)
        .to_string_lossy()
        .into_owned())
}

fn log_line(log: &Result<String, String>) -> String {
    match log {
        Ok(p) => format!("full output: {p}"),
        Err(e) => e.clone(),
    }
}

/// Output in which no error of the tool's known shapes was found: the engine's code, the
/// end of the output.
fn unrecognised(f: Failure, output: &str, log: &Result<String, String>) -> Failure {
    let mut detail = without_backtrace(output);
    if !detail.ends_with('\n') {
        detail.push('\n');
    }
    detail.push_str(&log_line(log));
    Failure { detail, ..f }
}

/// What the language says of the file, and where batuta found the construct the tool
/// names when the tool named no line.
fn ask_language(
    root: &Path,
    tool: Tool,
    path: &str,
    source: &Source,
    err: &ToolError,
) -> (Verdict, Option<Place>) {
    let has_line = err.place.as_ref().is_some_and(|p| p.line.is_some());
    if tool == Tool::Depyler {
        let query = (!has_line).then(|| locate::query(&err.message)).flatten();
        let facts = checks::python(root, path, query.as_ref());
        let found = facts.found.map(|(line, column, what)| Place {
            file: path.to_owned(),
            line: Some(line),
            column: Some(column),
            found: Found::Batuta(format!("the first {what}")),
        });
        return (facts.verdict, found);
    }
    let flags = source.cflags.as_ref().ok().and_then(Option::as_ref);
    (checks::verdict(tool, root, path, flags), None)
}

#[allow(clippy::too_many_arguments)]
fn judged(
    root: &Path,
    a: &Action,
    f: Failure,
    tool: Tool,
    source: &Source,
    err: ToolError,
    gate: bool,
    log: &Result<String, String>,
) -> Failure {
    let path = a.inputs.first().map(String::as_str).unwrap_or_default();
    let program = tool.name();
    // A gate checks the purified script, which is not the source: no language verdict.
    if gate {
        let mut out = Failure::of_kind(
            codes::Q003,
            (*f.kind).clone(),
            headline(&f, &err, err.place.as_ref()),
        )
        .detail(detail(&err, err.place.as_ref(), &[], log));
        let at = err.place.as_ref().map_or(path.to_owned(), Place::to_string);
        out = out.hint(format!(
            "Fix the lint errors {program} reports in {at} (the purified script); the lines refer to it, and the fix usually belongs in the source script"
        ));
        return out;
    }
    let (verdict, found) = ask_language(root, tool, path, source, &err);
    let tool_place = err.place.clone().filter(|p| p.line.is_some());
    let checker_place = match &verdict {
        Verdict::Rejects {
            by,
            line: Some(l),
            column,
            ..
        } => Some(Place {
            file: path.to_owned(),
            line: Some(*l),
            column: *column,
            found: Found::Checker(by.clone()),
        }),
        _ => None,
    };
    let code = code_for(&err.kind, &verdict);
    // The tool's own line first; then the language's (for a syntax error, where to fix
    // it); then the construct batuta found; else the file alone, with no line.
    let place = tool_place
        .or(if code == codes::T002 {
            checker_place
        } else {
            None
        })
        .or(found)
        .or(err.place.clone());
    let mut notes = Vec::new();
    match &verdict {
        Verdict::Rejects {
            by, message, line, ..
        } => notes.push(match line {
            Some(l) => format!("{by} rejects it too, at line {l}: {message}"),
            None => format!("{by} rejects it too: {message}"),
        }),
        Verdict::Accepts { by } => notes.push(format!("{by} accepts the file")),
        Verdict::Unknown(why) => notes.push(format!("not checked by the language itself: {why}")),
    }
    if let Err(e) = &source.cflags {
        notes.push(e.clone());
    }
    // The kind stays the command's (with where its whole output is kept); the code is
    // the phase's now.
    let message = headline(&f, &err, place.as_ref());
    let mut out = Failure::of_kind(code, (*f.kind).clone(), message).detail(detail(
        &err,
        place.as_ref(),
        &notes,
        log,
    ));
    for h in hints(tool, &err, code, &verdict, place.as_ref(), path, source) {
        out = out.hint(h);
    }
    for h in f.hints {
        out = out.hint(h);
    }
    out
}

/// The book's code for the tool's category and the language's verdict.
fn code_for(kind: &Kind, verdict: &Verdict) -> ErrorCode {
    match (verdict, kind) {
        (_, Kind::Lint(_)) => codes::Q003,
        (Verdict::Rejects { .. }, _) => codes::T002,
        (Verdict::Unknown(_), Kind::Syntax) => codes::T002,
        (_, Kind::TypeInference) => codes::T003,
        _ => codes::T004,
    }
}

/// `depyler exited with code 1 at legacy/docopt.py:152:16: sum() requires exactly one
/// argument`.
fn headline(f: &Failure, err: &ToolError, place: Option<&Place>) -> String {
    let mut message: String = err.message.chars().take(MESSAGE_CHARS).collect();
    if message.len() < err.message.len() {
        message.push('…');
    }
    match place {
        Some(p) => format!("{} at {p}: {message}", f.message),
        None => format!("{}: {message}", f.message),
    }
}

/// The error's own lines of the output, how its place was found when not by the tool,
/// what the language said, and where the whole output is.
fn detail(
    err: &ToolError,
    place: Option<&Place>,
    notes: &[String],
    log: &Result<String, String>,
) -> String {
    let mut lines: Vec<String> = err.excerpt.clone();
    match place.map(|p| &p.found) {
        Some(Found::Batuta(what)) => lines.push(format!(
            "located by batuta (the tool names no line): {what}, at {}",
            place.map(Place::to_string).unwrap_or_default()
        )),
        Some(Found::Checker(by)) => lines.push(format!(
            "line from {by} (the tool names none): {}",
            place.map(Place::to_string).unwrap_or_default()
        )),
        Some(Found::Mapped {
            tool_file,
            tool_line,
        }) => lines.push(format!(
            "{tool_file}:{tool_line} is a line of the text decy parsed (the file with its headers pasted in): {}",
            place.map(Place::to_string).unwrap_or_default()
        )),
        Some(Found::Offset { start }) => lines.push(format!(
            "byte {start} of the file, from the tool's message: {}",
            place.map(Place::to_string).unwrap_or_default()
        )),
        Some(Found::Tool) | None => {}
    }
    lines.extend(notes.iter().cloned());
    lines.push(log_line(log));
    lines.join("\n")
}

fn hints(
    tool: Tool,
    err: &ToolError,
    code: ErrorCode,
    verdict: &Verdict,
    place: Option<&Place>,
    path: &str,
    source: &Source,
) -> Vec<String> {
    let program = tool.name();
    let at = place.map_or(path.to_owned(), Place::to_string);
    let mut out = Vec::new();
    if code == codes::T002 {
        out.push(match verdict {
            Verdict::Rejects { by, .. } => format!(
                "Fix the syntax error at {at}: {by} rejects the file, so it is not {program}'s to translate"
            ),
            _ => format!("Fix the syntax error {program} reports at {at}"),
        });
    } else if code == codes::T003 {
        out.push(format!(
            "Add type annotations at {at} where {program} could not infer a type"
        ));
    } else {
        let by = match verdict {
            Verdict::Accepts { by } => format!("{by} accepts the file, so "),
            _ => String::new(),
        };
        out.push(match err.kind {
            Kind::Crash => format!(
                "{by}{program} crashed on it: a bug in {program} (report it with the file); meanwhile port the module by hand (`hand_ported:` in the task)"
            ),
            _ => format!(
                "{by}{program} does not support what it rejects at {at}: rewrite the construct, or port the module by hand (`hand_ported:` in the task)"
            ),
        });
    }
    if tool == Tool::Decy && err.kind == Kind::Semantic {
        let system: Vec<String> = source
            .text
            .as_deref()
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("#include"))
            .filter_map(|r| r.trim().strip_prefix('<').and_then(|r| r.split('>').next()))
            .map(|h| format!("<{h}>"))
            .collect();
        if code == codes::T004 && !system.is_empty() {
            out.push(format!(
                "decy reads no system header: it pastes prototypes of its own for the C standard library's and drops the others, so a name declared only in one of them is undeclared to it (this file includes {})",
                system.join(", ")
            ));
        }
        // decy takes no -D or -I: a macro the project defines stays undeclared to it.
        if let Ok(Some(flags)) = &source.cflags {
            let defined: Vec<&str> = flags
                .macros
                .iter()
                .filter(|(name, value)| {
                    value.is_some() && err.message.contains(&format!("'{name}'"))
                })
                .map(|(name, _)| name.as_str())
                .collect();
            if !defined.is_empty() {
                out.push(format!(
                    "The project defines {} (compile_commands.json), but decy accepts no -D or -I flags and batuta does not yet hand it the project's macros: the C compiler got them, decy did not",
                    defined.join(", ")
                ));
            }
        }
        // The C compiler rejecting it too, without the project's flags, is most often a
        // macro the build defines (`-DVER_REVISION=…`).
        if code == codes::T002 && !source.has_database {
            out.push(
                "The C compiler was given no flags: if the project's build defines what it lacks (-D…, -I…), list its compile_commands.json (`bear -- make` writes one) in the task's `inputs`, and batuta gives decy and the compiler the same flags".to_owned(),
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_by_category_and_verdict() {
        let accepts = Verdict::Accepts {
            by: "python3".into(),
        };
        let rejects = Verdict::Rejects {
            by: "python3".into(),
            line: Some(1),
            column: None,
            message: "invalid syntax".into(),
        };
        let unknown = Verdict::Unknown("python3 cannot run".into());
        assert_eq!(code_for(&Kind::Syntax, &accepts), codes::T004);
        assert_eq!(code_for(&Kind::Syntax, &rejects), codes::T002);
        assert_eq!(code_for(&Kind::Syntax, &unknown), codes::T002);
        assert_eq!(code_for(&Kind::TypeInference, &accepts), codes::T003);
        assert_eq!(code_for(&Kind::Crash, &accepts), codes::T004);
        assert_eq!(code_for(&Kind::Unsupported, &unknown), codes::T004);
        assert_eq!(
            code_for(&Kind::Lint("SEC001".into()), &accepts),
            codes::Q003
        );
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
    fn only_a_tools_own_exit_is_read_for_what_it_says() {
        let exited = Failure::of_kind(
            codes::E004,
            FailureKind::Command {
                program: "depyler".into(),
                exit_code: Some(1),
                log: None,
            },
            "depyler exited with code 1".into(),
        );
        assert!(tool_exited(&exited));
        let broken = Failure::of_kind(
            codes::E002,
            FailureKind::Contract {
                not_written: vec!["y".into()],
                undeclared: Vec::new(),
            },
            "depyler exited with code 1, and yet".into(),
        );
        assert!(!tool_exited(&broken), "the kind decides, not the words");
    }

    #[test]
    fn headers_are_found_beside_the_file_once() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("src")).unwrap();
        std::fs::write(
            d.path().join("src/a.h"),
            "#include \"b.h\"\n#include \"a.h\"\n",
        )
        .unwrap();
        std::fs::write(d.path().join("src/b.h"), "int b;\n").unwrap();
        let h = local_headers(
            d.path(),
            "src/m.c",
            "#include <stdio.h>\n#include \"a.h\"\n",
        );
        let names: Vec<&str> = h.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["src/a.h", "src/b.h"]);
    }
}
