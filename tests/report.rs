//! End-to-end tests of `batuta report`: the markdown and JSON reports of a small migration
//! (with what changes between runs masked), and the HTML page's structure.

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
/// `2026-11-30T19:41:34Z` becomes `<time>`, `0.93s` becomes `<secs>`.
fn masked(text: &str) -> String {
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
fn json_report_has_the_board_results_artifacts_and_history() {
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
    assert_eq!(r["results"][0]["action"], "validate/same-output");
    assert_eq!(r["artifacts"][0]["path"], "dist/hello.sh");
    assert_eq!(r["artifacts"][0]["bytes"], 16);
    let builds = r["builds"].as_array().unwrap();
    assert_eq!(builds.len(), 2, "{builds:#?}");
    assert_eq!(builds[0]["executed"], 3);
    assert_eq!(builds[1]["executed"], 3);
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
    assert_eq!(html.matches("<rect class=\"build\"").count(), 1);
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
