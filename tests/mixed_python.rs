//! Real Python packages migrated one module at a time, running and validated at every
//! step (issue "Mixed builds", Python): python-slugify 8.0.4 and text-unidecode 1.3, the
//! package it imports, both from PyPI (tests/corpus), with the real depyler, PyO3 and
//! CPython, and text-unidecode's own test suite (its test_unidecode.py, run by pytest).
//!
//! The first build makes the Python extension of whatever compiles, and the mixed program
//! (the original, run through the extension's launcher) prints what the original prints,
//! case by case. Then three modules are ported by hand: `unidecode` of text_unidecode
//! (the whole package's work, over its own table), `smart_truncate` of slugify.py (its
//! `slugify` stays Python and calls it) and `add_uppercase_char` of special.py (which the
//! module calls at import time to build its tables). The mixed program runs them native
//! and still matches; the package's own test suite passes against it; a second build runs
//! nothing; and a wrong port (bytes counted for characters) fails the comparison with
//! V-001.
//!
//! Needs, from `.ci/run`: a Python with pytest, `BATUTA_TEST_PYTEST_PYTHON` (by default
//! the venv .ci/run makes, `~/.cache/batuta-ci/pytest-8.3.5`).

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;

use common::{Files, summary};

/// Both packages as Python runs them (from this folder); PYTHON is an interpreter with
/// pytest.
const MANIFEST: &str = r#"version: 1
project: { name: slugify, source: ".", output: rust, exclude: ["tests/**", "test_*.py"] }
stages:
  transpile:
    tasks:
      python: { rule: depyler, each: "{slugify,text_unidecode}/*.py", out: "src/{dir}/{stem}.rs"HAND }
      crate:
        builtin: assemble
        inputs: ["rust/src/**/*.rs", ".batuta/transpile/**/*.toml"]
        outputs: [rust/Cargo.toml, rust/src/lib.rs]
      native:
        builtin: python-extension
        with: { profile: dev }
  validate:
    needs: [transpile]
    tasks:
      same:
        builtin: compare-outputs
        inputs: ["slugify/*.py", text_unidecode/__init__.py, text_unidecode/data.bin, "tests/*.py", test_unidecode.py, rust/python/batuta_mixed.py, rust/python/batuta_native.abi3.so]
        with:
          original: [PYTHON]
          migrated: [PYTHON, rust/python/batuta_mixed.py]
          compare: [stdout, exit_code]
          # pytest says how long it took.
          normalize: { replace: [{ regex: " in [0-9.]+s", with: "" }] }
          cases:
            - { name: hello, args: [-m, slugify, "Hello, World!"] }
            - { name: unicode, args: [-m, slugify, "Héllo Wörld, ünïcode & more"] }
            - { name: truncated, args: [-m, slugify, --max-length, "12", --word-boundary, this is a long sentence to cut] }
            - { name: unicode truncated, args: [-m, slugify, --allow-unicode, --max-length, "8", --word-boundary, Ünï Çødé Wörd] }
            - { name: in order, args: [-m, slugify, --max-length, "10", --word-boundary, --save-order, one two three four] }
            - { name: tables, args: [-c, "import slugify; print(slugify.PRE_TRANSLATIONS)"] }
            - { name: unit tests, args: [-m, unittest, -q, tests.test_slugify] }
            - { name: unidecode tests, args: [-m, pytest, -q, -p, no:cacheprovider, test_unidecode.py] }
"#;

/// Tests of the package's behaviour, run by Python's own test runner on both programs.
const UNIT_TESTS: &str = r#"import unittest

from slugify import slugify, smart_truncate, GERMAN


class Slugify(unittest.TestCase):
    def test_words(self):
        self.assertEqual(slugify("This is a test ---"), "this-is-a-test")

    def test_truncate_on_a_word(self):
        self.assertEqual(smart_truncate("jaja-lol-mememeoo", 12, True, "-"), "jaja-lol")
        self.assertEqual(smart_truncate("a b c", max_length=3, word_boundary=True), "a b")

    def test_tables(self):
        self.assertIn(("Ä", "Ae"), GERMAN)


if __name__ == "__main__":
    unittest.main()
"#;

/// slugify.py's `smart_truncate` by hand; `slugify` stays Python.
const SLUGIFY_RS: &str = r#"//! slugify/slugify.py, partly ported by hand: smart_truncate. slugify() stays Python and
//! calls this one through the extension.

/// `s.strip(chars)`: every character of `chars` off both ends.
fn strip(s: &str, chars: &str) -> String {
    s.trim_matches(|c| chars.contains(c)).to_owned()
}

/// `s[:n]`, in characters.
fn head(s: &str, n: i64) -> String {
    let len = s.chars().count() as i64;
    let end = if n < 0 { (len + n).max(0) } else { n.min(len) };
    s.chars().take(end as usize).collect()
}

pub fn smart_truncate(
    string: &str,
    max_length: i64,
    word_boundary: bool,
    separator: &str,
    save_order: bool,
) -> String {
    let string = strip(string, separator);
    if max_length == 0 || (string.chars().count() as i64) < max_length {
        return string;
    }
    if !word_boundary {
        return strip(&head(&string, max_length), separator);
    }
    if !string.contains(separator) {
        return head(&string, max_length);
    }
    let mut truncated = String::new();
    for word in string.split(separator).filter(|w| !w.is_empty()) {
        let next_len = (truncated.chars().count() + word.chars().count()) as i64;
        if next_len < max_length {
            truncated.push_str(word);
            truncated.push_str(separator);
        } else if next_len == max_length {
            truncated.push_str(word);
            break;
        } else if save_order {
            break;
        }
    }
    if truncated.is_empty() {
        truncated = head(&string, max_length);
    }
    strip(&truncated, separator)
}
"#;

/// special.py's `add_uppercase_char` by hand; the tables stay the module's.
const SPECIAL_RS: &str = r#"//! slugify/special.py's add_uppercase_char, ported by hand.

/// Python's `str.capitalize()`.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

/// Each pair's uppercase pair, put first unless it is there already or the same.
pub fn add_uppercase_char(char_list: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out = char_list.clone();
    for (c, xlate) in &char_list {
        let upper = (c.to_uppercase(), capitalize(xlate));
        if !out.contains(&upper) && *c != upper.0 {
            out.insert(0, upper);
        }
    }
    out
}
"#;

/// text_unidecode's `unidecode` by hand, over the package's own table (read where the
/// package keeps it, from this module's folder).
const UNIDECODE_RS: &str = r#"//! text_unidecode/__init__.py, ported by hand: `unidecode`, over the package's table.

use std::sync::LazyLock;

/// The transliteration of each code point from 1 on: the package's data.bin, as it ships
/// (UTF-8, NUL between entries).
static REPLACES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| include_str!("../../../text_unidecode/data.bin").split('\0').collect());

/// Each character's ASCII transliteration; a character past the table is dropped.
pub fn unidecode(txt: &str) -> String {
    let mut out = String::with_capacity(txt.len());
    for ch in txt.chars() {
        let codepoint = ch as usize;
        if codepoint == 0 {
            out.push('\0');
            continue;
        }
        if let Some(r) = REPLACES.get(codepoint - 1) {
            out.push_str(r);
        }
    }
    out
}
"#;

fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(rel)
}

/// A Python with pytest: `BATUTA_TEST_PYTEST_PYTHON`, or the venv `.ci/run` makes.
fn python() -> PathBuf {
    let p = std::env::var_os("BATUTA_TEST_PYTEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").expect("HOME"))
                .join(".cache/batuta-ci/pytest-8.3.5/bin/python")
        });
    let ok = std::process::Command::new(&p)
        .args(["-c", "import pytest"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{} is not a Python with pytest: run .ci/run, or set BATUTA_TEST_PYTEST_PYTHON",
        p.display()
    );
    p
}

fn manifest(python: &Path, hand: &str) -> String {
    MANIFEST
        .replace("PYTHON", &python.to_string_lossy())
        .replace("HAND", hand)
}

fn workspace(python: &Path) -> Files {
    let ws = Files::new(&manifest(python, ""), &[]);
    for (from, to) in [
        ("python-slugify-8.0.4/slugify", "slugify"),
        ("text-unidecode-1.3/text_unidecode", "text_unidecode"),
    ] {
        for e in std::fs::read_dir(corpus(from)).unwrap() {
            let p = e.unwrap().path();
            std::fs::create_dir_all(ws.path(to)).unwrap();
            std::fs::copy(&p, ws.path(to).join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(
        corpus("text-unidecode-1.3/test_unidecode.py"),
        ws.path("test_unidecode.py"),
    )
    .unwrap();
    ws.write("tests/__init__.py", "");
    ws.write("tests/test_slugify.py", UNIT_TESTS);
    ws
}

fn action<'a>(ev: &'a [Value], id: &str) -> &'a Value {
    ev.iter()
        .find(|e| e["event"] == "action" && e["id"] == id)
        .unwrap_or_else(|| panic!("no event for {id}: {ev:#?}"))
}

fn report<'a>(ev: &'a [Value], id: &str) -> &'a str {
    ev.iter()
        .find(|e| e["event"] == "report" && e["id"] == id)
        .and_then(|e| e["text"].as_str())
        .unwrap_or_else(|| panic!("no report of {id}: {ev:#?}"))
}

fn row<'a>(status: &'a Value, source: &str) -> &'a Value {
    status["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == source)
        .unwrap_or_else(|| panic!("no row for {source}: {status:#}"))
}

/// What the mixed program says, run from the workspace as a user runs it.
fn mixed(ws: &Files, python: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(python)
        .arg("rust/python/batuta_mixed.py")
        .args(args)
        .current_dir(ws.path(""))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn python_packages_run_with_hand_ported_modules_native_under_their_own_tests() {
    let python = python();
    let ws = workspace(&python);
    let started = std::time::Instant::now();
    let (_, ev) = ws.build_json(&["--keep-going"]);
    let cold = started.elapsed();
    // Whatever depyler made of the packages, the mixed program is the original's twin.
    assert_eq!(
        action(&ev, "transpile/native")["outcome"],
        "executed",
        "{ev:#?}"
    );
    let same = action(&ev, "validate/same");
    assert_eq!(same["outcome"], "executed", "{same}");
    let before = ws.status_files();
    let native_before = before["native"]["native_lines"].as_u64().unwrap();
    let unidecode = row(&before, "text_unidecode/__init__.py");
    assert_eq!(unidecode["native"]["functions"], 0, "{unidecode}");
    assert!(
        unidecode["native"]["stays"]
            .as_str()
            .unwrap()
            .starts_with("its module does not compile (quarantined"),
        "{unidecode}"
    );

    // Port three modules by hand: one manifest edit and three files.
    ws.write("rust/src/slugify/slugify.rs", SLUGIFY_RS);
    ws.write("rust/src/slugify/special.rs", SPECIAL_RS);
    ws.write("rust/src/text_unidecode/__init__.rs", UNIDECODE_RS);
    ws.write(
        "batuta.yaml",
        &manifest(
            &python,
            ", hand_ported: [slugify/slugify.py, slugify/special.py, text_unidecode/__init__.py]",
        ),
    );
    let started = std::time::Instant::now();
    let (_, ev) = ws.build_json(&["--keep-going"]);
    let ported = started.elapsed();
    assert_eq!(action(&ev, "transpile/native")["outcome"], "executed");
    let same = action(&ev, "validate/same");
    assert_eq!(same["outcome"], "executed", "{same}");
    let text = report(&ev, "validate/same");
    assert!(text.starts_with("8 cases, all the same"), "{text}");
    // The mixed program really calls the native functions, from Python's own code: slugify
    // through text_unidecode, and the packages' own modules.
    assert_eq!(
        mixed(
            &ws,
            &python,
            &[
                "-c",
                "import sys, slugify, text_unidecode as u\ns, t = sys.modules['slugify.slugify'], sys.modules['slugify.special']\nprint(*(type(f.__batuta_native__).__name__ for f in (u.unidecode, s.smart_truncate, t.add_uppercase_char)), hasattr(s.slugify, '__batuta_native__'), s.unidecode.unidecode is u.unidecode)\nprint(slugify.slugify('北亰 Ünï'))"
            ]
        ),
        "builtin_function_or_method builtin_function_or_method builtin_function_or_method False True\nbei-jing-uni\n"
    );
    // text-unidecode's own test suite passes against the native unidecode.
    let tests = mixed(
        &ws,
        &python,
        &[
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_unidecode.py",
        ],
    );
    assert!(tests.contains("133 passed"), "{tests}");

    // `status --files`: which functions run native, which stay Python and why; the share.
    let after = ws.status_files();
    let unidecode = row(&after, "text_unidecode/__init__.py");
    assert_eq!(unidecode["native"]["functions"], 1, "{unidecode}");
    assert_eq!(unidecode["native"]["of"], 1, "{unidecode}");
    let slug = row(&after, "slugify/slugify.py");
    assert_eq!(slug["native"]["functions"], 1, "{slug}");
    assert_eq!(slug["native"]["of"], 2, "{slug}");
    let why = slug["native"]["python"][0]["why"].as_str().unwrap();
    assert_eq!(why, "no fn slugify in rust/src/slugify/slugify.rs");
    let special = row(&after, "slugify/special.py");
    assert_eq!(special["native"]["functions"], 1, "{special}");
    let native_after = after["native"]["native_lines"].as_u64().unwrap();
    let total = after["native"]["code_lines"].as_u64().unwrap();
    assert_eq!(
        native_after - native_before,
        [
            "slugify/slugify.py",
            "slugify/special.py",
            "text_unidecode/__init__.py"
        ]
        .iter()
        .map(|f| row(&after, f)["native"]["lines"].as_u64().unwrap())
        .sum::<u64>(),
        "{before:#}\n{after:#}"
    );
    let out = ws.batuta().args(["status", "--files"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "{native_after} of {total} code lines run as native Rust"
        )),
        "{text}"
    );
    // What a user reads of the native part: from the first file that runs native on.
    let native_part = &text[text.find("\nslugify/slugify.py: ").expect(&text)..];
    insta::assert_snapshot!("native_status", native_part);
    eprintln!(
        "slugify + text_unidecode: {native_before} of {total} code lines native before the ports, {native_after} after; cold build {:.1} s, three modules ported {:.1} s",
        cold.as_secs_f64(),
        ported.as_secs_f64()
    );

    // Nothing changed, nothing runs: the extension is cached like any action.
    let (code, ev) = ws.build_json(&["--keep-going"]);
    let s = summary(&ev);
    assert_eq!(s["executed"], 0, "{ev:#?}");
    assert_eq!(code, i32::from(s["failed"].as_u64().unwrap() > 0));

    // A wrong port: bytes counted for characters. Only the case with non-ASCII words kept
    // (--allow-unicode) shows it, and the comparison names it.
    ws.write(
        "rust/src/slugify/slugify.rs",
        &SLUGIFY_RS.replace(
            "(truncated.chars().count() + word.chars().count())",
            "(truncated.len() + word.len())",
        ),
    );
    let (code, ev) = ws.build_json(&["--keep-going"]);
    assert_eq!(code, 1);
    assert_eq!(action(&ev, "transpile/native")["outcome"], "executed");
    let same = action(&ev, "validate/same");
    assert_eq!(same["outcome"], "failed", "{same}");
    assert_eq!(same["code"], "BATUTA-V-001");
    assert!(
        same["message"]
            .as_str()
            .unwrap()
            .contains("1 of 8 cases: unicode truncated"),
        "{same}"
    );
}
