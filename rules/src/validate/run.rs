//! Running one compared program: found without a shell, given only the declared
//! environment, bounded by a timeout, stopped on Ctrl-C, its output captured.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use super::error::RunError;

/// Where a program's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// stdout and stderr apart.
    Separate,
    /// Both into one stream, in the order they were written (cargo's progress on stderr
    /// tells which test binary the results on stdout belong to).
    Merged,
    /// Nowhere: a benchmark measures the program, not our pipe reading.
    Discard,
}

#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// With [`Output::Merged`], both streams.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

/// How a run ended, comparable between two programs and readable in a report.
pub fn exit_text(s: &ExitStatus) -> String {
    if let Some(c) = s.code() {
        return format!("exit code {c}");
    }
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(s) {
        return format!("killed by signal {sig}");
    }
    "ended without an exit code".to_owned()
}

/// The program a command line names: a path (with a '/') inside `cwd`, or a name found
/// on the PATH of `env`, the only environment the program gets.
pub fn resolve(
    side: &'static str,
    program: &str,
    cwd: &Path,
    env: &[(String, OsString)],
) -> Result<PathBuf, RunError> {
    if program.contains('/') {
        let p = cwd.join(program);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(RunError::NotInWorkingCopy {
                side,
                program: program.to_owned(),
                path: p,
            })
        };
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| is_executable_file(p))
        .ok_or_else(|| RunError::NotOnPath {
            side,
            program: program.to_owned(),
        })
}

fn is_executable_file(p: &Path) -> bool {
    let Ok(m) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        m.is_file() && m.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    m.is_file()
}

/// A command for `program` (already resolved) in `cwd` with exactly `env`.
pub fn command(program: &Path, args: &[String], cwd: &Path, env: &[(String, OsString)]) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    // Its own process group, so a timeout or Ctrl-C stops everything it started.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    c
}

/// Runs `cmd` to its end, or kills it at `limit` or when `cancel` is set.
pub fn run(
    mut cmd: Command,
    side: &'static str,
    program: &str,
    stdin: Option<&Path>,
    output: Output,
    limit: Duration,
    cancel: &AtomicBool,
) -> Result<Finished, RunError> {
    let spawn_err = |source| RunError::Spawn {
        side,
        program: program.to_owned(),
        source,
    };
    match stdin {
        Some(p) => {
            let f = std::fs::File::open(p)
                .map_err(|e| RunError::io(format!("cannot open stdin file {}", p.display()), e))?;
            cmd.stdin(f);
        }
        None => {
            cmd.stdin(Stdio::null());
        }
    }
    let mut merged_reader = None;
    match output {
        Output::Separate => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        Output::Discard => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        Output::Merged => {
            let (reader, writer) =
                std::io::pipe().map_err(|e| RunError::io("cannot create a pipe", e))?;
            let writer2 = writer
                .try_clone()
                .map_err(|e| RunError::io("cannot create a pipe", e))?;
            cmd.stdout(writer).stderr(writer2);
            merged_reader = Some(reader);
        }
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(spawn_err)?;
    // The command holds our copies of the merged pipe's write ends: drop them, or the
    // reader never sees the end of the stream.
    drop(cmd);
    let readers = (
        child.stdout.take().map(spawn_reader),
        child.stderr.take().map(spawn_reader),
        merged_reader.map(spawn_reader),
    );
    let status = wait(&mut child, limit, cancel, started);
    let elapsed = started.elapsed();
    // Whatever the program left running in the background would hold our pipes open:
    // nothing it started outlives the comparison.
    kill_group(&child);
    // A process that left our group (setsid) may still hold a pipe: wait a little for the
    // end of the output, never forever.
    let drain_until = Instant::now() + DRAIN;
    let collect = |r: Option<Reader>| r.map_or(Ok(Vec::new()), |r| r.finish(drain_until));
    let (out, err, merged) = (collect(readers.0), collect(readers.1), collect(readers.2));
    let (Ok(out), Ok(err), Ok(merged)) = (out, err, merged) else {
        return Err(RunError::io(
            format!("{side}: reading the output of '{program}'"),
            std::io::Error::other(format!(
                "a process it started outside its process group kept the output open for {}s after it ended",
                DRAIN.as_secs()
            )),
        ));
    };
    match status? {
        Waited::Exited(status) => Ok(Finished {
            status,
            stdout: if output == Output::Merged {
                merged
            } else {
                out
            },
            stderr: err,
            elapsed,
        }),
        Waited::TimedOut => Err(RunError::Timeout {
            side,
            program: program.to_owned(),
            limit,
        }),
        Waited::Cancelled => Err(RunError::Cancelled),
    }
}

enum Waited {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
}

/// Waits in short slices so Ctrl-C is noticed quickly, without polling the exit itself:
/// `wait_timeout` returns as soon as the child ends, which keeps benchmark timings exact.
fn wait(
    child: &mut Child,
    limit: Duration,
    cancel: &AtomicBool,
    started: Instant,
) -> Result<Waited, RunError> {
    const SLICE: Duration = Duration::from_millis(50);
    loop {
        if cancel.load(Ordering::SeqCst) {
            kill(child);
            return Ok(Waited::Cancelled);
        }
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            kill(child);
            return Ok(Waited::TimedOut);
        }
        match child.wait_timeout(left.min(SLICE)) {
            Ok(Some(status)) => return Ok(Waited::Exited(status)),
            Ok(None) => {}
            Err(e) => {
                kill(child);
                return Err(RunError::io("waiting for the program failed", e));
            }
        }
    }
}

fn kill(child: &mut Child) {
    kill_group(child);
    let _ = child.kill();
    let _ = child.wait();
}

fn kill_group(child: &Child) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group we created for
        // this child; it touches no memory of ours.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = child;
}

/// How long output may keep flowing after the program ended.
const DRAIN: Duration = Duration::from_secs(5);

/// A pipe read to its end on a thread of its own, so neither stream can block the other.
struct Reader(std::sync::mpsc::Receiver<Vec<u8>>);

impl Reader {
    fn finish(self, until: Instant) -> Result<Vec<u8>, std::sync::mpsc::RecvTimeoutError> {
        self.0
            .recv_timeout(until.saturating_duration_since(Instant::now()))
    }
}

fn spawn_reader(mut r: impl Read + Send + 'static) -> Reader {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    Reader(rx)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn env() -> Vec<(String, OsString)> {
        vec![(
            "PATH".to_owned(),
            std::env::var_os("PATH").unwrap_or_default(),
        )]
    }

    fn sh(script: &str, output: Output, limit: Duration) -> Result<Finished, RunError> {
        let dir = std::env::temp_dir();
        let p = resolve("original", "sh", &dir, &env()).unwrap();
        let cmd = command(&p, &["-c".to_owned(), script.to_owned()], &dir, &env());
        run(
            cmd,
            "original",
            "sh",
            None,
            output,
            limit,
            &AtomicBool::new(false),
        )
    }

    #[test]
    fn captures_both_streams_and_the_exit_code() {
        let f = sh(
            "echo out; echo err >&2; exit 3",
            Output::Separate,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(f.stdout, b"out\n");
        assert_eq!(f.stderr, b"err\n");
        assert_eq!(f.status.code(), Some(3));
        assert_eq!(exit_text(&f.status), "exit code 3");
    }

    #[test]
    fn merged_keeps_the_order() {
        let f = sh(
            "echo a; echo b >&2; echo c",
            Output::Merged,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(String::from_utf8_lossy(&f.stdout), "a\nb\nc\n");
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        let t = Instant::now();
        let e = sh(
            "sleep 30 & sleep 30",
            Output::Separate,
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(matches!(e, RunError::Timeout { .. }), "{e}");
        // The background sleep held stdout open; it must have been killed too.
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn an_escaped_process_holding_the_output_does_not_hang_us() {
        let t = Instant::now();
        // setsid leaves our process group, so the group kill misses the sleeper.
        let e = sh(
            "setsid sleep 20 & sleep 0.5; echo done",
            Output::Separate,
            Duration::from_secs(60),
        )
        .unwrap_err();
        assert!(e.to_string().contains("kept the output open for 5s"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(15));
    }

    #[test]
    fn programs_are_found_on_the_given_path_only() {
        let e = resolve("migrated", "sh", Path::new("/"), &[]).unwrap_err();
        assert!(matches!(e, RunError::NotOnPath { .. }));
        let e = resolve("migrated", "bin/x", Path::new("/nonexistent"), &env()).unwrap_err();
        assert!(e.to_string().contains("not in the working copy"), "{e}");
    }
}
