//! End-to-end tests of the `batuta` binary: what a user runs and reads.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `batuta` with a clean, colourless environment, run from `dir`.
fn batuta(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("batuta").expect("binary built");
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("BATUTA_CONFIG")
        .env_remove("RUST_LOG");
    cmd
}

fn example() -> PathBuf {
    repo().join("examples/sensor-pipeline")
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

#[test]
fn version_names_the_package_version() {
    let out = batuta(&repo()).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!("batuta {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_accepts_the_bundled_example() {
    let out = batuta(&example()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn check_finds_the_manifest_in_a_parent_folder() {
    let out = batuta(&example().join("legacy/scripts"))
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("sensor-pipeline/batuta.yaml is valid"));
}

#[test]
fn check_without_a_manifest_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let out = batuta(dir.path()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("BATUTA-M-011"), "{err}");
    assert!(err.contains("no batuta.yaml in"), "{err}");
    assert!(err.contains("-f FILE"), "{err}");
}

#[test]
fn manifest_can_come_from_batuta_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = batuta(dir.path())
        .arg("check")
        .env("BATUTA_CONFIG", example().join("batuta.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn graph_dot_of_the_example() {
    let out = batuta(&example()).arg("graph").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn graph_json_of_a_target_includes_the_stages_it_needs() {
    let out = batuta(&example())
        .args(["graph", "ci", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let g: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(g["target"], "ci");
    let stages: Vec<&str> = g["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    // `ci` lists analyze, transpile and validate; validate needs optimize.
    assert_eq!(stages, ["analyze", "transpile", "optimize", "validate"]);
    let ids: Vec<&str> = g["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"transpile/python:main.py"), "{ids:?}");
    assert!(!ids.iter().any(|id| id.starts_with("build/")), "{ids:?}");
    insta::assert_json_snapshot!(g);
}

#[test]
fn graph_of_an_unknown_target_suggests_one() {
    let out = batuta(&example()).args(["graph", "cii"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown target 'cii'"), "{err}");
    assert!(err.contains("did you mean 'ci'?"), "{err}");
}

#[test]
fn file_edges_appear_in_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("src/pkg")).unwrap();
    std::fs::write(d.join("src/a.py"), "").unwrap();
    std::fs::write(d.join("src/pkg/b.py"), "").unwrap();
    std::fs::write(
        d.join("batuta.yaml"),
        r#"version: 1
project: { name: edges, source: src, output: out }
stages:
  transpile:
    tasks:
      copy: { run: [cp, "{in}", "{out}"], each: "**/*.py", out: "{dir}/{stem}.txt" }
  validate:
    needs: [transpile]
    tasks:
      diff: { run: [cmp, out/a.txt, out/pkg/b.txt], inputs: [out/a.txt, out/pkg/b.txt] }
"#,
    )
    .unwrap();
    let out = batuta(d).arg("graph").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dot = stdout(&out);
    assert!(
        dot.contains(r#""transpile/copy:a.py" -> "validate/diff" [label="out/a.txt"];"#),
        "{dot}"
    );
    assert!(
        dot.contains(r#""transpile/copy:pkg/b.py" -> "validate/diff" [label="out/pkg/b.txt"];"#),
        "{dot}"
    );
}

#[test]
fn check_json_reports_each_problem_as_an_event() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("batuta.yaml"),
        "version: 1\nproject: { name: x, sourse: . }\nstage: {}\nstages: {}\n",
    )
    .unwrap();
    let out = batuta(dir.path())
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0]["code"], "BATUTA-M-002");
    assert_eq!(events[0]["line"], 2);
    assert_eq!(events[0]["column"], 21);
    assert_eq!(events[0]["help"], "did you mean 'source'?");
    assert_eq!(events[1]["line"], 3);
    assert_eq!(events[2]["event"], "check");
    assert_eq!(events[2]["problems"], 2);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("batuta.yaml"), "version: 2\n").unwrap();
    let plain = batuta(dir.path()).arg("check").output().unwrap();
    assert!(!stderr(&plain).contains('\x1b'), "no ANSI when piped");
    let forced = batuta(dir.path())
        .args(["check", "--color", "always"])
        .output()
        .unwrap();
    assert!(stderr(&forced).contains('\x1b'), "ANSI with --color always");
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = batuta(&repo())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let script = stdout(&out);
        for word in ["check", "graph", "completions"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}

#[test]
fn bad_command_line_is_exit_2() {
    let out = batuta(&repo()).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = batuta(&repo())
        .args(["graph", "--format", "svg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verbose_logging_goes_to_stderr() {
    let out = batuta(&example()).args(["check", "-vv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("ok: "), "stdout stays clean");
    assert!(stderr(&out).contains("loaded manifest"), "{}", stderr(&out));
}

#[test]
fn explain_prints_a_codes_causes_and_fixes() {
    let out = batuta(&repo()).args(["explain", "v-001"]).output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn explain_of_an_unknown_code_is_a_usage_error() {
    let out = batuta(&repo())
        .args(["explain", "BATUTA-Z-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a batuta error code"));
}

/// `batuta explain | head -3`: the reader leaves after three lines, and batuta ends
/// quietly, as `cat` would, instead of panicking on the closed pipe.
#[test]
fn a_closed_pipe_ends_a_printing_command_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let bin = assert_cmd::cargo::cargo_bin("batuta");
    for args in [
        vec!["explain"],
        vec!["graph", "-f", "examples/sensor-pipeline/batuta.yaml"],
        vec!["status", "-f", "examples/sensor-pipeline/batuta.yaml"],
        vec!["completions", "bash"],
    ] {
        let mut child = std::process::Command::new(&bin)
            .args(&args)
            .current_dir(repo())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let _ = lines.next();
        drop(lines);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}");
    }
}
