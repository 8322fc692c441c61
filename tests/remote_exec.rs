//! End-to-end tests of remote execution against a real BuildGrid (Execution and Bots
//! services, its scheduler in PostgreSQL) with `batuta worker` processes as its bots:
//! remote runs give what local runs give, a clean checkout then executes nothing, a worker
//! killed mid-action has its action retried on another, a server that stops mid-build
//! leaves the rest of the build to this machine.

use std::io::BufRead;
use std::process::{Command as Std, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

mod common;
mod remote_server;

use common::{events, summary};
use remote_server::grid::{Postgres, Worker, executing_server, executing_server_with};

/// Each Python file is "transpiled" by a command that also leaves a stray file in its
/// folder (which stays on the worker); one task stays local; one joins two outputs.
fn manifest(remote: &str, sleep: &str) -> String {
    format!(
        r#"version: 1
project: {{ name: grid, source: src, output: out }}
{remote}
stages:
  transpile:
    tasks:
      copy:
        run: [sh, -c, "{sleep}echo stray > stray.log; tr a-z A-Z < {{in}} > {{out}}; echo converted {{path}}"]
        each: "**/*.py"
        out: "{{dir}}/{{stem}}.txt"
      here:
        run: [sh, -c, "echo here > out/here.txt"]
        outputs: [out/here.txt]
        local: true
  validate:
    needs: [transpile]
    tasks:
      join:
        run: [sh, -c, "cat out/a.txt out/pkg/c.txt > out/joined.txt; chmod +x out/joined.txt"]
        inputs: [out/a.txt, out/pkg/c.txt]
        outputs: [out/joined.txt]
"#
    )
}

const OUTPUTS: [&str; 5] = [
    "out/a.txt",
    "out/b.txt",
    "out/pkg/c.txt",
    "out/here.txt",
    "out/joined.txt",
];

fn checkout(remote: &str, sleep: &str) -> common::Files {
    common::Files::new(
        &manifest(remote, sleep),
        &[
            ("src/a.py", "print('a')\n"),
            ("src/b.py", "print('b')\n"),
            ("src/pkg/c.py", "print('c')\n"),
        ],
    )
}

fn cmd(files: &common::Files) -> Command {
    let mut c = Command::cargo_bin("batuta").unwrap();
    c.current_dir(files.dir.path())
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", files.path(".batuta/cache"))
        .env_remove("RUST_LOG");
    c
}

fn build(files: &common::Files, args: &[&str]) -> (i32, Vec<Value>) {
    let out = cmd(files)
        .args(["build", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), events(&out))
}

/// A build running in the background, its JSON events on a pipe.
fn spawn_build(files: &common::Files, args: &[&str]) -> std::process::Child {
    Std::new(env!("CARGO_BIN_EXE_batuta"))
        .current_dir(files.dir.path())
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", files.path(".batuta/cache"))
        .args(["build", "--format", "json"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn actions(ev: &[Value]) -> Vec<&Value> {
    ev.iter().filter(|e| e["event"] == "action").collect()
}

fn warnings(ev: &[Value]) -> Vec<&str> {
    ev.iter()
        .filter(|e| e["event"] == "warning")
        .map(|e| e["message"].as_str().unwrap())
        .collect()
}

#[test]
fn remote_execution_gives_what_local_execution_gives() {
    let pg = Postgres::start();
    let server = executing_server(&pg, 10);
    let work = tempfile::tempdir().unwrap();
    let w1 = Worker::start(&server, "w1", 2, work.path());
    let w2 = Worker::start(&server, "w2", 2, work.path());
    let remote = format!("remote: {{ execute: \"{}\" }}", server.url());

    let a = checkout(&remote, "");
    let (code, ev) = build(&a, &["-j", "8"]);
    assert_eq!(
        code,
        0,
        "{ev:#?}\n{}\n{}\n{}",
        server.log(),
        w1.log(),
        w2.log()
    );
    assert!(warnings(&ev).is_empty(), "{ev:#?}");
    assert_eq!(summary(&ev)["executed"], 5);
    for e in actions(&ev) {
        let id = e["id"].as_str().unwrap();
        if id == "transpile/here" {
            assert!(e.get("remote").is_none(), "local: true ran here: {e}");
        } else {
            assert_eq!(e["remote"], true, "{e}");
            assert!(["w1", "w2"].contains(&e["worker"].as_str().unwrap()), "{e}");
        }
    }
    assert!(
        !a.path("stray.log").exists(),
        "what a remote command writes beside its outputs stays on the worker"
    );
    assert!(w1.log().contains("running") || w2.log().contains("running"));

    // The same build without a remote: byte-identical outputs.
    let local = checkout("", "");
    let (code, ev) = build(&local, &[]);
    assert_eq!(code, 0, "{ev:#?}");
    for out in OUTPUTS {
        assert_eq!(
            std::fs::read(a.path(out)).unwrap(),
            std::fs::read(local.path(out)).unwrap(),
            "{out}"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(a.path("out/joined.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(
        mode & 0o100,
        0,
        "the executable bit comes back from the worker"
    );

    // A clean checkout executes nothing: every result, the local task's too, is in the
    // server's cache.
    let b = checkout(&remote, "");
    let (code, ev) = build(&b, &[]);
    assert_eq!(code, 0, "{ev:#?}");
    let s = summary(&ev);
    assert_eq!(
        (s["executed"].as_u64(), s["cached"].as_u64()),
        (Some(0), Some(5)),
        "{ev:#?}"
    );
    for out in OUTPUTS {
        assert_eq!(
            std::fs::read(a.path(out)).unwrap(),
            std::fs::read(b.path(out)).unwrap()
        );
    }

    // A failing command fails the same way it does here, with what it said.
    let failing = checkout(&remote, "echo broken >&2; exit 3; ");
    let (code, ev) = build(&failing, &["-k"]);
    assert_eq!(code, 1, "{ev:#?}");
    let all = actions(&ev);
    let failed: Vec<&&Value> = all.iter().filter(|e| e["outcome"] == "failed").collect();
    assert_eq!(failed.len(), 3, "{ev:#?}");
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("exited with code 3 on remote worker"),
        "{ev:#?}"
    );
    assert!(failed[0]["stderr"].as_str().unwrap().contains("broken"));
}

#[test]
fn a_worker_killed_mid_action_has_it_retried_on_another() {
    let pg = Postgres::start();
    let server = executing_server(&pg, 3);
    let work = tempfile::tempdir().unwrap();
    let mut w1 = Worker::start(&server, "w1", 1, work.path());
    let mut w2 = Worker::start(&server, "w2", 1, work.path());
    let remote = format!("remote: {{ execute: \"{}\" }}", server.url());
    // One remote action that takes a while, so a worker can be killed while it runs.
    let files = common::Files::new(
        &format!(
            r#"version: 1
project: {{ name: retry, source: src, output: out }}
{remote}
stages:
  transpile:
    tasks:
      slow:
        run: [sh, -c, "sleep 2; cp src/a.py out/a.txt"]
        inputs: [src/a.py]
        outputs: [out/a.txt]
"#
        ),
        &[("src/a.py", "print('a')\n")],
    );
    let child = spawn_build(&files, &[]);
    let t = Instant::now();
    let (killed, survivor) = loop {
        if w1.log().contains("running") {
            w1.kill();
            break ("w1", "w2");
        }
        if w2.log().contains("running") {
            w2.kill();
            break ("w2", "w1");
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no worker took the action:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // A retry that never comes would leave the build waiting: bound it.
    let mut child = child;
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("the action was not retried within 120 s:\n{}", server.log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let ev = events(&out);
    assert_eq!(out.status.code(), Some(0), "{ev:#?}\n{}", server.log());
    let a = actions(&ev);
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0]["worker"], survivor,
        "{killed} was killed, {survivor} ran it: {ev:#?}"
    );
    assert_eq!(files.read("out/a.txt"), "print('a')\n");
}

#[test]
fn a_server_stopping_mid_build_leaves_the_rest_to_this_machine() {
    let pg = Postgres::start();
    let mut server = executing_server(&pg, 10);
    let work = tempfile::tempdir().unwrap();
    let _w = Worker::start(&server, "w1", 1, work.path());
    let remote = format!("remote: {{ execute: \"{}\" }}", server.url());
    let files = checkout(&remote, "sleep 1; ");
    let mut child = spawn_build(&files, &["-j", "1"]);
    // Stop the server once the first remote action is done.
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ev: Vec<Value> = Vec::new();
    for line in lines.by_ref() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let first_remote = v["event"] == "action" && v["remote"] == true;
        ev.push(v);
        if first_remote {
            server.kill();
            break;
        }
    }
    ev.extend(lines.map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap()));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{ev:#?}");
    assert_eq!(summary(&ev)["executed"], 5, "{ev:#?}");
    let w = warnings(&ev);
    assert_eq!(w.len(), 1, "one warning for the whole build: {w:?}");
    assert!(w[0].contains("unavailable"), "{w:?}");
    let here = actions(&ev)
        .iter()
        .filter(|e| e.get("remote").is_none())
        .count();
    assert!(here >= 2, "the rest ran here: {ev:#?}");
    for out in ["out/a.txt", "out/b.txt", "out/pkg/c.txt", "out/joined.txt"] {
        assert!(files.path(out).is_file(), "{out}");
    }
}

#[test]
fn workers_and_clients_reach_a_server_that_requires_tls_and_a_token() {
    let certs = tempfile::tempdir().unwrap();
    let (key, cert, ca) = remote_server::certificates(certs.path());
    let secret = certs.path().join("jwt.secret");
    std::fs::write(&secret, "batuta-grid-secret").unwrap();
    let pg = Postgres::start();
    let server = executing_server_with(
        &pg,
        10,
        Some(remote_server::Tls {
            key: &key,
            cert: &cert,
        }),
        Some(&secret),
    );
    let token = remote_server::jwt("batuta-grid-secret");
    let work = tempfile::tempdir().unwrap();
    let ca_arg = ca.to_str().unwrap();
    let w = Worker::start_with(
        &server.tls_url(),
        "tls-worker",
        2,
        work.path(),
        &["--tls-ca", ca_arg, "--token-env", "GRID_TOKEN"],
        &[("GRID_TOKEN", &token)],
    );
    let remote = format!(
        "remote: {{ execute: \"{}\", token_env: GRID_TOKEN, tls: {{ ca: ca.pem }} }}",
        server.tls_url()
    );
    let files = checkout(&remote, "");
    std::fs::copy(&ca, files.path("ca.pem")).unwrap();
    let out = cmd(&files)
        .env("GRID_TOKEN", &token)
        .args(["build", "--format", "json"])
        .output()
        .unwrap();
    let ev = events(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{ev:#?}\n{}\n{}",
        server.log(),
        w.log()
    );
    assert!(warnings(&ev).is_empty(), "{ev:#?}");
    let remote_runs = actions(&ev)
        .iter()
        .filter(|e| e["worker"] == "tls-worker")
        .count();
    assert_eq!(
        remote_runs, 4,
        "every command but the local one ran on the worker: {ev:#?}"
    );
    assert!(!w.log().contains(&token), "the token is never printed");

    // Without the token the worker is refused at once and says why.
    let refused = Std::new(env!("CARGO_BIN_EXE_batuta"))
        .args([
            "worker",
            "--server",
            &server.tls_url(),
            "--tls-ca",
            ca_arg,
            "--id",
            "anonymous",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("refuses this worker"), "{err}");
}

#[test]
fn ctrl_c_stops_waiting_for_remote_runs() {
    let pg = Postgres::start();
    let server = executing_server(&pg, 10);
    let work = tempfile::tempdir().unwrap();
    let w = Worker::start(&server, "w1", 1, work.path());
    let remote = format!("remote: {{ execute: \"{}\" }}", server.url());
    let files = checkout(&remote, "sleep 60; ");
    let mut child = spawn_build(&files, &[]);
    let t = Instant::now();
    while !w.log().contains("running sh") {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no remote run started: {}",
            w.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = Instant::now();
    // SAFETY: signal to a child we spawned and have not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "cancelled promptly, not after the 60 s run"
    );
    assert_eq!(status.code(), Some(130), "Ctrl-C exits 130");
    assert!(
        !files.path("out/a.txt").exists(),
        "nothing ran here instead"
    );
}
