//! `cargo-test`: runs the migrated crate's tests, reads every test's outcome, writes them
//! as JUnit XML, and fails with BATUTA-V-002 naming the failing tests.

use std::path::PathBuf;
use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::rule::Failure;
use batuta_engine::rule::failure::Kind;
use batuta_engine::rule::{Call, Note, Rule};
use serde::Deserialize;

use super::error::{RunError, WithError};
use super::libtest::{self, Outcome, Suite};
use super::run::{self, Output};
use super::{junit, report, with};

pub const NAME: &str = "cargo-test";
const KEYS: &str = "manifest_path (the crate's Cargo.toml) or dir (its folder), target_dir, args (more cargo test arguments), timeout (seconds)";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(900);
const DETAIL_LINES: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct With {
    manifest_path: Option<String>,
    dir: Option<String>,
    target_dir: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    timeout: Option<f64>,
}

struct Plan {
    manifest: String,
    with: With,
    timeout: Duration,
    report: Option<PathBuf>,
}

/// The crate's Cargo.toml, from `manifest_path` or `dir` (one of them at most), else the
/// migrated crate at `project.output` (`output`, relative to the workspace).
fn manifest_of(w: &With, output: &str) -> Result<String, WithError> {
    match (&w.manifest_path, &w.dir) {
        (Some(m), None) => Ok(m.clone()),
        (None, Some(d)) => Ok(format!("{}/Cargo.toml", d.trim_end_matches('/'))),
        (None, None) if output.is_empty() => Ok("Cargo.toml".to_owned()),
        (None, None) => Ok(format!("{}/Cargo.toml", output.trim_end_matches('/'))),
        (Some(_), Some(_)) => Err(WithError::new(
            NAME,
            "give `manifest_path` or `dir`, not both",
        )),
    }
    .and_then(|m| with::inside(NAME, "manifest_path", &m).map(|()| m))
}

fn plan(call: &Call<'_>) -> Result<Plan, WithError> {
    let w: With = with::parse(NAME, call.with)?;
    let manifest = manifest_of(&w, call.output)?;
    if let Some(t) = &w.target_dir {
        with::inside(NAME, "target_dir", t)?;
    }
    Ok(Plan {
        manifest,
        timeout: with::timeout(NAME, w.timeout, DEFAULT_TIMEOUT)?,
        report: report::output(NAME, call)?,
        with: w,
    })
}

pub struct CargoTest;

impl Rule for CargoTest {
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn check(&self, w: &serde_json::Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        // Only what `with` alone decides: its shape, both keys given, a path that climbs out.
        with::parse::<With>(NAME, w)
            .and_then(|parsed| manifest_of(&parsed, ""))
            .map(|_| ())
            .map_err(|e| with::problem(&e.message))
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let p = plan(call).map_err(|e| e.failure(codes::V002, KEYS))?;
        let last_run = junit::last_run_path(call.root, call.action);
        // A report left by an earlier run must not pass for this one's.
        let _ = std::fs::remove_file(&last_run);
        let cargo = run::resolve("migrated", "cargo", call.root, &call.env).map_err(|e| {
            e.failure(codes::V002)
                .hint("cargo finds its toolchain through CARGO_HOME and RUSTUP_HOME: list them in the task's `env`")
        })?;
        // cargo runs in the workspace, so the paths it is given must not be relative to
        // batuta's own folder.
        let root = call.root.canonicalize().map_err(|e| {
            RunError::io(format!("cannot resolve {}", call.root.display()), e).failure(codes::V002)
        })?;
        // In place, not in a working copy: the crate's target folder is cargo's own
        // incremental cache, and a copy would rebuild every dependency on every run.
        let mut args: Vec<String> = vec![
            "test".into(),
            "--no-fail-fast".into(),
            "--color".into(),
            "never".into(),
        ];
        args.extend([
            "--manifest-path".to_owned(),
            root.join(&p.manifest).to_string_lossy().into_owned(),
        ]);
        if let Some(t) = &p.with.target_dir {
            args.extend([
                "--target-dir".to_owned(),
                root.join(t).to_string_lossy().into_owned(),
            ]);
        }
        args.extend(p.with.args.iter().cloned());
        let crate_dir = root.join(&p.manifest);
        let _lock = crate::build::LockGuard::new(crate_dir.parent().unwrap_or(&root));
        let cmd = run::command(&cargo, &args, call.root, &call.env);
        let done = run::run(
            cmd,
            "migrated",
            "cargo",
            None,
            Output::Merged,
            p.timeout,
            call.cancel,
        )
        .map_err(|e| e.failure(codes::V002))?;
        let text = String::from_utf8_lossy(&done.stdout);
        let suites = libtest::parse(&text);
        let failed: Vec<(&str, &str)> = suites
            .iter()
            .flat_map(|s| {
                s.cases
                    .iter()
                    .filter(|c| c.outcome == Outcome::Failed)
                    .map(|c| (c.name.as_str(), c.output.as_str()))
            })
            .collect();
        let count = |o| suites.iter().map(|s: &Suite| s.count(o)).sum::<usize>();
        let (passed, ignored) = (count(Outcome::Passed), count(Outcome::Ignored));

        // What went wrong, if anything, before the report is written.
        let failure = if !failed.is_empty() {
            Some((None, failing_tests(&failed, passed)))
        } else if !done.status.success() {
            let compile = text.contains("error: could not compile") || text.contains("error[E");
            let (code, message) = if compile {
                (
                    codes::B001,
                    format!("the crate {} does not compile", p.manifest),
                )
            } else {
                (
                    codes::V002,
                    format!(
                        "cargo test failed ({}) without naming a failing test",
                        run::exit_text(&done.status)
                    ),
                )
            };
            let tail = tail(&text, DETAIL_LINES);
            let kind = if compile {
                Kind::Rule
            } else {
                Kind::Tests {
                    failing: Vec::new(),
                    junit: None,
                }
            };
            Some((
                Some(message.clone()),
                Failure::of_kind(code, kind, message).detail(tail),
            ))
        } else {
            None
        };
        let xml = junit::write(
            call.action,
            &suites,
            failure
                .as_ref()
                .and_then(|(m, _)| m.as_deref())
                .map(|message| junit::Error {
                    message,
                    output: &text,
                }),
        );
        write_last_run(&last_run, &xml).map_err(|e| e.failure(codes::V002))?;
        if let Some((_, mut f)) = failure {
            if let Kind::Tests { junit, .. } = f.kind.as_mut() {
                let rel = last_run.strip_prefix(call.root).unwrap_or(&last_run);
                *junit = Some(rel.to_string_lossy().into_owned());
            }
            return Err(f.hint(format!(
                "the JUnit report of this run is {}",
                last_run.display()
            )));
        }
        report::write(p.report.as_ref(), &xml).map_err(|e| e.failure(codes::V002))?;
        Ok(Note::new(format!(
            "{passed} passed, {ignored} ignored in {} suites ({} s)",
            suites.len(),
            done.elapsed.as_secs()
        )))
    }
}

fn write_last_run(path: &std::path::Path, xml: &[u8]) -> Result<(), RunError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| RunError::io(format!("cannot create {}", parent.display()), e))?;
    }
    std::fs::write(path, xml)
        .map_err(|e| RunError::io(format!("cannot write {}", path.display()), e))
}

/// BATUTA-V-002: which tests failed, and the first one's panic message.
fn failing_tests(failed: &[(&str, &str)], passed: usize) -> Failure {
    let mut lines: Vec<String> = failed
        .iter()
        .take(DETAIL_LINES / 2)
        .map(|(n, _)| format!("FAILED {n}"))
        .collect();
    if failed.len() > DETAIL_LINES / 2 {
        lines.push(format!("… and {} more", failed.len() - DETAIL_LINES / 2));
    }
    if let Some((name, output)) = failed.first() {
        let room = DETAIL_LINES.saturating_sub(lines.len() + 1);
        lines.push(format!("---- {name} ----"));
        lines.extend(output.lines().take(room).map(str::to_owned));
    }
    let names: Vec<&str> = failed.iter().take(3).map(|(n, _)| *n).collect();
    Failure::of_kind(
        codes::V002,
        Kind::Tests {
            failing: failed.iter().map(|(n, _)| (*n).to_owned()).collect(),
            junit: None,
        },
        format!(
            "{} test{} failed ({passed} passed): {}{}",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            names.join(", "),
            if failed.len() > 3 { ", …" } else { "" }
        ),
    )
    .detail(lines.join("\n"))
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_tests_are_named_and_fit_the_andon() {
        let outputs: Vec<(String, String)> = (0..15)
            .map(|i| {
                (
                    format!("t{i}"),
                    "thread panicked\nleft: 1\nright: 2".to_owned(),
                )
            })
            .collect();
        let failed: Vec<(&str, &str)> = outputs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let f = failing_tests(&failed, 4);
        assert_eq!(f.code, codes::V002);
        assert_eq!(f.message, "15 tests failed (4 passed): t0, t1, t2, …");
        assert!(f.detail.lines().count() <= DETAIL_LINES, "{}", f.detail);
        assert!(
            f.detail
                .contains("… and 5 more\n---- t0 ----\nthread panicked"),
            "{}",
            f.detail
        );
    }

    #[test]
    fn which_crate() {
        let call_with = |w: serde_json::Value| {
            let p: Result<With, _> = with::parse(NAME, &w);
            p.map(|w| (w.manifest_path, w.dir))
        };
        assert!(call_with(serde_json::json!({"dir": "rust"})).is_ok());
        assert!(call_with(serde_json::json!({"path": "rust"})).is_err());
    }
}
