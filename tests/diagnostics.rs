//! Truthful diagnostics, end to end: each built-in transpiler runs on a real file (in
//! `tests/corpus/`, or a script every Debian machine has), and batuta's failure must name
//! the file, line and code that the tool's own output (run here, beside batuta) and the
//! language's own checker support. Stubs are found in the real output of decy and depyler.
//! The tools must be on PATH (`.ci/run` installs them); a test fails without them.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::events;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");

/// A workspace whose `legacy/` holds `files` (copied from `from`, renamed as given).
fn workspace(task: &str, files: &[(&str, &str)]) -> common::Files {
    let manifest = format!(
        "version: 1\nproject: {{ name: diag, source: legacy, output: rust }}\nstages:\n  transpile:\n    tasks:\n      {task}\n"
    );
    let ws = common::Files::new(&manifest, &[]);
    std::fs::create_dir_all(ws.path("legacy")).unwrap();
    for (from, to) in files {
        std::fs::copy(from, ws.path(&format!("legacy/{to}"))).unwrap();
    }
    ws
}

fn build(ws: &common::Files) -> Vec<Value> {
    let out = Command::cargo_bin("batuta")
        .unwrap()
        .current_dir(ws.dir.path())
        .args(["build", "--keep-going", "--format", "json"])
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .env_remove("BATUTA_CONFIG")
        .output()
        .unwrap();
    events(&out)
}

fn failure<'a>(events: &'a [Value], id: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["id"] == id && e["outcome"] == "failed")
        .unwrap_or_else(|| panic!("{id} did not fail: {events:#?}"))
}

/// The tool run by hand on the file, as the action runs it: its output, colour removed.
fn tool_output(ws: &common::Files, argv: &[&str]) -> String {
    let out = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .current_dir(ws.dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} cannot run ({e}): these tests need the real tool",
                argv[0]
            )
        });
    assert!(!out.status.success(), "{argv:?} succeeded");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    regex::Regex::new(r"\x1b\[[0-9;]*m")
        .unwrap()
        .replace_all(&text, "")
        .into_owned()
}

fn line_of(path: &Path, n: usize) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .nth(n - 1)
        .unwrap()
        .to_owned()
}

#[test]
fn depyler_names_no_line_so_batuta_finds_the_sum_call_and_python3_makes_it_t004() {
    let ws = workspace(
        "py: { rule: depyler, each: \"**/*.py\", out: \"src/{stem}.rs\" }",
        &[(&format!("{CORPUS}/docopt-0.6.2/docopt.py"), "docopt.py")],
    );
    let own = tool_output(
        &ws,
        &[
            "depyler",
            "transpile",
            "legacy/docopt.py",
            "-o",
            "/dev/null",
        ],
    );
    // depyler's own words: the error, and a location that is the file alone.
    assert!(
        own.contains("error[syntax]: sum() requires exactly one argument\n --> legacy/docopt.py\n"),
        "{own}"
    );
    let events = build(&ws);
    let f = failure(&events, "transpile/py:docopt.py");
    assert_eq!(
        f["code"], "BATUTA-T-004",
        "python3 accepts docopt.py: {f:#}"
    );
    let message = f["message"].as_str().unwrap();
    assert_eq!(
        message,
        "depyler exited with code 1 at legacy/docopt.py:152:16: sum() requires exactly one argument"
    );
    let line = line_of(&ws.path("legacy/docopt.py"), 152);
    assert_eq!(&line[15..19], "sum(", "{line}");
    let detail = f["stderr"].as_str().unwrap();
    assert!(
        detail.contains(
            "located by batuta (the tool names no line): the first sum() call with 2 arguments"
        ),
        "{detail}"
    );
    // Only the error's lines: not depyler's performance predictions, not its backtrace.
    assert!(
        !detail.contains("speedup") && !detail.contains("Stack backtrace"),
        "{detail}"
    );
    // The whole output is kept, and named.
    assert!(
        detail.contains("full output: .batuta/logs/transpile_py_docopt.py.log"),
        "{detail}"
    );
    let log = ws.read(".batuta/logs/transpile_py_docopt.py.log");
    assert!(
        log.contains("Estimated overall speedup") && log.contains("error[syntax]"),
        "{log}"
    );
}

#[test]
fn decy_lines_are_mapped_back_from_its_pasted_text_and_curses_names_are_t004() {
    let sl = format!("{CORPUS}/sl-5.02");
    let ws = workspace(
        "c: { rule: decy, each: \"**/*.c\", out: \"src/{stem}.rs\" }",
        &[
            (&format!("{sl}/sl.c"), "sl.c"),
            (&format!("{sl}/sl.h"), "sl.h"),
        ],
    );
    let own = tool_output(&ws, &["decy", "transpile", "legacy/sl.c"]);
    // decy's first error, at a line of its own text (sl.c pasted after its prototypes).
    let first = own.lines().position(|l| l.starts_with("error[")).unwrap();
    let lines: Vec<&str> = own.lines().collect();
    assert_eq!(
        lines[first],
        "error[semantic]: use of undeclared identifier 'ERR'"
    );
    let at = lines[first + 1]
        .trim()
        .strip_prefix("--> input.c:")
        .unwrap();
    let (tool_line, column) = at.split_once(':').unwrap();
    let shown = lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(&format!("{tool_line}|    ")))
        .unwrap();
    let events = build(&ws);
    let f = failure(&events, "transpile/c:sl.c");
    // cc accepts sl.c (with ncurses' headers): decy's failure is its own, T-004.
    assert_eq!(f["code"], "BATUTA-T-004", "{f:#}");
    let message = f["message"].as_str().unwrap();
    let expected = format!(
        "decy exited with code 1 at legacy/sl.c:60:{column}: use of undeclared identifier 'ERR'"
    );
    assert_eq!(message, expected);
    assert_ne!(tool_line, "60", "decy's own line is not the file's");
    assert_eq!(
        line_of(&ws.path("legacy/sl.c"), 60),
        shown,
        "the line decy showed is line 60"
    );
    let detail = f["stderr"].as_str().unwrap();
    assert!(
        detail.contains("cc -fsyntax-only accepts the file"),
        "{detail}"
    );
    // No warning about decy's own prototypes is shown.
    assert!(!detail.contains("warning["), "{detail}");
    let hints = f["hints"].to_string();
    assert!(
        hints.contains("<curses.h>") && !hints.contains("transpiler not found"),
        "{hints}"
    );
}

#[test]
fn bashrs_rejects_valid_posix_backticks_which_sh_accepts_so_t004() {
    let ws = workspace(
        "sh: { rule: bashrs, each: \"**/*.sh\", out: \"scripts/{path}\" }",
        &[("/usr/bin/gzexe", "gzexe.sh")],
    );
    let own = tool_output(
        &ws,
        &["bashrs", "purify", "legacy/gzexe.sh", "-o", "/dev/null"],
    );
    let at = own
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> legacy/gzexe.sh:"))
        .unwrap_or_else(|| panic!("{own}"));
    let events = build(&ws);
    let f = failure(&events, "transpile/sh:gzexe.sh");
    assert_eq!(f["code"], "BATUTA-T-004", "{f:#}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "bashrs exited with code 1 at legacy/gzexe.sh:{at}: "
        )),
        "{message}"
    );
    assert!(
        f["stderr"]
            .as_str()
            .unwrap()
            .contains("sh -n accepts the file")
    );
}

#[test]
fn a_ruchy_parse_error_is_t002_at_the_line_ruchy_check_gives() {
    let ws = workspace(
        "ru: { rule: ruchy, each: \"**/*.ruchy\", out: \"src/{stem}.rs\" }",
        &[(
            &format!("{CORPUS}/ruchy-4.2.1/30_design_patterns.ruchy"),
            "patterns.ruchy",
        )],
    );
    let own = tool_output(
        &ws,
        &[
            "ruchy",
            "transpile",
            "legacy/patterns.ruchy",
            "-o",
            "/dev/null",
        ],
    );
    assert!(own.contains("Failed to parse input"), "{own}");
    let check = std::process::Command::new("ruchy")
        .args(["check", "legacy/patterns.ruchy"])
        .current_dir(ws.dir.path())
        .output()
        .unwrap();
    let check = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    let line = regex::Regex::new(r"patterns\.ruchy:(\d+): Syntax error")
        .unwrap()
        .captures(&check)
        .unwrap_or_else(|| panic!("{check}"))[1]
        .to_owned();
    let events = build(&ws);
    let f = failure(&events, "transpile/ru:patterns.ruchy");
    assert_eq!(f["code"], "BATUTA-T-002", "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&format!("at legacy/patterns.ruchy:{line}: ")),
        "{f:#}"
    );
}

#[test]
fn stubs_in_real_decy_and_depyler_output_are_reported_with_their_source_lines() {
    let ws = workspace(
        "py: { rule: depyler, each: \"**/*.py\", out: \"src/{stem}.rs\" }\n      c: { rule: decy, each: \"**/*.c\", out: \"src/{stem}.rs\" }",
        &[
            (
                &format!("{CORPUS}/python-slugify-8.0.4/slugify/special.py"),
                "special.py",
            ),
            (&format!("{CORPUS}/figlet-2.2.5/crc.c"), "crc.c"),
            (&format!("{CORPUS}/figlet-2.2.5/crc.h"), "crc.h"),
        ],
    );
    let events = build(&ws);
    assert!(
        events.iter().all(|e| e["outcome"] != "failed"),
        "{events:#?}"
    );
    let out = Command::cargo_bin("batuta")
        .unwrap()
        .current_dir(ws.dir.path())
        .args(["report", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stubs = |file: &str| -> Vec<Value> {
        report["transpile"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["file"] == file)
            .and_then(|r| r["stubs"].as_array().cloned())
            .unwrap_or_default()
    };
    // decy zeroed figlet's CRC table.
    let crc = stubs("legacy/crc.c");
    assert_eq!(crc.len(), 1, "{crc:?}");
    assert_eq!(crc[0]["kind"], "empty_table");
    let src = line_of(
        &ws.path("legacy/crc.c"),
        crc[0]["source_line"].as_u64().unwrap() as usize,
    );
    assert!(src.contains("crctable[] = {"), "{src}");
    let rust = line_of(
        &ws.path("rust/src/crc.rs"),
        crc[0]["rust_line"].as_u64().unwrap() as usize,
    );
    assert!(
        rust.contains("crctable") && rust.contains("[0u32; 256]"),
        "{rust}"
    );
    // depyler emptied the language tables.
    let special = stubs("legacy/special.py");
    let names: Vec<&str> = special
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["_CYRILLIC", "_GERMAN", "_GREEK"]);
    for s in &special {
        let src = line_of(
            &ws.path("legacy/special.py"),
            s["source_line"].as_u64().unwrap() as usize,
        );
        assert!(
            src.starts_with(&format!("{} = [", s["name"].as_str().unwrap())),
            "{src}"
        );
        let rust = line_of(
            &ws.path("rust/src/special.rs"),
            s["rust_line"].as_u64().unwrap() as usize,
        );
        assert!(rust.contains("Vec::new()"), "{rust}");
    }
    let md = Command::cargo_bin("batuta")
        .unwrap()
        .current_dir(ws.dir.path())
        .args(["report"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("| legacy/crc.c:38 | rust/src/crc.rs:2 | empty table | crctable is empty where the source has a table |"),
        "{md}"
    );
}
