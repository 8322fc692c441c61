//! End-to-end tests of `batuta report`: the markdown and JSON reports of a small migration
//! (with what changes between runs masked), and the HTML page's structure. The page in a
//! real browser is tests/report_browser.rs.

use serde_json::Value;

mod common;

const MANIFEST: &str = r#"version: 1
project: { name: tiny, source: src, output: out }
stages:
  transpile:
    tasks:
      copy: { run: [cp, "{in}", "{out}"], each: "*.sh", out: "{stem}.sh" }
  validate:
    needs: [transpile]
    tasks:
      same-output:
        builtin: compare-outputs
        inputs: [src/hello.sh, out/hello.sh]
        outputs: [validation/same-output.json]
        with:
          original: [sh, src/hello.sh]
          migrated: [sh, out/hello.sh]
  build:
    needs: [validate]
    tasks:
      dist: { run: [cp, out/hello.sh, dist/hello.sh], inputs: [out/hello.sh], outputs: [dist/hello.sh] }
"#;

fn batuta(ws: &common::Files, args: &[&str]) -> std::process::Output {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(ws.dir.path())
        .args(args)
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .env_remove("BATUTA_CONFIG")
        .output()
        .unwrap()
}

/// Times and durations change from run to run; the rest must not:
/// `2026-11-30T19:41:34Z` becomes `<time>`, `0.93s` becomes `<secs>`, `3.1 ms` `<n> ms`.
fn masked(text: &str) -> String {
    let text = &text
        .split(' ')
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| {
            if w[1].starts_with("ms") && w[0].parse::<f64>().is_ok() {
                "<n>"
            } else {
                w[0]
            }
        })
        .chain(text.rsplit(' ').next())
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::new();
    for word in text.split_inclusive([' ', '\n', '"', '|']) {
        let core = word.trim_end_matches([' ', '\n', '"', '|', '.']);
        let tail = &word[core.len()..];
        let is_time = core.len() == 20 && core.ends_with('Z') && core.as_bytes()[10] == b'T';
        let is_secs =
            core.len() > 1 && core.ends_with('s') && core[..core.len() - 1].parse::<f64>().is_ok();
        out.push_str(match () {
            _ if is_time => "<time>",
            _ if is_secs => "<secs>",
            _ => core,
        });
        out.push_str(tail);
    }
    out
}

fn built() -> common::Files {
    let ws = common::Files::new(MANIFEST, &[("src/hello.sh", "echo hello 2.5\n")]);
    let out = batuta(&ws, &["build"]);
    assert!(out.status.success(), "{out:?}");
    ws
}

#[test]
fn markdown_report_of_a_small_migration() {
    let ws = built();
    let out = batuta(&ws, &["report"]);
    assert!(out.status.success(), "{out:?}");
    insta::assert_snapshot!(masked(&String::from_utf8_lossy(&out.stdout)));
}

#[test]
fn json_report_has_the_board_checks_artifacts_and_history() {
    let ws = built();
    // A second build that does work adds to the history; a no-op one does not.
    ws.write("src/hello.sh", "echo hello 2.50\n");
    assert!(batuta(&ws, &["build"]).status.success());
    assert!(batuta(&ws, &["build"]).status.success());
    let out = batuta(&ws, &["report", "--format", "json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["project"], "tiny");
    assert_eq!(r["overall_percent"], 60);
    assert_eq!(r["phases"][1]["phase"], "Transpilation");
    assert_eq!(r["phases"][1]["status"], "Completed");
    assert_eq!(r["analysis"], Value::Null);
    assert_eq!(r["transpile"][0]["file"], "src/hello.sh");
    assert_eq!(r["transpile"][0]["tool"], "cp");
    assert_eq!(r["transpile"][0]["status"], "ok");
    let check = &r["validation"][0];
    assert_eq!(check["action"], "validate/same-output");
    assert_eq!(check["status"], "ok");
    assert_eq!(check["result"]["equal"], true);
    assert!(
        check["summary"]
            .as_str()
            .unwrap()
            .starts_with("same stdout, exit_code; original "),
        "{check}"
    );
    assert_eq!(r["results"], serde_json::json!([]));
    assert_eq!(r["artifacts"][0]["path"], "dist/hello.sh");
    assert_eq!(r["artifacts"][0]["bytes"], 16);
    let builds = r["builds"].as_array().unwrap();
    assert_eq!(builds.len(), 2, "{builds:#?}");
    assert_eq!(builds[0]["executed"], 3);
    assert_eq!(builds[1]["executed"], 3);
}

/// Analysis, a transpiler that is a declared tool (with a version), one that fails, and
/// the checks that could not run after it.
const MIXED: &str = r#"version: 1
project: { name: mixed, source: src, output: out }
tools:
  copier: { command: sh, version: ["-c", "echo copier 1.2.3"] }
rules:
  copy: { tool: copier, run: ["{tool}", "-c", "cp \"$0\" \"$1\"", "{in}", "{out}"] }
stages:
  analyze:
    builtin: analyze
  transpile:
    needs: [analyze]
    tasks:
      shell: { rule: copy, each: "*.sh", out: "{stem}.sh" }
      python: { run: [sh, -c, "echo cannot translate >&2; exit 3"], each: "*.py", out: "{stem}.rs" }
  validate:
    needs: [transpile]
    tasks:
      same-output:
        builtin: compare-outputs
        inputs: [src/hello.sh, out/hello.sh]
        outputs: [validation/same-output.json]
        with:
          original: [sh, src/hello.sh]
          migrated: [sh, out/hello.sh]
targets:
  all: { stages: [analyze, transpile, validate], keep_going: true }
"#;

const MODEL_PY: &str = "import numpy as np\n\n\
def score(a, b):\n    \"\"\"Dot product plus a norm.\"\"\"\n    return np.dot(a, b) + np.linalg.norm(a)\n\n\
def centre(a):\n    if len(a) == 0:\n        return np.zeros(3)\n    return a - np.mean(a)\n";

fn mixed() -> common::Files {
    let ws = common::Files::new(
        MIXED,
        &[
            ("src/hello.sh", "echo hello 2.5\n"),
            ("src/model.py", MODEL_PY),
        ],
    );
    let out = batuta(&ws, &["build", "all"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    ws
}

#[test]
fn markdown_report_with_analysis_and_a_failed_transpile() {
    let ws = mixed();
    let out = batuta(&ws, &["report"]);
    assert!(out.status.success(), "{out:?}");
    insta::assert_snapshot!(masked(&String::from_utf8_lossy(&out.stdout)));
}

/// The JSON report with what changes from run to run (times, durations, the tool's
/// reading of a clock) replaced by `<masked>`.
fn masked_json(v: &mut Value) {
    const VARYING: [&str; 7] = [
        "generated",
        "started_at",
        "completed_at",
        "duration",
        "finished",
        "duration_ms",
        "run_ms",
    ];
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if VARYING.contains(&k.as_str()) && !x.is_null() {
                    *x = Value::from("<masked>");
                } else if let (true, Some(text)) = (k == "summary", x.as_str()) {
                    // A check's summary says how long each side ran.
                    *x = Value::from(masked(text));
                } else {
                    masked_json(x);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(masked_json),
        _ => {}
    }
}

#[test]
fn json_report_snapshot() {
    let ws = mixed();
    let out = batuta(&ws, &["report", "--format", "json"]);
    let mut r: Value = serde_json::from_slice(&out.stdout).unwrap();
    masked_json(&mut r);
    insta::assert_snapshot!(serde_json::to_string_pretty(&r).unwrap());
}

#[test]
fn json_report_has_the_analysis_and_each_file_transpiled() {
    let ws = mixed();
    let out = batuta(&ws, &["report", "--format", "json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &r["analysis"];
    assert_eq!(a["primary_language"], "Python");
    assert_eq!(a["languages"][0]["name"], "Python");
    assert_eq!(a["tdg"]["subscores"].as_array().unwrap().len(), 4);
    assert!(a["tdg"]["grade"].as_str().unwrap().len() == 1, "{a}");
    let ops = a["operations"].as_array().unwrap();
    let target = |op: &str| {
        ops.iter()
            .find(|o| o["operation"] == op)
            .map(|o| o["target"].clone())
    };
    assert_eq!(
        target("numpy.dot"),
        Some(Value::from("trueno::Vector::<f32>::dot"))
    );
    assert_eq!(target("numpy.zeros"), Some(Value::Null));
    assert_eq!(
        a["unmapped"], 1,
        "numpy.zeros; np.linalg.norm is trueno's norm_l2"
    );

    let files = r["transpile"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{files:#?}");
    let by_file = |f: &str| files.iter().find(|x| x["file"] == f).unwrap();
    let sh = by_file("src/hello.sh");
    assert_eq!(sh["tool"], "copier");
    assert_eq!(sh["tool_version"], "copier 1.2.3");
    assert_eq!(sh["status"], "ok");
    assert_eq!(sh["code"], Value::Null);
    let py = by_file("src/model.py");
    assert_eq!(py["tool"], "sh");
    assert_eq!(py["status"], "failed");
    assert_eq!(py["code"], "BATUTA-T-002");
    assert_eq!(py["message"], "sh exited with code 3");
    // The check reads only hello.sh's output, so model.py's failure does not stop it.
    assert_eq!(r["validation"][0]["status"], "ok");
}

#[test]
fn html_report_is_one_self_contained_page_with_the_board_and_charts() {
    let ws = built();
    let out = batuta(&ws, &["report", "--format", "html", "-o", "report.html"]);
    assert!(out.status.success(), "{out:?}");
    let html = ws.read("report.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<table id=\"board\">"));
    assert!(html.contains("<svg id=\"progress\""));
    assert!(html.contains("<svg id=\"history\""));
    assert!(html.contains("<svg id=\"transpile-outcomes\""));
    assert!(html.contains("<table id=\"validation\">"));
    assert!(html.contains("@media print{"));
    // Nothing is fetched: no scripts, links or remote images.
    for needle in ["<script", "<link", "src=\"http", "href=\"http", "url("] {
        assert!(!html.contains(needle), "{needle}");
    }
}

#[test]
fn a_failed_phase_is_marked_in_the_report() {
    let ws = common::Files::new(
        &MANIFEST.replace(
            "migrated: [sh, out/hello.sh]",
            "migrated: [sh, -c, \"echo bye\"]",
        ),
        &[("src/hello.sh", "echo hello\n")],
    );
    assert_eq!(batuta(&ws, &["build"]).status.code(), Some(1));
    let out = batuta(&ws, &["report"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("| ✗ | Validation | Failed ← Fix this!"),
        "{text}"
    );
    assert!(text.contains("BATUTA-V-001"), "{text}");
}

#[test]
fn a_syscall_divergence_is_counted_in_the_report() {
    let ws = common::Files::new(
        r#"version: 1
project: { name: calls, source: src, output: out }
stages:
  validate:
    tasks:
      same-calls:
        builtin: syscalls
        inputs: [src/a.sh]
        outputs: [validation/calls.json]
        with:
          original: [sh, -c, "echo a > made.txt"]
          migrated: [sh, -c, "echo a"]
"#,
        &[("src/a.sh", "echo a\n")],
    );
    assert_eq!(batuta(&ws, &["build"]).status.code(), Some(1));
    let out = batuta(&ws, &["report", "--format", "json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = &r["validation"][0];
    assert_eq!(check["status"], "failed", "{check}");
    assert_eq!(check["code"], "BATUTA-V-003");
    assert_eq!(
        check["divergence"],
        serde_json::json!({"missing": 2, "extra": 0})
    );
    assert_eq!(check["result"], Value::Null);
}

/// The CI example is valid YAML that makes the HTML report and uploads it with its
/// per-file pages, and the JUnit XML, even when the build failed.
#[test]
fn the_ci_example_uploads_the_html_report_and_the_junit_xml() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/ci/github-actions.yml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let wf: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let steps = wf["jobs"]["migrate"]["steps"].as_array().expect("steps");
    let position = |needle: &str| {
        steps
            .iter()
            .position(|s| s["run"].as_str().is_some_and(|r| r.contains(needle)))
            .unwrap_or_else(|| panic!("no step runs {needle}"))
    };
    let build = position("--junit junit.xml");
    let report = position("batuta report --format html -o report.html");
    assert!(build < report, "the report comes after the build");
    assert_eq!(
        steps[report]["if"], "always()",
        "a failed build is reported too"
    );
    let uploads: Vec<&Value> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .collect();
    let uploaded: Vec<&str> = uploads
        .iter()
        .flat_map(|s| s["with"]["path"].as_str().unwrap_or_default().lines())
        .map(str::trim)
        .collect();
    for file in ["report.html", "report-files/", "junit.xml"] {
        assert!(
            uploaded.contains(&file),
            "{file} is not uploaded: {uploaded:?}"
        );
    }
    assert!(uploads.iter().all(|s| s["if"] == "always()"));
}

/// The tests of a cargo-test check, read from the JUnit report of its last run: a failed
/// run keeps no declared output, yet the report names the failing test.
#[test]
fn test_outcomes_of_a_failed_cargo_test_are_in_the_report() {
    let ws = common::Files::new(
        r#"version: 1
project: { name: tests }
stages:
  validate:
    tasks:
      unit:
        builtin: cargo-test
        env: [CARGO_HOME, RUSTUP_HOME, RUSTUP_TOOLCHAIN]
        inputs: [port/Cargo.toml, port/src/lib.rs]
        outputs: [validation/unit.xml]
        with: { dir: port }
"#,
        &[
            (
                "port/Cargo.toml",
                "[package]\nname = \"port\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
            ),
            (
                "port/src/lib.rs",
                "#[test] fn good() {}\n#[test] #[ignore] fn later() {}\n\
                 #[test] fn bad() { assert_eq!(1, 2); }\n",
            ),
        ],
    );
    let out = batuta(&ws, &["build"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = batuta(&ws, &["report", "--format", "json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = &r["validation"][0];
    assert_eq!(check["status"], "failed", "{check}");
    assert_eq!(check["code"], "BATUTA-V-002");
    assert_eq!(
        check["tests"],
        serde_json::json!({"passed": 1, "failed": 1, "skipped": 1, "failing": ["bad"]})
    );
    let md = batuta(&ws, &["report"]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("| 1 passed, 1 failed, 1 skipped: bad |"),
        "{md}"
    );
}

#[test]
fn the_optimization_plan_and_each_files_status_are_in_the_report() {
    let ws = common::Files::new(
        r#"version: 1
project: { name: plan, source: legacy, output: rust }
stages:
  analyze: { builtin: analyze }
  optimize:
    needs: [analyze]
    builtin: optimize
    with: { profile: fast, sizes: { np.dot: 500 } }
"#,
        &[(
            "legacy/m.py",
            "import numpy as np\n\n\ndef f(a, b):\n    return np.dot(a, b)\n",
        )],
    );
    let out = batuta(&ws, &["build"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = batuta(&ws, &["report", "--format", "json"]);
    let r: Value = serde_json::from_slice(&json.stdout).unwrap();
    let plan = &r["optimization"][0];
    assert_eq!(plan["plan"], "rust/batuta-plan.json");
    assert!(
        plan["settings"]
            .as_str()
            .unwrap()
            .starts_with("profile fast")
    );
    let op = &plan["operations"][0];
    assert_eq!(op["operation"], "numpy.dot", "{plan:#}");
    assert_eq!(op["location"], "m.py:5");
    assert_eq!(op["size"], "500");
    assert_eq!(op["backend"], "scalar", "below 1 000 elements: {op:#}");
    assert_eq!(op["call"], "trueno::Vector::<f32>::dot");
    let md = String::from_utf8(batuta(&ws, &["report"]).stdout).unwrap();
    assert!(md.contains("## Optimization plan"), "{md}");
    assert!(md.contains("| numpy.dot | m.py:5 | 500 | scalar |"), "{md}");
    assert!(
        !md.contains("builtin optimize"),
        "the plan is not repeated under other results:\n{md}"
    );
    let html = String::from_utf8(batuta(&ws, &["report", "--format", "html"]).stdout).unwrap();
    assert!(html.contains("<h2>Optimization plan</h2>"));
    assert!(html.contains("<td>numpy.dot</td><td>m.py:5</td>"), "{html}");
}
