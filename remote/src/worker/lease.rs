//! One lease: its Action fetched and checked, its input root written into a clean folder,
//! the command run with only its own environment, what it wrote uploaded, and the lease
//! completed with the ActionResult (or the reason it could not run).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use bazel_remote_apis::google::protobuf::Timestamp;
use bazel_remote_apis::google::rpc::Status as RpcStatus;
use prost::Message;
use tonic::Status;

use crate::bots::{self, Lease, LeaseState};
use crate::digests::{matches, sha256, show, well_formed};
use crate::grpc::Conn;
use crate::tree::name_ok;

const ACTION_RESULT: &str = "build.bazel.remote.execution.v2.ActionResult";

/// How the session loop stops a lease's command: the server cancelled the lease, or the
/// worker is stopping. A command not started yet never starts; a running one is killed
/// with its whole process group.
#[derive(Clone, Default)]
pub(super) struct Cancel(Arc<std::sync::Mutex<CancelState>>);

#[derive(Default)]
enum CancelState {
    #[default]
    NotStarted,
    Running(u32),
    Cancelled,
}

impl Cancel {
    pub(super) fn cancel(&self) {
        let mut s = self.0.lock().expect("cancel lock");
        if let CancelState::Running(pid) = *s {
            // SAFETY: kill(2) on the process group of a command of ours, still Running under
            // this lock: at worst it has just exited and the call fails with ESRCH.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
        *s = CancelState::Cancelled;
    }
}

/// Run one lease's Action; the lease comes back completed, with the ActionResult or the
/// reason the action could not run.
pub(super) async fn run_lease(
    conn: Conn,
    lease: Lease,
    work_dir: &Path,
    bot: &str,
    cancel: Cancel,
) -> Lease {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = work_dir.join(format!("{}-{n}", std::process::id()));
    let outcome = execute_lease(conn, &lease, &dir, bot, cancel).await;
    let _ = std::fs::remove_dir_all(&dir);
    let (result, status) = match outcome {
        Ok(r) => (Some(bots::pack(ACTION_RESULT, &r)), RpcStatus::default()),
        Err(s) => {
            eprintln!("batuta worker {bot}: lease {}: {}", lease.id, s.message());
            (
                None,
                RpcStatus {
                    code: s.code() as i32,
                    message: s.message().to_owned(),
                    details: Vec::new(),
                },
            )
        }
    };
    Lease {
        id: lease.id,
        state: LeaseState::Completed as i32,
        result,
        status: Some(status),
        ..Default::default()
    }
}

async fn execute_lease(
    mut conn: Conn,
    lease: &Lease,
    dir: &Path,
    bot: &str,
    cancel: Cancel,
) -> Result<re::ActionResult, Status> {
    let started = now();
    let payload = lease
        .payload
        .as_ref()
        .ok_or_else(|| Status::invalid_argument("the lease carries no action"))?;
    let action = if payload
        .type_url
        .ends_with("/build.bazel.remote.execution.v2.Action")
    {
        decode::<re::Action>(&payload.value)?
    } else if payload
        .type_url
        .ends_with("/build.bazel.remote.execution.v2.Digest")
    {
        let d = decode::<re::Digest>(&payload.value)?;
        decode::<re::Action>(&fetch(&mut conn, &d).await?)?
    } else {
        return Err(Status::invalid_argument(format!(
            "a lease payload of type {} is not an action",
            payload.type_url
        )));
    };
    let command_digest = action
        .command_digest
        .ok_or_else(|| Status::invalid_argument("the action has no command"))?;
    let command = decode::<re::Command>(&fetch(&mut conn, &command_digest).await?)?;
    if command.arguments.is_empty() {
        return Err(Status::invalid_argument("the command has no arguments"));
    }
    eprintln!(
        "batuta worker {bot}: lease {}: running {}",
        lease.id,
        command.arguments.join(" ")
    );
    let root = action
        .input_root_digest
        .ok_or_else(|| Status::invalid_argument("the action has no input root"))?;
    std::fs::create_dir_all(dir).map_err(|e| local_failure("create its folder", &e))?;
    let fetched = now();
    materialize(&mut conn, &root, dir).await?;
    #[allow(deprecated)]
    let outputs: Vec<String> = if command.output_paths.is_empty() {
        command.output_files.clone()
    } else {
        command.output_paths.clone()
    };
    for out in &outputs {
        let rel = relative(out)?;
        if let Some(parent) = dir.join(rel).parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| local_failure("create an output's folder", &e))?;
        }
    }
    let cwd = dir.join(relative(&command.working_directory)?);
    let timeout = action
        .timeout
        .and_then(|t| u64::try_from(t.seconds).ok())
        .filter(|s| *s > 0)
        .map(Duration::from_secs);
    let exec_start = now();
    let run = {
        let command = command.clone();
        tokio::task::spawn_blocking(move || spawn(&command, &cwd, timeout, &cancel))
            .await
            .map_err(|e| Status::internal(format!("the run was lost: {e}")))??
    };
    let exec_done = now();
    let mut blobs: Vec<(re::Digest, Vec<u8>)> = Vec::new();
    let mut output_files = Vec::new();
    for out in &outputs {
        let path = dir.join(relative(out)?);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue; // not written: the client decides what that means
        };
        if !meta.is_file() {
            continue; // folders and links are not batuta outputs
        }
        let bytes = std::fs::read(&path).map_err(|e| local_failure("read an output", &e))?;
        let d = sha256(&bytes);
        output_files.push(re::OutputFile {
            path: out.clone(),
            digest: Some(d.clone()),
            is_executable: batuta_engine::cache::is_executable(&meta),
            ..Default::default()
        });
        blobs.push((d, bytes));
    }
    let (stdout, stderr) = (sha256(&run.stdout), sha256(&run.stderr));
    blobs.push((stdout.clone(), run.stdout));
    blobs.push((stderr.clone(), run.stderr));
    blobs.sort_by(|a, b| a.0.hash.cmp(&b.0.hash));
    blobs.dedup_by(|a, b| a.0 == b.0);
    let all: Vec<re::Digest> = blobs.iter().map(|b| b.0.clone()).collect();
    let missing = conn.find_missing(&all).await?;
    conn.write_blobs(
        blobs
            .into_iter()
            .filter(|b| missing.contains(&b.0))
            .collect(),
    )
    .await?;
    Ok(re::ActionResult {
        output_files,
        exit_code: run.code,
        stdout_digest: Some(stdout),
        stderr_digest: Some(stderr),
        execution_metadata: Some(re::ExecutedActionMetadata {
            worker: bot.to_owned(),
            worker_start_timestamp: Some(started),
            input_fetch_start_timestamp: Some(fetched),
            input_fetch_completed_timestamp: Some(exec_start),
            execution_start_timestamp: Some(exec_start),
            execution_completed_timestamp: Some(exec_done),
            worker_completed_timestamp: Some(now()),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// What a command left: its exit code and its two streams.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Start the command with only its own environment (plus this worker's PATH and HOME, so
/// programs are found as the worker's owner installed them) and wait for it.
fn spawn(
    command: &re::Command,
    cwd: &Path,
    timeout: Option<Duration>,
    cancel: &Cancel,
) -> Result<Run, Status> {
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(&command.arguments[0]);
    cmd.args(&command.arguments[1..])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear();
    for name in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    for v in &command.environment_variables {
        cmd.env(&v.name, &v.value);
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = {
        let mut state = cancel.0.lock().expect("cancel lock");
        if matches!(*state, CancelState::Cancelled) {
            return Err(Status::cancelled("the lease was cancelled"));
        }
        let child = cmd.spawn().map_err(|e| {
            Status::failed_precondition(format!(
                "this worker cannot start '{}': {e}",
                command.arguments[0]
            ))
        })?;
        *state = CancelState::Running(child.id());
        child
    };
    let pid = child.id();
    // A timeout kills the whole group; the wait then returns.
    let timed_out = Arc::new(AtomicBool::new(false));
    let killer = timeout.map(|t| {
        let flag = timed_out.clone();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            if rx.recv_timeout(t).is_err() {
                flag.store(true, Ordering::SeqCst);
                // SAFETY: kill(2) on the process group of our own child, not yet reaped.
                unsafe {
                    libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
                }
            }
        });
        (tx, handle)
    });
    // Once waited for, the command is marked done so `Cancel` leaves its group alone.
    let out = {
        let out = child.wait_with_output();
        let mut state = cancel.0.lock().expect("cancel lock");
        let cancelled = matches!(*state, CancelState::Cancelled);
        *state = CancelState::Cancelled;
        if cancelled {
            return Err(Status::cancelled("the lease was cancelled"));
        }
        out.map_err(|e| Status::internal(format!("waiting for the command failed: {e}")))?
    };
    if let Some((tx, handle)) = killer {
        let _ = tx.send(());
        let _ = handle.join();
    }
    if timed_out.load(Ordering::SeqCst) {
        return Err(Status::deadline_exceeded("the action ran past its timeout"));
    }
    Ok(Run {
        code: out.status.code().unwrap_or(128 + 9),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Write the input root under `dir`, every blob checked against its digest and every name
/// against escaping the folder.
async fn materialize(conn: &mut Conn, root: &re::Digest, dir: &Path) -> Result<(), Status> {
    let mut level: Vec<(PathBuf, re::Digest)> = vec![(dir.to_path_buf(), root.clone())];
    let mut files: Vec<(PathBuf, re::Digest, bool)> = Vec::new();
    while !level.is_empty() {
        let digests: Vec<re::Digest> = level.iter().map(|l| l.1.clone()).collect();
        let blobs = read_verified(conn, &digests).await?;
        let mut next = Vec::new();
        for ((path, _), bytes) in level.iter().zip(blobs) {
            let d = decode::<re::Directory>(&bytes)?;
            if !d.symlinks.is_empty() {
                return Err(Status::invalid_argument(
                    "the input root holds symbolic links, which this worker does not make",
                ));
            }
            for f in d.files {
                let name = checked(&f.name)?;
                let digest = f
                    .digest
                    .ok_or_else(|| Status::invalid_argument("a file without a digest"))?;
                files.push((path.join(name), digest, f.is_executable));
            }
            for sub in d.directories {
                let name = checked(&sub.name)?;
                let p = path.join(name);
                std::fs::create_dir_all(&p)
                    .map_err(|e| local_failure("create an input folder", &e))?;
                let digest = sub
                    .digest
                    .ok_or_else(|| Status::invalid_argument("a folder without a digest"))?;
                next.push((p, digest));
            }
        }
        level = next;
    }
    let digests: Vec<re::Digest> = files.iter().map(|f| f.1.clone()).collect();
    let blobs = read_verified(conn, &digests).await?;
    for ((path, _, executable), bytes) in files.iter().zip(blobs) {
        std::fs::write(path, bytes).map_err(|e| local_failure("write an input", &e))?;
        if *executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| local_failure("make an input executable", &e))?;
        }
    }
    Ok(())
}

async fn fetch(conn: &mut Conn, d: &re::Digest) -> Result<Vec<u8>, Status> {
    Ok(read_verified(conn, std::slice::from_ref(d))
        .await?
        .pop()
        .expect("one blob asked, one given"))
}

/// The blobs, each checked against its SHA-256; a missing one is the client's to upload
/// again (FAILED_PRECONDITION, as REAPI says).
async fn read_verified(conn: &mut Conn, digests: &[re::Digest]) -> Result<Vec<Vec<u8>>, Status> {
    if let Some(bad) = digests.iter().find(|d| !well_formed(d)) {
        return Err(Status::invalid_argument(format!(
            "a malformed digest {}",
            show(bad)
        )));
    }
    let got = conn.read_blobs(digests, Vec::new()).await?;
    digests
        .iter()
        .zip(got)
        .map(|(d, b)| match b {
            Some(bytes) if matches(d, &bytes) => Ok(bytes),
            Some(_) => Err(Status::data_loss(format!(
                "blob {} does not match its digest",
                show(d)
            ))),
            None => Err(Status::failed_precondition(format!(
                "blob {} is missing",
                show(d)
            ))),
        })
        .collect()
}

fn checked(name: &str) -> Result<&str, Status> {
    if name_ok(name) {
        Ok(name)
    } else {
        Err(Status::invalid_argument(format!("an input named '{name}'")))
    }
}

/// A relative path that stays inside the action's folder.
fn relative(p: &str) -> Result<&Path, Status> {
    if p.is_empty()
        || p.split('/').all(|part| name_ok(part) || part.is_empty()) && !p.starts_with('/')
    {
        Ok(Path::new(p))
    } else {
        Err(Status::invalid_argument(format!(
            "a path '{p}' that leaves the action's folder"
        )))
    }
}

fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, Status> {
    M::decode(bytes).map_err(|e| Status::invalid_argument(format!("a malformed message: {e}")))
}

fn local_failure(what: &str, e: &std::io::Error) -> Status {
    Status::internal(format!("the worker could not {what}: {e}"))
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tonic::Code;

    #[test]
    fn paths_stay_inside_the_folder() {
        assert!(relative("out/a.txt").is_ok());
        assert!(relative("").is_ok());
        assert!(relative("../a").is_err());
        assert!(relative("/etc/passwd").is_err());
        assert!(relative("a/../../b").is_err());
        assert!(checked("..").is_err() && checked("a/b").is_err() && checked("ok.py").is_ok());
    }

    #[test]
    fn a_command_runs_with_only_its_environment() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = re::Command {
            arguments: vec![
                "sh".into(),
                "-c".into(),
                "echo $GREETING; echo $SECRET >&2; exit 3".into(),
            ],
            environment_variables: vec![re::command::EnvironmentVariable {
                name: "GREETING".into(),
                value: "hello".into(),
            }],
            ..Default::default()
        };
        // SAFETY: tests in this binary read no SECRET.
        unsafe { std::env::set_var("SECRET", "leaked") };
        let run = spawn(&cmd, dir.path(), None, &Cancel::default()).unwrap();
        assert_eq!(
            (run.code, run.stdout.as_slice(), run.stderr.as_slice()),
            (3, b"hello\n".as_slice(), b"\n".as_slice())
        );
        let slow = re::Command {
            arguments: vec!["sleep".into(), "5".into()],
            ..Default::default()
        };
        let t = Instant::now();
        let e = spawn(
            &slow,
            dir.path(),
            Some(Duration::from_millis(200)),
            &Cancel::default(),
        )
        .err()
        .unwrap();
        assert_eq!(e.code(), Code::DeadlineExceeded);
        assert!(t.elapsed() < Duration::from_secs(3));
        let missing = re::Command {
            arguments: vec!["no-such-program-here".into()],
            ..Default::default()
        };
        assert_eq!(
            spawn(&missing, dir.path(), None, &Cancel::default())
                .err()
                .unwrap()
                .code(),
            Code::FailedPrecondition
        );
    }

    #[test]
    fn a_cancelled_command_is_killed_or_never_started() {
        let dir = tempfile::tempdir().unwrap();
        let slow = re::Command {
            arguments: vec!["sh".into(), "-c".into(), "sleep 30 & sleep 30".into()],
            ..Default::default()
        };
        let cancel = Cancel::default();
        let t = Instant::now();
        let running = {
            let (cancel, dir) = (cancel.clone(), dir.path().to_path_buf());
            let slow = slow.clone();
            std::thread::spawn(move || spawn(&slow, &dir, None, &cancel))
        };
        while !matches!(*cancel.0.lock().unwrap(), CancelState::Running(_)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        cancel.cancel();
        let e = running.join().unwrap().err().unwrap();
        assert_eq!(e.code(), Code::Cancelled);
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the whole group was killed"
        );
        // Cancelled before it started: it never starts.
        let e = spawn(&slow, dir.path(), None, &cancel).err().unwrap();
        assert_eq!(e.code(), Code::Cancelled);
    }
}
