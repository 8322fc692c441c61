//! The validation rules against real programs: python3, strace and cargo, run the way the
//! engine runs a builtin (a Call with the task's inputs, outputs, `with` and environment).

use std::ffi::OsString;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use batuta_engine::manifest::Phase;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rules};
use serde_json::{Value, json};

static NO_CANCEL: AtomicBool = AtomicBool::new(false);

/// PATH and HOME, as the engine passes them, plus what cargo needs to find its toolchain.
fn env() -> Vec<(String, OsString)> {
    [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
    ]
    .iter()
    .filter_map(|k| std::env::var_os(k).map(|v| ((*k).to_owned(), v)))
    .collect()
}

fn run(
    name: &str,
    root: &Path,
    inputs: &[&str],
    outputs: &[&str],
    with: Value,
) -> Result<Note, Failure> {
    let rule = batuta_rules::Registry
        .builtin(name)
        .unwrap_or_else(|| panic!("{name} is registered"));
    let inputs: Vec<String> = inputs.iter().map(|s| (*s).to_owned()).collect();
    let outputs: Vec<String> = outputs.iter().map(|s| (*s).to_owned()).collect();
    for o in &outputs {
        std::fs::create_dir_all(root.join(o).parent().unwrap()).unwrap();
    }
    let call = Call {
        action: &format!("validate/{name}"),
        phase: Phase::Validate,
        root,
        source: "",
        output: "",
        inputs: &inputs,
        outputs: &outputs,
        with: &with,
        env: env(),
        cancel: &NO_CANCEL,
    };
    rule.run(&call)
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Two Python programs standing in for an original and its port.
fn pair(root: &Path, original: &str, migrated: &str) {
    write(root, "orig.py", original);
    write(root, "port.py", migrated);
    write(root, "data/in.csv", "a,1.5\nb,2.0\na,3.75\n");
}

const SUMMARY_PY: &str = r#"
import sys
total = {}
for line in open(sys.argv[1]):
    k, v = line.strip().split(",")
    total[k] = total.get(k, 0.0) + float(v)
for k in sorted(total):
    print(f"{k} {total[k]}")
"#;

#[test]
fn compare_outputs_accepts_numbers_printed_differently_within_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    pair(
        root,
        SUMMARY_PY,
        &SUMMARY_PY.replace("{total[k]}", "{total[k]:.6f}"),
    );
    let with = json!({
        "original": ["python3", "-B", "orig.py", "data/in.csv"],
        "migrated": ["python3", "-B", "port.py", "data/in.csv"],
        "rtol": 1e-9,
    });
    let report = run(
        "compare-outputs",
        root,
        &["orig.py", "port.py", "data/in.csv"],
        &["out/report.json"],
        with.clone(),
    )
    .unwrap();
    assert!(
        report.text.contains("same stdout, exit_code"),
        "{}",
        report.text
    );
    let doc: Value =
        serde_json::from_slice(&std::fs::read(root.join("out/report.json")).unwrap()).unwrap();
    assert_eq!(doc["equal"], true);
    assert_eq!(doc["original"]["exit"], "exit code 0");

    // Without a tolerance the text must match exactly: 5.25 is not 5.250000.
    let mut exact = with;
    exact.as_object_mut().unwrap().remove("rtol");
    let f = run(
        "compare-outputs",
        root,
        &["orig.py", "port.py", "data/in.csv"],
        &[],
        exact,
    )
    .unwrap_err();
    assert_eq!(f.code.code, "BATUTA-V-001");
    assert!(f.detail.contains("- a 5.25\n+ a 5.250000"), "{}", f.detail);
}

#[test]
fn compare_outputs_reports_the_first_differing_line_and_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let broken = SUMMARY_PY.replace("total.get(k, 0.0) + float(v)", "float(v)") + "sys.exit(3)\n";
    pair(root, SUMMARY_PY, &broken);
    let f = run(
        "compare-outputs",
        root,
        &["orig.py", "port.py", "data/in.csv"],
        &[],
        json!({
            "original": ["python3", "-B", "orig.py", "data/in.csv"],
            "migrated": ["python3", "-B", "port.py", "data/in.csv"],
            "compare": ["stdout", "exit_code"],
        }),
    )
    .unwrap_err();
    assert_eq!(f.code.code, "BATUTA-V-001");
    assert!(f.message.contains("stdout, exit code"), "{}", f.message);
    assert!(
        f.detail
            .contains("stdout: first difference at line 1 (original 2 lines, migrated 2"),
        "{}",
        f.detail
    );
    assert!(
        f.detail
            .contains("exit code: original: exit code 0, migrated: exit code 3"),
        "{}",
        f.detail
    );
    assert!(f.detail.contains("- a 5.25\n+ a 3.75"), "{}", f.detail);
}

#[test]
fn compare_outputs_compares_written_files_after_normalising() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let prog = |extra: &str| {
        format!(
            "import sys, time\nlines = open('data/in.csv').read().split()\nwith open('out/res.txt', 'w') as f:\n    f.write('made at ' + time.strftime('%H:%M:%S') + '\\n')\n    for l in {extra}(lines): f.write(l + '   \\n')\n"
        )
    };
    pair(root, &prog(""), &prog("reversed"));
    let with = |sort: bool| {
        json!({
            "original": ["python3", "-B", "orig.py"],
            "migrated": ["python3", "-B", "port.py"],
            "compare": ["files", "exit_code"],
            "files": ["out/res.txt"],
            "normalize": {
                "trailing_whitespace": true,
                "sort_lines": sort,
                "replace": [{"regex": "\\d\\d:\\d\\d:\\d\\d", "with": "<time>"}],
            },
        })
    };
    // The programs write no folder of their own: the copy must already have out/.
    write(root, "out/.keep", "");
    let inputs = ["orig.py", "port.py", "data/in.csv", "out/.keep"];
    run("compare-outputs", root, &inputs, &[], with(true)).unwrap();
    let f = run("compare-outputs", root, &inputs, &[], with(false)).unwrap_err();
    assert!(f.message.contains("file out/res.txt"), "{}", f.message);
}

#[test]
fn compare_outputs_explains_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    pair(root, SUMMARY_PY, SUMMARY_PY);
    let f = run(
        "compare-outputs",
        root,
        &[],
        &[],
        json!({"original": ["python3"], "migratd": []}),
    )
    .unwrap_err();
    assert!(
        f.message.contains("unknown field `migratd`"),
        "{}",
        f.message
    );
    assert!(f.hints[0].contains("original, migrated"), "{:?}", f.hints);

    let f = run(
        "compare-outputs",
        root,
        &[],
        &[],
        json!({"original": ["python3"], "migrated": ["bin/port"]}),
    )
    .unwrap_err();
    assert!(
        f.message.contains("'bin/port' is not in the working copy"),
        "{}",
        f.message
    );

    let f = run(
        "compare-outputs",
        root,
        &[],
        &[],
        json!({"original": ["no-such-program-x"], "migrated": ["true"]}),
    )
    .unwrap_err();
    assert!(f.message.contains("not found on PATH"), "{}", f.message);

    let f = run(
        "compare-outputs",
        root,
        &[],
        &["a.json", "b.json"],
        json!({"original": ["true"], "migrated": ["true"]}),
    )
    .unwrap_err();
    assert!(f.message.contains("declares 2 outputs"), "{}", f.message);

    let f = run(
        "compare-outputs",
        root,
        &[],
        &[],
        json!({"original": ["sleep", "5"], "migrated": ["true"], "timeout": 0.3}),
    )
    .unwrap_err();
    assert!(
        f.message.contains("did not finish within 0.3s"),
        "{}",
        f.message
    );
}

/// A writer in Python, and ports that agree or not in what they do to files and processes.
const WRITER_PY: &str = r#"
import os, subprocess, sys
data = open("data/in.csv").read()
with open("out.txt", "w") as f:
    f.write(data.upper())
subprocess.run(["true"], check=True)
os.unlink("data/in.csv")
"#;

#[test]
fn syscalls_agree_on_the_same_behaviour_written_differently() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Same operations through different code: pathlib, os.system-free spawning via os.spawnvp.
    let port = r#"
import os, pathlib
text = pathlib.Path("data/in.csv").read_text()
pathlib.Path("out.txt").write_text(text.upper())
os.spawnvp(os.P_WAIT, "true", ["true"])
pathlib.Path("data/in.csv").unlink()
"#;
    pair(root, WRITER_PY, port);
    let report = run(
        "syscalls",
        root,
        &["orig.py", "port.py", "data/in.csv"],
        &["out/trace.json"],
        json!({
            "original": ["python3", "-B", "orig.py"],
            "migrated": ["python3", "-B", "port.py"],
            "ignore": ["*.py"],
        }),
    )
    .unwrap_or_else(|f| panic!("{}: {}\n{}", f.code, f.message, f.detail));
    assert!(
        report.text.contains("same 5 observable operations"),
        "{}",
        report.text
    );
    let doc: Value =
        serde_json::from_slice(&std::fs::read(root.join("out/trace.json")).unwrap()).unwrap();
    let ops: Vec<&str> = doc["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "read data/in.csv",
            "write out.txt",
            "create out.txt",
            "delete data/in.csv",
            "exec true"
        ]
    );
}

#[test]
fn syscalls_list_missing_and_extra_operations() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Forgets the delete, writes elsewhere, starts another program.
    let port = r#"
import subprocess
data = open("data/in.csv").read()
with open("result.txt", "w") as f:
    f.write(data.upper())
subprocess.run(["sh", "-c", "true"], check=True)
"#;
    pair(root, WRITER_PY, port);
    let f = run(
        "syscalls",
        root,
        &["orig.py", "port.py", "data/in.csv"],
        &[],
        json!({
            "original": ["python3", "-B", "orig.py"],
            "migrated": ["python3", "-B", "port.py"],
            "ignore": ["*.py"],
        }),
    )
    .unwrap_err();
    assert_eq!(f.code.code, "BATUTA-V-003", "{}: {}", f.message, f.detail);
    for line in [
        "missing: write out.txt",
        "missing: create out.txt",
        "missing: delete data/in.csv",
        "missing: exec true",
        "extra:   write result.txt",
        "extra:   create result.txt",
        "extra:   exec sh",
    ] {
        assert!(
            f.detail.lines().any(|l| l == line),
            "{line} not in\n{}",
            f.detail
        );
    }
    assert!(f.message.contains("4 missing, 3 extra"), "{}", f.message);
}

#[test]
fn syscalls_without_strace_say_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let rule = batuta_rules::Registry.builtin("syscalls").unwrap();
    let with = json!({"original": ["true"], "migrated": ["true"]});
    let call = Call {
        action: "validate/syscalls",
        phase: Phase::Validate,
        root: dir.path(),
        source: "",
        output: "",
        inputs: &[],
        outputs: &[],
        with: &with,
        // A PATH without strace on it.
        env: vec![("PATH".to_owned(), dir.path().as_os_str().to_owned())],
        cancel: &NO_CANCEL,
    };
    let f = rule.run(&call).unwrap_err();
    assert_eq!(f.code.code, "BATUTA-T-001");
    assert!(
        f.hints.iter().any(|h| h.contains("apt-get install strace")),
        "{:?}",
        f.hints
    );
}

/// A tiny crate with a passing, an ignored and (unless `fixed`) a failing test.
fn tiny_crate(root: &Path, fixed: bool) {
    write(
        root,
        "port/Cargo.toml",
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    let expected = if fixed { 1 } else { 2 };
    write(
        root,
        "port/src/lib.rs",
        &format!(
            "pub fn sub(a: i32, b: i32) -> i32 {{ a - b }}\n\
             #[cfg(test)]\nmod tests {{\n\
             #[test] fn adds() {{ assert_eq!(1 + 1, 2); }}\n\
             #[test] #[ignore = \"slow\"] fn slow() {{}}\n\
             #[test] fn subtracts() {{ assert_eq!(super::sub(3, 2), {expected}); }}\n}}\n"
        ),
    );
}

#[test]
fn cargo_test_names_failing_tests_and_writes_junit_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tiny_crate(root, false);
    let with = json!({"dir": "port"});
    let f = run(
        "cargo-test",
        root,
        &["port/Cargo.toml", "port/src/lib.rs"],
        &["out/junit.xml"],
        with.clone(),
    )
    .unwrap_err();
    assert_eq!(f.code.code, "BATUTA-V-002", "{}\n{}", f.message, f.detail);
    assert_eq!(f.message, "1 test failed (1 passed): tests::subtracts");
    assert!(
        f.detail.contains("assertion `left == right` failed"),
        "{}",
        f.detail
    );
    // The failed run's report is kept where `batuta build --junit` finds it.
    let last = batuta_rules::validate::junit::last_run_path(root, "validate/cargo-test");
    let xml = std::fs::read_to_string(&last).unwrap();
    assert!(
        xml.contains(r#"tests="3" failures="1" errors="0" skipped="1""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase name="tests::subtracts" classname="unittests src/lib.rs">"#),
        "{xml}"
    );

    tiny_crate(root, true);
    let report = run(
        "cargo-test",
        root,
        &["port/Cargo.toml", "port/src/lib.rs"],
        &["out/junit.xml"],
        with,
    )
    .unwrap();
    assert!(
        report.text.starts_with("2 passed, 1 ignored"),
        "{}",
        report.text
    );
    let xml = std::fs::read_to_string(root.join("out/junit.xml")).unwrap();
    assert!(xml.contains(r#"failures="0""#), "{xml}");
    assert_eq!(std::fs::read_to_string(&last).unwrap(), xml);
}

#[test]
fn cargo_test_on_a_crate_that_does_not_compile() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tiny_crate(root, true);
    write(
        root,
        "port/src/lib.rs",
        "pub fn broken() -> i32 { undefined_name }\n",
    );
    let f = run(
        "cargo-test",
        root,
        &[],
        &[],
        json!({"manifest_path": "port/Cargo.toml"}),
    )
    .unwrap_err();
    assert_eq!(f.code.code, "BATUTA-B-001", "{}\n{}", f.message, f.detail);
    assert!(f.detail.contains("undefined_name"), "{}", f.detail);
    let xml = std::fs::read_to_string(batuta_rules::validate::junit::last_run_path(
        root,
        "validate/cargo-test",
    ))
    .unwrap();
    assert!(xml.contains(r#"errors="1""#), "{xml}");

    let f = run(
        "cargo-test",
        root,
        &[],
        &[],
        json!({"manifest_path": "port/Cargo.toml", "dir": "port"}),
    )
    .unwrap_err();
    assert!(f.message.contains("not both"), "{}", f.message);
}

#[test]
fn bench_measures_the_speedup_and_gates_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let with = |min: f64| {
        json!({
            "original": ["sleep", "0.3"],
            "migrated": ["sleep", "0.02"],
            "runs": 3,
            "warmup": 0,
            "min_speedup": min,
        })
    };
    let report = run("bench", root, &[], &["out/bench.json"], with(2.0))
        .unwrap_or_else(|f| panic!("{}: {}", f.message, f.detail));
    assert!(
        report.text.contains("the speed of the original"),
        "{}",
        report.text
    );
    let doc: Value =
        serde_json::from_slice(&std::fs::read(root.join("out/bench.json")).unwrap()).unwrap();
    let speedup = doc["speedup"].as_f64().unwrap();
    assert!(speedup > 2.0, "{doc}");
    assert_eq!(doc["original"]["runs_ms"].as_array().unwrap().len(), 3);
    let median = doc["original"]["median_ms"].as_f64().unwrap();
    assert!(
        (290.0..1500.0).contains(&median),
        "sleep 0.3 took {median} ms"
    );

    let f = run("bench", root, &[], &[], with(1000.0)).unwrap_err();
    assert_eq!(f.code.code, "BATUTA-Q-001");
    assert!(
        f.message.starts_with("too slow: the gate asks for 1000×"),
        "{}",
        f.message
    );

    let f = run(
        "bench",
        root,
        &[],
        &[],
        json!({"original": ["true"], "migrated": ["false"], "runs": 1}),
    )
    .unwrap_err();
    assert!(
        f.message
            .contains("the migrated program ended with exit code 1"),
        "{}",
        f.message
    );
    let f = run(
        "bench",
        root,
        &[],
        &[],
        json!({"original": ["true"], "migrated": ["true"], "runs": 0}),
    )
    .unwrap_err();
    assert!(f.message.contains("`runs: 0`"), "{}", f.message);
}

#[test]
fn every_builtin_of_the_validate_phase_is_registered_and_catalogued() {
    for name in ["compare-outputs", "syscalls", "cargo-test", "bench"] {
        assert!(batuta_rules::Registry.builtin(name).is_some(), "{name}");
        assert!(batuta_rules::BUILTINS.contains(&name), "{name}");
        assert!(batuta_rules::CATALOG.builtins.contains(&name), "{name}");
    }
}

#[test]
fn compare_outputs_feeds_stdin_to_both_and_compares_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    pair(root, "", "");
    let with = |compare: Value| {
        json!({
            "original": ["python3", "-c", "import sys; print(sys.stdin.read().upper()); print('note', file=sys.stderr)"],
            "migrated": ["tr", "a-z", "A-Z"],
            "stdin": "data/in.csv",
            "compare": compare,
            "normalize": {"trailing_whitespace": true},
        })
    };
    // print() adds a blank line that `tr` does not: trailing_whitespace forgives it.
    run(
        "compare-outputs",
        root,
        &["data/in.csv"],
        &[],
        with(json!(["stdout", "exit_code"])),
    )
    .unwrap_or_else(|f| panic!("{}\n{}", f.message, f.detail));
    let f = run(
        "compare-outputs",
        root,
        &["data/in.csv"],
        &[],
        with(json!(["stderr"])),
    )
    .unwrap_err();
    assert!(f.detail.contains("- note"), "{}", f.detail);
}

#[test]
fn syscalls_compare_network_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Nothing listens on these ports: the attempt is what counts.
    let connect = |port: u16| {
        format!(
            "import socket\ns = socket.socket()\ns.settimeout(2)\ntry:\n    s.connect(('127.0.0.1', {port}))\nexcept OSError:\n    pass\n"
        )
    };
    pair(root, &connect(9), &connect(10));
    let f = run(
        "syscalls",
        root,
        &["orig.py", "port.py"],
        &[],
        json!({"original": ["python3", "-B", "orig.py"], "migrated": ["python3", "-B", "port.py"], "ignore": ["*.py"]}),
    )
    .unwrap_err();
    assert_eq!(f.code.code, "BATUTA-V-003", "{}\n{}", f.message, f.detail);
    assert_eq!(
        f.detail,
        "missing: connect inet 127.0.0.1:9\nextra:   connect inet 127.0.0.1:10"
    );
}

/// One task, several cases: each runs both programs with its own arguments and input,
/// and is reported on its own; the failure names the cases that differ.
#[test]
fn compare_outputs_runs_each_case_and_names_those_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let original = "import sys\nn = int(sys.argv[1]) if len(sys.argv) > 1 else 0\nprint(sys.stdin.read().upper() * n)\n";
    // The port gets a count above 2 wrong.
    let port = original.replace("* n", "* min(n, 2)");
    write(root, "orig.py", original);
    write(root, "port.py", &port);
    write(root, "in/a.txt", "ab");
    write(root, "in/b.txt", "cd");
    let with = |counts: &[&str]| {
        let cases: Vec<Value> = counts
            .iter()
            .enumerate()
            .map(|(i, n)| json!({ "args": [n], "stdin": if i % 2 == 0 { "in/a.txt" } else { "in/b.txt" } }))
            .collect();
        json!({
            "original": ["python3", "-B", "orig.py"],
            "migrated": ["python3", "-B", "port.py"],
            "cases": cases,
        })
    };
    let inputs = ["orig.py", "port.py", "in/a.txt", "in/b.txt"];
    let report = run(
        "compare-outputs",
        root,
        &inputs,
        &["out/r.json"],
        with(&["0", "1", "2"]),
    )
    .unwrap();
    assert!(
        report
            .text
            .starts_with("3 cases, all the same stdout, exit_code:\ncase 1 (0): same"),
        "{}",
        report.text
    );
    let doc: Value =
        serde_json::from_slice(&std::fs::read(root.join("out/r.json")).unwrap()).unwrap();
    assert_eq!(doc["cases"].as_array().unwrap().len(), 3);
    assert_eq!(
        doc["cases"][1]["original"]["argv"],
        json!(["python3", "-B", "orig.py", "1"])
    );

    let f = run(
        "compare-outputs",
        root,
        &inputs,
        &[],
        with(&["1", "3", "2", "5"]),
    )
    .unwrap_err();
    assert_eq!(f.code.code, "BATUTA-V-001");
    assert_eq!(
        f.message,
        "the migrated program differs from the original in 2 of 4 cases: case 2 (3) (stdout), case 4 (5) (stdout)"
    );
    assert!(f.detail.starts_with("case 2 (3):\nstdout:"), "{}", f.detail);
    assert!(f.detail.contains("- CDCDCD\n+ CDCD"), "{}", f.detail);
}
