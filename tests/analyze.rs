//! End-to-end tests of `batuta analyze` and `batuta init`: what a user runs and reads.
//! PATH is an empty folder so the transpilers are "not installed" on every machine.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules/tests/fixtures/legacy")
}

struct Ws {
    dir: tempfile::TempDir,
    bin: tempfile::TempDir,
}

impl Ws {
    /// A temporary folder holding a copy of the fixture as `legacy/`.
    fn new() -> Ws {
        let ws = Ws {
            dir: tempfile::tempdir().unwrap(),
            bin: tempfile::tempdir().unwrap(),
        };
        copy_tree(&fixture(), &ws.root().join("legacy"));
        ws
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn batuta(&self) -> Command {
        let mut cmd = Command::cargo_bin("batuta").expect("binary built");
        cmd.current_dir(self.root())
            .env("NO_COLOR", "1")
            .env("PATH", self.bin.path())
            .env_remove("BATUTA_CONFIG")
            .env_remove("BATUTA_CACHE_DIR")
            .env_remove("RUST_LOG");
        cmd
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.batuta().args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::create_dir_all(to).unwrap();
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn analyze_without_a_manifest_prints_the_report() {
    let ws = Ws::new();
    // Installed packages and bytecode, which an ad hoc analysis leaves out and names.
    for (dir, file) in [
        ("venv/lib/python3.11/site-packages/numpy", "__init__.py"),
        (".venv/lib", "site.py"),
        ("web/node_modules/left-pad", "index.js"),
        ("__pycache__", "stats.cpython-311.pyc"),
    ] {
        let d = ws.root().join("legacy").join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(file), "x = 1\n").unwrap();
    }
    // Cython, which no transpiler reads: reported, with what to do instead.
    std::fs::write(
        ws.root().join("legacy/kernels.pyx"),
        "# cython: boundscheck=False\ncpdef double total(double[:] xs):\n    cdef double s = 0\n    for x in xs:\n        s += x\n    return s\n",
    )
    .unwrap();
    let (code, out, err) = ws.run(&["analyze", "legacy"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
    // The results are cached under the analysed folder; a second run reads them back.
    assert!(
        ws.root()
            .join("legacy/.batuta/analysis/analysis.json")
            .is_file()
    );
    let (code, again, _) = ws.run(&["analyze", "legacy"]);
    assert_eq!((code, again), (0, out));
}

#[test]
fn analyze_sections_and_formats() {
    let ws = Ws::new();
    let (code, out, err) = ws.run(&["analyze", "legacy", "--languages", "--format", "markdown"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("markdown_languages", out);
    let (code, out, err) = ws.run(&[
        "analyze",
        "legacy",
        "--tdg",
        "--dependencies",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["dependencies", "tdg"]);
    insta::assert_json_snapshot!("json_tdg", v["tdg"]);
    let (code, out, _) = ws.run(&["analyze", "legacy", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["files"], 15);
    assert_eq!(v["recommendations"][0]["transpiler"], "depyler");
    assert_eq!(v["recommendations"][0]["installed"], false);
}

#[test]
fn analyze_reports_bad_files_as_skipped() {
    let ws = Ws::new();
    let l = ws.root().join("legacy");
    std::fs::write(l.join("blob.bin.py"), b"\x00\x01\x02").unwrap();
    std::fs::write(l.join("broken.py"), "def f(:\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("nowhere.py", l.join("dangling.py")).unwrap();
    let (code, out, err) = ws.run(&["analyze", "legacy"]);
    assert_eq!(code, 0, "{err}");
    let skipped = &out[out.find("Skipped").expect("a Skipped section")..];
    insta::assert_snapshot!("skipped", skipped);
}

#[test]
fn analyze_of_a_missing_folder_is_exit_2() {
    let ws = Ws::new();
    let (code, _, err) = ws.run(&["analyze", "no-such-dir"]);
    assert_eq!(code, 2);
    assert!(err.contains("no-such-dir is not a folder"), "{err}");
}

const GATED: &str = "version: 1\nproject: { name: gated, source: legacy }\nstages:\n  analyze:\n    builtin: analyze\n    with: { min_grade: B }\n";

#[test]
fn min_grade_gate_fails_with_q001_and_names_the_sub_score() {
    let ws = Ws::new();
    std::fs::write(ws.root().join("batuta.yaml"), GATED).unwrap();
    let (code, out, err) = ws.run(&["analyze"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.is_empty(), "{out}");
    insta::assert_snapshot!("gate_failure", err);
    // `batuta build` stops the line the same way.
    let (code, _, err) = ws.run(&["build"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("BATUTA-Q-001") && err.contains("Test coverage pulled it down most"),
        "{err}"
    );
}

#[test]
fn editing_one_file_reanalyses_that_file_and_the_aggregate() {
    let ws = Ws::new();
    std::fs::write(
        ws.root().join("batuta.yaml"),
        GATED.replace("min_grade: B", "min_grade: F"),
    )
    .unwrap();
    let summary = |out: &str| -> serde_json::Value {
        serde_json::from_str(out.lines().last().unwrap()).unwrap()
    };
    let (code, out, _) = ws.run(&["build", "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(summary(&out)["executed"], 16);
    std::fs::write(
        ws.root().join("legacy/pkg/util.py"),
        "def clean(a):\n    return a\n",
    )
    .unwrap();
    let (_, out, _) = ws.run(&["build", "--format", "json"]);
    assert_eq!(
        (
            summary(&out)["executed"].clone(),
            summary(&out)["up_to_date"].clone()
        ),
        (2.into(), 14.into())
    );
}

#[test]
fn init_writes_a_manifest_that_check_accepts_and_never_overwrites_it() {
    let ws = Ws::new();
    let (code, out, err) = ws.run(&["init", "--source", "legacy"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("init_stdout", out);
    let yaml = std::fs::read_to_string(ws.root().join("batuta.yaml")).unwrap();
    let name = ws
        .root()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    insta::assert_snapshot!("init_manifest", yaml.replace(&name, "WORKSPACE"));
    let (code, out, err) = ws.run(&["check"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        // A Python package with C built by its own Makefile: two projects.
        out.starts_with("ok: batuta.yaml is valid: 2 projects, 1 stage"),
        "{out}"
    );

    std::fs::write(ws.root().join("batuta.yaml"), "# mine\n").unwrap();
    let (code, _, err) = ws.run(&["init", "--source", "legacy"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.root().join("batuta.yaml")).unwrap(),
        "# mine\n"
    );
    let (code, _, _) = ws.run(&["init", "--source", "legacy", "--force"]);
    assert_eq!(code, 0);
    assert_ne!(
        std::fs::read_to_string(ws.root().join("batuta.yaml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn init_refuses_a_source_outside_the_folder() {
    let ws = Ws::new();
    let (code, _, err) = ws.run(&["init", "--source", "../elsewhere"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a folder below this one"), "{err}");
    assert!(!ws.root().join("batuta.yaml").exists());
}
