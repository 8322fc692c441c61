//! Several projects in one manifest (`projects:`, MANIFEST.md): each project its own
//! migration, failing alone with --keep-going unless another needs it; targets and the
//! command line naming `project`, `project:stage` and `*:stage`; `--affected` naming the
//! projects it builds; status with a board per project; and `batuta init` proposing the
//! projects of a real tree of three languages, built end to end with the real tools.

use std::path::Path;

use serde_json::Value;

mod common;

use common::{Files, copy_tree, corpus, events, outcomes, summary};

/// Three projects of copies: `b` needs `a`, `c` needs nothing. A file holding `bad` fails
/// its copy.
const WORKSPACE: &str = r#"
version: 1
projects:
  a: { source: a, output: out/a }
  b: { source: b, output: out/b, needs: [a] }
  c:
    source: c
    output: out/c
    stages:
      build:
        needs: [transpile]
        tasks:
          size: { run: [wc, -c, "{in}"], each: "*.txt" }
          twice: { run: [cp, "{in}", "{out}"], each: "*.txt", out: "{stem}.twice" }
stages:
  transpile:
    tasks:
      copy:
        run: [sh, -c, '! grep -q bad "$1" && cp "$1" "$2"', sh, "{in}", "{out}"]
        each: "*.txt"
        out: "{stem}.rs"
  build:
    needs: [transpile]
    tasks:
      size: { run: [wc, -c, "{in}"], each: "*.txt" }
targets:
  ci: { stages: ["*:build"], keep_going: true }
  lib: [a:build]
"#;

fn workspace(a_is_bad: bool) -> Files {
    Files::new(
        WORKSPACE,
        &[
            ("a/one.txt", if a_is_bad { "bad" } else { "one" }),
            ("b/two.txt", "two"),
            ("c/three.txt", "three"),
        ],
    )
}

fn build(ws: &Files, args: &[&str]) -> (i32, Vec<Value>) {
    let out = ws
        .batuta()
        .arg("build")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), events(&out))
}

fn state(ws: &Files) -> Value {
    serde_json::from_str(&ws.read(".batuta-state.json")).unwrap()
}

#[test]
fn a_failing_project_stops_only_the_projects_that_need_it() {
    let ws = workspace(true);
    let (code, ev) = build(&ws, &["ci"]);
    assert_eq!(code, 1, "{ev:#?}");
    assert_eq!(outcomes(&ev, "failed"), ["a/transpile/copy:one.txt"]);
    // c needs nothing: all of it ran. b needs a: none of it did.
    assert_eq!(
        outcomes(&ev, "executed"),
        [
            "a/build/size:one.txt",
            "c/build/size:three.txt",
            "c/build/twice:three.txt",
            "c/transpile/copy:three.txt",
        ]
    );
    assert!(
        !ev.iter()
            .any(|e| e["id"].as_str().is_some_and(|id| id.starts_with("b/")))
    );
    // Every action event says its project, and ids start with it.
    for e in ev.iter().filter(|e| e["event"] == "action") {
        let id = e["id"].as_str().unwrap();
        assert!(
            id.starts_with(&format!("{}/", e["project"].as_str().unwrap())),
            "{e}"
        );
    }
    // The boards: a failed in transpile, b was stopped by a, c is done.
    let s = state(&ws);
    let board = |p: &str, phase: &str| s["projects"][p]["phases"][phase].clone();
    assert_eq!(board("a", "Transpilation")["status"], "Failed");
    assert_eq!(board("c", "Transpilation")["status"], "Completed");
    assert_eq!(board("c", "Deployment")["status"], "Completed");
    let why = board("b", "Transpilation")["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        why.contains("it needs project 'a', where a/transpile/copy:one.txt failed"),
        "{why}"
    );
    let status = ws.batuta().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("📦 Project c: 40% complete"), "{text}");
    assert!(text.contains("Overall: "), "{text}");
    let json = ws
        .batuta()
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["projects"]["c"]["overall_percent"], 40, "{v}");

    // Mended, it goes on where it stopped: a's file and what waited for a run now.
    ws.write("a/one.txt", "one");
    let (code, ev) = build(&ws, &["ci"]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(
        outcomes(&ev, "executed"),
        [
            "a/build/size:one.txt",
            "a/transpile/copy:one.txt",
            "b/build/size:two.txt",
            "b/transpile/copy:two.txt"
        ]
    );
}

#[test]
fn targets_name_projects_and_their_stages() {
    let ws = workspace(false);
    // A project's name is all its stages, and nothing of the others.
    let (code, ev) = build(&ws, &["c"]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(
        outcomes(&ev, "executed"),
        [
            "c/build/size:three.txt",
            "c/build/twice:three.txt",
            "c/transpile/copy:three.txt",
        ]
    );
    // project:stage brings what it needs, in its project and in those it needs.
    let (_, ev) = build(&ws, &["b:transpile"]);
    assert_eq!(
        outcomes(&ev, "executed"),
        ["a/transpile/copy:one.txt", "b/transpile/copy:two.txt"]
    );
    // Building one project never sweeps another's outputs.
    assert!(ws.path("out/c/three.rs").is_file());
    assert!(ws.path("out/c/three.twice").is_file());
    // A target of the manifest, `*:stage`, and a bare stage (every project's).
    let (_, ev) = build(&ws, &["lib"]);
    assert_eq!(outcomes(&ev, "executed"), ["a/build/size:one.txt"]);
    let (code, ev) = build(&ws, &["*:build"]);
    assert_eq!(code, 0);
    assert_eq!(summary(&ev)["failed"], 0);
    let out = ws.batuta().args(["build", "libb"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown target or project 'libb'"), "{err}");
    assert!(err.contains("did you mean 'lib'?"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Real code: a Python module from PyPI (docopt 0.6.2), a C program from Debian (sl 5.02) and
// the shell scripts Debian's gzip installs in /usr/bin, side by side in one tree.

fn git(ws: &Files, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(ws.dir.path())
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn init_proposes_the_projects_of_a_real_tree_and_each_builds_alone() {
    let ws = Files::new("", &[]);
    std::fs::remove_file(ws.path("batuta.yaml")).unwrap();
    copy_tree(&corpus("docopt-0.6.2"), &ws.path("docopt"));
    copy_tree(&corpus("sl-5.02"), &ws.path("sl"));
    for s in ["zdiff", "zcmp", "gunzip"] {
        let text = std::fs::read(Path::new("/usr/bin").join(s))
            .unwrap_or_else(|e| panic!("/usr/bin/{s}: {e} (gzip is Essential on Debian)"));
        ws.write(&format!("scripts/{s}"), &String::from_utf8_lossy(&text));
    }
    let out = ws.batuta().arg("init").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let manifest = ws.read("batuta.yaml");
    // One project per component, each saying why.
    for (name, why) in [
        ("docopt", "# Python code: docopt/ holds it"),
        ("sl", "# C code built by sl/Makefile"),
        ("scripts", "# shell scripts: scripts/ holds them"),
    ] {
        assert!(manifest.contains(&format!("\n  {name}:\n")), "{manifest}");
        assert!(manifest.contains(why), "{manifest}");
    }
    let check = ws.batuta().arg("check").output().unwrap();
    assert!(check.status.success(), "init's manifest checks: {check:?}");

    let (_, ev) = build(&ws, &["--keep-going"]);
    // Whatever the transpilers make of each file, every project reaches its last stage on
    // its own: sl's C stays C where decy fails (a program in dist/sl), docopt's crate
    // builds without the module that failed, and the scripts are purified or reported.
    let ran: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "action")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    for id in [
        "docopt/transpile/crate",
        "docopt/build/build",
        "sl/transpile/crate",
        "sl/validate/validate",
        "scripts/transpile/shell:zcmp",
    ] {
        assert!(ran.contains(&id), "{id} did not run: {ran:#?}");
    }
    assert_eq!(
        ev.iter()
            .find(|e| e["event"] == "action" && e["id"] == "sl/build/build")
            .map(|e| e["outcome"].clone()),
        Some(Value::from("executed")),
        "{ev:#?}"
    );
    assert!(ws.path("dist/sl/sl").is_file());
    // Nothing was stopped by another project: none needs another.
    let s = state(&ws);
    assert!(!s.to_string().contains("it needs project"), "{s:#}");
    assert_eq!(s["projects"].as_object().unwrap().len(), 3, "{s:#}");

    // status --files says each file's project.
    let out = ws
        .batuta()
        .args(["status", "--files", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["files"].as_array().unwrap();
    assert_eq!(rows.len(), 5, "{rows:#?}");
    for r in rows {
        let source = r["source"].as_str().unwrap();
        let project = r["project"].as_str().unwrap();
        assert!(source.starts_with(&format!("{project}/")), "{r}");
    }

    // The analysis, per project.
    let out = ws
        .batuta()
        .args(["analyze", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&String> = v["projects"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["docopt", "scripts", "sl"], "{v}");
    assert_eq!(v["projects"]["sl"]["primary_language"], "C", "{v}");

    // An edit in one project affects that project alone.
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-qm", "tree"]);
    let mut zcmp = ws.read("scripts/zcmp");
    zcmp.push_str("\n# edited\n");
    ws.write("scripts/zcmp", &zcmp);
    let (_, ev) = build(&ws, &["--keep-going", "--affected", "HEAD"]);
    let affected = ev.iter().find(|e| e["event"] == "affected").unwrap();
    assert_eq!(
        affected["projects"],
        serde_json::json!(["scripts"]),
        "{affected}"
    );
    assert!(
        ev.iter()
            .filter(|e| e["event"] == "action")
            .all(|e| e["project"] == "scripts"),
        "{ev:#?}"
    );
}

/// examples/workspace: a Python service and the C library it calls, two projects, the
/// service's crate depending on the library's.
#[test]
fn the_workspace_example_validates_and_a_broken_library_stops_only_its_dependants() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workspace");
    let ws = Files::new("", &[]);
    for rel in [
        "batuta.yaml",
        "legacy/libcodec/codec.c",
        "legacy/libcodec/codec.h",
        "legacy/service/service.py",
        "legacy/service/records.txt",
        "rust/service/Cargo.toml",
        "rust/service/src/main.rs",
        "rust/service/src/service.rs",
    ] {
        ws.write(rel, &std::fs::read_to_string(example.join(rel)).unwrap());
    }
    let (code, ev) = build(&ws, &[]);
    assert_eq!(code, 0, "{ev:#?}");
    // The migrated service, calling the codec crate, printed what the original did.
    assert!(
        outcomes(&ev, "executed").contains(&"service/validate/same"),
        "{ev:#?}"
    );
    let out = std::process::Command::new(ws.path("dist/service/service"))
        .stdin(std::fs::File::open(ws.path("legacy/service/records.txt")).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "061b0207 alpha\n11e60398 Wikipedia\n478e0734 the quick brown fox\n"
    );
    // status --files: the C file is bridged, the service hand-ported, each in its project.
    let files = ws
        .batuta()
        .args(["status", "--files", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&files.stdout).unwrap();
    let row = |source: &str| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["source"] == source)
            .cloned()
            .unwrap_or_else(|| panic!("{source}: {v:#}"))
    };
    assert_eq!(row("legacy/libcodec/codec.c")["project"], "codec");
    assert_eq!(row("legacy/service/service.py")["project"], "service");
    assert_eq!(row("legacy/service/service.py")["origin"], "hand-ported");

    // A library that no longer compiles fails codec; the service, which needs it, is not
    // built or validated against it.
    let broken = ws
        .read("legacy/libcodec/codec.c")
        .replace("return (b << 16) | a;", "return (b << 16) | ;");
    ws.write("legacy/libcodec/codec.c", &broken);
    let (code, ev) = build(&ws, &["--keep-going"]);
    assert_eq!(code, 1, "{ev:#?}");
    let failed = outcomes(&ev, "failed");
    assert!(
        failed.iter().all(|id| id.starts_with("codec/")),
        "{failed:?}"
    );
    assert!(
        !ev.iter().any(|e| e["event"] == "action"
            && e["project"] == "service"
            && e["outcome"] != "up_to_date"),
        "{ev:#?}"
    );
    let s = state(&ws);
    let why = s["projects"]["service"]["phases"]["Deployment"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // It reads the codec crate (and needs the project): either way, codec's failure is why.
    assert!(why.contains("not run") && why.contains("codec/"), "{s:#}");
}

#[test]
fn completions_ask_batuta_for_the_projects_and_their_stages() {
    let ws = workspace(false);
    let out = ws.batuta().arg("__targets").output().unwrap();
    assert!(out.status.success());
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    for n in ["ci", "lib", "a", "b:transpile", "c:build", "*:build"] {
        assert!(names.iter().any(|x| x == n), "{n}: {names:?}");
    }
    // Outside a workspace it prints nothing and succeeds: completion never shows an error.
    let empty = tempfile::tempdir().unwrap();
    let out = ws
        .batuta()
        .current_dir(empty.path())
        .arg("__targets")
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{out:?}"
    );
    // Each shell's script asks it, for the target of build, watch and graph.
    for shell in ["bash", "zsh", "fish"] {
        let out = ws.batuta().args(["completions", shell]).output().unwrap();
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("batuta __targets"), "{shell}: {script}");
    }
    let bash = ws.batuta().args(["completions", "bash"]).output().unwrap();
    let ok = std::process::Command::new("bash")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&bash.stdout)?;
            c.wait()
        })
        .unwrap();
    assert!(ok.success(), "bash -n refuses the script");
}

/// `batuta watch c` rebuilds project c alone.
#[test]
#[cfg(unix)]
fn watch_rebuilds_one_project() {
    use std::io::{BufRead, BufReader};
    let ws = workspace(false);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(ws.dir.path())
        .args(["watch", "c", "--format", "json", "--debounce", "50"])
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .env_remove("BATUTA_CONFIG")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                break;
            }
        }
    });
    let next_build = || {
        let mut ev = Vec::new();
        loop {
            let v = rx
                .recv_timeout(std::time::Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("no summary: {e:?} {ev:#?}"));
            let done = v["event"] == "summary";
            ev.push(v);
            if done {
                return ev;
            }
        }
    };
    let first = next_build();
    assert!(
        outcomes(&first, "executed")
            .iter()
            .all(|id| id.starts_with("c/")),
        "{first:#?}"
    );
    ws.write("c/three.txt", "three, edited");
    let second = next_build();
    assert_eq!(
        outcomes(&second, "executed"),
        [
            "c/build/size:three.txt",
            "c/build/twice:three.txt",
            "c/transpile/copy:three.txt"
        ]
    );
    let _ = child.kill();
    let _ = child.wait();
}
