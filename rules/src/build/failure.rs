//! The ways a build fails, each with the book's code and what to do: the first compiler
//! error with its file and line (B-001), the linker (B-002), a target that is not installed
//! (B-003), and outputs that do not match what cargo built.

use batuta_engine::codes;
use batuta_engine::rule::Call;
use batuta_engine::rule::Failure;

use super::messages::Messages;
use super::{DETAIL_LINES, NAME, dist, rel};
use crate::validate::error::RunError;
use crate::validate::run;

pub fn io_failure(what: String, e: std::io::Error) -> Failure {
    RunError::io(what, e).failure(codes::B001)
}

/// BATUTA-B-003 with the command that fixes it.
pub fn missing_target(target: &str) -> Failure {
    Failure::new(
        codes::B003,
        format!("the standard library for target '{target}' is not installed"),
    )
    .hint(format!("rustup target add {target}"))
    .hint("a target that needs its own linker (musl, another architecture) needs that linker too")
}

/// Why cargo failed, with the book's code: a missing target (B-003), the linker (B-002),
/// or the first compiler error with its file and line (B-001).
pub fn failed(
    msgs: &Messages,
    stderr: &str,
    call: &Call<'_>,
    subcommand: &str,
    targets: &[String],
    had_lock: bool,
    status: &std::process::ExitStatus,
) -> Failure {
    let errors: Vec<_> = msgs.errors().collect();
    if let Some(t) = errors.iter().find_map(|d| d.missing_target()) {
        return missing_target(&t);
    }
    if let Some(l) = errors.iter().find(|d| d.is_linker()) {
        let cross = !targets.is_empty() && l.message.starts_with("linker `");
        let code = if cross { codes::B003 } else { codes::B002 };
        let f = Failure::new(
            code,
            format!("the crate {} does not link: {}", call.output, l.message),
        )
        .detail(first_lines(&l.rendered, DETAIL_LINES));
        return if cross {
            f.hint("install the target's linker and name it in the crate's .cargo/config.toml ([target.<triple>] linker = …), or build on a machine of that target")
        } else {
            f.hint("install the native library's development package, or check the crate's build.rs and the dependencies in Cargo.toml")
        };
    }
    let Some(first) = errors.first() else {
        // cargo itself failed before compiling: a bad Cargo.toml, a stale Cargo.lock under
        // --locked, a dependency it could not fetch. Its own words are on stderr.
        let mut f = Failure::new(
            codes::B001,
            format!(
                "cargo {subcommand} of {} failed ({})",
                call.output,
                run::exit_text(status)
            ),
        )
        .detail(last_lines(stderr, DETAIL_LINES));
        if had_lock && stderr.contains("--locked") {
            f = f.hint(format!(
                "Cargo.lock is out of date: run `cargo update --manifest-path {}` and commit it",
                rel(call.output, "Cargo.toml")
            ));
        }
        return f;
    };
    let mut files: Vec<(&str, usize)> = Vec::new();
    for e in &errors {
        let f = e.file.as_deref().unwrap_or("(no file)");
        match files.iter_mut().find(|(n, _)| *n == f) {
            Some((_, c)) => *c += 1,
            None => files.push((f, 1)),
        }
    }
    let per_file: Vec<String> = files
        .iter()
        .map(|(f, c)| format!("{f}: {c} error{}", if *c == 1 { "" } else { "s" }))
        .collect();
    let mut detail = first_lines(&first.rendered, DETAIL_LINES);
    if files.len() > 1 {
        detail.push_str("\nerrors by file:\n");
        detail.push_str(&per_file.join("\n"));
    }
    Failure::new(
        codes::B001,
        format!(
            "the crate {} does not compile ({} error{} in {} file{}): {}",
            call.output,
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            first.headline()
        ),
    )
    .detail(detail)
    .hint("`batuta status --files` shows which source file each generated file comes from; a module that cannot be fixed can be ported by hand (`hand_ported:` in the transpile task)")
}

/// The artifacts and the task's outputs disagree: say what to declare.
pub fn mismatch(m: dist::Mismatch, call: &Call<'_>) -> Failure {
    let f = |msg: String| Failure::new(codes::B001, msg);
    match m {
        dist::Mismatch::NoManifest(found) => f(format!(
            "{NAME} writes one release manifest, an output named manifest.json; the task lists {}",
            if found.is_empty() { "none".to_owned() } else { found.join(", ") }
        ))
        .hint("add it to outputs, e.g. outputs: [dist/my-program, dist/manifest.json]"),
        dist::Mismatch::Undeclared(extra) => f(format!(
            "cargo built {} which the task does not list in its outputs",
            extra.join(", ")
        ))
        .hint(format!(
            "list every artifact: outputs: [{}, {}]",
            extra.join(", "),
            call.outputs.join(", ")
        )),
        dist::Mismatch::NotBuilt { missing, built } => f(format!(
            "the task lists {} but cargo built {}",
            missing.join(", "),
            if built.is_empty() { "no binary or shared library".to_owned() } else { built.join(", ") }
        ))
        .hint("list what the crate builds in outputs (a library crate with no binary: outputs: [dist/manifest.json])"),
    }
}

fn first_lines(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_target_says_how_to_add_it() {
        let f = missing_target("aarch64-unknown-linux-musl");
        assert_eq!(f.code, codes::B003);
        assert_eq!(f.hints[0], "rustup target add aarch64-unknown-linux-musl");
    }
}
