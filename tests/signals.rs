//! Stopping a build from outside: SIGINT, SIGTERM and SIGHUP cancel it alike (running
//! actions killed with their process groups, nothing half-written kept, the shell's exit
//! code 128 + the signal), and no process of an action outlives batuta, not even when
//! batuta itself is killed with SIGKILL (the children's parent-death signal).
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Files, wait_for};

/// One action that records its shell's pid and the pid of a background child it starts,
/// then waits; had it lived, it would have written its output after 30 s.
const SLOW: &str = r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      slow:
        run: [sh, -c, "echo $$ > shell.pid; (sleep 60) & echo $! > background.pid; touch started; sleep 30; cp {in} {out}"]
        each: "*.py"
        out: "{stem}.txt"
"#;

fn start(ws: &Files) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(ws.dir.path())
        .args(["build", "--format", "json"])
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn pid(ws: &Files, file: &str) -> i32 {
    ws.read(file).trim().parse().unwrap()
}

/// Whether a process is still there (and not a zombie waiting for its parent).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Wait up to a few seconds for every process of the action to be gone.
fn all_gone(pids: &[i32]) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        if !pids.iter().any(|p| alive(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: signalling a child this test spawned and has not reaped.
    unsafe { libc::kill(child.id() as i32, sig) };
}

fn cancelled_by(sig: libc::c_int) {
    let ws = Files::new(SLOW, &[("src/a.py", "a\n")]);
    let child = start(&ws);
    wait_for(&ws.path("started"));
    let pids = [pid(&ws, "shell.pid"), pid(&ws, "background.pid")];
    let t = Instant::now();
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    assert!(t.elapsed() < Duration::from_secs(10), "cancelled promptly");
    assert_eq!(
        out.status.code(),
        Some(128 + sig),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all_gone(&pids), "an action's process outlived batuta");
    assert!(!ws.path("out/a.txt").exists(), "no half-written output");
    let state: serde_json::Value = serde_json::from_str(&ws.read(".batuta-state.json")).unwrap();
    assert_eq!(state["phases"]["Transpilation"]["status"], "Failed");
}

#[test]
fn sigint_cancels_and_exits_130() {
    cancelled_by(libc::SIGINT);
}

#[test]
fn sigterm_cancels_as_sigint_does_and_exits_143() {
    cancelled_by(libc::SIGTERM);
}

#[test]
fn sighup_cancels_as_sigint_does_and_exits_129() {
    cancelled_by(libc::SIGHUP);
}

/// A batuta killed by SIGKILL cannot kill anything: each command it started gets SIGKILL
/// from the kernel (its parent-death signal). A process that command forked itself does
/// not inherit that signal; see the README.
#[test]
fn sigkill_of_batuta_takes_its_commands_with_it() {
    let ws = Files::new(SLOW, &[("src/a.py", "a\n")]);
    let mut child = start(&ws);
    wait_for(&ws.path("started"));
    let shell = pid(&ws, "shell.pid");
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    assert!(
        all_gone(&[shell]),
        "an action's command outlived a batuta killed by SIGKILL"
    );
    assert!(!Path::new(&ws.path("out/a.txt")).exists());
}
