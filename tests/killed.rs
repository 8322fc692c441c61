//! A build killed with SIGKILL half-way: the next build keeps what the killed one finished
//! (the journal is appended as each action ends), runs only the rest, sweeps the
//! temporary files the killed one left, and its outputs are those of a build never killed.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};

use common::{Files, events, outcomes, summary, wait_for};
use serde_json::Value;

/// 30 copies run one at a time; the 26th (f25) stops and waits, to be killed there.
const MANIFEST: &str = r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      copy:
        run: [sh, -c, 'cp "$1" "$2"; if [ "$3" = f25 ] && [ ! -e go ]; then touch reached; sleep 60; fi', sh, "{in}", "{out}", "{stem}"]
        each: "*.txt"
        out: "{stem}.out"
"#;

fn files() -> Vec<(String, String)> {
    (0..30)
        .map(|i| (format!("src/f{i:02}.txt"), format!("file {i}\n")))
        .collect()
}

fn workspace() -> Files {
    let f = files();
    let refs: Vec<(&str, &str)> = f.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    Files::new(MANIFEST, &refs)
}

fn batuta(ws: &Files) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("batuta"));
    c.current_dir(ws.dir.path())
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .args(["build", "--format", "json", "-j", "1"]);
    c
}

fn build(ws: &Files) -> (i32, Vec<Value>) {
    let out = batuta(ws).output().unwrap();
    (out.status.code().unwrap(), events(&out))
}

/// Every file under `dir`, relative, sorted, with its content.
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                let rel = e
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_killed_build_keeps_its_progress_and_leaves_nothing_behind() {
    let ws = workspace();
    let mut child = batuta(&ws)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&ws.path("reached"));
    // SAFETY: signalling a child this test spawned and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    // What a kill in the middle of a restore leaves beside an output.
    ws.write("out/.batuta-tmp-k1ll3d", "half a file");
    let packs = ws.path("cache/ac/packs");
    let unsealed = || {
        std::fs::read_dir(&packs)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(unsealed(), 1, "the killed build's pack was never sealed");
    // A pack seconds old may be a writer's that has not locked it yet; this one is made
    // old, as it would be by the time a developer builds again.
    for e in std::fs::read_dir(&packs).unwrap().flatten() {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let f = std::fs::File::options()
            .append(true)
            .open(e.path())
            .unwrap();
        f.set_modified(old).unwrap();
    }

    ws.write("go", "");
    let (code, ev) = build(&ws);
    assert_eq!(code, 0, "{ev:?}");
    let s = summary(&ev);
    assert_eq!(
        s["up_to_date"], 25,
        "the 25 copies that ended are kept: {s}"
    );
    assert_eq!(s["executed"], 5, "only the rest runs: {s}");
    assert_eq!(outcomes(&ev, "executed")[0], "transpile/copy:f25.txt");
    assert!(!ws.path("out/.batuta-tmp-k1ll3d").exists(), "swept");
    assert_eq!(unsealed(), 0, "the unsealed pack went");

    // The outputs are those of a build that was never killed.
    let fresh = workspace();
    fresh.write("go", "");
    assert_eq!(build(&fresh).0, 0);
    assert_eq!(tree(&ws.path("out")), tree(&fresh.path("out")));
}

#[test]
fn clean_removes_what_builds_leave_behind() {
    let ws = workspace();
    ws.write("go", "");
    assert_eq!(build(&ws).0, 0);
    ws.write("out/.batuta-tmp-left", "a killed restore's");
    ws.write(
        ".batuta/logs/transpile_copy_f00.txt.log",
        "an old failure's output",
    );
    let out = Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(ws.dir.path())
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .arg("clean")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ws.path("out/.batuta-tmp-left").exists());
    assert!(!ws.path(".batuta/logs").exists());
    assert!(!ws.path("out/f00.out").exists());
}
