//! The analysis of a legacy tree: per file (language, lines, functions and their complexity,
//! dependency manifests, ML framework calls), then across files (language mix, TDG,
//! recommendations). Per-file results are plain data so the engine can cache each one.
//!
//! Nothing here panics on bad input: binary files, invalid UTF-8, files tree-sitter cannot
//! parse, huge files and unreadable paths come back as a [`FileReport`] that says what was
//! skipped and why.

pub mod complexity;
pub mod deps;
pub mod language;
pub mod left_out;
pub mod ml;
pub mod python;
pub mod recommend;
pub mod report;
pub(crate) mod rule;
pub mod syntax;
pub mod targets;
pub mod tdg;

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use complexity::Function;
pub use deps::Dependency;
pub use language::Detection;
pub use ml::MlCall;
pub use report::Analysis;

/// Files above this size are skipped: generated code, data dumps, vendored bundles.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// How much of a file's start is checked for NUL bytes to call it binary (as git does).
const BINARY_PROBE: usize = 8000;

/// Everything batuta learns from one file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    /// Relative to `project.source`, `/`-separated.
    pub path: String,
    pub bytes: u64,
    /// The family it is reported under (`Python`, `C++`, `Shell`…), if recognised.
    pub language: Option<String>,
    /// tokei's name for it (`C Header`, `BASH`…), which counted its lines.
    pub tokei: Option<String>,
    pub detected_by: Option<Detection>,
    pub code: u64,
    pub comments: u64,
    pub blanks: u64,
    /// Test code (test folders, `test_*.py`, `*_test.c`…), counted for the coverage proxy.
    pub test: bool,
    pub functions: Vec<Function>,
    pub dependencies: Vec<Dependency>,
    /// ML frameworks imported (top-level modules).
    pub ml_imports: Vec<String>,
    pub ml_calls: Vec<MlCall>,
    /// Set when nothing was analysed, with the reason.
    pub skipped: Option<String>,
    /// What was left out of an otherwise analysed file (a syntax error, invalid UTF-8…).
    pub problems: Vec<String>,
}

impl FileReport {
    fn skipped(path: &str, bytes: u64, reason: impl Into<String>) -> FileReport {
        FileReport {
            path: path.to_owned(),
            bytes,
            skipped: Some(reason.into()),
            ..FileReport::default()
        }
    }
}

/// Analyse the file at `abs`, reported as `rel`.
pub fn analyze_path(abs: &Path, rel: &str) -> FileReport {
    let meta = match std::fs::metadata(abs) {
        Ok(m) => m,
        Err(e) => {
            let reason = match std::fs::symlink_metadata(abs) {
                Ok(l) if l.file_type().is_symlink() => {
                    if e.raw_os_error() == Some(40) {
                        "symbolic link loop".to_owned()
                    } else {
                        format!("symbolic link to nothing readable ({})", io_reason(&e))
                    }
                }
                _ => format!("cannot read: {}", io_reason(&e)),
            };
            return FileReport::skipped(rel, 0, reason);
        }
    };
    if !meta.is_file() {
        return FileReport::skipped(rel, 0, "not a regular file");
    }
    if meta.len() > MAX_FILE_BYTES {
        // A large file of no source language (an archive, a library) is not source skipped.
        if language::detect(rel, b"").is_none() {
            return FileReport {
                path: rel.to_owned(),
                bytes: meta.len(),
                ..FileReport::default()
            };
        }
        return FileReport::skipped(
            rel,
            meta.len(),
            format!(
                "{:.1} MiB, over the {} MiB limit (generated or data?)",
                meta.len() as f64 / (1024.0 * 1024.0),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        );
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    let read =
        std::fs::File::open(abs).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return FileReport::skipped(rel, meta.len(), format!("cannot read: {}", io_reason(&e)));
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return FileReport::skipped(
            rel,
            bytes.len() as u64,
            "grew over the size limit while read",
        );
    }
    analyze_bytes(rel, &bytes)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => e.to_string(),
    }
}

/// Analyse a file's content.
pub fn analyze_bytes(rel: &str, bytes: &[u8]) -> FileReport {
    let mut r = FileReport {
        path: rel.to_owned(),
        bytes: bytes.len() as u64,
        test: is_test(rel),
        ..FileReport::default()
    };
    if bytes[..bytes.len().min(BINARY_PROBE)].contains(&0) {
        // Images, archives and objects are simply not source; a binary `.py` is reported.
        if language::detect(rel, b"").is_some() {
            r.skipped = Some("binary file (NUL bytes)".to_owned());
        }
        return r;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let detected = language::detect(rel, &bytes[..bytes.len().min(BINARY_PROBE)]);
    if let Some(d) = detected {
        let stats = count(d.tokei, bytes);
        r.language = Some(d.family.to_owned());
        r.tokei = Some(d.tokei.name().to_owned());
        r.detected_by = Some(d.by);
        r.code = stats.code as u64;
        r.comments = stats.comments as u64;
        r.blanks = stats.blanks as u64;
    }
    let is_deps = deps::is_manifest(rel);
    let grammar = r.language.as_deref().and_then(syntax::Grammar::for_family);
    if grammar.is_none() && !is_deps {
        return r;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            r.problems.push(format!(
                "not valid UTF-8 (byte {}): lines counted, syntax not analysed",
                e.valid_up_to()
            ));
            return r;
        }
    };
    if is_deps {
        match deps::parse(rel, text) {
            Ok(p) => {
                r.dependencies = p.dependencies;
                r.problems.extend(p.notes);
            }
            Err(e) => r.problems.push(format!("dependencies not read: {e}")),
        }
    }
    // Test code counts for the coverage proxy only: its complexity does not enter the TDG,
    // so it is not parsed (in a test-heavy tree such as CPython's that is most of the work).
    if let Some(g) = grammar.filter(|_| !r.test) {
        syntax_facts(&mut r, g, text);
    }
    r
}

/// tokei's counts for one file. tokei splits a file across rayon's global pool; called for
/// thousands of small files from the engine's workers that costs more in hand-offs and
/// spinning than it saves, so each worker thread counts in a pool of its own (itself).
fn count(t: tokei::LanguageType, bytes: &[u8]) -> tokei::CodeStats {
    thread_local! {
        static POOL: Option<rayon::ThreadPool> = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build()
            .ok();
    }
    let config = tokei::Config::default();
    let run = || t.parse_from_slice(bytes, &config).summarise();
    // Inside a rayon pool already (`analyze_tree`), tokei's parallelism is at home.
    if rayon::current_thread_index().is_some() {
        return run();
    }
    POOL.with(|pool| match pool {
        Some(p) => p.install(run),
        None => run(),
    })
}

fn syntax_facts(r: &mut FileReport, g: syntax::Grammar, text: &str) {
    // Python's facts come from its tokens (the same as from tree-sitter's tree, much
    // faster); a file whose tokens do not add up gets the full parse.
    if g == syntax::Grammar::Python
        && let Ok(facts) = python::facts(text, ml::may_import_framework(text))
    {
        r.functions = facts.functions;
        r.ml_imports = facts.ml_imports;
        r.ml_calls = facts.ml_calls;
        return;
    }
    let tree = match syntax::parse(g, text) {
        Ok(t) => t,
        Err(e) => {
            r.problems.push(e);
            return;
        }
    };
    if let Some(line) = syntax::first_error(&tree) {
        r.problems.push(format!(
            "tree-sitter could not parse line {line}: complexity not measured"
        ));
    } else {
        let (functions, truncated) = complexity::functions(g, &tree, text);
        r.functions = functions;
        if truncated {
            r.problems
                .push("nesting too deep: complexity measured only down to 1000 levels".to_owned());
        }
    }
    if g == syntax::Grammar::Python {
        let (imports, calls) = ml::scan(&tree, text);
        r.ml_imports = imports;
        r.ml_calls = calls;
    }
}

/// Analyse a whole folder in this process, without the engine or its cache (`batuta init`
/// uses it): the same walk as `each` (.gitignore honoured, `exclude` globs skipped).
pub fn analyze_tree(dir: &Path, exclude: &[&str]) -> Analysis {
    report::aggregate(scan_tree(dir, exclude), &[])
}

/// Each file's report, for a caller that needs to know which file is in which language
/// (`batuta init` matches scripts by their shebang, as the analysis found them).
pub fn scan_tree(dir: &Path, exclude: &[&str]) -> Vec<FileReport> {
    use rayon::prelude::*;
    let exclude = batuta_engine::graph::walk::glob_set(exclude.iter().copied())
        .unwrap_or_else(|_| globset::GlobSet::empty());
    let skip = [dir.join(".batuta"), dir.join(".git")];
    let files = batuta_engine::graph::walk::walk(dir, &exclude, &skip);
    files
        .par_iter()
        .map(|f| analyze_path(&dir.join(&f.rel), &f.rel))
        .collect()
}

/// Test code by the usual conventions of the languages batuta migrates.
pub fn is_test(rel: &str) -> bool {
    let mut parts = rel.split('/').peekable();
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let stem = name.split('.').next().unwrap_or(name);
    let in_test_dir = {
        let mut dirs = Vec::new();
        while let Some(p) = parts.next() {
            if parts.peek().is_some() {
                dirs.push(p);
            }
        }
        dirs.iter()
            .any(|d| matches!(*d, "test" | "tests" | "testing" | "unittest" | "__tests__"))
    };
    in_test_dir
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem == "conftest"
        || name.ends_with(".bats")
        || name.contains(".test.")
        || name.contains(".spec.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_skipped_with_a_reason() {
        let r = analyze_bytes("x.py", b"print(1)\0\0");
        assert_eq!(r.skipped.as_deref(), Some("binary file (NUL bytes)"));
        let r = analyze_bytes("icon.png", b"\x89PNG\0\0");
        assert_eq!(
            (r.skipped, r.language),
            (None, None),
            "not source: not reported"
        );
        let r = analyze_bytes("x.py", b"x = 1\ny = '\xff'\n");
        assert_eq!(r.code, 2);
        assert!(
            r.problems[0].contains("not valid UTF-8"),
            "{:?}",
            r.problems
        );
        let r = analyze_bytes("x.py", b"def f(:\n  pass\n");
        assert!(
            r.problems[0].contains("could not parse line 1"),
            "{:?}",
            r.problems
        );
        let r = analyze_path(Path::new("/nonexistent/batuta/x.py"), "x.py");
        assert_eq!(r.skipped.as_deref(), Some("cannot read: no such file"));
    }

    #[test]
    fn a_python_file() {
        let src = b"#!/usr/bin/env python3\n\"\"\"Module.\"\"\"\nimport numpy as np\n\n# sum\ndef total(a):\n    return np.sum(a)\n";
        let r = analyze_bytes("bin/tool", src);
        assert_eq!(r.language.as_deref(), Some("Python"));
        assert_eq!(r.detected_by, Some(Detection::Shebang));
        // tokei counts a shebang as code and a docstring as a comment.
        assert_eq!((r.code, r.comments, r.blanks), (4, 2, 1));
        assert_eq!(r.functions.len(), 1);
        assert_eq!(
            r.ml_calls[0].target.as_deref(),
            Some("trueno::Vector::<f32>::sum")
        );
    }

    #[test]
    fn tests_by_convention() {
        for t in [
            "tests/a.py",
            "pkg/test/x.c",
            "test_io.py",
            "io_test.go",
            "a.test.js",
            "x.bats",
            "conftest.py",
        ] {
            assert!(is_test(t), "{t}");
        }
        for t in ["testing.py", "src/contest.py", "attest.c"] {
            assert!(!is_test(t), "{t}");
        }
    }
}
