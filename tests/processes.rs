//! How a command's process is run: a `timeout:` that kills it (BATUTA-E-003), a background
//! child that keeps its stdout open without holding the action, and a failure whose whole
//! output is kept where the failure says (BATUTA-E-004).
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::Files;
use serde_json::Value;

fn build(ws: &Files) -> (i32, Vec<Value>) {
    ws.build_json(&[])
}

fn failed(ev: &[Value]) -> &Value {
    ev.iter()
        .find(|e| e["outcome"] == "failed")
        .unwrap_or_else(|| panic!("nothing failed: {ev:?}"))
}

#[test]
fn a_command_past_its_timeout_is_killed_and_fails_with_e003() {
    let ws = Files::new(
        r#"version: 1
project: { name: t }
stages:
  build:
    tasks:
      hangs: { run: [sh, -c, "echo started; sleep 30 & sleep 30; echo late > out.txt"], outputs: [out.txt], timeout: 1 }
"#,
        &[],
    );
    let t = Instant::now();
    let (code, ev) = build(&ws);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert_eq!(code, 1);
    let f = failed(&ev);
    assert_eq!(f["code"], "BATUTA-E-003", "{f}");
    assert_eq!(
        f["message"],
        "sh ran past its timeout of 1 s and was killed"
    );
    assert!(f["stderr"].as_str().unwrap().contains("started"), "{f}");
    assert!(!ws.path("out.txt").exists());
}

#[test]
fn a_timeout_of_zero_or_on_a_builtin_is_a_manifest_error() {
    for task in [
        "{ run: [true], timeout: 0 }",
        "{ builtin: analyze, timeout: 5 }",
    ] {
        let ws = Files::new(
            &format!(
                "version: 1\nproject: {{ name: t }}\nstages:\n  build:\n    tasks:\n      t: {task}\n"
            ),
            &[],
        );
        let (code, _) = build(&ws);
        assert_eq!(code, 2, "{task}");
    }
}

#[test]
fn a_background_child_holding_stdout_does_not_hold_its_action() {
    let ws = Files::new(
        r#"version: 1
project: { name: t }
stages:
  build:
    tasks:
      daemon: { run: [sh, -c, "(sleep 30; echo late > late.txt) & echo done > out.txt"], outputs: [out.txt] }
"#,
        &[],
    );
    let t = Instant::now();
    let (code, ev) = build(&ws);
    assert_eq!(code, 0, "{ev:?}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the action was held {:?} by its background child",
        t.elapsed()
    );
    assert_eq!(ws.read("out.txt"), "done\n");
}

#[test]
fn a_failed_command_keeps_its_whole_output_in_the_log_it_names() {
    let ws = Files::new(
        r#"version: 1
project: { name: t }
stages:
  build:
    tasks:
      noisy: { run: [sh, -c, 'i=0; while [ $i -lt 100 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 4'], outputs: [out.txt] }
"#,
        &[],
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 1);
    let f = failed(&ev);
    assert_eq!(f["code"], "BATUTA-E-004", "{f}");
    assert_eq!(f["message"], "sh exited with code 4");
    let log = ws.read(".batuta/logs/build_noisy.log");
    assert!(
        log.starts_with("line 0\n") && log.ends_with("line 99\n"),
        "{log}"
    );
    // The text summary names it, and a success removes it.
    let text = ws.batuta().arg("build").output().unwrap();
    let err = String::from_utf8_lossy(&text.stderr);
    assert!(err.contains(".batuta/logs/build_noisy.log"), "{err}");
    ws.write(
        "batuta.yaml",
        "version: 1\nproject: { name: t }\nstages:\n  build:\n    tasks:\n      noisy: { run: [sh, -c, 'echo ok > out.txt'], outputs: [out.txt] }\n",
    );
    assert_eq!(build(&ws).0, 0);
    assert!(!ws.path(".batuta/logs/build_noisy.log").exists());
}
