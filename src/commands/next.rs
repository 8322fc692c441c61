//! `batuta status --next`: the one file to port next, and why.
//!
//! It is the first row of the to-do list that `batuta status --files` ranks (see
//! [`super::files`]): a file that failed comes first when more files use it, then when it
//! has fewer errors, then when it is smaller. This says which of those decided, against the
//! file that comes after it, so the reason is the ranking's own and not a story told
//! beside it.

use std::fmt::Write as _;

use serde::Serialize;

use super::files::{Compile, FileStatus, Step, Validation};

/// The answer: the file, what is wrong with it, and why it is first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Next {
    pub source: Option<String>,
    pub module: Option<String>,
    /// Its status in words, as `status --files` says it.
    pub status: String,
    /// What needs doing, with the first error when there is one.
    pub problem: String,
    /// Why this file and not the next one on the list.
    pub why: String,
    pub dependents: usize,
    pub errors: usize,
    pub lines: usize,
    /// How many files the to-do list holds.
    pub of: usize,
    /// What to run to start porting it.
    pub command: String,
}

/// A failed action of the last build and its message, as the state keeps them.
pub type Failure = (String, String);

/// The failed actions of the last build, with their messages, as the state keeps them (as
/// data); what did not run because of them is not among them.
pub fn failures(state: &batuta_engine::state::State) -> Vec<Failure> {
    batuta_engine::manifest::Phase::ALL
        .into_iter()
        .flat_map(|p| state.phase(p).failures)
        .map(|f| (f.action, format!("{} [{}]", f.message, f.code)))
        .collect()
}

/// The first of the to-do list; when the list is empty but an action of the last build
/// failed in a file's Rust (a crate that does not compile in its `main.rs`), that file.
/// `None` when no file needs work.
pub fn next(rows: &[FileStatus], failed: &[Failure]) -> Option<Next> {
    let mut list: Vec<&FileStatus> = rows.iter().filter(|r| r.next.is_some()).collect();
    list.sort_by_key(|r| r.next);
    let Some(&first) = list.first() else {
        return failed_in(rows, failed);
    };
    let name = first
        .source
        .clone()
        .or_else(|| first.module.clone())
        .unwrap_or_default();
    Some(Next {
        source: first.source.clone(),
        module: first.module.clone(),
        status: first.status.clone(),
        problem: problem(first),
        why: why(first, list.get(1).copied(), list.len()),
        dependents: first.dependents,
        errors: error_count(first),
        lines: first.lines,
        of: list.len(),
        command: format!("batuta port {name}"),
    })
}

/// The file whose Rust a failed action names (`rust/src/main.rs:12:5: …`).
fn failed_in(rows: &[FileStatus], failed: &[Failure]) -> Option<Next> {
    failed.iter().find_map(|(id, message)| {
        let r = rows.iter().find(|r| {
            r.module
                .as_deref()
                .is_some_and(|m| message.contains(&format!("{m}:")))
        })?;
        let name = r.source.clone().or_else(|| r.module.clone())?;
        Some(Next {
            source: r.source.clone(),
            module: r.module.clone(),
            status: r.status.clone(),
            problem: format!("{id} failed in its Rust: {message}"),
            why: format!(
                "no file is on the to-do list, but the last build's {id} failed in this file's Rust."
            ),
            dependents: r.dependents,
            errors: 1,
            lines: r.lines,
            of: 0,
            command: format!("batuta port {name}"),
        })
    })
}

/// The errors the ranking counts: the compiler's, else one for a failed step.
fn error_count(r: &FileStatus) -> usize {
    match &r.compile {
        Compile::Quarantined { count, .. } | Compile::Errors { count, .. } => *count,
        _ => 1,
    }
}

fn plural(n: usize, w: &str) -> String {
    format!("{n} {w}{}", if n == 1 { "" } else { "s" })
}

/// What is wrong, in the words of whatever found it.
fn problem(r: &FileStatus) -> String {
    match (&r.transpile, &r.compile, &r.validate) {
        (Step::Failed(code), _, _) => {
            let tool = r.tool.as_deref().unwrap_or("its transpiler");
            match code {
                Some(c) => format!("{tool} failed on it ({c}; `batuta explain {c}`)"),
                None => format!("{tool} failed on it"),
            }
        }
        (_, Compile::Quarantined { count, first }, _) => format!(
            "its Rust does not compile ({}), so the crate leaves it out; first: {first}",
            plural(*count, "error")
        ),
        (_, Compile::Errors { count, first }, _) => format!(
            "its Rust does not compile ({}); first: {first}",
            plural(*count, "error")
        ),
        (_, Compile::LintFailed { code }, _) => format!(
            "its purified script fails the lint{}",
            code.as_deref().map_or(String::new(), |c| format!(" ({c})"))
        ),
        (_, _, Validation::Failed(checks)) => {
            format!("a check that covers it failed: {}", checks.join(", "))
        }
        _ => r.status.clone(),
    }
}

/// Why `first` comes before `second`, by the first key of the ranking that tells them
/// apart: more users, then fewer errors, then fewer lines.
fn why(first: &FileStatus, second: Option<&FileStatus>, of: usize) -> String {
    let users = match first.dependents {
        0 => "no other file uses it".to_owned(),
        1 => "1 other file uses it".to_owned(),
        n => format!("{n} other files use it"),
    };
    let Some(second) = second else {
        return format!("it is the only file that needs work; {users}.");
    };
    let (e1, e2) = (error_count(first), error_count(second));
    let reason = if first.dependents != second.dependents {
        format!(
            "{users}, more than any other file that needs work, so porting it unblocks the most"
        )
    } else if e1 != e2 {
        format!(
            "{users}, as many as the next; it has the fewest errors ({}, the next has {e2})",
            plural(e1, "error")
        )
    } else if first.lines != second.lines {
        format!(
            "{users}, as many as the next, with as many errors ({e1}); it is the smallest ({}, the next has {})",
            plural(first.lines, "line"),
            second.lines
        )
    } else {
        format!("{users}; it ties with the next on users, errors and size, and comes first by name")
    };
    format!("first of {of} files that need work: {reason}.")
}

/// The answer for people; `failed` says what failed when no file is to blame.
pub fn text(n: Option<&Next>, failed: &[Failure]) -> String {
    let Some(n) = n else {
        if !failed.is_empty() {
            let ids: Vec<&str> = failed.iter().map(|(id, _)| id.as_str()).collect();
            return format!(
                "No source file is on the to-do list, but the last build failed: {}.\n\
                 `batuta status` shows why.\n",
                ids.join(", ")
            );
        }
        return "Nothing to port next: no file failed to transpile, compile, lint or pass a check.\n\
                `batuta status --files` shows where each file stands.\n"
            .to_owned();
    };
    let mut out = String::new();
    let name = n.source.as_deref().or(n.module.as_deref()).unwrap_or("");
    match (&n.source, &n.module) {
        (Some(s), Some(m)) => {
            let _ = writeln!(out, "Next: {s} (became {m})");
        }
        _ => {
            let _ = writeln!(out, "Next: {name}");
        }
    }
    let _ = writeln!(out, "  status:  {}", n.status);
    let _ = writeln!(out, "  problem: {}", n.problem);
    let _ = writeln!(out, "  why:     {}", n.why);
    let _ = writeln!(out, "  size:    {}", plural(n.lines, "line"));
    let _ = writeln!(
        out,
        "💡 `{}` starts a hand port of it; `batuta status --files` shows the whole list.",
        n.command
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::files::Kind;
    use super::*;

    fn row(source: &str, dependents: usize, errors: usize, lines: usize) -> FileStatus {
        let module = format!("rust/src/{}", source.replace(".py", ".rs"));
        FileStatus {
            tool: Some("depyler".into()),
            compile: Compile::Quarantined {
                count: errors,
                first: format!("rust/src/{source}:3:5: error[E0308]: mismatched types"),
            },
            status: format!("quarantined ({})", plural(errors, "error")),
            dependents,
            lines,
            ..super::super::files::row(
                Some(&source.to_owned()),
                &module,
                Kind::Module,
                "generated",
                Step::Ok,
            )
        }
    }

    fn next_of(rows: &[FileStatus]) -> Option<Next> {
        next(rows, &[])
    }

    #[test]
    fn a_crate_that_fails_in_a_files_rust_names_that_file() {
        let mut r = row("main.py", 0, 1, 10);
        r.compile = Compile::NotBuilt;
        r.status = "transpiled".into();
        let failed = vec![(
            "transpile/crate".to_owned(),
            "the crate rust does not compile (8 errors in 1 file): rust/src/main.rs:3413:1: error[E0580]: `main` function has wrong type [BATUTA-B-001]".to_owned(),
        )];
        let n = next(&[r], &failed).unwrap();
        assert_eq!(n.source.as_deref(), Some("main.py"));
        assert!(
            n.problem
                .starts_with("transpile/crate failed in its Rust: the crate"),
            "{}",
            n.problem
        );
        assert_eq!(n.command, "batuta port main.py");
    }

    fn ranked(mut rows: Vec<FileStatus>) -> Vec<FileStatus> {
        for (i, r) in rows.iter_mut().enumerate() {
            r.next = Some(i + 1);
        }
        rows
    }

    #[test]
    fn the_reason_is_the_key_that_decided() {
        let n = next_of(&ranked(vec![row("a.py", 2, 9, 100), row("b.py", 1, 1, 5)])).unwrap();
        assert_eq!(n.source.as_deref(), Some("a.py"));
        assert!(
            n.why.contains("2 other files use it, more than any other"),
            "{}",
            n.why
        );
        let n = next_of(&ranked(vec![row("a.py", 1, 2, 100), row("b.py", 1, 5, 5)])).unwrap();
        assert!(
            n.why.contains("fewest errors (2 errors, the next has 5)"),
            "{}",
            n.why
        );
        let n = next_of(&ranked(vec![row("a.py", 0, 1, 10), row("b.py", 0, 1, 50)])).unwrap();
        assert!(n.why.contains("no other file uses it"), "{}", n.why);
        assert!(
            n.why.contains("smallest (10 lines, the next has 50)"),
            "{}",
            n.why
        );
        let n = next_of(&ranked(vec![row("a.py", 0, 1, 10)])).unwrap();
        assert!(n.why.starts_with("it is the only file"), "{}", n.why);
        assert_eq!(n.command, "batuta port a.py");
        assert!(
            n.problem.contains("first: rust/src/a.py:3:5"),
            "{}",
            n.problem
        );
    }

    #[test]
    fn nothing_to_do_says_so() {
        let mut done = row("a.py", 0, 1, 10);
        done.compile = Compile::Ok;
        assert_eq!(next(&[done], &[]), None);
        assert!(text(None, &[]).starts_with("Nothing to port next"));
        let failed = vec![("build/build".to_owned(), "linker `cc` not found".to_owned())];
        assert!(text(None, &failed).contains("the last build failed: build/build."));
    }

    #[test]
    fn a_failed_transpile_names_its_code() {
        let mut r = row("a.py", 0, 1, 10);
        r.transpile = Step::Failed(Some("BATUTA-T-004".into()));
        r.compile = Compile::NotBuilt;
        let n = next_of(&ranked(vec![r])).unwrap();
        assert_eq!(
            n.problem,
            "depyler failed on it (BATUTA-T-004; `batuta explain BATUTA-T-004`)"
        );
    }
}
