//! The optimize plan on real numeric code: filterpy 2.0.0 from its PyPI sdist (Kalman
//! filters over small matrices) and a program that runs one (`tests/numeric/track.py`).
//!
//! Needs, from `.ci/run`: `BATUTA_TEST_NUMERIC_PYTHON`, a python with numpy and scipy, and
//! `BATUTA_TEST_FILTERPY`, the unpacked sdist. Without them the tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn env_path(name: &str, what: &str) -> PathBuf {
    let p = std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set: it names {what} (.ci/run sets it up)"));
    assert!(p.exists(), "{name}={} does not exist", p.display());
    p
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A workspace: legacy/filterpy, legacy/track.py, and a manifest whose validation case
/// tracks in 3 dimensions (a 6-element state) for 200 steps.
fn workspace() -> tempfile::TempDir {
    let python = env_path(
        "BATUTA_TEST_NUMERIC_PYTHON",
        "a python with numpy and scipy",
    );
    let sdist = env_path("BATUTA_TEST_FILTERPY", "the unpacked filterpy 2.0.0 sdist");
    let ws = tempfile::tempdir().unwrap();
    copy_tree(&sdist.join("filterpy"), &ws.path().join("legacy/filterpy"));
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/numeric/track.py"),
        ws.path().join("legacy/track.py"),
    )
    .unwrap();
    let manifest = format!(
        r#"version: 1
project: {{ name: track, source: legacy, output: rust }}
stages:
  analyze:
    builtin: analyze
  validate:
    tasks:
      same-output:
        builtin: compare-outputs
        inputs: ["legacy/**/*.py"]
        with: &validation
          original: ["{python}", "legacy/track.py", "3", "200"]
          migrated: ["rust/target/release/track", "3", "200"]
  optimize:
    needs: [analyze]
    tasks:
      shapes:
        builtin: trace-shapes
        inputs: ["legacy/**/*.py"]
        with: *validation
      plan:
        builtin: optimize
        with:
          sizes: {{ "filterpy/kalman/kalman_filter.py:478": [1000, 1000, 1000] }}
targets:
  default: [optimize]
"#,
        python = python.display()
    );
    std::fs::write(ws.path().join("batuta.yaml"), manifest).unwrap();
    ws
}

fn batuta(ws: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_batuta"))
        .args(args)
        .current_dir(ws)
        .env("BATUTA_DISABLE_GPU", "1")
        .output()
        .unwrap()
}

/// Builds the workspace, which must succeed, and reads the plan it wrote.
fn build_plan(ws: &Path) -> Value {
    let out = batuta(ws, &["build", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(ws.join("rust/batuta-plan.json")).unwrap()).unwrap()
}

fn entries<'a>(plan: &'a Value, file: &str, line: u64) -> Vec<&'a Value> {
    plan["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["file"] == file && e["line"] == line)
        .collect()
}

#[test]
fn traced_shapes_size_the_plan_and_recall_numpy_operations() {
    let ws = workspace();
    let plan = build_plan(ws.path());

    // K = PHT·SI in the update (kalman_filter.py:544): measured 6×3 by 3×3, 200 calls, a
    // matrix product planned scalar with trueno's Matrix::matmul.
    let k = entries(&plan, "filterpy/kalman/kalman_filter.py", 544);
    assert_eq!(k.len(), 1, "{k:?}");
    let k = k[0];
    assert_eq!(k["size"], "measured");
    assert_eq!(k["operands"], serde_json::json!([[6, 3], [3, 3]]));
    assert_eq!(k["shape"], serde_json::json!([6, 3, 3]));
    assert_eq!(k["spread"]["count"], 200);
    assert_eq!(k["backend"], "scalar");
    assert_eq!(k["call"], "trueno::Matrix::<f32>::matmul");
    assert_eq!(k["flops"], 2.0 * 6.0 * 3.0 * 3.0);

    // The declared 1000×1000 product: 2 GFLOP.
    let big = entries(&plan, "filterpy/kalman/kalman_filter.py", 478);
    assert!(!big.is_empty());
    for e in big {
        assert_eq!(e["size"], "declared");
        assert_eq!(e["flops"], 2e9);
    }

    // np.sqrt of a Python float (track.py:37) is no array work; the sum beside it is
    // measured over the 6 diagonal elements.
    let unplanned = plan["unplanned"].as_array().unwrap();
    let sqrt = unplanned
        .iter()
        .find(|u| u["file"] == "track.py" && u["operation"] == "numpy.sqrt")
        .expect("np.sqrt at track.py:37 is not planned");
    assert!(
        sqrt["reason"].as_str().unwrap().contains("Python scalars"),
        "{sqrt}"
    );
    let sum = entries(&plan, "track.py", 37);
    assert_eq!(sum[0]["operation"], "numpy.sum");
    assert_eq!(sum[0]["elements"], 6);

    // Every operation nothing sized is a guess, planned scalar.
    for e in plan["operations"].as_array().unwrap() {
        if e["size"] == "guess" {
            assert_eq!(e["backend"], "scalar", "{e}");
        }
    }

    // Recall of NumPy operations (functions, array methods, @) against Python's own parser.
    let counted = Command::new(env_path("BATUTA_TEST_NUMERIC_PYTHON", "python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/numeric/count_numpy_ops.py"))
        .arg(ws.path().join("legacy"))
        .output()
        .unwrap();
    assert!(counted.status.success());
    let ast: Vec<(String, u64, String)> = serde_json::from_slice(&counted.stdout).unwrap();
    let mut found = std::collections::HashMap::<(String, u64, String), usize>::new();
    for p in walk(&ws.path().join(".batuta/analysis/files")) {
        let r: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        for c in r["ml_calls"].as_array().into_iter().flatten() {
            if c["framework"] == "numpy" {
                let op = c["operation"].as_str().unwrap();
                let name = op.rsplit('.').next().unwrap().to_owned();
                let key = (
                    r["path"].as_str().unwrap().to_owned(),
                    c["line"].as_u64().unwrap(),
                    name,
                );
                *found.entry(key).or_default() += 1;
            }
        }
    }
    let mut hit = 0;
    for k in &ast {
        if let Some(n) = found.get_mut(k).filter(|n| **n > 0) {
            *n -= 1;
            hit += 1;
        }
    }
    let recall = hit as f64 / ast.len() as f64;
    eprintln!(
        "recall: {hit} of {} NumPy operations ({:.1} %)",
        ast.len(),
        recall * 100.0
    );
    assert!(ast.len() > 500, "{} operations counted", ast.len());
    assert!(recall >= 0.9, "recall {recall}");

    // The trace is cached: a second build runs nothing.
    let again = batuta(ws.path(), &["build", "--format", "json"]);
    let summary = String::from_utf8_lossy(&again.stdout);
    assert!(summary.contains("\"executed\":0"), "{summary}");
}

/// A program whose calls only the rewriting tracer tells apart: two `np.dot`s and a chained
/// `.dot` on one line, a receiver that is a call's result (`m.weights().T`), and sites in
/// an imported module as well as in the main script.
const CHAINS_MAIN: &str = "import numpy as np\nfrom chains_lib import Model, spread\n\n\ndef main():\n    a, b, c = np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5))\n    m = Model()\n    for _ in range(3):\n        r = np.dot(a, b).dot(c) + np.dot(a, np.dot(b, c))\n        s = m.weights().T.dot(np.ones(4))\n    print(r.sum(), s.sum(), spread(np.ones((7, 2))))\n\n\nmain()\n";
const CHAINS_LIB: &str = "import numpy as np\n\n\nclass Model:\n    def __init__(self):\n        self.w = np.ones((4, 2))\n\n    def weights(self):\n        return self.w\n\n\ndef spread(x):\n    return float(np.dot(x.T, x).sum() + (x.T @ x @ np.ones(2)).sum())\n";

#[test]
fn calls_on_one_line_and_chained_receivers_are_measured_apart() {
    let python = env_path(
        "BATUTA_TEST_NUMERIC_PYTHON",
        "a python with numpy and scipy",
    );
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("legacy")).unwrap();
    std::fs::write(ws.path().join("legacy/chains.py"), CHAINS_MAIN).unwrap();
    std::fs::write(ws.path().join("legacy/chains_lib.py"), CHAINS_LIB).unwrap();
    let manifest = format!(
        r#"version: 1
project: {{ name: chains, source: legacy, output: rust }}
stages:
  analyze:
    builtin: analyze
  optimize:
    needs: [analyze]
    tasks:
      shapes:
        builtin: trace-shapes
        inputs: ["legacy/**/*.py"]
        with: {{ original: ["{python}", "legacy/chains.py"] }}
      plan:
        builtin: optimize
targets:
  default: [optimize]
"#,
        python = python.display()
    );
    std::fs::write(ws.path().join("batuta.yaml"), manifest).unwrap();
    let plan = build_plan(ws.path());
    // "operation @column operands shape" of each call measured on a line, left to right.
    let measured = |file: &str, line: u64| -> Vec<String> {
        let mut v: Vec<(u64, String)> = entries(&plan, file, line)
            .into_iter()
            .map(|e| {
                assert_eq!(e["size"], "measured", "{e}");
                assert_eq!(e["spread"]["count"], 3, "{e}");
                let column = e["column"].as_u64().unwrap();
                let op = e["operation"].as_str().unwrap();
                (
                    column,
                    format!("{op} @{column} {} {}", e["operands"], e["shape"]),
                )
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, s)| s).collect()
    };
    // `r = np.dot(a, b).dot(c) + np.dot(a, np.dot(b, c))`: four products, four shapes.
    assert_eq!(
        measured("chains.py", 9),
        [
            "numpy.dot @18 [[2,3],[3,4]] [2,3,4]",
            "numpy.ndarray.dot @28 [[2,4],[4,5]] [2,4,5]",
            "numpy.dot @40 [[2,3],[3,5]] [2,3,5]",
            "numpy.dot @50 [[3,4],[4,5]] [3,4,5]",
        ]
    );
    // `m.weights().T.dot(np.ones(4))`: the receiver is a call's result, transposed.
    let s = measured("chains.py", 10);
    assert!(
        s.iter()
            .any(|e| e.starts_with("numpy.ndarray.dot @29 [[2,4],[4]]")),
        "{s:?}"
    );
    // In the imported module: `np.dot(x.T, x)` and both `@`s, each with its own operands.
    let lib = entries(&plan, "chains_lib.py", 13);
    let ops: std::collections::BTreeSet<String> = lib
        .iter()
        .map(|e| format!("{} {}", e["operation"].as_str().unwrap(), e["operands"]))
        .collect();
    assert!(ops.contains("numpy.dot [[2,7],[7,2]]"), "{ops:?}");
    assert!(ops.contains("numpy.matmul [[2,7],[7,2]]"), "{ops:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
