//! The local process runner: a command action spawned here, without a shell, with only its
//! declared environment, in a process group of its own that cannot outlive batuta (see
//! `spawn`), waited for with its timeout (see `wait`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::spawn::{Spawn, spawn};
use super::wait::{Exited, Status, kill_group, wait};
use super::{Ran, Runner, Slots};
use crate::cache::is_executable;
use crate::codes;
use crate::exec::staging::{Staging, StagingPool};
use crate::graph::{Action, ActionKind};
use crate::manifest::{Manifest, Phase};
use crate::rule::Failure;
use crate::rule::failure::Kind;

pub(crate) struct Process<'a> {
    pub m: &'a Manifest,
    pub root: &'a Path,
    pub cancel: &'a AtomicBool,
    /// Where commands told where to write do their writing (see `exec::staging`).
    pub staging: StagingPool,
    /// When the remote executes, `-j` counts remote runs; commands here take one of these.
    pub local_slots: Option<&'a Slots>,
    /// The process group of each running command, with its action's id.
    running: Mutex<HashMap<libc::pid_t, String>>,
    /// Programs found on PATH, by name, so each is looked up once per build.
    programs: Mutex<HashMap<String, Option<PathBuf>>>,
}

impl<'a> Process<'a> {
    pub fn new(
        m: &'a Manifest,
        cancel: &'a AtomicBool,
        local_slots: Option<&'a Slots>,
    ) -> Process<'a> {
        Process {
            m,
            root: &m.root,
            cancel,
            staging: StagingPool::new(&m.root),
            local_slots,
            running: Mutex::new(HashMap::new()),
            programs: Mutex::new(HashMap::new()),
        }
    }

    /// Where `program` is: as written when it names a path, else found on PATH once.
    fn resolve(&self, program: &str) -> io::Result<PathBuf> {
        let mut known = self.programs.lock().expect("programs lock");
        let found = known
            .entry(program.to_owned())
            .or_insert_with(|| find_program(program));
        found.clone().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{program} not on PATH"))
        })
    }

    /// Spawn and wait; the child is killed with the rest if the build is cancelled.
    fn spawn_wait(&self, a: &Action, argv: &[String]) -> Result<Exited, Failure> {
        let program = self
            .resolve(&argv[0])
            .map_err(|e| self.spawn_error(a, argv, e))?;
        let env = child_env(a);
        let started = spawn(&Spawn {
            program: &program,
            argv,
            env: &env,
            dir: self.root,
        })
        .map_err(|e| self.spawn_error(a, argv, e))?;
        let pid = started.pid;
        {
            let mut running = self.running.lock().expect("running lock");
            running.insert(pid, a.id.clone());
            // Cancelled between the builder's check and this spawn: the kill of what runs
            // has passed already, so this child is killed here.
            if self.cancel.load(Ordering::SeqCst) {
                kill_group(pid);
            }
        }
        let exited = wait(started, a.timeout);
        self.running.lock().expect("running lock").remove(&pid);
        exited.map_err(|e| not_run(argv, format!("waiting for '{}' failed: {e}", argv[0])))
    }

    fn spawn_error(&self, a: &Action, argv: &[String], e: io::Error) -> Failure {
        match (e.kind(), &a.kind) {
            (io::ErrorKind::NotFound, ActionKind::Command { tool: Some(t), .. }) => {
                let tool = self.m.tool(t).expect("validated tool");
                tool_missing(t, &argv[0], tool.install.as_deref(), &e)
            }
            (io::ErrorKind::NotFound, _) => Failure::of_kind(
                if a.phase == Phase::Transpile {
                    codes::T001
                } else {
                    codes::E004
                },
                Kind::ToolMissing {
                    tool: None,
                    program: argv[0].clone(),
                    install: None,
                },
                format!("program '{}' not found on PATH", argv[0]),
            )
            .hint("install it, or write its full path in the task's `run`"),
            _ => not_run(argv, format!("cannot start '{}': {e}", argv[0])),
        }
    }
}

/// A command that could not be started or waited for (BATUTA-E-004, with no exit code).
fn not_run(argv: &[String], message: String) -> Failure {
    Failure::of_kind(
        codes::E004,
        Kind::Command {
            program: argv[0].clone(),
            exit_code: None,
            log: None,
        },
        message,
    )
}

impl Runner for Process<'_> {
    fn run(&self, a: &Action) -> Option<Result<Ran, Failure>> {
        let ActionKind::Command { argv, .. } = &a.kind else {
            return None;
        };
        let _slot = self.local_slots.map(Slots::take);
        Some((|| {
            let staged = Staging::prepare(&self.staging, a, argv)?;
            let exited = match &staged {
                Some((_, staged_argv)) => self.spawn_wait(a, staged_argv)?,
                None => self.spawn_wait(a, argv)?,
            };
            let how = match exited.status {
                Status::Code(0) => None,
                Status::Code(c) => Some((Some(c), format!("exited with code {c}"))),
                Status::Signal(_) => Some((None, "was killed by a signal".to_owned())),
                Status::TimedOut => {
                    let seconds = a.timeout.unwrap_or_default().as_secs();
                    return Err(Failure::of_kind(
                        codes::E003,
                        Kind::TimedOut { seconds },
                        format!(
                            "{} ran past its timeout of {seconds} s and was killed",
                            argv[0]
                        ),
                    )
                    .detail(output_text(&exited.stdout, &exited.stderr)));
                }
            };
            if let Some((code, how)) = how {
                return Err(command_failed(
                    argv,
                    code,
                    &how,
                    &exited.stdout,
                    &exited.stderr,
                ));
            }
            if let Some((staging, _)) = &staged {
                staging.finish(self.root, a, &argv[0])?;
            }
            Ok(Ran {
                program: argv[0].clone(),
                stdout: exited.stdout,
                stderr: exited.stderr,
                report: String::new(),
                worker: None,
            })
        })())
    }

    fn kill_all(&self) {
        for pid in self.running.lock().expect("running lock").keys() {
            kill_group(*pid);
        }
    }
}

/// `program` as written when it names a path, else the first executable file of that
/// name in a PATH folder. Resolving here, not in the child, spares the child a failed exec
/// per PATH entry.
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(program.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && is_executable(&m)))
}

/// The environment every child of an action gets: PATH and HOME, which finding programs
/// needs, and the names the task declares. Nothing else of batuta's reaches it.
pub(crate) fn child_env(a: &Action) -> Vec<(String, OsString)> {
    clean_env(a.env.iter().map(String::as_str))
}

/// PATH, HOME and `names`, with their values here.
pub(crate) fn clean_env<'n>(names: impl Iterator<Item = &'n str>) -> Vec<(String, OsString)> {
    ["PATH", "HOME"]
        .into_iter()
        .chain(names)
        .filter_map(|name| std::env::var_os(name).map(|v| (name.to_owned(), v)))
        .collect()
}

/// What a program printed when asked (its version): stdout then stderr, trimmed. It runs
/// like an action's command: no shell, only PATH, HOME and `env`, in `dir`, for at most
/// `timeout`, and in a process group that dies with batuta.
pub(crate) fn probe_output(
    program: &Path,
    args: &[String],
    env: &[(String, OsString)],
    dir: &Path,
    timeout: Duration,
) -> io::Result<String> {
    let mut argv = vec![program.to_string_lossy().into_owned()];
    argv.extend(args.iter().cloned());
    let exited = wait(
        spawn(&Spawn {
            program,
            argv: &argv,
            env,
            dir,
        })?,
        Some(timeout),
    )?;
    if exited.status == Status::TimedOut {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("it did not answer within {} s", timeout.as_secs()),
        ));
    }
    let mut v = String::from_utf8_lossy(&exited.stdout).into_owned();
    v.push_str(&String::from_utf8_lossy(&exited.stderr));
    Ok(v.trim().to_owned())
}

/// A command's output for people: stderr, then what it said on stdout (some tools,
/// linters among them, report there).
fn output_text(stdout: &[u8], stderr: &[u8]) -> String {
    let mut detail = String::from_utf8_lossy(stderr).into_owned();
    if !stdout.iter().all(u8::is_ascii_whitespace) {
        if !detail.is_empty() && !detail.ends_with('\n') {
            detail.push('\n');
        }
        detail.push_str(&String::from_utf8_lossy(stdout));
    }
    detail
}

/// A command that failed (BATUTA-E-004 until a phase rule recognises why), with its output.
pub(crate) fn command_failed(
    argv: &[String],
    exit_code: Option<i32>,
    how: &str,
    stdout: &[u8],
    stderr: &[u8],
) -> Failure {
    Failure::of_kind(
        codes::E004,
        Kind::Command {
            program: argv[0].clone(),
            exit_code,
            log: None,
        },
        format!("{} {how}", argv[0]),
    )
    .detail(output_text(stdout, stderr))
}

/// BATUTA-T-001: a declared tool cannot be found or started.
pub(crate) fn tool_missing(
    name: &str,
    command: &str,
    install: Option<&str>,
    e: &io::Error,
) -> Failure {
    let what = if e.kind() == io::ErrorKind::NotFound {
        format!("tool '{name}' not found: '{command}' is not on PATH")
    } else {
        format!("tool '{name}' ('{command}') cannot run: {e}")
    };
    let f = Failure::of_kind(
        codes::T001,
        Kind::ToolMissing {
            tool: Some(name.to_owned()),
            program: command.to_owned(),
            install: install.map(str::to_owned),
        },
        what,
    );
    match install {
        Some(i) => f.hint(format!("install it with: {i}")),
        None => f.hint(format!(
            "install '{command}', or set `tools.{name}.command` to its path"
        )),
    }
}
