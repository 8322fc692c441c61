//! `batuta doctor` through the binary: a missing tool is named with its install command and
//! fails the doctor (exit 1); a machine that has what the manifest needs passes (exit 0);
//! without a `remote:` no socket is opened (checked under strace); a bad manifest is exit 2.

use serde_json::Value;

mod common;

use common::Files;

const MISSING_TOOL: &str = r#"version: 1
project: { name: doc, source: src, output: out }
tools:
  ghost: { command: batuta-no-such-tool, install: "cargo install --locked ghost-transpiler" }
stages:
  transpile:
    tasks:
      spooky: { run: ["{tool}", "{in}", "{out}"], tool: ghost, each: "*.sh", out: "{stem}.sh" }
      copy: { run: [cp, "{in}", "{out}"], each: "*.txt", out: "{stem}.txt" }
"#;

const ALL_THERE: &str = r#"version: 1
project: { name: doc, source: src, output: out }
tools:
  shell: { command: sh, version: ["-c", "echo sh 1.0"] }
stages:
  transpile:
    tasks:
      copy: { run: ["{tool}", "-c", "cp \"$0\" \"$1\"", "{in}", "{out}"], tool: shell, each: "*.sh", out: "{stem}.sh" }
  validate:
    needs: [transpile]
    builtin: compare-outputs
    inputs: [src/a.sh, out/a.sh]
    with: { original: [sh, src/a.sh], migrated: [sh, out/a.sh] }
"#;

/// `batuta doctor --format json` in `ws`, which must exit with `code`.
fn doctor_json(ws: &Files, code: i32) -> Value {
    let out = ws
        .batuta()
        .args(["doctor", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report:#}"))
}

#[test]
fn a_missing_tool_is_named_with_its_install_command_and_fails_the_doctor() {
    let ws = Files::new(
        MISSING_TOOL,
        &[("src/a.sh", "echo a\n"), ("src/b.txt", "b\n")],
    );
    let out = ws.batuta().args(["doctor"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("✗ ghost"))
        .unwrap_or_else(|| panic!("ghost is not named:\n{text}"));
    assert!(line.contains("not found on PATH"), "{line}");
    assert!(
        text.contains("fix: cargo install --locked ghost-transpiler"),
        "{text}"
    );
    assert!(text.contains("needed by transpile/spooky:a.sh"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("✗ The build cannot run here: missing ghost."),
        "{text}"
    );
    // What a user reads of it, without the lines that describe this machine.
    let tools: String = text.split("\nThis machine\n").next().unwrap().to_owned()
        + "\n[this machine]\n"
        + text.rsplit("\n\n").next().unwrap();
    insta::assert_snapshot!("missing_tool", tools);

    let report = doctor_json(&ws, 1);
    assert_eq!(report["ok"], false);
    let ghost = check(&report, "ghost");
    assert_eq!(ghost["outcome"], "missing");
    assert_eq!(ghost["group"], "tools");
    assert_eq!(ghost["fix"], "cargo install --locked ghost-transpiler");
    assert_eq!(ghost["needed_by"][0], "transpile/spooky:a.sh");
    // Nothing else is missing: only a crate needs cargo, and this manifest has none.
    let missing: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "missing")
        .collect();
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert_eq!(check(&report, "cargo")["outcome"], "info");
}

#[test]
fn a_machine_with_what_the_manifest_needs_passes_and_opens_no_socket() {
    let ws = Files::new(ALL_THERE, &[("src/a.sh", "echo a\n")]);
    let report = doctor_json(&ws, 0);
    assert_eq!(report["ok"], true);
    let shell = check(&report, "shell");
    assert_eq!(shell["outcome"], "ok");
    assert_eq!(shell["found"], "sh 1.0");
    assert_eq!(
        check(&report, "sh")["outcome"],
        "ok",
        "the program the check compares"
    );
    let remote = check(&report, "remote");
    assert_eq!(remote["outcome"], "info");
    assert_eq!(
        remote["found"],
        "none in the manifest: doctor opened no connection"
    );
    let cache = &report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["group"] == "cache")
        .unwrap();
    assert_eq!(cache["outcome"], "ok");

    // Under strace: no internet socket is ever made (unix ones, the C library's, may be).
    for l in traced_sockets(&ws).lines() {
        assert!(
            !l.contains("AF_INET"),
            "doctor opened an internet socket: {l}"
        );
    }
}

/// The socket and connect calls of `batuta doctor` in `ws`, as strace writes them.
fn traced_sockets(ws: &Files) -> String {
    let log = ws.path("trace.log");
    let traced = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=socket,connect", "-o"])
        .arg(&log)
        .arg(assert_cmd::cargo::cargo_bin("batuta"))
        .args(["doctor"])
        .current_dir(ws.dir.path())
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .env_remove("BATUTA_CONFIG")
        .output()
        .expect("strace is installed (apt-get install strace)");
    assert_eq!(traced.status.code(), Some(0), "{traced:?}");
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn a_remote_that_does_not_answer_is_a_warning_not_a_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let manifest = format!("{ALL_THERE}remote: {{ cache: \"grpc://127.0.0.1:{port}\" }}\n");
    let ws = Files::new(&manifest, &[("src/a.sh", "echo a\n")]);
    let report = doctor_json(&ws, 0);
    let remote = check(&report, &format!("grpc://127.0.0.1:{port}"));
    assert_eq!(remote["outcome"], "warning", "{remote:#}");
    assert!(
        remote["found"]
            .as_str()
            .unwrap()
            .ends_with("a build would run everything here"),
        "{remote:#}"
    );
    // With a remote, doctor does connect: the trace that shows none above can see one.
    let calls = traced_sockets(&ws);
    assert!(
        calls
            .lines()
            .any(|l| l.starts_with(|c: char| c.is_ascii_digit())
                && l.contains("connect(")
                && l.contains(&format!("htons({port})"))),
        "no connect to port {port} in:\n{calls}"
    );
}

#[test]
fn a_bad_manifest_is_exit_2() {
    let ws = Files::new("version: 1\nproject: { name: x }\nstage: {}\n", &[]);
    let out = ws.batuta().args(["doctor"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
