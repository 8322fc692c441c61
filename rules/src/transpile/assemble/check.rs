//! Quarantine: compile the crate, and leave out of its module tree every module the
//! compiler finds errors in, until what remains compiles. A transpiler's output that does
//! not compile then costs its own module, not the whole crate: the rest builds, and its
//! validations run.
//!
//! Two passes. The program first (`cargo check`: the library and binaries): a module with
//! errors there is quarantined. Then its tests (`cargo check --all-targets`): a module
//! whose own tests do not compile (depyler writes tests that use crates it never asks
//! for) stays in the program but leaves test builds (`#[cfg(not(test))]`), so `cargo
//! test` runs everyone else's. Leaving a module out can break a module that used it; the
//! next round finds that one too, and records which modules left before it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::rule::Call;
use batuta_engine::rule::Failure;

use super::record::Module;
use crate::build::messages::Diagnostic;
use crate::build::{Crate, failure};

/// The modules out of the crate, and those out of its test builds only.
#[derive(Debug, Default, Clone)]
pub(super) struct Left {
    pub program: BTreeSet<String>,
    pub tests: BTreeSet<String>,
}

/// The outcome: every module with its state, in the order given.
pub(super) struct Checked {
    pub modules: Vec<Module>,
    pub rounds: usize,
}

/// What one module's errors were when it left, and who had left before it.
#[derive(Default)]
struct Why {
    errors: Vec<Diagnostic>,
    after: Vec<String>,
}

/// Compile with `write_root` writing the crate root for the modules still in, round after
/// round, until the crate and its tests compile. Fails when the program does not compile
/// for a reason in no module (the crate root, Cargo.toml, a dependency), or when `keep`
/// (the module the program's `main` is in) would have to leave it.
pub(super) fn quarantine(
    call: &Call<'_>,
    modules: &[String],
    keep: Option<&str>,
    timeout: Duration,
    mut write_root: impl FnMut(&Left) -> Result<(), Failure>,
) -> Result<Checked, Failure> {
    let krate = Crate::of(call, "assemble writes it: list it in the task's outputs")?;
    let mut left = Left::default();
    let mut why: BTreeMap<String, Why> = BTreeMap::new();
    let mut rounds = 0;
    for tests in [false, true] {
        let args: Vec<String> = if tests {
            vec!["--all-targets".to_owned()]
        } else {
            Vec::new()
        };
        loop {
            write_root(&left)?;
            rounds += 1;
            let done = krate.run(call, "check", &args, timeout)?;
            if done.ok() {
                break;
            }
            let out = |m: &String| left.program.contains(m) || left.tests.contains(m);
            let errors = by_module(done.messages.errors(), modules, &out);
            if errors.is_empty() {
                if tests {
                    // The tests fail outside the modules (an integration test of the user's):
                    // that is for cargo-test to report.
                    break;
                }
                return Err(failure::failed(
                    &done.messages,
                    &done.stderr(),
                    call,
                    "check",
                    &[],
                    done.had_lock,
                    &done.finished.status,
                ));
            }
            if let (false, Some(main)) = (tests, keep)
                && let Some(errs) = errors.get(main)
            {
                return Err(main_does_not_compile(call, main, errs));
            }
            let before: Vec<String> = left.program.iter().chain(&left.tests).cloned().collect();
            for (m, errs) in errors {
                why.insert(
                    m.to_owned(),
                    Why {
                        errors: errs,
                        after: before.clone(),
                    },
                );
                if tests {
                    left.tests.insert(m.to_owned());
                } else {
                    left.program.insert(m.to_owned());
                }
            }
            if call.cancelled() {
                return Err(Failure::new(codes::B001, "cancelled".to_owned()));
            }
        }
    }
    let modules = modules
        .iter()
        .map(|file| {
            let w = why.remove(file).unwrap_or_default();
            Module {
                quarantined: left.program.contains(file),
                tests_quarantined: left.tests.contains(file),
                errors: w.errors,
                after: w.after,
                ..Module::in_crate(file)
            }
        })
        .collect();
    Ok(Checked { modules, rounds })
}

/// The errors of each module still in, deduplicated: `--all-targets` checks the library
/// twice (as itself and with its tests).
fn by_module<'d>(
    errors: impl Iterator<Item = &'d Diagnostic>,
    modules: &'d [String],
    out: &dyn Fn(&String) -> bool,
) -> BTreeMap<&'d str, Vec<Diagnostic>> {
    let mut found: BTreeMap<&str, Vec<Diagnostic>> = BTreeMap::new();
    for e in errors {
        let Some(m) = e
            .file
            .as_deref()
            .and_then(|f| modules.iter().find(|m| m.as_str() == f))
            .filter(|m| !out(m))
        else {
            continue;
        };
        let errs = found.entry(m).or_default();
        let seen = errs.iter().any(|x| {
            (x.line, x.column, &x.message, &x.code) == (e.line, e.column, &e.message, &e.code)
        });
        if !seen {
            errs.push(e.clone());
        }
    }
    found
}

fn main_does_not_compile(call: &Call<'_>, main: &str, errs: &[Diagnostic]) -> Failure {
    Failure::new(
        codes::B001,
        format!(
            "{main}, the module the program's main() is in, does not compile ({} error{}): {}",
            errs.len(),
            if errs.len() == 1 { "" } else { "s" },
            errs[0].headline()
        ),
    )
    .detail(errs[0].rendered.clone())
    .hint(format!(
        "the program cannot be built until {main} compiles: fix or port it by hand (`hand_ported:`), or assemble a library (outputs: [{}/src/lib.rs]) meanwhile",
        call.output
    ))
}
