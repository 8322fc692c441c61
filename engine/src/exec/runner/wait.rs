//! Waiting for a started child: its output read as it comes (so a full pipe never blocks
//! it), its end noticed as it happens, a timeout that kills it, and, once it has exited,
//! its whole process group killed. A background child that kept stdout open would
//! otherwise hold the action until it exited itself, and outlive it.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::spawn::Started;

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Code(i32),
    Signal(i32),
    /// It ran past its timeout and was killed.
    TimedOut,
}

#[derive(Debug)]
pub struct Exited {
    pub status: Status,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Kill a child's whole process group (the child leads its own: see `spawn`).
pub fn kill_group(pid: libc::pid_t) {
    // SAFETY: kill(2) on the group of a child we started and have not reaped: its pid
    // cannot be reused while the child is unreaped, so the group is still ours. At worst
    // the group is empty and the signal goes nowhere.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A descriptor that becomes readable when the child exits (Linux 5.3 and later).
#[cfg(target_os = "linux")]
fn pidfd(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open on our own child; the descriptor returned is ours to own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a fresh descriptor, owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

#[cfg(not(target_os = "linux"))]
fn pidfd(_: libc::pid_t) -> Option<OwnedFd> {
    None
}

/// Whether the child has exited, without reaping it (its pid, and so its group, stays
/// reserved until we do).
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: siginfo_t is plain data that waitid fills.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child, without waiting and without reaping.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is set by a successful waitid that found a child.
    r == 0 && unsafe { info.si_pid() } != 0
}

/// Read what is there without waiting; `false` once the pipe is closed.
fn drain(fd: &OwnedFd, into: &mut Vec<u8>) -> bool {
    let mut f = std::mem::ManuallyDrop::new(
        // SAFETY: borrowed for the reads below; ManuallyDrop keeps it from being closed.
        unsafe { std::fs::File::from_raw_fd(fd.as_raw_fd()) },
    );
    let mut buf = [0u8; 16 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // WouldBlock: nothing more for now.
            Err(_) => return true,
        }
    }
}

/// Wait for the child to exit (or for `timeout`), reading its output as it comes; then
/// kill what is left of its group, take what is still buffered, and reap it.
pub fn wait(child: Started, timeout: Option<Duration>) -> io::Result<Exited> {
    let Started {
        pid,
        stdout,
        stderr,
    } = child;
    set_nonblocking(&stdout)?;
    set_nonblocking(&stderr)?;
    let exit_fd = pidfd(pid);
    let deadline = timeout.map(|t| Instant::now() + t);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut out_open, mut err_open) = (true, true);
    let mut timed_out = false;
    loop {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(3);
        let mut watch = |fd: &OwnedFd, open: bool| {
            if open {
                fds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
        };
        watch(&stdout, out_open);
        watch(&stderr, err_open);
        if let Some(fd) = &exit_fd {
            watch(fd, true);
        }
        // Without a pidfd the exit is noticed by looking: often, but not busily.
        let mut wait_ms: i64 = if exit_fd.is_some() { 1000 } else { 10 };
        if let Some(d) = deadline.filter(|_| !timed_out) {
            let left = d.saturating_duration_since(Instant::now()).as_millis() as i64;
            wait_ms = wait_ms.min(left.max(0) + 1);
        }
        // SAFETY: poll on descriptors we own, described by the array we pass.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait_ms as i32) };
        if out_open {
            out_open = drain(&stdout, &mut out);
        }
        if err_open {
            err_open = drain(&stderr, &mut err);
        }
        if has_exited(pid) {
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) && !timed_out {
            kill_group(pid);
            timed_out = true;
        }
    }
    // What the action left running in its group goes with it; what it wrote before is
    // still in the pipes.
    kill_group(pid);
    if out_open {
        drain(&stdout, &mut out);
    }
    if err_open {
        drain(&stderr, &mut err);
    }
    let mut raw = 0;
    // SAFETY: reaps the child that `has_exited` saw exit.
    if unsafe { libc::waitpid(pid, &mut raw, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let status = if timed_out {
        Status::TimedOut
    } else if libc::WIFEXITED(raw) {
        Status::Code(libc::WEXITSTATUS(raw))
    } else {
        Status::Signal(libc::WTERMSIG(raw))
    };
    Ok(Exited {
        status,
        stdout: out,
        stderr: err,
    })
}

#[cfg(test)]
mod tests {
    use super::super::spawn::{Spawn, spawn};
    use super::*;
    use std::path::Path;

    fn sh(script: &str, timeout: Option<Duration>) -> (Exited, Duration) {
        let argv: Vec<String> = vec!["sh".into(), "-c".into(), script.into()];
        let env = vec![("PATH".to_owned(), "/usr/bin:/bin".into())];
        let t = Instant::now();
        let child = spawn(&Spawn {
            program: Path::new("/bin/sh"),
            argv: &argv,
            env: &env,
            dir: Path::new("/"),
        })
        .unwrap();
        let e = wait(child, timeout).unwrap();
        (e, t.elapsed())
    }

    #[test]
    fn output_larger_than_a_pipe_is_read_whole() {
        let (e, _) = sh("head -c 1000000 /dev/zero; echo done >&2", None);
        assert_eq!(e.status, Status::Code(0));
        assert_eq!(e.stdout.len(), 1_000_000);
        assert_eq!(e.stderr, b"done\n");
    }

    #[test]
    fn a_background_child_holding_stdout_does_not_hold_the_action() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let script = format!(
            "(sleep 3; touch {}) & echo started; exit 0",
            marker.display()
        );
        let (e, took) = sh(&script, None);
        assert_eq!(e.status, Status::Code(0));
        assert_eq!(e.stdout, b"started\n");
        assert!(took < Duration::from_secs(2), "held for {took:?}");
        std::thread::sleep(Duration::from_millis(3500));
        assert!(!marker.exists(), "the background child outlived its action");
    }

    #[test]
    fn a_timeout_kills_the_whole_group_and_says_so() {
        let (e, took) = sh(
            "echo before; sleep 30 & sleep 30",
            Some(Duration::from_millis(300)),
        );
        assert_eq!(e.status, Status::TimedOut);
        assert_eq!(e.stdout, b"before\n");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn exit_codes_and_signals_are_told_apart() {
        assert_eq!(sh("exit 7", None).0.status, Status::Code(7));
        assert_eq!(
            sh("kill -TERM $$", None).0.status,
            Status::Signal(libc::SIGTERM)
        );
    }
}
