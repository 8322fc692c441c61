//! The analysis on a fixture tree: per-file facts, agreement with tokei, bad input, and the
//! `analyze` builtin run by the engine (file by file, cached, gated by min_grade).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use batuta_engine::exec::{self, Event, Progress, Summary};
use batuta_engine::graph;
use batuta_engine::manifest;
use batuta_rules::analyze::report::{Analysis, aggregate};
use batuta_rules::analyze::{FileReport, analyze_path};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy")
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else {
                let rel = e
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

fn analyse_dir(dir: &Path) -> Vec<FileReport> {
    files_under(dir)
        .iter()
        .map(|rel| analyze_path(&dir.join(rel), rel))
        .collect()
}

fn by_path(reports: &[FileReport]) -> BTreeMap<&str, &FileReport> {
    reports.iter().map(|r| (r.path.as_str(), r)).collect()
}

#[test]
fn per_file_facts_on_the_fixture() {
    let reports = analyse_dir(&fixture());
    let r = by_path(&reports);
    let lang = |p: &str| r[p].language.as_deref();
    assert_eq!(lang("main.py"), Some("Python"));
    assert_eq!(
        lang("scripts/deploy"),
        Some("Shell"),
        "shebang without extension"
    );
    assert_eq!(lang("cpp/shape.h"), Some("C++"), "header with C++ content");
    assert_eq!(lang("native/vec.h"), Some("C"));
    assert_eq!(lang("native/CMakeLists.txt"), Some("CMake"));
    assert_eq!(lang("native/Makefile"), Some("Makefile"));

    let fns: Vec<(&str, u32, u32, bool)> = r["main.py"]
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.cyclomatic, f.cognitive, f.documented))
        .collect();
    assert_eq!(
        fns,
        [
            ("load", 3, 2, true),
            ("summarise", 1, 0, false),
            ("fit", 1, 0, false),
            ("classify", 8, 11, false),
            ("infer", 1, 0, false),
        ]
    );
    let deploy = &r["scripts/deploy"].functions[0];
    assert_eq!(
        (deploy.name.as_str(), deploy.cyclomatic, deploy.documented),
        ("deploy_one", 5, true)
    );
    let c: Vec<(&str, u32)> = r["native/vec.c"]
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.cyclomatic))
        .collect();
    assert_eq!(c, [("vec_sum", 4), ("vec_kind", 4)]);
    assert_eq!(r["cpp/circle.cpp"].functions[1].name, "geo::Circle::area");
    assert!(r["tests/test_util.py"].test);

    let ops: Vec<(&str, Option<&str>)> = r["main.py"]
        .ml_calls
        .iter()
        .map(|c| (c.operation.as_str(), c.target.as_deref()))
        .collect();
    assert_eq!(
        ops,
        [
            ("numpy.array", None),
            ("numpy.dot", Some("trueno::Vector::<f32>::dot")),
            ("numpy.matmul", Some("trueno::Matrix::<f32>::matmul")),
            ("numpy.sum", Some("trueno::Vector::<f32>::sum")),
            ("numpy.mean", Some("trueno::Vector::<f32>::mean")),
            (
                "sklearn.linear_model.LinearRegression",
                Some("aprender::linear_model::LinearRegression::new")
            ),
            (
                "sklearn.linear_model.LinearRegression.fit",
                Some("aprender::linear_model::LinearRegression::fit")
            ),
            (
                "sklearn.cluster.KMeans",
                Some("aprender::cluster::KMeans::new")
            ),
            (
                "torch.load",
                Some("realizar::apr_transformer::AprTransformer::from_apr_file::<&str>")
            ),
            (
                "torch.nn.Module.forward",
                Some("realizar::apr_transformer::AprTransformer::forward")
            ),
            ("numpy.zeros", None),
        ]
    );
    let deps = |p: &str| -> Vec<String> {
        r[p].dependencies
            .iter()
            .map(|d| format!("{} {} {}", d.name, d.constraint, d.manager))
            .collect()
    };
    assert_eq!(
        deps("requirements.txt"),
        [
            "numpy >=1.24, <2 pip",
            "scikit-learn ==1.3.2 pip",
            "torch  pip"
        ]
    );
    assert_eq!(deps("native/Makefile"), ["m  make", "openblas  make"]);
    assert_eq!(
        deps("native/CMakeLists.txt"),
        ["BLAS 3.0 cmake", "m  cmake"]
    );
}

/// Lines of code, comments and blanks per tokei language, as tokei counts the same tree.
#[test]
fn line_counts_agree_with_tokei() {
    let dir = fixture();
    let mut ours: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for r in analyse_dir(&dir) {
        if let Some(t) = &r.tokei {
            // tokei reads `.h` as C Header whatever it holds; compare by its names.
            let name = if r.path.ends_with(".h") {
                "C Header".to_owned()
            } else {
                t.clone()
            };
            let e = ours.entry(name).or_default();
            e.0 += r.code;
            e.1 += r.comments;
            e.2 += r.blanks;
        }
    }
    let mut languages = tokei::Languages::new();
    languages.get_statistics(&[&dir], &[], &tokei::Config::default());
    let theirs: BTreeMap<String, (u64, u64, u64)> = languages
        .iter()
        .map(|(t, l)| {
            let l = l.summarise();
            (
                t.name().to_owned(),
                (l.code as u64, l.comments as u64, l.blanks as u64),
            )
        })
        .filter(|(_, c)| *c != (0, 0, 0))
        .collect();
    assert!(theirs.len() >= 8, "tokei saw {theirs:?}");
    assert_eq!(ours, theirs);
}

#[test]
fn bad_input_is_reported_and_never_stops_the_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ok.py"), "x = 1\n").unwrap();
    std::fs::write(d.join("blob.py"), b"\x7fELF\x00\x00\x01binary").unwrap();
    std::fs::write(d.join("latin1.py"), b"s = 'caf\xe9'\n").unwrap();
    std::fs::write(d.join("broken.py"), "def f(:\n    return\n").unwrap();
    std::fs::write(d.join("broken.c"), "int f( { return 0; \n").unwrap();
    let big = std::fs::File::create(d.join("generated.py")).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("loop.py", d.join("loop.py")).unwrap();
    let reports = analyse_dir(d);
    let a = aggregate(reports, &[]);
    let reasons: Vec<(&str, &str)> = a
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    let mut want = vec![
        ("blob.py", "binary file (NUL bytes)"),
        (
            "broken.c",
            "tree-sitter could not parse line 1: complexity not measured",
        ),
        (
            "broken.py",
            "tree-sitter could not parse line 1: complexity not measured",
        ),
        (
            "generated.py",
            "50.0 MiB, over the 10 MiB limit (generated or data?)",
        ),
        (
            "latin1.py",
            "not valid UTF-8 (byte 8): lines counted, syntax not analysed",
        ),
    ];
    #[cfg(unix)]
    want.push(("loop.py", "symbolic link loop"));
    want.sort();
    assert_eq!(reasons, want);
    // What could be counted was.
    assert_eq!(a.languages[0].name, "Python");
    assert_eq!(a.languages[0].files, 3, "ok.py, latin1.py, broken.py");
}

// ---- the builtin, run by the engine ----------------------------------------------------

struct Quiet;
impl Progress for Quiet {
    fn event(&self, _: Event<'_>) {}
}

fn build(root: &Path) -> Summary {
    let m = manifest::load(&root.join("batuta.yaml"), &batuta_rules::CATALOG).expect("manifest");
    let g = graph::expand(&m, None).expect("graph");
    let opts = exec::Options {
        jobs: 2,
        keep_going: false,
        cache_dir: root.join(".batuta/cache"),
        modules: Vec::new(),
        only: None,
        remote: None,
        writes: None,
    };
    exec::build(
        &m,
        &g,
        &opts,
        &batuta_rules::Registry,
        &Quiet,
        &AtomicBool::new(false),
    )
}

fn copy_tree(from: &Path, to: &Path) {
    for rel in files_under(from) {
        let dest = to.join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), dest).unwrap();
    }
}

fn workspace(with: &str) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    copy_tree(&fixture(), &ws.path().join("legacy"));
    std::fs::write(
        ws.path().join("batuta.yaml"),
        format!("version: 1\nproject: {{ name: fixture, source: legacy }}\nstages:\n  analyze:\n    builtin: analyze\n{with}"),
    )
    .unwrap();
    ws
}

fn analysis(root: &Path) -> Analysis {
    let text = std::fs::read(root.join(".batuta/analysis/analysis.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

#[test]
fn the_builtin_analyses_file_by_file_and_reruns_only_what_changed() {
    let ws = workspace("");
    let root = ws.path();
    let files = files_under(&fixture()).len();
    let s = build(root);
    assert_eq!((s.executed, s.failed), (files + 1, 0), "{:?}", s.failures);
    let a = analysis(root);
    assert_eq!(a.files, files);
    assert_eq!(a.primary_language.as_deref(), Some("Python"));
    assert!(
        a.dependencies
            .iter()
            .any(|d| d.name == "BLAS" && d.manager == "cmake")
    );
    assert!(
        a.ml.operations.iter().any(|o| o.operation == "numpy.dot"
            && o.target.as_deref() == Some("trueno::Vector::<f32>::dot"))
    );
    assert!(
        a.ml.operations
            .iter()
            .any(|o| o.operation == "numpy.zeros" && o.target.is_none())
    );
    let report = std::fs::read_to_string(root.join(".batuta/analysis/report.txt")).unwrap();
    assert!(report.contains("Quality: TDG"), "{report}");

    let s = build(root);
    assert_eq!((s.executed, s.up_to_date), (0, files + 1));

    std::fs::write(
        root.join("legacy/pkg/util.py"),
        "def clean(a):\n    return a\n",
    )
    .unwrap();
    let s = build(root);
    assert_eq!(
        (s.executed, s.up_to_date),
        (2, files - 1),
        "one file and the aggregate"
    );
    let a = analysis(root);
    assert_eq!(
        a.languages
            .iter()
            .find(|l| l.name == "Python")
            .unwrap()
            .files,
        4
    );
}

#[test]
fn min_grade_fails_with_q001_naming_the_weakest_sub_score() {
    let ws = workspace("    with: { min_grade: A }\n");
    let s = build(ws.path());
    assert_eq!(s.failed, 1);
    let (id, f) = &s.failures[0];
    assert_eq!(id, "analyze/analyze");
    assert_eq!(f.code.code, "BATUTA-Q-001");
    assert!(
        f.message.contains("below the minimum grade A"),
        "{}",
        f.message
    );
    let tdg = aggregate(analyse_dir(&fixture()), &[]).tdg;
    let weakest = tdg.weakest().unwrap();
    assert!(
        f.hints[0].starts_with(&format!("{} pulled it down most", weakest.name)),
        "{:?}",
        f.hints
    );

    let ws = workspace("    with: { min_grade: F }\n");
    assert_eq!(build(ws.path()).failed, 0);
}
