//! End-to-end tests of `batuta build`, `status`, `clean`: incremental builds, the cache,
//! failures (Jidoka), cancellation and crash recovery, through the real binary.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::{events, outcomes, summary};

/// A workspace in a temp folder, with its own cache.
struct Ws {
    files: common::Files,
}

impl std::ops::Deref for Ws {
    type Target = common::Files;
    fn deref(&self) -> &common::Files {
        &self.files
    }
}

impl Ws {
    fn new(manifest: &str, files: &[(&str, &str)]) -> Ws {
        Ws {
            files: common::Files::new(manifest, files),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("batuta").unwrap();
        c.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("BATUTA_CACHE_DIR", self.path("cache"))
            .env_remove("BATUTA_CONFIG")
            .env_remove("RUST_LOG");
        c
    }

    /// `batuta build --format json ARGS`: the exit code and the parsed events.
    fn build(&self, args: &[&str]) -> (i32, Vec<Value>) {
        let out = self
            .cmd()
            .args(["build", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), events(&out))
    }

    /// Lines of the file the test commands append to whenever they actually run.
    fn spawned(&self) -> usize {
        std::fs::read_to_string(self.path("spawned.log")).map_or(0, |s| s.lines().count())
    }
}

/// Copy each Python file to a .txt (logging that it ran), then join two of them.
const PIPELINE: &str = r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      copy:
        run: [sh, -c, "echo {path} >> spawned.log; cp {in} {out}"]
        each: "**/*.py"
        out: "{dir}/{stem}.txt"
  validate:
    needs: [transpile]
    tasks:
      join:
        run: [sh, -c, "echo join >> spawned.log; cat out/a.txt out/pkg/c.txt > out/joined.txt"]
        inputs: [out/a.txt, out/pkg/c.txt]
        outputs: [out/joined.txt]
"#;

fn pipeline() -> Ws {
    Ws::new(
        PIPELINE,
        &[
            ("src/a.py", "a\n"),
            ("src/b.py", "b\n"),
            ("src/pkg/c.py", "c\n"),
        ],
    )
}

#[test]
fn first_build_runs_everything_second_runs_nothing() {
    let ws = pipeline();
    let (code, ev) = ws.build(&[]);
    assert_eq!(code, 0, "{ev:?}");
    let s = summary(&ev);
    assert_eq!(
        (
            s["executed"].as_u64(),
            s["cached"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(4), Some(0), Some(0))
    );
    assert_eq!(ws.read("out/joined.txt"), "a\nc\n");
    assert_eq!(ws.spawned(), 4);

    let (code, ev) = ws.build(&[]);
    assert_eq!(code, 0);
    let s = summary(&ev);
    assert_eq!(s["executed"], 0);
    assert_eq!(s["up_to_date"], 4);
    assert_eq!(ws.spawned(), 4, "nothing ran");
}

#[test]
fn a_no_op_build_writes_neither_journal_nor_state() {
    let ws = pipeline();
    ws.build(&[]);
    // Files written within moments of a save are rehashed next time (racy-clean rule);
    // a build a little later settles the stat cache, as between real builds.
    std::thread::sleep(Duration::from_millis(100));
    ws.build(&[]);
    let stamp = |rel: &str| std::fs::metadata(ws.path(rel)).unwrap().modified().unwrap();
    let (journal, state) = (stamp(".batuta/journal"), stamp(".batuta-state.json"));
    std::thread::sleep(Duration::from_millis(50));
    let (_, ev) = ws.build(&[]);
    assert_eq!(summary(&ev)["up_to_date"], 4);
    assert_eq!(stamp(".batuta/journal"), journal);
    assert_eq!(stamp(".batuta-state.json"), state);
    // The phases still report, for tools following the stream.
    assert!(
        ev.iter()
            .any(|e| e["event"] == "phase" && e["status"] == "completed")
    );
}

#[test]
fn summary_line_is_exactly_the_contract() {
    let ws = pipeline();
    let out = ws
        .cmd()
        .args(["build", "--format", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().unwrap();
    let re = regex_lite(last);
    assert!(re, "{last}");
}

/// `{"event":"summary","executed":N,"cached":N,"up_to_date":N,"failed":N,"duration_ms":N}`
fn regex_lite(line: &str) -> bool {
    let mut rest = line;
    for (i, key) in ["executed", "cached", "up_to_date", "failed", "duration_ms"]
        .iter()
        .enumerate()
    {
        let prefix = if i == 0 {
            format!("{{\"event\":\"summary\",\"{key}\":")
        } else {
            format!(",\"{key}\":")
        };
        let Some(r) = rest.strip_prefix(&prefix) else {
            return false;
        };
        let digits = r.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &r[digits..];
    }
    rest == "}"
}

#[test]
fn touching_one_input_reruns_only_its_chain() {
    let ws = pipeline();
    ws.build(&[]);
    ws.write("src/b.py", "b changed\n");
    let (_, ev) = ws.build(&[]);
    assert_eq!(outcomes(&ev, "executed"), ["transpile/copy:b.py"]);
    ws.write("src/pkg/c.py", "c changed\n");
    let (_, ev) = ws.build(&[]);
    assert_eq!(
        outcomes(&ev, "executed"),
        ["transpile/copy:pkg/c.py", "validate/join"]
    );
    assert_eq!(ws.read("out/joined.txt"), "a\nc changed\n");
}

#[test]
fn an_edit_that_leaves_an_output_unchanged_stops_there() {
    let ws = Ws::new(
        r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      first-line: { run: [sh, -c, "head -n1 {in} > {out}"], each: "*.py", out: "{stem}.txt" }
  validate:
    needs: [transpile]
    tasks:
      use: { run: [sh, -c, "echo use >> spawned.log; cp out/a.txt out/used.txt"], inputs: [out/a.txt], outputs: [out/used.txt] }
"#,
        &[("src/a.py", "line one\nline two\n")],
    );
    ws.build(&[]);
    assert_eq!(ws.spawned(), 1);
    ws.write("src/a.py", "line one\nanother line two\n");
    let (_, ev) = ws.build(&[]);
    assert_eq!(outcomes(&ev, "executed"), ["transpile/first-line:a.py"]);
    assert_eq!(outcomes(&ev, "up_to_date"), ["validate/use"]);
    assert_eq!(
        ws.spawned(),
        1,
        "early cutoff: same output, dependant not re-run"
    );
}

#[test]
fn changing_a_command_reruns_its_actions() {
    let ws = pipeline();
    ws.build(&[]);
    ws.write(
        "batuta.yaml",
        &PIPELINE.replace("cp {in} {out}", "cp -p {in} {out}"),
    );
    let (_, ev) = ws.build(&[]);
    assert_eq!(
        outcomes(&ev, "executed"),
        [
            "transpile/copy:a.py",
            "transpile/copy:b.py",
            "transpile/copy:pkg/c.py"
        ]
    );
    assert_eq!(
        outcomes(&ev, "up_to_date"),
        ["validate/join"],
        "same inputs, same key"
    );
}

#[test]
fn deleted_outputs_come_back_from_the_cache_without_running() {
    let ws = pipeline();
    ws.build(&[]);
    std::fs::remove_dir_all(ws.path("out")).unwrap();
    let (code, ev) = ws.build(&[]);
    assert_eq!(code, 0);
    assert_eq!(summary(&ev)["cached"], 4);
    assert_eq!(ws.spawned(), 4, "no process spawned");
    assert_eq!(ws.read("out/joined.txt"), "a\nc\n");
}

#[test]
fn a_failure_stops_dependants_and_keep_going_finishes_the_rest() {
    let ws = Ws::new(
        r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      copy: { run: [sh, -c, "if grep -q bad {in}; then echo 'bad input' >&2; exit 3; fi; cp {in} {out}"], each: "*.py", out: "{stem}.txt" }
  validate:
    needs: [transpile]
    tasks:
      check: { run: [cat, out/a.txt], inputs: [out/a.txt] }
      reads-b: { run: [cat, out/b.txt], inputs: [out/b.txt] }
      all: { run: [sh, -c, "cat out/*.txt"], inputs: ["out/*.txt"] }
"#,
        &[
            ("src/a.py", "a\n"),
            ("src/b.py", "bad\n"),
            ("src/c.py", "c\n"),
        ],
    );
    let (code, ev) = ws
        .cmd()
        .args(["build", "--format", "json", "-j", "1"])
        .output()
        .map(|o| (o.status.code().unwrap(), events(&o)))
        .unwrap();
    assert_eq!(code, 1);
    let failed: Vec<&Value> = ev.iter().filter(|e| e["outcome"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["id"], "transpile/copy:b.py");
    assert_eq!(failed[0]["code"], "BATUTA-E-004");
    assert_eq!(failed[0]["stderr"], "bad input\n");
    assert!(
        outcomes(&ev, "executed").len() <= 1,
        "without --keep-going nothing new starts"
    );
    assert!(!ws.path("out/b.txt").exists(), "no half-written output");

    let (code, ev) = ws.build(&["--keep-going"]);
    assert_eq!(code, 1);
    let done: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "action" && e["outcome"] != "failed")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(
        done.contains(&"transpile/copy:a.py") && done.contains(&"transpile/copy:c.py"),
        "{done:?}"
    );
    // Only what reads the failed action's output stops; what reads it through a glob
    // runs without it, and the rest of every later phase runs.
    assert!(done.contains(&"validate/check"), "{done:?}");
    assert!(done.contains(&"validate/all"), "{done:?}");
    assert!(!done.contains(&"validate/reads-b"), "{done:?}");
    assert_eq!(summary(&ev)["failed"], 1);
    let state: Value = serde_json::from_str(&ws.read(".batuta-state.json")).unwrap();
    assert_eq!(state["phases"]["Transpilation"]["status"], "Failed");
    assert!(
        state["phases"]["Transpilation"]["error"]
            .as_str()
            .unwrap()
            .contains("copy:b.py")
    );

    let status = ws.cmd().arg("status").output().unwrap();
    let board = String::from_utf8(status.stdout).unwrap();
    assert!(
        board.contains("✗ Transpilation     [Failed] ← Fix this!"),
        "{board}"
    );

    let text = ws.cmd().arg("build").output().unwrap();
    let err = String::from_utf8(text.stderr).unwrap();
    assert!(err.contains("❌ Transpilation failed!"), "{err}");
    assert!(err.contains("bad input"), "{err}");
    assert!(err.contains("💡 Troubleshooting:"), "{err}");
}

#[test]
fn a_missing_tool_is_t001_with_the_install_command() {
    let ws = Ws::new(
        r#"version: 1
project: { name: t, source: src, output: out }
tools:
  depyler: { command: depyler-not-installed-here, install: "cargo install depyler" }
rules:
  py: { tool: depyler, run: ["{tool}", transpile, "{in}", -o, "{out}"] }
stages:
  transpile:
    tasks:
      python: { rule: py, each: "*.py", out: "{stem}.rs" }
"#,
        &[("src/a.py", "a\n")],
    );
    let (code, ev) = ws.build(&[]);
    assert_eq!(code, 1);
    let f = ev.iter().find(|e| e["outcome"] == "failed").unwrap();
    assert_eq!(f["code"], "BATUTA-T-001");
    assert!(
        f["message"].as_str().unwrap().contains("not on PATH"),
        "{f}"
    );
    assert_eq!(f["hints"][0], "install it with: cargo install depyler");
}

/// Append a byte to every file under `dir` (two levels: shards, then entries).
fn damage_all(dir: &std::path::Path) -> usize {
    let mut damaged = 0;
    for shard in std::fs::read_dir(dir).unwrap() {
        for entry in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let p = entry.unwrap().path();
            let mut bytes = std::fs::read(&p).unwrap();
            bytes.push(b'!');
            std::fs::write(&p, bytes).unwrap();
            damaged += 1;
        }
    }
    damaged
}

/// After the cache was damaged, a deleted output is rebuilt (with a warning), and the
/// rebuilt result replaced the damaged entry: the next restore works.
fn rebuilt_after_damage(ws: &Ws, expected: &str) {
    std::fs::remove_file(ws.path("out/a.txt")).unwrap();
    let (code, ev) = ws.build(&[]);
    assert_eq!(code, 0, "{ev:?}");
    let warning = ev
        .iter()
        .find(|e| e["event"] == "warning")
        .expect("reported");
    assert!(
        warning["message"].as_str().unwrap().contains("corrupt"),
        "{warning}"
    );
    assert_eq!(outcomes(&ev, "executed"), ["transpile/copy:a.py"]);
    assert_eq!(ws.read("out/a.txt"), expected);
    std::fs::remove_file(ws.path("out/a.txt")).unwrap();
    let (_, ev) = ws.build(&[]);
    assert_eq!(summary(&ev)["cached"], 1);
}

#[test]
fn a_corrupt_action_record_is_detected_and_rebuilt() {
    // Small outputs travel inside the action record, and a build's records share one pack:
    // damaging it damages them all.
    let ws = pipeline();
    ws.build(&[]);
    assert_eq!(damage_all(&ws.path("cache/ac")), 1);
    rebuilt_after_damage(&ws, "a\n");
}

#[test]
fn a_corrupt_cache_blob_is_detected_and_rebuilt() {
    // An output too large to travel inline is a blob of its own in `cas/`.
    let big = "a".repeat(100 * 1024);
    let ws = Ws::new(
        PIPELINE,
        &[
            ("src/a.py", &big),
            ("src/b.py", "b\n"),
            ("src/pkg/c.py", "c\n"),
        ],
    );
    ws.build(&[]);
    assert!(damage_all(&ws.path("cache/cas")) >= 1);
    rebuilt_after_damage(&ws, &big);
}

#[test]
fn one_action_can_write_two_outputs_and_must_write_both() {
    let ws = Ws::new(
        r#"version: 1
project: { name: t }
stages:
  build:
    tasks:
      both: { run: [sh, -c, "echo 1 > one.txt; echo 2 > two.txt"], outputs: [one.txt, two.txt] }
      half: { run: [sh, -c, "echo 1 > three.txt"], outputs: [three.txt, four.txt] }
"#,
        &[],
    );
    let (code, ev) = ws.build(&["--keep-going"]);
    assert_eq!(code, 1);
    assert_eq!(outcomes(&ev, "executed"), ["build/both"]);
    let f = ev.iter().find(|e| e["outcome"] == "failed").unwrap();
    assert_eq!(f["id"], "build/half");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("did not write its declared output 'four.txt'"),
        "{f}"
    );
    assert!(
        !ws.path("three.txt").exists(),
        "a failed action leaves no outputs"
    );
    std::fs::remove_file(ws.path("one.txt")).unwrap();
    std::fs::remove_file(ws.path("two.txt")).unwrap();
    let (_, ev) = ws.build(&["--keep-going"]);
    assert_eq!(outcomes(&ev, "cached"), ["build/both"]);
    assert_eq!(ws.read("two.txt"), "2\n");
}

#[test]
fn a_file_written_beside_a_named_output_must_be_declared() {
    // Each command writes its output and a `.d` file beside it, as compilers do; both run in
    // one folder at once. The one that declares its `.d` keeps it; the other fails naming it.
    let ws = Ws::new(
        r#"version: 1
project: { name: t }
stages:
  build:
    tasks:
      declared:
        run: [sh, -c, 'echo a > "$1"; echo deps > "$1.d"', sh, out/a.o]
        outputs: [out/a.o, out/a.o.d]
      stray:
        run: [sh, -c, 'echo b > "$1"; echo deps > "$1.d"', sh, out/b.o]
        outputs: [out/b.o]
"#,
        &[],
    );
    let (code, ev) = ws.build(&["--keep-going", "-j", "2"]);
    assert_eq!(code, 1);
    assert_eq!(outcomes(&ev, "executed"), ["build/declared"]);
    let f = ev.iter().find(|e| e["outcome"] == "failed").unwrap();
    assert_eq!(f["id"], "build/stray");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("wrote 'out/b.o.d', which build/stray does not declare"),
        "{f}"
    );
    assert!(!ws.path("out/b.o").exists() && !ws.path("out/b.o.d").exists());
    assert_eq!(ws.read("out/a.o.d"), "deps\n");
    assert!(
        !ws.path(".batuta/staging").exists()
            || std::fs::read_dir(ws.path(".batuta/staging"))
                .unwrap()
                .next()
                .is_none(),
        "staging folders are removed"
    );
    // Both declared outputs are cached together.
    std::fs::remove_dir_all(ws.path("out")).unwrap();
    let (_, ev) = ws.build(&["--keep-going"]);
    assert_eq!(outcomes(&ev, "cached"), ["build/declared"]);
    assert_eq!(ws.read("out/a.o.d"), "deps\n");
}

#[test]
fn only_declared_environment_reaches_an_action() {
    let ws = Ws::new(
        r#"version: 1
project: { name: t }
stages:
  build:
    tasks:
      hidden: { run: [sh, -c, "echo \"[$SECRET_A]\" > a.txt"], outputs: [a.txt] }
      passed: { run: [sh, -c, "echo \"[$SECRET_B]\" > b.txt"], outputs: [b.txt], env: [SECRET_B] }
"#,
        &[],
    );
    let out = ws
        .cmd()
        .arg("build")
        .env("SECRET_A", "x")
        .env("SECRET_B", "y")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(ws.read("a.txt"), "[]\n");
    assert_eq!(ws.read("b.txt"), "[y]\n");
    // A declared variable's value is part of the key.
    let (_, ev) = ws.build(&[]);
    assert_eq!(outcomes(&ev, "executed"), ["build/passed"]);
}

#[test]
fn volatile_tasks_always_run() {
    let ws = Ws::new(
        r#"version: 1
project: { name: t }
stages:
  validate:
    tasks:
      stamp: { run: [sh, -c, "echo run >> spawned.log"], cache: false }
"#,
        &[],
    );
    ws.build(&[]);
    ws.build(&[]);
    assert_eq!(ws.spawned(), 2);
}

#[test]
fn modules_restricts_transpile_actions() {
    let ws = pipeline();
    let (_, ev) = ws.build(&["--modules", "b,pkg"]);
    assert_eq!(
        outcomes(&ev, "executed"),
        ["transpile/copy:b.py", "transpile/copy:pkg/c.py"]
    );
}

#[test]
fn clean_removes_outputs_and_cache() {
    let ws = pipeline();
    ws.build(&[]);
    let out = ws.cmd().arg("clean").output().unwrap();
    assert!(out.status.success());
    assert!(!ws.path("out/a.txt").exists());
    let (_, ev) = ws.build(&[]);
    assert_eq!(
        summary(&ev)["cached"],
        4,
        "the cache survives a plain clean"
    );
    let out = ws.cmd().args(["clean", "--cache"]).output().unwrap();
    assert!(out.status.success());
    assert!(!ws.path("cache").exists());
    let (_, ev) = ws.build(&[]);
    assert_eq!(summary(&ev)["executed"], 4);
}

#[test]
fn cache_gc_shrinks_the_cache() {
    let ws = pipeline();
    ws.build(&[]);
    let out = ws
        .cmd()
        .args(["cache", "gc", "--max-size", "0"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("the cache holds 0 bytes")
    );
}

#[test]
fn reset_needs_yes() {
    let ws = pipeline();
    ws.build(&[]);
    let out = ws.cmd().arg("reset").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(ws.path(".batuta-state.json").exists());
    let out = ws.cmd().args(["reset", "--yes"]).output().unwrap();
    assert!(out.status.success());
    let status = ws.cmd().arg("status").output().unwrap();
    assert!(
        String::from_utf8(status.stdout)
            .unwrap()
            .starts_with("No workflow started yet.")
    );
}

#[test]
fn a_bad_manifest_is_exit_2_and_runs_nothing() {
    let ws = Ws::new(
        "version: 1\nproject: { name: t }\nstages: { build: { run: oops } }\n",
        &[],
    );
    let out = ws.cmd().arg("build").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!ws.path(".batuta-state.json").exists());
}

#[cfg(unix)]
#[cfg(unix)]
const SLOW: &str = r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      slow: { run: [sh, -c, "echo partial > {out}; touch started; sleep 30; echo done >> {out}"], each: "*.py", out: "{stem}.txt" }
      fast: { run: [sh, -c, "sleep 0.5; cp {in} {out}"], each: "*.py", out: "{stem}.fast" }
"#;

#[cfg(unix)]
#[test]
fn ctrl_c_kills_running_actions_and_keeps_nothing_half_written() {
    let ws = Ws::new(SLOW, &[("src/a.py", "a\n")]);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"));
    cmd.current_dir(ws.dir.path())
        .args(["build", "--format", "json"])
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .stdout(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    common::wait_for(&ws.path("started"));
    let t = Instant::now();
    // SAFETY: signalling a child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(t.elapsed() < Duration::from_secs(10), "cancelled promptly");
    assert_eq!(
        out.status.code(),
        Some(130),
        "Ctrl-C exits 130 (128 + SIGINT)"
    );
    assert!(!ws.path("out/a.txt").exists(), "no half-written output");
    let state: Value = serde_json::from_str(&ws.read(".batuta-state.json")).unwrap();
    assert_eq!(state["phases"]["Transpilation"]["status"], "Failed");
}

#[cfg(unix)]
#[test]
fn one_writer_a_second_build_waits_or_with_no_wait_fails_and_readers_never_wait() {
    let ws = Ws::new(
        &SLOW.replace("sleep 30", "sleep 2"),
        &[("src/a.py", "a\n"), ("src/b.py", "b\n")],
    );
    let first = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(ws.dir.path())
        .args(["build", "--format", "json"])
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    common::wait_for(&ws.path("started"));

    // Readers do not wait.
    let t = Instant::now();
    ws.cmd().args(["status"]).assert().success();
    ws.cmd().args(["graph"]).assert().success();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "status and graph did not wait"
    );

    let busy = ws.cmd().args(["build", "--no-wait"]).output().unwrap();
    assert_eq!(busy.status.code(), Some(1));
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(
        err.contains(&format!("another batuta (pid {})", first.id())),
        "{err}"
    );

    // Without --no-wait the second build waits, then finds everything done.
    let second = ws
        .cmd()
        .args(["build", "--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("waiting for another batuta"), "{err}");
    assert_eq!(second.status.code(), Some(0), "{err}");
    let ev = events(&second);
    assert_eq!(summary(&ev)["executed"], 0, "{ev:#?}");
    let mut first = first;
    assert!(first.wait().unwrap().success());
    assert_eq!(ws.read("out/a.txt"), "partial\ndone\n");
    let state: Value = serde_json::from_str(&ws.read(".batuta-state.json")).unwrap();
    assert_eq!(state["phases"]["Transpilation"]["status"], "Completed");
}

#[cfg(unix)]
#[test]
fn killed_mid_build_then_rebuilt_gives_a_correct_result() {
    let ws = Ws::new(
        &SLOW.replace("sleep 30", "sleep 3"),
        &[("src/a.py", "a\n"), ("src/b.py", "b\n")],
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(ws.dir.path())
        .args(["build", "--format", "json"])
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    common::wait_for(&ws.path("started"));
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(3500)); // let orphaned actions finish
    let (code, ev) = ws.build(&[]);
    assert_eq!(code, 0, "{ev:?}");
    for stem in ["a", "b"] {
        assert_eq!(ws.read(&format!("out/{stem}.txt")), "partial\ndone\n");
        assert_eq!(ws.read(&format!("out/{stem}.fast")), format!("{stem}\n"));
    }
    let (_, ev) = ws.build(&[]);
    assert_eq!(summary(&ev)["executed"], 0);
}

#[test]
fn the_readme_example_builds() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/hand-port");
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "batuta.yaml",
        "legacy/main.py",
        "legacy/stats.py",
        "data/in.csv",
        "rust/src/main.rs",
        "rust/src/stats.rs",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), to).unwrap();
    }
    let ws = Ws {
        files: common::Files { dir },
    };
    let (code, ev) = ws.build(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    // All five phases ran, and the board says so.
    let status = ws
        .cmd()
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    for phase in [
        "Analysis",
        "Transpilation",
        "Optimization",
        "Validation",
        "Deployment",
    ] {
        assert_eq!(status["phases"][phase]["status"], "Completed", "{status:#}");
    }
    let board = ws.cmd().arg("status").output().unwrap();
    let board = String::from_utf8_lossy(&board.stdout);
    assert!(board.contains("Overall: 100% complete"), "{board}");
    assert!(ws.read("rust/batuta-plan.txt").contains("operation"));
    assert!(
        ws.read("rust/Cargo.toml")
            .contains("name = \"sensor-summary\"")
    );
    let dist: Value = serde_json::from_str(&ws.read("dist/manifest.json")).unwrap();
    let release = ws.path("dist/sensor-summary");
    let digest = blake3::hash(&std::fs::read(&release).unwrap()).to_hex();
    assert_eq!(dist["artifacts"][0]["blake3"], digest.as_str(), "{dist:#}");
    let (_, ev) = ws.build(&[]);
    assert_eq!(summary(&ev)["executed"], 0, "{ev:#?}");
    // A deliberate divergence in the port is caught by validation.
    ws.write(
        "rust/src/main.rs",
        &ws.read("rust/src/main.rs")
            .replace("{:.3},{:.3}", "{:.2},{:.3}"),
    );
    let (code, ev) = ws.build(&[]);
    assert_eq!(code, 1);
    let f = ev.iter().find(|e| e["outcome"] == "failed").unwrap();
    assert_eq!(f["id"], "validate/same-output");
    assert_eq!(f["code"], "BATUTA-V-001");
}

#[test]
fn profile_writes_one_trace_event_per_action_on_worker_lanes() {
    let ws = pipeline();
    let trace = |ws: &Ws| -> Vec<Value> {
        let t: Value = serde_json::from_str(&ws.read("trace.json")).unwrap();
        t["traceEvents"].as_array().unwrap().clone()
    };
    let (code, ev) = ws.build(&["-j", "2", "--profile", "trace.json"]);
    assert_eq!(code, 0, "{ev:?}");
    let events = trace(&ws);
    let mut complete: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    complete.sort_by_key(|e| e["name"].as_str().unwrap().to_owned());
    let ids: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "action")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(complete.len(), ids.len());
    for e in &complete {
        assert!(ids.contains(&e["name"].as_str().unwrap()), "{e}");
        assert_eq!(e["args"]["outcome"], "executed");
        assert_eq!(e["args"]["cache"], "miss");
        let tid = e["tid"].as_u64().unwrap();
        assert!((1..=2).contains(&tid), "a worker lane: {e}");
        assert!(e["ts"].is_u64() && e["dur"].is_u64());
    }
    // Lanes are named for the viewer.
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "M" && e["args"]["name"] == "worker 0")
    );

    // A no-op build: every action on the scheduler's lane, found up to date.
    ws.build(&["--profile", "trace.json"]);
    let events = trace(&ws);
    let complete: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(complete.len(), ids.len());
    assert!(
        complete
            .iter()
            .all(|e| e["tid"] == 0 && e["args"]["outcome"] == "up_to_date")
    );
}

fn git(ws: &Ws, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(ws.dir.path())
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[test]
fn affected_builds_what_a_change_since_a_revision_reaches_and_what_that_needs() {
    let ws = pipeline();
    ws.write(".gitignore", "out/\ncache/\n.batuta*\nspawned.log\n");
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "-q", "-m", "base"]);

    // Nothing changed since HEAD: nothing is considered, nothing runs.
    let (code, ev) = ws.build(&["--affected", "HEAD"]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(ev[0]["event"], "affected");
    assert_eq!(ev[0]["actions"], 0);
    assert_eq!(summary(&ev)["executed"], 0);

    // a.py changes: its copy, and join which reads its output, and c's copy which join
    // needs; b's copy is not considered.
    ws.write("src/a.py", "a2\n");
    let (code, ev) = ws.build(&["--affected", "HEAD"]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(ev[0]["actions"], 3);
    assert_eq!(
        outcomes(&ev, "executed"),
        [
            "transpile/copy:a.py",
            "transpile/copy:pkg/c.py",
            "validate/join"
        ]
    );
    assert!(!ws.path("out/b.txt").exists(), "b is not affected");

    // A touch that keeps the content reaches nothing; an untracked new file reaches its copy.
    git(&ws, &["checkout", "-q", "--", "src/a.py"]);
    let (_, ev) = ws.build(&["--affected", "HEAD"]);
    assert_eq!(ev[0]["actions"], 0, "{ev:#?}");
    ws.write("src/new.py", "n\n");
    let (_, ev) = ws.build(&["--affected", "HEAD"]);
    assert_eq!(outcomes(&ev, "executed"), ["transpile/copy:new.py"]);

    // A changed manifest reaches everything; a bad revision is a usage error.
    ws.write("batuta.yaml", &format!("{PIPELINE}# edited\n"));
    let (_, ev) = ws.build(&["--affected", "HEAD"]);
    assert_eq!(ev[0]["actions"], 5);
    let out = ws
        .cmd()
        .args(["build", "--affected", "no-such-rev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("git diff failed"));
}

#[test]
fn graph_critical_path_follows_the_longest_chain_of_the_last_build() {
    let ws = Ws::new(
        r#"version: 1
project: { name: t }
stages:
  transpile:
    tasks:
      slow: { run: [sh, -c, "sleep 0.4; echo a > a.txt"], outputs: [a.txt] }
      quick: { run: [sh, -c, "echo c > c.txt"], outputs: [c.txt] }
  build:
    needs: [transpile]
    tasks:
      after: { run: [sh, -c, "sleep 0.2; cp a.txt b.txt"], inputs: [a.txt], outputs: [b.txt] }
"#,
        &[],
    );
    let out = ws
        .cmd()
        .args(["graph", "--critical-path"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("? not run here"), "before any build: {text}");

    let (code, _) = ws.build(&[]);
    assert_eq!(code, 0);
    let out = ws
        .cmd()
        .args(["graph", "--critical-path"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("critical path: 0.") && lines[0].contains("over 2 actions"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("transpile/slow") && lines[2].ends_with("build/after"),
        "{text}"
    );
    assert!(!text.contains("quick"), "{text}");
    let total: f64 = lines[0]["critical path: ".len()..]
        .split('s')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total >= 0.6, "{text}");
}
