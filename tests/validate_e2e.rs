//! End-to-end tests of the validate phase through the real binary: a divergence between an
//! original and its port is caught (exit 1, BATUTA-V-001 with a diff), the bundled
//! example validates, and `--junit` collects cargo-test results.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn batuta(root: &Path) -> Command {
    let mut c = Command::cargo_bin("batuta").unwrap();
    c.current_dir(root)
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", root.join(".cache"))
        .env_remove("BATUTA_CONFIG")
        .env_remove("RUST_LOG");
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn events(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

const MANIFEST: &str = r#"
version: 1
project: { name: divergence }
stages:
  validate:
    tasks:
      same-output:
        builtin: compare-outputs
        inputs: [orig.py, port.py, data/in.csv]
        outputs: [validation/same-output.json]
        with:
          original: [python3, -B, orig.py, data/in.csv]
          migrated: [python3, -B, port.py, data/in.csv]
          compare: [stdout, exit_code]
          rtol: 1.0e-9
"#;

const ORIGINAL: &str = r#"
import sys
total = {}
for line in open(sys.argv[1]):
    k, v = line.strip().split(",")
    total[k] = total.get(k, 0.0) + float(v)
for k in sorted(total):
    print(f"{k} {total[k]}")
"#;

#[test]
fn a_deliberate_divergence_is_caught_with_v001_and_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "batuta.yaml", MANIFEST);
    write(root, "orig.py", ORIGINAL);
    write(root, "data/in.csv", "a,1.5\nb,2.0\na,3.75\n");
    // A faithful port that prints numbers its own way: equal within rtol.
    write(
        root,
        "port.py",
        &ORIGINAL.replace("{total[k]}", "{total[k]:.6f}"),
    );
    let out = batuta(root).arg("build").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("validation/same-output.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["equal"], true);

    // The port forgets to accumulate: the build fails and says where.
    write(
        root,
        "port.py",
        &ORIGINAL.replace("total.get(k, 0.0) + float(v)", "float(v)"),
    );
    let out = batuta(root).arg("build").output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("BATUTA-V-001"), "{all}");
    assert!(
        all.contains(
            "validate/same-output: the migrated program differs from the original in stdout"
        ),
        "{all}"
    );
    assert!(all.contains("stdout: first difference at line 1"), "{all}");
    assert!(
        all.contains("- a 5.25") && all.contains("+ a 3.75"),
        "{all}"
    );
    // Nothing half-written: a failed validation leaves no report.
    assert!(!root.join("validation/same-output.json").exists());

    let out = batuta(root)
        .args(["build", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let ev = events(&out);
    let failed = ev
        .iter()
        .find(|e| e["outcome"] == "failed")
        .unwrap_or_else(|| panic!("{ev:#?}"));
    assert_eq!(failed["id"], "validate/same-output");
    assert_eq!(failed["code"], "BATUTA-V-001");
}

/// examples/validate, copied so the test writes nothing into the repository.
fn example() -> tempfile::TempDir {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/validate");
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "batuta.yaml",
        "legacy/summary.py",
        "data/readings.csv",
        "rust/Cargo.toml",
        "rust/src/main.rs",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), to).unwrap();
    }
    dir
}

#[test]
fn the_validate_example_passes_then_catches_a_divergence_in_the_port() {
    let dir = example();
    let root = dir.path();
    let out = batuta(root).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = batuta(root)
        .args(["build", "--junit", "junit.xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for report in [
        "same-output.json",
        "syscalls.json",
        "unit-tests.xml",
        "bench.json",
        "same-means.json",
    ] {
        assert!(root.join("validation").join(report).exists(), "{report}");
    }
    let junit = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"tests="4" failures="0" errors="0""#),
        "{junit}"
    );
    let syscalls: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("validation/syscalls.json")).unwrap(),
    )
    .unwrap();
    let ops: Vec<&str> = syscalls["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        ops.contains(&"read data/readings.csv") && ops.contains(&"create out/summary.txt"),
        "{ops:?}"
    );

    // The port divides by n + 1: its means differ beyond rtol.
    let main = root.join("rust/src/main.rs");
    let src = std::fs::read_to_string(&main).unwrap();
    let broken = src.replace("/ values.len() as f64,", "/ (values.len() as f64 + 1.0),");
    assert_ne!(
        src, broken,
        "the example's mean is where this test expects it"
    );
    std::fs::write(&main, broken).unwrap();
    let out = batuta(root)
        .args(["build", "--keep-going"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("BATUTA-V-001"), "{all}");
    assert!(all.contains("in stdout, file out/summary.txt"), "{all}");
    assert!(all.contains("- a: n=3 mean=2.3333333333333335"), "{all}");
    // The port's own tests catch it too; what it does to the system did not change.
    assert!(
        all.contains("BATUTA-V-002") && all.contains("tests::stats_of_one_sensor"),
        "{all}"
    );
    assert!(!all.contains("BATUTA-V-003"), "{all}");
    // The numeric comparison of the means fails too, naming the worst element.
    assert!(all.contains("Error: validate/same-means:"), "{all}");
    assert!(!root.join("validation/same-means.json").exists());
}

#[test]
fn junit_collects_the_failing_tests_of_a_failed_build() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "batuta.yaml",
        r#"
version: 1
project: { name: junit }
stages:
  validate:
    tasks:
      tests:
        builtin: cargo-test
        env: [CARGO_HOME, RUSTUP_HOME, RUSTUP_TOOLCHAIN]
        inputs: [port/Cargo.toml, port/src/lib.rs]
        outputs: [validation/tests.xml]
        with: { dir: port }
"#,
    );
    write(
        root,
        "port/Cargo.toml",
        "[package]\nname = \"port\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    write(
        root,
        "port/src/lib.rs",
        "#[test] fn good() {}\n#[test] fn bad() { assert_eq!(1, 2, \"one is not two\"); }\n",
    );
    let out = batuta(root)
        .args(["build", "--junit", "ci/junit.xml"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("BATUTA-V-002") && all.contains("1 test failed (1 passed): bad"),
        "{all}"
    );
    // The folder of PATH does not exist: --junit writes where it is told or says why not.
    assert!(
        all.contains("error: --junit: cannot write ci/junit.xml"),
        "{all}"
    );

    let out = batuta(root)
        .args(["build", "--junit", "junit.xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let junit = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<testsuites name="batuta build default" tests="2" failures="1""#),
        "{junit}"
    );
    assert!(junit.contains("one is not two"), "{junit}");
}
