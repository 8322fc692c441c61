//! `kernel: allclose` in a manifest, through the real binary: a passing check writes its
//! JSON result and names the backend, a rebuild finds it up to date, a divergence fails
//! with BATUTA-V-001 naming the worst element, and a forced GPU that is disabled is a clear
//! BATUTA-O-003.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const MANIFEST: &str = r#"version: 1
project: { name: numerics }
stages:
  validate:
    tasks:
      numerics:
        kernel: allclose
        inputs: [golden/expected.f32, out/actual.f32]
        outputs: [reports/numerics.json]
        with: { rtol: 1.0e-5, atol: 1.0e-8 }
"#;

fn f32_file(root: &Path, rel: &str, v: &[f32]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(
        p,
        v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
    )
    .unwrap();
}

fn build(root: &Path, format: &str, env: &[(&str, &str)]) -> (i32, String) {
    let mut c = Command::cargo_bin("batuta").unwrap();
    c.current_dir(root)
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", root.join("cache"))
        .env_remove("BATUTA_CONFIG")
        .env_remove("BATUTA_DISABLE_GPU")
        .env_remove("RUST_LOG")
        .args(["build", "--format", format]);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn events(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn event<'a>(ev: &'a [Value], kind: &str) -> &'a Value {
    ev.iter()
        .find(|e| e["event"] == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {ev:?}"))
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("batuta.yaml"), MANIFEST).unwrap();
    let golden: Vec<f32> = (0..10_000).map(|i| (i as f32).sin()).collect();
    f32_file(dir.path(), "golden/expected.f32", &golden);
    let close: Vec<f32> = golden.iter().map(|x| x * (1.0 + 1e-7)).collect();
    f32_file(dir.path(), "out/actual.f32", &close);
    dir
}

#[test]
fn allclose_passes_then_catches_a_divergence() {
    let ws = workspace();
    let root = ws.path();

    let (code, out) = build(root, "json", &[]);
    assert_eq!(code, 0, "{out}");
    let ev = events(&out);
    let report = event(&ev, "report");
    let text = report["text"].as_str().unwrap();
    assert!(text.contains("all 10000 f32 pairs are close"), "{text}");
    assert!(
        text.contains("computed on "),
        "the report names the backend: {text}"
    );
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("reports/numerics.json")).unwrap())
            .unwrap();
    assert_eq!(result["pass"], true);
    assert_eq!(result["n"], 10_000);
    assert!(result["backend"].is_string());

    // Nothing changed: nothing runs.
    let (code, out) = build(root, "json", &[]);
    assert_eq!(code, 0, "{out}");
    let summary = events(&out).pop().unwrap();
    assert_eq!(summary["executed"], 0, "{out}");

    // The port drifts at one element.
    let mut drifted: Vec<f32> = (0..10_000).map(|i| (i as f32).sin()).collect();
    drifted[4321] += 0.25;
    f32_file(root, "out/actual.f32", &drifted);
    let (code, out) = build(root, "json", &[]);
    assert_eq!(code, 1, "a failed check fails the build: {out}");
    let ev = events(&out);
    let failed = ev
        .iter()
        .find(|e| e["event"] == "action" && e["outcome"] == "failed")
        .unwrap_or_else(|| panic!("no failed action: {out}"));
    assert_eq!(failed["code"], "BATUTA-V-001");
    let msg = failed["message"].as_str().unwrap();
    assert!(msg.contains("1 of 10000 f32 pairs are not close"), "{msg}");
    assert!(msg.contains("index 4321"), "{msg}");
    assert!(msg.contains("computed on "), "{msg}");
    assert!(
        !root.join("reports/numerics.json").exists(),
        "a failed action leaves no output"
    );

    // The text output shows the same, with the code.
    let (code, out) = build(root, "text", &[]);
    assert_eq!(code, 1);
    assert!(out.contains("BATUTA-V-001"), "{out}");
    assert!(out.contains("index 4321"), "{out}");
}

/// A build of the workspace with the GPU forced, under `env`: its failure.
fn forced_gpu_failure(env: &[(&str, &str)]) -> Value {
    let ws = workspace();
    let root = ws.path();
    std::fs::write(
        root.join("batuta.yaml"),
        MANIFEST.replace(
            "with: { rtol: 1.0e-5, atol: 1.0e-8 }",
            "with: { rtol: 1.0e-5, atol: 1.0e-8, backend: gpu }",
        ),
    )
    .unwrap();
    let (code, out) = build(root, "json", env);
    assert_eq!(code, 1, "{out}");
    events(&out)
        .into_iter()
        .find(|e| e["event"] == "action" && e["outcome"] == "failed")
        .unwrap_or_else(|| panic!("no failed action: {out}"))
}

#[test]
fn a_forced_gpu_that_is_disabled_is_a_clear_error() {
    let failed = forced_gpu_failure(&[("BATUTA_DISABLE_GPU", "1")]);
    assert_eq!(failed["code"], "BATUTA-O-003");
    let msg = failed["message"].as_str().unwrap();
    assert!(msg.contains("BATUTA_DISABLE_GPU=1"), "{msg}");
}

#[test]
fn a_forced_gpu_without_an_adapter_is_a_clear_error() {
    // No Vulkan driver to be found: the loader reads its list of drivers from these.
    let failed = forced_gpu_failure(&[
        ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
        ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
    ]);
    assert_eq!(failed["code"], "BATUTA-O-003");
    let msg = failed["message"].as_str().unwrap();
    assert!(msg.contains("no GPU adapter found"), "{msg}");
    assert!(msg.contains("mesa-vulkan-drivers"), "{msg}");
    assert!(
        failed["hints"].to_string().contains("backend: auto"),
        "{failed}"
    );
}
