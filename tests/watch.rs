//! End-to-end tests of `batuta watch`: the binary runs as a child, the test edits files as
//! an editor would, and reads the JSON event stream up to each build's `summary` line.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

/// Long enough for a loaded CI machine; a passing test never waits this long.
const PATIENCE: Duration = Duration::from_secs(30);

struct Watch {
    files: common::Files,
    child: Child,
    lines: Receiver<Value>,
}

impl Watch {
    fn start(manifest: &str, files: &[(&str, &str)]) -> Watch {
        Self::start_with(manifest, files, 50)
    }

    fn start_with(manifest: &str, files: &[(&str, &str)], debounce_ms: u32) -> Watch {
        let files = common::Files::new(manifest, files);
        let dir = &files.dir;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
            .current_dir(dir.path())
            .args(["watch", "--format", "json", "--debounce"])
            .arg(debounce_ms.to_string())
            .env("NO_COLOR", "1")
            .env("BATUTA_CACHE_DIR", dir.path().join("cache"))
            .env_remove("BATUTA_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Watch {
            files,
            child,
            lines,
        }
    }

    /// The events of the next build, its summary last.
    fn next_build(&self) -> Vec<Value> {
        let started = Instant::now();
        let mut events = Vec::new();
        loop {
            let left = PATIENCE.saturating_sub(started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    let done = v["event"] == "summary";
                    events.push(v);
                    if done {
                        return events;
                    }
                }
                Err(e) => panic!("no summary within {PATIENCE:?} ({e:?}); got {events:#?}"),
            }
        }
    }

    /// Asserts that no event comes within `quiet`.
    fn assert_quiet(&self, quiet: Duration) {
        match self.lines.recv_timeout(quiet) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(v) => panic!("expected no event, got {v}"),
            Err(RecvTimeoutError::Disconnected) => panic!("batuta watch exited"),
        }
    }

    fn interrupt(mut self) -> std::process::ExitStatus {
        // SAFETY: signalling a child we spawned and have not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < PATIENCE, "watch did not stop on Ctrl-C");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl std::ops::Deref for Watch {
    type Target = common::Files;
    fn deref(&self) -> &common::Files {
        &self.files
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Action id → outcome, for the actions a build reported.
fn outcomes(events: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "action")
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn executed(events: &[Value]) -> Vec<String> {
    outcomes(events)
        .into_iter()
        .filter(|(_, o)| o == "executed")
        .map(|(id, _)| id)
        .collect()
}

fn summary(events: &[Value]) -> &Value {
    events.last().unwrap()
}

/// Each `src/**/*.py` is upper-cased into `out/`; `join` concatenates a.txt and b.txt.
const PIPELINE: &str = r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      upper: { run: [sh, -c, "tr a-z A-Z < {in} > {out}"], each: "**/*.py", out: "{stem}.txt" }
  build:
    needs: [transpile]
    tasks:
      join:
        run: [sh, -c, "cat out/a.txt out/b.txt > out/joined"]
        inputs: [out/a.txt, out/b.txt]
        outputs: [out/joined]
"#;

fn pipeline() -> Watch {
    pipeline_with(50)
}

fn pipeline_with(debounce_ms: u32) -> Watch {
    let w = Watch::start_with(
        PIPELINE,
        &[("src/a.py", "a\n"), ("src/b.py", "b\n")],
        debounce_ms,
    );
    let first = w.next_build();
    assert_eq!(
        executed(&first),
        ["build/join", "transpile/upper:a.py", "transpile/upper:b.py"]
    );
    w
}

#[test]
fn a_single_edit_reruns_its_action_and_what_reads_its_output() {
    let w = pipeline();
    w.write("src/a.py", "edited\n");
    let b = w.next_build();
    assert_eq!(executed(&b), ["build/join", "transpile/upper:a.py"]);
    assert_eq!(summary(&b)["up_to_date"], 1);
    assert_eq!(w.read("out/joined"), "EDITED\nB\n");
}

#[test]
fn a_burst_of_edits_is_one_build() {
    // Edits closer together than the debounce: ten writes within ~100 ms.
    let w = pipeline_with(400);
    for i in 0..10 {
        w.write("src/a.py", &format!("edit {i}\n"));
        std::thread::sleep(Duration::from_millis(10));
    }
    let b = w.next_build();
    assert_eq!(executed(&b), ["build/join", "transpile/upper:a.py"]);
    assert_eq!(w.read("out/a.txt"), "EDIT 9\n");
    w.assert_quiet(Duration::from_millis(800));
}

#[test]
fn saving_the_same_content_builds_nothing() {
    let w = pipeline();
    w.write("src/a.py", "a\n");
    w.assert_quiet(Duration::from_millis(800));
}

#[test]
fn a_rename_over_the_file_is_an_edit() {
    let w = pipeline();
    // How many editors save: write a temporary file, then rename it over the original.
    w.write("src/.a.py.swp", "renamed\n");
    std::fs::rename(w.path("src/.a.py.swp"), w.path("src/a.py")).unwrap();
    let b = w.next_build();
    assert!(executed(&b).contains(&"transpile/upper:a.py".to_owned()));
    assert_eq!(w.read("out/a.txt"), "RENAMED\n");
}

#[test]
fn delete_and_recreate_is_an_edit() {
    let w = pipeline();
    std::fs::remove_file(w.path("src/b.py")).unwrap();
    w.write("src/b.py", "recreated\n");
    // The deletion and the new file may land in one batch or two; the last build counts.
    let mut b = w.next_build();
    while w.read("out/joined") != "A\nRECREATED\n" {
        assert_eq!(summary(&b)["failed"], 0, "{b:#?}");
        b = w.next_build();
    }
}

#[test]
fn a_new_file_adds_an_action_and_a_deleted_one_removes_it() {
    let w = pipeline();
    w.write("src/pkg/deep/c.py", "c\n");
    let b = w.next_build();
    assert_eq!(executed(&b), ["transpile/upper:pkg/deep/c.py"]);
    assert_eq!(w.read("out/c.txt"), "C\n");

    std::fs::remove_file(w.path("src/pkg/deep/c.py")).unwrap();
    let b = w.next_build();
    assert!(
        !outcomes(&b).iter().any(|(id, _)| id.contains("c.py")),
        "{b:#?}"
    );
    assert_eq!(summary(&b)["up_to_date"], 3);
}

#[test]
fn a_new_folder_is_watched() {
    let w = pipeline();
    std::fs::create_dir_all(w.path("src/new")).unwrap();
    let _ = w.next_build();
    w.write("src/new/d.py", "d\n");
    let mut b = w.next_build();
    // The folder's creation and the file's may arrive as separate batches.
    while executed(&b).is_empty() {
        b = w.next_build();
    }
    assert_eq!(executed(&b), ["transpile/upper:new/d.py"]);
}

#[test]
fn a_removed_folder_removes_its_actions() {
    let w = Watch::start(
        PIPELINE,
        &[
            ("src/a.py", "a\n"),
            ("src/b.py", "b\n"),
            ("src/pkg/one.py", "1\n"),
            ("src/pkg/sub/two.py", "2\n"),
        ],
    );
    assert_eq!(summary(&w.next_build())["executed"], 5);
    std::fs::remove_dir_all(w.path("src/pkg")).unwrap();
    let mut b = w.next_build();
    // The removals may come in more than one batch; the graph ends without them.
    while outcomes(&b).iter().any(|(id, _)| id.contains("pkg/")) {
        b = w.next_build();
    }
    assert_eq!(summary(&b)["up_to_date"], 3, "{b:#?}");
    assert_eq!(summary(&b)["failed"], 0);
}

#[test]
fn a_manifest_edit_reexpands_and_a_broken_one_keeps_the_last_good_graph() {
    let w = pipeline();
    // Good: the command changes, so every upper action re-runs; their outputs stay the
    // same for one-letter lines, so join, reading them, does not (early cutoff).
    w.write(
        "batuta.yaml",
        &PIPELINE.replace("tr a-z A-Z < {in}", "rev < {in} | tr a-z A-Z"),
    );
    let b = w.next_build();
    assert_eq!(
        executed(&b),
        ["transpile/upper:a.py", "transpile/upper:b.py"]
    );
    assert!(outcomes(&b).contains(&("build/join".to_owned(), "up_to_date".to_owned())));

    // Broken: a diagnostic, and the last good graph still builds source edits.
    w.write("batuta.yaml", "version: 1\nstages: [\n");
    let b = w.next_build();
    let diag = b
        .iter()
        .find(|e| e["event"] == "diagnostic")
        .expect("a diagnostic");
    assert!(
        diag["code"].as_str().unwrap().starts_with("BATUTA-M-"),
        "{diag}"
    );
    w.write("src/a.py", "ab\n");
    let b = w.next_build();
    assert!(
        executed(&b).contains(&"transpile/upper:a.py".to_owned()),
        "{b:#?}"
    );
    assert_eq!(w.read("out/a.txt"), "BA\n");

    // Fixed: back to the first graph; the cache restores its outputs.
    w.write("batuta.yaml", PIPELINE);
    let b = w.next_build();
    assert!(!b.iter().any(|e| e["event"] == "diagnostic"));
    assert_eq!(summary(&b)["failed"], 0);
    assert_eq!(w.read("out/a.txt"), "AB\n");
}

#[test]
fn early_cutoff_an_edit_that_changes_no_key_reruns_nothing() {
    let w = pipeline();
    // A comment changes the manifest's text but no action.
    w.write("batuta.yaml", &format!("# a comment\n{PIPELINE}"));
    let b = w.next_build();
    assert_eq!(executed(&b), Vec::<String>::new());
    assert_eq!(summary(&b)["up_to_date"], 3);

    // An edit whose action writes the same output: what reads the output does not re-run.
    w.write("src/a.py", "A\n");
    let b = w.next_build();
    assert_eq!(executed(&b), ["transpile/upper:a.py"]);
    assert!(outcomes(&b).contains(&("build/join".to_owned(), "up_to_date".to_owned())));
}

#[test]
fn a_build_in_another_terminal_and_the_watch_do_the_work_once() {
    let w = pipeline();
    w.write("src/a.py", "both\n");
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(w.dir.path())
        .args(["build", "--format", "json"])
        .env("BATUTA_CACHE_DIR", w.path("cache"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .unwrap();
    let b = w.next_build();
    // Whoever came first ran upper:a.py and join; the other found them up to date (not
    // even restored from the cache: it read what the first recorded).
    let work = |s: &Value| s["executed"].as_u64().unwrap() + s["cached"].as_u64().unwrap();
    let total = work(summary(&b)) + work(&last);
    assert_eq!(total, 2, "watch: {b:#?}\nbuild: {last}");
    assert_eq!(w.read("out/joined"), "BOTH\nB\n");
}

#[test]
fn ignored_and_hidden_folders_are_not_watched() {
    let w = Watch::start(
        PIPELINE,
        &[
            ("src/a.py", "a\n"),
            ("src/b.py", "b\n"),
            (".gitignore", "generated/\n"),
            ("src/generated/old.py", "x\n"),
            ("src/.venv/lib/site.py", "x\n"),
        ],
    );
    let first = w.next_build();
    assert_eq!(summary(&first)["executed"], 3, "{first:#?}");
    w.write("src/generated/new.py", "y\n");
    w.write("src/.venv/lib/new.py", "y\n");
    w.assert_quiet(Duration::from_millis(800));
}

#[test]
fn an_output_deleted_by_hand_is_restored() {
    let w = pipeline();
    // out/ was made by the first build, after watching began: it is watched too, once the
    // event of its creation has come through the debouncer.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::remove_file(w.path("out/a.txt")).unwrap();
    let b = w.next_build();
    assert!(
        outcomes(&b).contains(&("transpile/upper:a.py".to_owned(), "cached".to_owned())),
        "{b:#?}"
    );
    assert_eq!(w.read("out/a.txt"), "A\n");
}

#[test]
fn an_output_edited_by_hand_after_an_edit_is_restored() {
    let w = pipeline();
    std::thread::sleep(Duration::from_millis(500));
    // A round after an edit keeps what the last one knew of every other action...
    w.write("src/a.py", "edited\n");
    let b = w.next_build();
    assert_eq!(executed(&b), ["build/join", "transpile/upper:a.py"]);
    // ...but not of an action whose output someone else wrote since.
    w.write("out/b.txt", "scribbled\n");
    let b = w.next_build();
    assert!(
        outcomes(&b).contains(&("transpile/upper:b.py".to_owned(), "cached".to_owned())),
        "{b:#?}"
    );
    assert_eq!(w.read("out/b.txt"), "B\n");
}

#[test]
fn the_builds_own_writes_do_not_restart_it() {
    // `second` is still running when the event of `first`'s write arrives.
    let w = Watch::start(
        r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      first: { run: [cp, "{in}", "{out}"], each: "*.py", out: "{stem}.txt" }
  build:
    needs: [transpile]
    tasks:
      second:
        run: [sh, -c, "sleep 1; cp out/a.txt out/second"]
        inputs: [out/a.txt]
        outputs: [out/second]
"#,
        &[("src/a.py", "a\n")],
    );
    assert_eq!(summary(&w.next_build())["executed"], 2);
    w.write("src/a.py", "b\n");
    let b = w.next_build();
    assert!(!b.iter().any(|e| e["event"] == "restart"), "{b:#?}");
    assert_eq!(executed(&b), ["build/second", "transpile/first:a.py"]);
    assert_eq!(w.read("out/second"), "b\n");
}

#[test]
fn an_output_folder_that_holds_the_sources_still_sees_new_files() {
    let w = Watch::start(
        r#"version: 1
project: { name: t, source: src, output: . }
stages:
  transpile:
    tasks:
      copy: { run: [cp, "{in}", "{out}"], each: "*.py", out: "gen/{stem}.txt" }
"#,
        &[("src/a.py", "a\n")],
    );
    assert_eq!(summary(&w.next_build())["executed"], 1);
    w.write("src/b.py", "b\n");
    let b = w.next_build();
    assert_eq!(executed(&b), ["transpile/copy:b.py"]);
}

const SLOW: &str = r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      slow: { run: [sh, -c, "touch started; sleep 3; cp {in} {out}"], each: "*.py", out: "{stem}.txt" }
"#;

#[test]
fn an_edit_during_a_running_action_cancels_and_reruns_it() {
    let w = Watch::start(SLOW, &[("src/a.py", "first\n")]);
    common::wait_for(&w.path("started"));
    w.write("src/a.py", "second\n");
    let b = w.next_build();
    assert!(b.iter().any(|e| e["event"] == "restart"), "{b:#?}");
    assert_eq!(
        outcomes(&b),
        [("transpile/slow:a.py".to_owned(), "cancelled".to_owned())]
    );
    assert!(!w.path("out/a.txt").exists(), "nothing half-written kept");
    let b = w.next_build();
    assert_eq!(executed(&b), ["transpile/slow:a.py"]);
    assert_eq!(w.read("out/a.txt"), "second\n");
}

#[test]
fn ctrl_c_stops_cleanly_and_keeps_nothing_half_written() {
    let w = Watch::start(SLOW, &[("src/a.py", "a\n")]);
    common::wait_for(&w.path("started"));
    let out = w.path("out/a.txt");
    let t = Instant::now();
    let status = w.interrupt();
    assert!(t.elapsed() < Duration::from_secs(10), "stopped promptly");
    assert_eq!(status.code(), Some(0));
    assert!(!out.exists(), "no half-written output");
}

#[test]
fn a_broken_manifest_at_start_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("batuta.yaml"), "version: 1\nstages: [\n").unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(dir.path())
        .args(["watch"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BATUTA-M-"));
}

#[test]
fn text_mode_shows_what_changed_and_what_ran() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("batuta.yaml"), PIPELINE).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/a.py"), "a\n").unwrap();
    std::fs::write(dir.path().join("src/b.py"), "b\n").unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(dir.path())
        .args(["watch", "--debounce", "50"])
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", dir.path().join("cache"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_until = |needle: &str| -> Vec<String> {
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let done = line.contains(needle);
            seen.push(line);
            if done {
                return seen;
            }
        }
        panic!("no line with {needle:?}; saw {seen:#?}");
    };
    next_until("watching");
    std::fs::write(dir.path().join("src/a.py"), "x\n").unwrap();
    let seen = next_until("ok:");
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.join("\n");
    assert!(text.contains("changed: src/a.py"), "{text}");
    assert!(text.contains("ran transpile/upper:a.py"), "{text}");
    assert!(
        text.contains("ok: 2 executed, 0 restored from cache, 1 up to date"),
        "{text}"
    );
}
