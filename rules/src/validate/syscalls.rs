//! `syscalls`: traces the original and the migrated program with strace (following every
//! child) and compares what each did to the world: files read, written, created, removed,
//! programs started, endpoints reached. A divergence is BATUTA-V-003.

#[cfg(target_os = "linux")]
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::rule::Failure;
use batuta_engine::rule::failure::Kind;
use batuta_engine::rule::{Call, Note, Rule};
use serde::Deserialize;

use super::behaviour::Op;
use super::error::WithError;
use super::{report, with};

pub const NAME: &str = "syscalls";
const KEYS: &str = "original, migrated (argument lists), ignore (globs of paths to leave out), stdin, timeout (seconds)";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Always left out: what Python writes when it imports a module without `-B`.
const ALWAYS_IGNORED: &[&str] = &["**/__pycache__/**"];
const DETAIL_LINES: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct With {
    original: Vec<String>,
    migrated: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    stdin: Option<String>,
    timeout: Option<f64>,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // Only Linux traces.
struct Plan {
    with: With,
    ignore: globset::GlobSet,
    timeout: Duration,
    report: Option<PathBuf>,
}

fn plan(call: &Call<'_>) -> Result<Plan, WithError> {
    let w: With = with::parse(NAME, call.with)?;
    with::argv(NAME, "original", &w.original)?;
    with::argv(NAME, "migrated", &w.migrated)?;
    if let Some(s) = &w.stdin {
        with::inside(NAME, "stdin", s)?;
    }
    let mut b = globset::GlobSetBuilder::new();
    for g in ALWAYS_IGNORED
        .iter()
        .copied()
        .chain(w.ignore.iter().map(String::as_str))
    {
        b.add(globset::Glob::new(g).map_err(|e| WithError::new(NAME, format!("`ignore`: {e}")))?);
    }
    Ok(Plan {
        ignore: b
            .build()
            .map_err(|e| WithError::new(NAME, format!("`ignore`: {e}")))?,
        timeout: with::timeout(NAME, w.timeout, DEFAULT_TIMEOUT)?,
        report: report::output(NAME, call)?,
        with: w,
    })
}

pub struct Syscalls;

impl Rule for Syscalls {
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn check(&self, w: &serde_json::Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        with::check::<With>(NAME, w)
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let p = plan(call).map_err(|e| e.failure(codes::V003, KEYS))?;
        trace_and_compare(call, &p)
    }
}

#[cfg(not(target_os = "linux"))]
fn trace_and_compare(_: &Call<'_>, _: &Plan) -> Result<Note, Failure> {
    Err(Failure::new(
        codes::V003,
        format!("{NAME} needs strace, which runs only on Linux"),
    )
    .hint("run this task on Linux (CI), or leave it out of the target you build here"))
}

#[cfg(target_os = "linux")]
fn trace_and_compare(call: &Call<'_>, p: &Plan) -> Result<Note, Failure> {
    use super::side::Side;

    let strace = super::run::resolve("tracer", "strace", call.root, &call.env).map_err(|_| {
        Failure::new(
            codes::T001,
            "strace not found on PATH: the syscalls rule traces programs with it".into(),
        )
        .hint("install it: apt-get install strace")
    })?;
    let existing: HashSet<String> = call.inputs.iter().cloned().collect();
    let mut traced = Vec::with_capacity(2);
    for side in Side::BOTH {
        let argv = side.pick(&p.with.original, &p.with.migrated);
        traced.push(linux::trace(call, p, &strace, side, argv, &existing)?);
    }
    let (orig, migr) = (&traced[0], &traced[1]);
    let (missing, extra) = super::behaviour::divergence(&orig.ops, &migr.ops);
    if !missing.is_empty() || !extra.is_empty() {
        return Err(divergence(&missing, &extra));
    }
    let doc = serde_json::json!({
        "rule": NAME,
        "equal": true,
        "operations": orig.ops.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "original": orig.json(&p.with.original),
        "migrated": migr.json(&p.with.migrated),
    });
    report::write_json(p.report.as_ref(), &doc).map_err(|e| e.failure(codes::V003))?;
    Ok(Note::new(format!(
        "same {} observable operations (original {} processes, migrated {})",
        orig.ops.len(),
        orig.processes,
        migr.processes
    )))
}

/// BATUTA-V-003: the operations only one side performed, as many as the andon shows.
fn divergence(missing: &[Op], extra: &[Op]) -> Failure {
    let mut lines: Vec<String> = missing.iter().map(|o| format!("missing: {o}")).collect();
    lines.extend(extra.iter().map(|o| format!("extra:   {o}")));
    let total = lines.len();
    if total > DETAIL_LINES {
        lines.truncate(DETAIL_LINES - 1);
        lines.push(format!("… {} more", total - (DETAIL_LINES - 1)));
    }
    Failure::of_kind(
        codes::V003,
        Kind::Divergence {
            missing: missing.len(),
            extra: extra.len(),
        },
        format!(
            "the migrated program's system calls diverge from the original's: {} missing, {} extra",
            missing.len(),
            extra.len()
        ),
    )
    .detail(lines.join("\n"))
    .hint("'missing' is what the original did and the migrated program did not; 'extra' the reverse")
    .hint("paths that differ for good reason (an interpreter reading its own sources) can be left out with `ignore: [GLOB]`")
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::{BTreeSet, HashSet};
    use std::path::Path;

    use batuta_engine::codes;
    use batuta_engine::rule::Call;
    use batuta_engine::rule::Failure;

    use super::super::behaviour::{self, Context, Op};
    use super::super::run::{self, Output, exit_text};
    use super::super::side::{self, Side};
    use super::super::strace;
    use super::Plan;

    pub struct Traced {
        pub ops: BTreeSet<Op>,
        pub processes: usize,
        pub exit: String,
    }

    impl Traced {
        pub fn json(&self, argv: &[String]) -> serde_json::Value {
            serde_json::json!({ "argv": argv, "exit": self.exit, "processes": self.processes })
        }
    }

    /// Runs one side under `strace -f -ff`, one trace file per process, kept outside the
    /// working copy so the trace is not part of what it records.
    pub fn trace(
        call: &Call<'_>,
        p: &Plan,
        strace: &Path,
        s: Side,
        argv: &[String],
        existing: &HashSet<String>,
    ) -> Result<Traced, Failure> {
        let fail = |e: super::super::error::RunError| e.failure(codes::V003);
        let copy = side::copy(call, s).map_err(fail)?;
        let traces = tempfile::Builder::new()
            .prefix("batuta-trace-")
            .tempdir()
            .map_err(|e| {
                Failure::new(
                    codes::V003,
                    format!("cannot create a folder for traces: {e}"),
                )
            })?;
        let program = run::resolve(s.name(), &argv[0], copy.path(), &call.env).map_err(fail)?;
        let mut args: Vec<String> = ["-f", "-ff", "-qq", "-y", "-e", "signal=none", "-e"]
            .map(str::to_owned)
            .to_vec();
        args.push(format!("trace={}", strace::TRACED));
        args.push("-o".to_owned());
        args.push(traces.path().join("trace").to_string_lossy().into_owned());
        args.push("--".to_owned());
        args.push(program.to_string_lossy().into_owned());
        args.extend(argv[1..].iter().cloned());
        let cmd = run::command(strace, &args, copy.path(), &call.env);
        let stdin = p.with.stdin.as_ref().map(|f| copy.path().join(f));
        let done = run::run(
            cmd,
            s.name(),
            &argv[0],
            stdin.as_deref(),
            Output::Separate,
            p.timeout,
            call.cancel,
        )
        .map_err(fail)?;
        let procs = strace::read_dir(traces.path(), "trace").map_err(|e| {
            Failure::new(
                codes::V003,
                format!("cannot read the traces of the {} program: {e}", s.name()),
            )
        })?;
        if procs.is_empty() {
            // strace itself failed: most often ptrace is not allowed here.
            return Err(Failure::new(codes::V003, format!("strace recorded nothing for the {} program", s.name()))
                .detail(String::from_utf8_lossy(&done.stderr).into_owned())
                .hint("strace needs ptrace: in a container, allow it (e.g. docker run --cap-add=SYS_PTRACE)"));
        }
        let cx = Context {
            root: copy.path(),
            existing,
            ignore: &p.ignore,
        };
        let ops = behaviour::behaviour(&procs, &cx).map_err(|e| {
            Failure::new(
                codes::V003,
                format!("cannot make sense of the {} program's trace: {e}", s.name()),
            )
        })?;
        let _ = copy.close();
        Ok(Traced {
            ops,
            processes: procs.len(),
            exit: exit_text(&done.status),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divergence_fits_the_andon() {
        let missing: Vec<Op> = (0..30).map(|i| Op::Write(format!("f{i}"))).collect();
        let extra = vec![Op::Exec("sh".into())];
        let f = divergence(&missing, &extra);
        assert_eq!(f.code, codes::V003);
        assert!(f.message.contains("30 missing, 1 extra"), "{}", f.message);
        assert_eq!(f.detail.lines().count(), DETAIL_LINES);
        assert!(f.detail.ends_with("… 12 more"), "{}", f.detail);
    }
}
