//! The migration workbench end to end, with the real depyler (4.1.1, whose output for
//! `mean()` does not compile):
//!
//! - `status --next` names the quarantined file and says why it is first;
//! - `report --format html -o` writes a page per source file, and in headless Chromium the
//!   page shows each compiler error under the line rustc put it at;
//! - `port FILE` puts depyler's output in place, adds the file to `hand_ported` and changes
//!   nothing else of the manifest; a hand port then builds; `port --undo FILE` gives the
//!   manifest back byte for byte and keeps the changed module aside.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::{Files, STATS_PY};

const UTIL_PY: &str = "import stats\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n";

/// Comments, a flow mapping and a block mapping: what `port` must leave as it is.
const MANIFEST: &str = r#"# The workbench test's migration.
version: 1
project: { name: stats, source: legacy, output: rust }   # one crate
stages:
  transpile:
    tasks:
      # Python, file by file.
      python:
        rule: depyler        # the built-in template
        each: "**/*.py"
        out: "src/{dir}/{stem}.rs"
      crate:
        builtin: assemble
        inputs: ["rust/src/**/*.rs"]
        outputs: [rust/Cargo.toml, rust/src/lib.rs]
        with: { name: stats }
  validate:
    needs: [transpile]
    builtin: cargo-test
    inputs: ["rust/src/**/*.rs", "rust/tests/*.rs", rust/Cargo.toml]
    with: { dir: rust, args: [--test, mean] }
"#;

const STATS_HAND_PORT: &str = "pub fn mean(values: &[f64]) -> Result<f64, String> {\n    if values.is_empty() {\n        return Err(\"empty\".to_owned());\n    }\n    Ok(values.iter().sum::<f64>() / values.len() as f64)\n}\n";

const MEAN_TEST: &str = "#[test]\nfn mean_of_three() {\n    assert_eq!(stats::stats::mean(&[1.0, 2.0, 6.0]), Ok(3.0));\n}\n";

fn batuta(ws: &Files) -> Command {
    ws.batuta()
}

fn run(ws: &Files, args: &[&str]) -> std::process::Output {
    batuta(ws).args(args).output().unwrap()
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn build(ws: &Files) {
    let out = run(ws, &["build", "--keep-going"]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the build ran: {out:?}"
    );
}

/// assemble's record of the module: its errors as rustc reported them.
fn errors_of(ws: &Files, module: &str) -> Vec<Value> {
    let rec: Value =
        serde_json::from_str(&ws.read(".batuta/transpile/rust/assembly.json")).unwrap();
    rec["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["file"] == module)
        .unwrap_or_else(|| panic!("{module} not in {rec:#}"))["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_next_file_is_shown_beside_its_source_ported_and_handed_back() {
    let ws = Files::new(
        MANIFEST,
        &[("legacy/stats.py", STATS_PY), ("legacy/util.py", UTIL_PY)],
    );
    build(&ws);

    // The to-do list's first file, and why.
    let out = run(&ws, &["status", "--next", "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    let next = &json(&out)["next"];
    assert_eq!(next["source"], "legacy/stats.py", "{next:#}");
    assert_eq!(next["module"], "rust/src/stats.rs");
    assert_eq!(next["dependents"], 1, "util.py imports it");
    assert!(
        next["status"].as_str().unwrap().starts_with("quarantined"),
        "{next:#}"
    );
    assert!(
        next["why"]
            .as_str()
            .unwrap()
            .contains("1 other file uses it"),
        "{next:#}"
    );
    assert_eq!(next["command"], "batuta port legacy/stats.py");
    let text = run(&ws, &["status", "--next"]);
    let text = String::from_utf8_lossy(&text.stdout);
    // The first error's place and words are depyler's, and move with its version.
    let text: Vec<String> = text
        .lines()
        .map(|l| match l.split_once("; first: ") {
            Some((head, _)) => format!("{head}; first: [redacted]"),
            None => l.to_owned(),
        })
        .collect();
    insta::assert_snapshot!("next", text.join("\n"));

    // The page of stats.py: each error of assemble's record under the line rustc named.
    let errors = errors_of(&ws, "rust/src/stats.rs");
    assert!(!errors.is_empty());
    let out = run(
        &ws,
        &["report", "--format", "html", "-o", "out/report.html"],
    );
    assert!(out.status.success(), "{out:?}");
    let page = ws.path("out/report-files/legacy/stats.py.html");
    let html = std::fs::read_to_string(&page).unwrap();
    #[cfg(unix)]
    {
        assert_eq!(mode(&page), 0o644);
        assert_eq!(mode(&ws.path("out/report.html")), 0o644);
    }
    for needle in ["http://", "https://", "<script", "<link", "<img", "url("] {
        assert!(!html.contains(needle), "the page holds {needle}");
    }
    let report = ws.read("out/report.html");
    assert!(
        report.contains("<a href=\"report-files/legacy/stats.py.html\">legacy/stats.py</a>"),
        "the report links the page"
    );
    let dom = String::from_utf8_lossy(&common::browser::browse(&page, &["--dump-dom"]).stdout)
        .into_owned();
    for e in &errors {
        let line = e["line"].as_u64().expect("rustc names the line");
        let row = format!("<tr id=\"r{line}\" class=\"has-error\">");
        let at = dom
            .find(&row)
            .unwrap_or_else(|| panic!("{row} is not in the page:\n{dom}"));
        let after = &dom[at..];
        let next_row = after[row.len()..].find("<tr").unwrap() + row.len();
        // The rows after the line are its errors, before the next line.
        let message = e["message"].as_str().unwrap();
        let diag_rows = &after[next_row
            ..after
                .find(&format!("<tr id=\"r{}\"", line + 1))
                .unwrap_or(after.len())];
        assert!(
            diag_rows.starts_with("<tr class=\"diag\">")
                && diag_rows.contains(&message.replace('<', "&lt;").replace('>', "&gt;")),
            "the error '{message}' is not under line {line}:\n{}",
            &after[..after.len().min(3000)]
        );
    }
    // The source and the Rust are both there, line by line, linkable.
    assert!(dom.contains("<tr id=\"s4\""), "the source's line 4");
    assert!(dom.contains("def mean(values: List[float]) -&gt; float:"));
    assert!(
        dom.contains("<ul id=\"checks\">"),
        "the checks that cover it"
    );

    // Port it: depyler's output in place, the manifest changed in that one list only.
    let out = run(&ws, &["port", "legacy/stats.py"]);
    assert!(out.status.success(), "{out:?}");
    insta::assert_snapshot!("port", String::from_utf8_lossy(&out.stdout));
    let manifest = ws.read("batuta.yaml");
    assert_eq!(
        manifest,
        MANIFEST.replace(
            "        out: \"src/{dir}/{stem}.rs\"\n",
            "        out: \"src/{dir}/{stem}.rs\"\n        hand_ported: [stats.py]\n"
        )
    );
    let module = ws.read("rust/src/stats.rs");
    assert!(
        module.starts_with(
            "// Ported by hand from legacy/stats.py, starting from depyler's output (`batuta port`).\n"
        ),
        "{module}"
    );
    let again = run(&ws, &["port", "legacy/stats.py"]);
    assert_eq!(again.status.code(), Some(2), "a second port is refused");

    // Write the port; it builds and its test runs it.
    ws.write("rust/src/stats.rs", STATS_HAND_PORT);
    ws.write("rust/tests/mean.rs", MEAN_TEST);
    build(&ws);
    let files = json(&run(&ws, &["status", "--files", "--format", "json"]));
    let stats = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "legacy/stats.py")
        .unwrap();
    assert_eq!(stats["status"], "hand-ported (validated)", "{stats:#}");
    assert_eq!(
        ws.read("rust/src/stats.rs"),
        STATS_HAND_PORT,
        "batuta never writes a hand port"
    );

    // And back: the manifest as it was, byte for byte; the changed module kept aside.
    let out = run(&ws, &["port", "--undo", "legacy/stats.py"]);
    assert!(out.status.success(), "{out:?}");
    insta::assert_snapshot!("undo", String::from_utf8_lossy(&out.stdout));
    assert_eq!(ws.read("batuta.yaml"), MANIFEST);
    assert!(!ws.path("rust/src/stats.rs").exists());
    assert_eq!(
        ws.read(".batuta/port/undone/rust/src/stats.rs"),
        STATS_HAND_PORT
    );
    let out = run(&ws, &["port", "--undo", "legacy/stats.py"]);
    assert_eq!(out.status.code(), Some(2), "not ported: nothing to undo");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("legacy/stats.py is not ported by hand"),
        "{out:?}"
    );
}

#[test]
fn a_file_the_transpiler_rejected_gets_a_skeleton_and_undo_removes_it_untouched() {
    // depyler rejects `sum()` with two arguments (BATUTA-T-004 or T-002).
    let bad = "def total(xs):\n    return sum(xs, 0, 1)\n";
    let ws = Files::new(MANIFEST, &[("legacy/stats.py", bad)]);
    build(&ws);
    assert!(!ws.path("rust/src/stats.rs").exists());
    let out = run(&ws, &["port", "stats.py"]);
    assert!(out.status.success(), "{out:?}");
    let module = ws.read("rust/src/stats.rs");
    assert!(
        module.contains("//! - `total` (line 1): `def total(xs):`"),
        "{module}"
    );
    assert!(
        module.contains("\n// def total(xs):\n//     return sum(xs, 0, 1)\n"),
        "{module}"
    );
    let out = run(&ws, &["port", "--undo", "stats.py"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed (unchanged since `batuta port`)")
    );
    assert!(!ws.path("rust/src/stats.rs").exists());
    assert_eq!(ws.read("batuta.yaml"), MANIFEST);
}

#[test]
fn port_refuses_a_file_no_task_transpiles() {
    let ws = Files::new(
        MANIFEST,
        &[("legacy/stats.py", STATS_PY), ("notes.txt", "x\n")],
    );
    let out = run(&ws, &["port", "notes.txt"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no transpile task of the manifest turns notes.txt into Rust"),
        "{err}"
    );
    assert_eq!(ws.read("batuta.yaml"), MANIFEST, "nothing changed");
    let out = run(&ws, &["port", "nowhere.py"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn nothing_to_port_says_so() {
    let ws = Files::new(
        "version: 1\nproject: { name: p, source: src, output: out }\nstages:\n  transpile:\n    tasks:\n      copy: { run: [cp, \"{in}\", \"{out}\"], each: \"*.sh\", out: \"{stem}.sh\" }\n",
        &[("src/a.sh", "echo a\n")],
    );
    build(&ws);
    let out = run(&ws, &["status", "--next"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Nothing to port next"));
    assert_eq!(
        json(&run(&ws, &["status", "--next", "--format", "json"]))["next"],
        Value::Null
    );
}
