//! Real legacy code that nobody here wrote, end to end as a new user meets it: `batuta
//! init`, then `batuta build --keep-going`, with the real transpilers. A PyPI package
//! (python-slugify), a C program from Debian (sl), and the shell scripts Debian's gzip
//! installs in /usr/bin (an Essential package, on every Debian machine). The sources are
//! committed under tests/corpus with their licences (see its README).
//!
//! What must hold whatever the transpilers make of the code: every file gets its transpile
//! action, one file's failure stops only what depends on it, the crate is assembled from
//! the modules that compile (the others quarantined), the later phases run, and
//! `batuta status --files` tells each file's truth.

use std::path::Path;

use serde_json::Value;

mod common;

use common::{Files, copy_tree, corpus};

fn init(ws: &Files) -> String {
    let out = ws.batuta().arg("init").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let check = ws.batuta().arg("check").output().unwrap();
    assert!(check.status.success(), "init's manifest checks: {check:?}");
    ws.read("batuta.yaml")
}

fn ids<'a>(ev: &'a [Value], outcome: &str) -> Vec<&'a str> {
    let mut v: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "action" && e["outcome"] == outcome)
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    v.sort_unstable();
    v
}

/// Every action ran or failed on its own account: none was left out because something it
/// does not read failed.
fn nothing_blocked_but_dependants(ev: &[Value]) {
    let ran: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "action")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    for later in [
        "optimize/optimize",
        "validate/validate",
        "build/build",
        "transpile/crate",
    ] {
        assert!(ran.contains(&later), "{later} did not run: {ran:?}");
    }
}

#[test]
fn a_pypi_package_builds_with_its_failing_modules_quarantined() {
    let ws = Files::new("", &[]);
    std::fs::remove_file(ws.path("batuta.yaml")).unwrap();
    copy_tree(&corpus("python-slugify-8.0.4"), ws.dir.path());
    let manifest = init(&ws);
    assert!(manifest.contains("rule: depyler"), "{manifest}");
    let (code, ev) = ws.build_json(&["--keep-going"]);
    let sources = [
        "setup.py",
        "slugify/__init__.py",
        "slugify/__main__.py",
        "slugify/__version__.py",
        "slugify/slugify.py",
        "slugify/special.py",
    ];
    let transpiled: Vec<String> = ev
        .iter()
        .filter(|e| e["event"] == "action")
        .filter_map(|e| {
            e["id"]
                .as_str()?
                .strip_prefix("transpile/python:")
                .map(str::to_owned)
        })
        .collect();
    for s in sources {
        assert!(
            transpiled.iter().any(|t| t == s),
            "{s} had no transpile action: {transpiled:?}"
        );
    }
    nothing_blocked_but_dependants(&ev);
    // Whatever failed, failed with the code of its own tool's error.
    for e in ev.iter().filter(|e| e["outcome"] == "failed") {
        let code = e["code"].as_str().unwrap();
        assert!(code.starts_with("BATUTA-"), "{e}");
        assert_ne!(code, "BATUTA-T-001", "depyler is installed: {e}");
    }
    let rows = ws.file_rows();
    assert_eq!(rows.len(), sources.len(), "{rows:#?}");
    let lib = ws.read("rust/src/lib.rs");
    for r in &rows {
        let module = r["module"].as_str().unwrap();
        let name = module.rsplit('/').next().unwrap().trim_end_matches(".rs");
        let status = r["status"].as_str().unwrap();
        match r["compile"]["state"].as_str().unwrap() {
            "quarantined" => {
                assert!(status.starts_with("quarantined ("), "{r}");
                assert!(
                    lib.contains(&format!("//   {}", module.trim_start_matches("rust/src/"))),
                    "{lib}"
                );
            }
            "ok" | "tests-quarantined" => {
                assert!(
                    lib.contains(&format!("pub mod {name};")),
                    "{name} compiles but is not in the crate: {lib}"
                );
            }
            "not-built" => assert!(status.starts_with("transpile failed"), "{r}"),
            other => panic!("{other}: {r}"),
        }
    }
    // The crate that is left builds and is tested: exit 1 only for what failed to transpile.
    let failed = ids(&ev, "failed");
    assert!(
        failed.iter().all(|id| id.starts_with("transpile/python:")),
        "only transpile actions fail, the crate does not: {failed:?}"
    );
    assert_eq!(code, i32::from(!failed.is_empty()));
}

#[test]
fn a_debian_c_program_gets_a_crate_and_every_phase_runs() {
    let ws = Files::new("", &[]);
    std::fs::remove_file(ws.path("batuta.yaml")).unwrap();
    copy_tree(&corpus("sl-5.02"), ws.dir.path());
    let manifest = init(&ws);
    assert!(manifest.contains("rule: decy"), "{manifest}");
    let (_, ev) = ws.build_json(&["--keep-going"]);
    nothing_blocked_but_dependants(&ev);
    let rows = ws.file_rows();
    let sl = rows
        .iter()
        .find(|r| r["source"] == "sl.c")
        .expect("sl.c has a row");
    // decy 2.2.0 cannot transpile sl.c (it knows no curses): the row says so with its code,
    // and it heads the to-do list.
    assert_eq!(sl["transpile"]["state"], "failed", "{sl}");
    assert_eq!(sl["next"], 1);
}

#[test]
fn debians_shell_scripts_are_found_by_shebang_and_each_purified_or_reported() {
    let scripts = [
        "gunzip", "zcat", "zcmp", "zdiff", "zgrep", "zmore", "znew", "gzexe",
    ];
    let ws = Files::new("", &[]);
    std::fs::remove_file(ws.path("batuta.yaml")).unwrap();
    for s in scripts {
        let from = Path::new("/usr/bin").join(s);
        let text = std::fs::read(&from)
            .unwrap_or_else(|e| panic!("{}: {e} (gzip is Essential on Debian)", from.display()));
        assert!(text.starts_with(b"#!"), "{s} is a script");
        std::fs::create_dir_all(ws.path("bin")).unwrap();
        std::fs::write(ws.path(&format!("bin/{s}")), text).unwrap();
    }
    let manifest = init(&ws);
    // No extension to match: each script is named by its path, as the analysis found it.
    assert!(manifest.contains("rule: bashrs"), "{manifest}");
    assert!(manifest.contains("bin/zgrep"), "{manifest}");
    // A shell-only project has no crate, so nothing refers to one.
    assert!(!manifest.contains("Cargo.toml"), "{manifest}");
    let (_, ev) = ws.build_json(&["--keep-going"]);
    let rows = ws.file_rows();
    assert_eq!(rows.len(), scripts.len(), "{rows:#?}");
    for r in &rows {
        assert_eq!(r["kind"], "script", "{r}");
        match r["transpile"]["state"].as_str().unwrap() {
            "ok" => assert!(
                matches!(
                    r["compile"]["state"].as_str().unwrap(),
                    "lints" | "lint-failed"
                ),
                "a purified script is linted, never 'not built': {r}"
            ),
            "failed" => assert!(
                r["status"]
                    .as_str()
                    .unwrap()
                    .starts_with("transpile failed (BATUTA-"),
                "{r}"
            ),
            other => panic!("{other}: {r}"),
        }
    }
    assert!(!ids(&ev, "executed").is_empty());
}
