//! `compare-outputs`: runs the original and the migrated program on copies of the same
//! inputs and checks they say the same (stdout, stderr, exit code, files), numbers within
//! a tolerance when asked; a mismatch is BATUTA-V-001 with a readable diff.

use std::path::PathBuf;
use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};
use serde::Deserialize;
use serde_json::json;

use super::diff::{self, TextDiff};
use super::error::{RunError, WithError};
use super::normalize::{Normalize, NormalizeWith};
use super::numbers::Tolerance;
use super::run::{Finished, Output, exit_text};
use super::side::{self, Side};
use super::{report, with};

pub const NAME: &str = "compare-outputs";
const KEYS: &str = "original, migrated (argument lists), compare ([stdout, stderr, exit_code, files]), \
                    files, rtol, atol, normalize ({trailing_whitespace, sort_lines, replace: [{regex, with}]}), \
                    stdin, timeout (seconds), cases ([{name, args, stdin, files}])";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The andon shows the last 20 lines of a failure's detail: everything must fit.
const DETAIL_LINES: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct With {
    original: Vec<String>,
    migrated: Vec<String>,
    compare: Option<Vec<Aspect>>,
    #[serde(default)]
    files: Vec<String>,
    rtol: Option<f64>,
    atol: Option<f64>,
    #[serde(default)]
    normalize: NormalizeWith,
    /// A file of the working copy fed to both programs' standard input.
    stdin: Option<String>,
    timeout: Option<f64>,
    /// Several runs of the two programs, each compared and reported on its own; none is
    /// one run with no more arguments.
    #[serde(default)]
    cases: Vec<super::cases::Case>,
}

/// A case as it runs: its name, both command lines, its input and the files it compares.
struct Case {
    name: String,
    original: Vec<String>,
    migrated: Vec<String>,
    stdin: Option<String>,
    files: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Aspect {
    Stdout,
    Stderr,
    ExitCode,
    Files,
}

impl Aspect {
    fn name(self) -> &'static str {
        match self {
            Aspect::Stdout => "stdout",
            Aspect::Stderr => "stderr",
            Aspect::ExitCode => "exit_code",
            Aspect::Files => "files",
        }
    }
}

/// `with` checked and compiled.
struct Plan {
    with: With,
    aspects: Vec<Aspect>,
    tol: Option<Tolerance>,
    normalize: Normalize,
    timeout: Duration,
    report: Option<PathBuf>,
}

fn plan(call: &Call<'_>) -> Result<Plan, WithError> {
    let w: With = with::parse(NAME, call.with)?;
    with::argv(NAME, "original", &w.original)?;
    with::argv(NAME, "migrated", &w.migrated)?;
    for f in &w.files {
        with::inside(NAME, "files", f)?;
    }
    if let Some(s) = &w.stdin {
        with::inside(NAME, "stdin", s)?;
    }
    for c in &w.cases {
        for f in &c.files {
            with::inside(NAME, "cases.files", f)?;
        }
        if let Some(s) = &c.stdin {
            with::inside(NAME, "cases.stdin", s)?;
        }
    }
    // What the manifest example compares unless told otherwise, plus the files it lists.
    let aspects = match &w.compare {
        Some(a) if a.is_empty() => {
            return Err(WithError::new(
                NAME,
                "`compare` is empty: nothing would be compared",
            ));
        }
        Some(a) => a.clone(),
        None if w.files.is_empty() && !w.cases.iter().any(|c| !c.files.is_empty()) => {
            vec![Aspect::Stdout, Aspect::ExitCode]
        }
        None => vec![Aspect::Stdout, Aspect::ExitCode, Aspect::Files],
    };
    let case_files = w.cases.iter().any(|c| !c.files.is_empty());
    if aspects.contains(&Aspect::Files) && w.files.is_empty() && !case_files {
        return Err(WithError::new(
            NAME,
            "`compare` lists files but `files` names none",
        ));
    }
    // Numbers compare as numbers only when a tolerance is asked for, even a zero one.
    let tol = if w.rtol.is_some() || w.atol.is_some() {
        Some(Tolerance {
            rtol: with::tolerance(NAME, "rtol", w.rtol)?,
            atol: with::tolerance(NAME, "atol", w.atol)?,
        })
    } else {
        None
    };
    Ok(Plan {
        aspects,
        tol,
        normalize: Normalize::new(NAME, &w.normalize)?,
        timeout: with::timeout(NAME, w.timeout, DEFAULT_TIMEOUT)?,
        report: report::output(NAME, call)?,
        with: w,
    })
}

/// One way the migrated program departs from the original.
#[derive(Debug)]
struct Difference {
    what: String,
    summary: String,
    shown: String,
}

pub struct CompareOutputs;

impl Rule for CompareOutputs {
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn check(&self, w: &serde_json::Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        with::check::<With>(NAME, w)
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let p = plan(call).map_err(|e| e.failure(codes::V001, KEYS))?;
        let mut results = Vec::new();
        for case in p.cases() {
            let (orig, orig_files) = run_side(call, &p, &case, Side::Original)?;
            let (migr, migr_files) = run_side(call, &p, &case, Side::Migrated)?;
            let diffs = differences(&p, &case, (&orig, &orig_files), (&migr, &migr_files))?;
            results.push((case, diffs, orig, migr));
        }
        let failing: Vec<(&str, &[Difference])> = results
            .iter()
            .filter(|(_, d, _, _)| !d.is_empty())
            .map(|(c, d, _, _)| (c.name.as_str(), d.as_slice()))
            .collect();
        if !failing.is_empty() {
            return Err(mismatch(&failing, results.len()));
        }
        let compared: Vec<&str> = p.aspects.iter().map(|a| a.name()).collect();
        let cases: Vec<serde_json::Value> = results
            .iter()
            .map(|(c, _, o, m)| {
                json!({
                    "name": c.name,
                    "equal": true,
                    "files": c.files,
                    "original": side_json(&c.original, o),
                    "migrated": side_json(&c.migrated, m),
                })
            })
            .collect();
        let (_, _, orig, migr) = &results[0];
        let doc = json!({
            "rule": NAME,
            "equal": true,
            "compared": compared,
            "files": p.with.files,
            "tolerance": p.tol,
            "original": side_json(&p.with.original, orig),
            "migrated": side_json(&p.with.migrated, migr),
            "cases": cases,
        });
        report::write_json(p.report.as_ref(), &doc)
            .map_err(|e: RunError| e.failure(codes::V001))?;
        let text = if results.len() == 1 {
            format!(
                "same {} ({} stdout lines); original {} ms, migrated {} ms",
                compared.join(", "),
                String::from_utf8_lossy(&orig.stdout).lines().count(),
                orig.elapsed.as_millis(),
                migr.elapsed.as_millis()
            )
        } else {
            let per_case: Vec<String> = results
                .iter()
                .map(|(c, _, o, m)| {
                    format!(
                        "{}: same (original {} ms, migrated {} ms)",
                        c.name,
                        o.elapsed.as_millis(),
                        m.elapsed.as_millis()
                    )
                })
                .collect();
            format!(
                "{} cases, all the same {}:\n{}",
                results.len(),
                compared.join(", "),
                per_case.join("\n")
            )
        };
        Ok(Note::new(text))
    }
}

impl Plan {
    /// The runs to compare: each case, or the one run the task's own keys describe.
    fn cases(&self) -> Vec<Case> {
        let w = &self.with;
        if w.cases.is_empty() {
            return vec![Case {
                name: "the run".to_owned(),
                original: w.original.clone(),
                migrated: w.migrated.clone(),
                stdin: w.stdin.clone(),
                files: w.files.clone(),
            }];
        }
        w.cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let name = c.name.clone().unwrap_or_else(|| {
                    if c.args.is_empty() {
                        format!("case {}", i + 1)
                    } else {
                        format!("case {} ({})", i + 1, c.args.join(" "))
                    }
                });
                let with_args = |argv: &[String]| -> Vec<String> {
                    argv.iter().chain(&c.args).cloned().collect()
                };
                let mut files = w.files.clone();
                files.extend(c.files.iter().filter(|f| !w.files.contains(f)).cloned());
                Case {
                    name,
                    original: with_args(&w.original),
                    migrated: with_args(&w.migrated),
                    stdin: c.stdin.clone().or_else(|| w.stdin.clone()),
                    files,
                }
            })
            .collect()
    }
}

/// How the two runs of one case differ, in the aspects compared.
fn differences(
    p: &Plan,
    case: &Case,
    (orig, orig_files): (&Finished, &Files),
    (migr, migr_files): (&Finished, &Files),
) -> Result<Vec<Difference>, Failure> {
    let mut diffs = Vec::new();
    for a in &p.aspects {
        match a {
            Aspect::ExitCode => {
                let (o, m) = (exit_text(&orig.status), exit_text(&migr.status));
                if o != m {
                    diffs.push(Difference {
                        what: "exit code".into(),
                        summary: format!("original: {o}, migrated: {m}"),
                        shown: String::new(),
                    });
                }
            }
            Aspect::Stdout => diffs.extend(compare(p, "stdout", &orig.stdout, &migr.stdout)),
            Aspect::Stderr => diffs.extend(compare(p, "stderr", &orig.stderr, &migr.stderr)),
            Aspect::Files => {
                let mut none = Vec::new();
                for (i, f) in case.files.iter().enumerate() {
                    match (&orig_files[i], &migr_files[i]) {
                        (Some(o), Some(m)) => diffs.extend(compare(p, &format!("file {f}"), o, m)),
                        (None, None) => none.push(f.as_str()),
                        (Some(_), None) => diffs.push(Difference {
                            what: format!("file {f}"),
                            summary: "the original wrote it, the migrated program did not".into(),
                            shown: String::new(),
                        }),
                        (None, Some(_)) => diffs.push(Difference {
                            what: format!("file {f}"),
                            summary: "the migrated program wrote it, the original did not".into(),
                            shown: String::new(),
                        }),
                    }
                }
                if !none.is_empty() {
                    return Err(Failure::new(
                        codes::V001,
                        format!(
                            "{}: neither program wrote {}: nothing to compare",
                            case.name,
                            none.join(", ")
                        ),
                    )
                    .hint(
                        "`files` names paths relative to the working copy, where the programs run",
                    ));
                }
            }
        }
    }
    Ok(diffs)
}

/// Each file of `files:` as one program left it; `None` where it wrote none.
type Files = Vec<Option<Vec<u8>>>;

/// Runs one side in a fresh working copy; what it printed, and the listed files it left.
fn run_side(call: &Call<'_>, p: &Plan, case: &Case, s: Side) -> Result<(Finished, Files), Failure> {
    let fail = |e: RunError| e.failure(codes::V001);
    let copy = side::copy(call, s).map_err(fail)?;
    let argv = s.pick(&case.original, &case.migrated);
    let done = side::run(
        call,
        s,
        &copy,
        argv,
        case.stdin.as_deref(),
        Output::Separate,
        p.timeout,
    )
    .map_err(fail)?;
    let files = read_files(&copy, &case.files).map_err(fail)?;
    let _ = copy.close();
    Ok((done, files))
}

fn side_json(argv: &[String], f: &Finished) -> serde_json::Value {
    json!({
        "argv": argv,
        "exit": exit_text(&f.status),
        "stdout_bytes": f.stdout.len(),
        "stderr_bytes": f.stderr.len(),
        "duration_ms": f.elapsed.as_secs_f64() * 1000.0,
    })
}

/// The listed files as each program left them; `None` for a file it did not write.
fn read_files(copy: &super::workcopy::WorkCopy, files: &[String]) -> Result<Files, RunError> {
    files
        .iter()
        .map(|f| match std::fs::read(copy.path().join(f)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RunError::io(
                format!("cannot read '{f}' from the working copy"),
                e,
            )),
        })
        .collect()
}

/// Text compares line by line after the normalisers; anything else byte for byte.
fn compare(p: &Plan, what: &str, original: &[u8], migrated: &[u8]) -> Option<Difference> {
    match (std::str::from_utf8(original), std::str::from_utf8(migrated)) {
        (Ok(o), Ok(m)) => {
            let d: TextDiff = diff::compare(
                &p.normalize.lines(o),
                &p.normalize.lines(m),
                p.tol,
                DETAIL_LINES,
            )?;
            Some(Difference {
                what: what.to_owned(),
                summary: d.summary(),
                shown: d.shown,
            })
        }
        _ => diff::bytes(original, migrated).map(|summary| Difference {
            what: what.to_owned(),
            summary,
            shown: String::new(),
        }),
    }
}

/// BATUTA-V-001: which cases differ and in what in the message, each difference's summary
/// and as much of the first diff as fits in the detail the andon shows. `of` is how many
/// cases ran.
fn mismatch(failing: &[(&str, &[Difference])], of: usize) -> Failure {
    let what = |diffs: &[Difference]| -> String {
        diffs
            .iter()
            .map(|d| d.what.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let message = match failing {
        [(_, diffs)] if of == 1 => format!(
            "the migrated program differs from the original in {}",
            what(diffs)
        ),
        _ => format!(
            "the migrated program differs from the original in {} of {of} cases: {}",
            failing.len(),
            failing
                .iter()
                .map(|(name, d)| format!("{name} ({})", what(d)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let (first, diffs) = failing[0];
    let mut detail = String::new();
    if of > 1 {
        detail.push_str(&format!("{first}:\n"));
    }
    for d in diffs {
        detail.push_str(&format!("{}: {}\n", d.what, d.summary));
    }
    let room = DETAIL_LINES.saturating_sub(detail.lines().count());
    if let Some(d) = diffs.iter().find(|d| !d.shown.is_empty()) {
        let shown: Vec<&str> = d.shown.lines().collect();
        if shown.len() <= room {
            detail.push_str(&d.shown);
        } else {
            for l in &shown[..room.saturating_sub(1)] {
                detail.push_str(l);
                detail.push('\n');
            }
            detail.push_str("… (diff cut)\n");
        }
    }
    Failure::new(codes::V001, message)
        .detail(detail)
        .hint("lines marked '-' are the original's, '+' the migrated program's")
        .hint("if the difference is only formatting of numbers, set `rtol`/`atol`; timestamps and paths can be masked with `normalize.replace`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_fits_the_andon() {
        let one = |what: &str| Difference {
            what: what.into(),
            summary: "differs".into(),
            shown: String::new(),
        };
        let f = mismatch(
            &[
                ("case 2 (--help)", &[one("stdout")]),
                ("empty", &[one("exit code")]),
            ],
            5,
        );
        assert_eq!(
            f.message,
            "the migrated program differs from the original in 2 of 5 cases: case 2 (--help) (stdout), empty (exit code)"
        );
        assert!(
            f.detail.starts_with("case 2 (--help):\nstdout: differs\n"),
            "{}",
            f.detail
        );
        let shown: String = (0..50).map(|i| format!("- {i}\n")).collect();
        let diffs = vec![
            Difference {
                what: "stdout".into(),
                summary: "first difference at line 1".into(),
                shown,
            },
            Difference {
                what: "exit code".into(),
                summary: "original: exit code 0, migrated: exit code 1".into(),
                shown: String::new(),
            },
        ];
        let f = mismatch(&[("the run", &diffs)], 1);
        assert_eq!(f.code, codes::V001);
        assert!(f.message.contains("stdout, exit code"));
        assert!(f.detail.lines().count() <= DETAIL_LINES, "{}", f.detail);
        assert!(
            f.detail
                .starts_with("stdout: first difference at line 1\nexit code: original")
        );
    }
}
