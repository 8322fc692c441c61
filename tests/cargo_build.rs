//! End-to-end tests of the build phase through the real binary and the real toolchain:
//! `builtin: cargo-build` on hand-written crates (release artifacts and their digests, no
//! work on a second build, a rebuild on a changed source, B-001 with file and line, B-003
//! for a target whose standard library is not installed, outputs that must match what
//! cargo built), and the per-file migration status of a crate depyler generated: the file
//! that does not compile is named, and a hand port named in the manifest fixes the build.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::{Files, STATS_PY, events, outcomes, summary};

const CRATE_TOML: &str =
    "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n";
const HELLO: &str = "fn main() {\n    println!(\"hello from demo\");\n}\n";

/// A workspace whose build stage is `body` (indented under `build:`), with a crate at rust/.
fn ws(body: &str, main_rs: &str) -> Files {
    Files::new(
        &format!(
            "version: 1\nproject: {{ name: demo, source: legacy, output: rust }}\nstages:\n  build:\n{body}"
        ),
        &[
            ("legacy/demo.py", "print('hello from demo')\n"),
            ("rust/Cargo.toml", CRATE_TOML),
            ("rust/src/main.rs", main_rs),
        ],
    )
}

fn batuta(ws: &Files) -> Command {
    let mut c = Command::cargo_bin("batuta").unwrap();
    c.current_dir(ws.dir.path())
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", ws.path(".batuta/cache"))
        .env_remove("BATUTA_CONFIG")
        .env_remove("RUST_LOG");
    c
}

/// `batuta build --format json`: exit code and events.
fn build(ws: &Files) -> (i32, Vec<Value>) {
    let out = batuta(ws)
        .args(["build", "--format", "json"])
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), events(&out))
}

fn failure<'a>(events: &'a [Value], id: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == "action" && e["id"] == id && e["outcome"] == "failed")
        .unwrap_or_else(|| panic!("{id} did not fail: {events:#?}"))
}

fn status_files(ws: &Files) -> Value {
    let out = batuta(ws)
        .args(["status", "--files", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn manifest(ws: &Files) -> Value {
    serde_json::from_str(&ws.read("dist/manifest.json")).unwrap()
}

#[test]
fn a_crate_builds_into_dist_with_digests_and_a_second_build_does_nothing() {
    let ws = ws(
        "    builtin: cargo-build\n    with: { profile: dev }\n",
        HELLO,
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(outcomes(&ev, "executed"), ["build/build"]);

    let m = manifest(&ws);
    assert_eq!(m["crate"], "rust");
    assert_eq!(m["profile"], "dev");
    let a = &m["artifacts"][0];
    assert_eq!(a["name"], "demo");
    assert_eq!(a["path"], "dist/demo");
    let bytes = std::fs::read(ws.path("dist/demo")).unwrap();
    assert_eq!(a["size"], bytes.len() as u64);
    assert_eq!(a["blake3"], blake3::hash(&bytes).to_hex().as_str());
    // The shipped binary is the program.
    let run = std::process::Command::new(ws.path("dist/demo"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello from demo\n");
    // cargo's lock file is not left as a new input of the next build.
    assert!(!ws.path("rust/Cargo.lock").exists());

    let (code, ev) = build(&ws);
    assert_eq!(code, 0);
    assert_eq!(summary(&ev)["executed"], 0, "{ev:#?}");
    assert_eq!(outcomes(&ev, "up_to_date"), ["build/build"]);

    // A changed source builds again, and the manifest follows the new binary.
    ws.write("rust/src/main.rs", &HELLO.replace("hello", "hi"));
    let (code, ev) = build(&ws);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(outcomes(&ev, "executed"), ["build/build"]);
    let bytes = std::fs::read(ws.path("dist/demo")).unwrap();
    assert_eq!(
        manifest(&ws)["artifacts"][0]["blake3"],
        blake3::hash(&bytes).to_hex().as_str()
    );
    assert_ne!(manifest(&ws)["artifacts"][0]["blake3"], a["blake3"]);
}

#[test]
fn a_compile_error_is_b001_with_its_file_and_line() {
    let broken = "fn main() {\n    let n: u32 = \"three\";\n    println!(\"{n}\");\n}\n";
    let ws = ws(
        "    builtin: cargo-build\n    with: { profile: dev }\n",
        broken,
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 1);
    let f = failure(&ev, "build/build");
    assert_eq!(f["code"], "BATUTA-B-001");
    insta::assert_snapshot!("compile_error_message", f["message"].as_str().unwrap());
    assert!(
        f["stderr"].as_str().unwrap().contains("expected `u32`"),
        "the first error as rustc rendered it: {f:#?}"
    );
    // Nothing half-built is shipped.
    assert!(!ws.path("dist/demo").exists());
    let rec: Value = serde_json::from_str(&ws.read(".batuta/build/build_build.json")).unwrap();
    assert_eq!(rec["ok"], false);
    assert_eq!(rec["diagnostics"][0]["file"], "rust/src/main.rs");
    assert_eq!(rec["diagnostics"][0]["line"], 2);
}

#[test]
fn a_missing_native_library_is_a_linking_error_b002() {
    let main_rs = "#[link(name = \"batuta_no_such_lib\")]\nunsafe extern \"C\" {\n    fn batuta_no_such_fn() -> i32;\n}\n\nfn main() {\n    println!(\"{}\", unsafe { batuta_no_such_fn() });\n}\n";
    let ws = ws(
        "    builtin: cargo-build\n    with: { profile: dev }\n",
        main_rs,
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 1);
    let f = failure(&ev, "build/build");
    assert_eq!(f["code"], "BATUTA-B-002", "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .starts_with("the crate rust does not link: linking with `cc` failed"),
        "{f:#}"
    );
    assert!(
        f["stderr"].as_str().unwrap().contains("batuta_no_such_lib"),
        "{f:#}"
    );
}

/// A target rustc knows whose standard library this toolchain does not have.
fn uninstalled_target() -> String {
    let sysroot = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc runs");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    [
        "riscv64gc-unknown-linux-gnu",
        "aarch64-unknown-linux-musl",
        "powerpc64le-unknown-linux-gnu",
        "s390x-unknown-linux-gnu",
    ]
    .into_iter()
    .find(|t| !sysroot.join("lib/rustlib").join(t).join("lib").is_dir())
    .expect("one of these targets is not installed")
    .to_owned()
}

#[test]
fn a_target_without_its_standard_library_is_b003_with_the_rustup_command() {
    let target = uninstalled_target();
    let ws = ws(
        &format!(
            "    builtin: cargo-build\n    outputs: [dist/{target}/demo, dist/manifest.json]\n    with: {{ targets: [{target}] }}\n"
        ),
        HELLO,
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 1);
    let f = failure(&ev, "build/build");
    assert_eq!(f["code"], "BATUTA-B-003");
    assert_eq!(
        f["message"],
        format!("the standard library for target '{target}' is not installed")
    );
    assert_eq!(f["hints"][0], format!("rustup target add {target}"));

    // A misspelt target is not sent to rustup.
    ws.write(
        "batuta.yaml",
        &ws.read("batuta.yaml").replace(
            &format!("targets: [{target}]"),
            "targets: [x86_64-unknown-linux-gnux]",
        ),
    );
    let (_, ev) = build(&ws);
    let f = failure(&ev, "build/build");
    assert_eq!(f["code"], "BATUTA-B-003");
    assert_eq!(f["hints"][0], "did you mean 'x86_64-unknown-linux-gnu'?");
}

#[test]
fn outputs_must_name_exactly_what_cargo_built() {
    // A library crate builds no binary: the default dist/demo is not built.
    let ws = Files::new(
        "version: 1\nproject: { name: demo, source: legacy, output: rust }\nstages:\n  build:\n    builtin: cargo-build\n    with: { profile: dev }\n",
        &[
            ("legacy/demo.py", "\n"),
            ("rust/Cargo.toml", CRATE_TOML),
            ("rust/src/lib.rs", "pub fn one() -> i32 { 1 }\n"),
        ],
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 1);
    let f = failure(&ev, "build/build");
    assert_eq!(
        f["message"],
        "the task lists dist/demo but cargo built no binary or shared library"
    );
    // Declared as a library build, it ships the manifest alone.
    ws.write(
        "batuta.yaml",
        &ws.read("batuta.yaml")
            .replace("    with:", "    outputs: [dist/manifest.json]\n    with:"),
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(manifest(&ws)["artifacts"], serde_json::json!([]));

    // A binary added to the crate but not to the outputs is refused.
    ws.write("rust/src/main.rs", HELLO);
    let (code, ev) = build(&ws);
    assert_eq!(code, 1);
    let f = failure(&ev, "build/build");
    assert_eq!(
        f["message"],
        "cargo built dist/demo which the task does not list in its outputs"
    );
}

const UTIL_PY: &str = "def add(a: int, b: int) -> int:\n    return a + b\n";

const STATS_HAND_PORT: &str = r#"//! Hand port of legacy/stats.py: depyler 4.1.1's output for it does not compile.

pub fn mean(values: &[f64]) -> Result<f64, String> {
    if values.is_empty() {
        return Err("empty".to_owned());
    }
    Ok(values.iter().sum::<f64>() / values.len() as f64)
}
"#;

const PIPELINE: &str = r#"version: 1
project: { name: stats, source: legacy, output: rust }
stages:
  transpile:
    tasks:
      python: { rule: depyler, each: "**/*.py", out: "src/{dir}/{stem}.rs" }
      crate:
        builtin: assemble
        inputs: ["rust/src/**/*.rs"]
        outputs: [rust/Cargo.toml, rust/src/lib.rs]
        with: { name: stats }
  build:
    builtin: cargo-build
    outputs: [dist/manifest.json]
    with: { profile: dev }
"#;

/// A test of the hand port, so the validate phase covers the crate.
const MEAN_TEST: &str = "#[test]\nfn mean_of_three() {\n    assert_eq!(stats::stats::mean(&[1.0, 2.0, 6.0]), Ok(3.0));\n}\n";

const VALIDATE_STAGE: &str = r#"  validate:
    builtin: cargo-test
    inputs: ["rust/src/**/*.rs", "rust/tests/*.rs", rust/Cargo.toml]
    # depyler's generated unit tests need quickcheck: run the hand port's test only.
    with: { dir: rust, args: [--test, mean] }
  build:
"#;

/// `batuta status --files` as people read it, with the place of depyler's error in its
/// 3,000-line output (which moves with depyler's version) redacted.
fn table(ws: &Files) -> String {
    let out = batuta(ws).args(["status", "--files"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| match l.split_once("first error: rust/src/stats.rs:") {
            Some((head, _)) => format!("{head}first error: rust/src/stats.rs:[redacted]"),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn row<'a>(status: &'a Value, source: &str) -> &'a Value {
    status["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == source)
        .unwrap_or_else(|| panic!("no row for {source}: {status:#}"))
}

/// The real depyler (a test fails when it is not installed): its output for `mean()`
/// does not compile, so assemble quarantines the module and the rest of the crate builds;
/// `status --files` names the Python file and its first error, and a hand port named in
/// the manifest takes the module's place.
#[test]
fn depylers_broken_module_is_quarantined_and_a_hand_port_replaces_it() {
    let ws = Files::new(
        PIPELINE,
        &[("legacy/stats.py", STATS_PY), ("legacy/util.py", UTIL_PY)],
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 0, "the crate builds without the module: {ev:#?}");
    let report = ev
        .iter()
        .find(|e| e["event"] == "report" && e["id"] == "transpile/crate")
        .expect("assemble reports what it did");
    let text = report["text"].as_str().unwrap();
    assert!(
        text.starts_with("2 modules, 1 quarantined (they do not compile): stats.rs;"),
        "{text}"
    );
    let lib = ws.read("rust/src/lib.rs");
    assert!(lib.contains("//   stats.rs\n"), "{lib}");

    let status = status_files(&ws);
    let stats = row(&status, "legacy/stats.py");
    assert_eq!(stats["module"], "rust/src/stats.rs");
    assert_eq!(stats["tool"], "depyler");
    assert_eq!(stats["transpile"]["state"], "ok");
    assert_eq!(stats["compile"]["state"], "quarantined");
    assert!(
        stats["compile"]["first"]
            .as_str()
            .unwrap()
            .starts_with("rust/src/stats.rs:"),
        "{stats}"
    );
    let n = stats["compile"]["count"].as_u64().unwrap();
    assert!(n >= 1);
    assert_eq!(
        stats["status"],
        format!("quarantined ({n} error{})", if n == 1 { "" } else { "s" })
    );
    assert_eq!(stats["next"], 1, "it heads the to-do list");
    // util.rs compiles; the tests depyler wrote into it use quickcheck, which depyler does
    // not ask for, so test builds leave it out.
    let util = row(&status, "legacy/util.py");
    assert_eq!(util["compile"]["state"], "tests-quarantined", "{status:#}");
    assert!(
        ws.read("rust/src/lib.rs")
            .contains("#[cfg(not(test))]\npub mod util;\n")
    );

    // The text table says the same for people.
    insta::assert_snapshot!("status_files_broken", table(&ws));

    // Port the module by hand, in place, tell the manifest, and test the crate.
    ws.write("rust/src/stats.rs", STATS_HAND_PORT);
    ws.write("rust/tests/mean.rs", MEAN_TEST);
    ws.write(
        "batuta.yaml",
        &PIPELINE
            .replace(
                r#"out: "src/{dir}/{stem}.rs" }"#,
                r#"out: "src/{dir}/{stem}.rs", hand_ported: [stats.py] }"#,
            )
            .replace("  build:\n", VALIDATE_STAGE),
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(
        ws.read("rust/src/stats.rs"),
        STATS_HAND_PORT,
        "batuta never writes a hand port"
    );
    let status = status_files(&ws);
    let stats = row(&status, "legacy/stats.py");
    assert_eq!(stats["origin"], "hand-ported");
    assert_eq!(stats["compile"]["state"], "ok");
    // The test names `stats::mean`: it exercises the hand port, and only the hand port.
    assert_eq!(stats["validate"]["state"], "ok", "{stats}");
    assert_eq!(stats["status"], "hand-ported (validated)");
    assert_eq!(
        row(&status, "legacy/util.py")["status"],
        "linked, not exercised"
    );
    insta::assert_snapshot!("status_files_fixed", table(&ws));

    // Nothing to do on the next build.
    let (code, ev) = build(&ws);
    assert_eq!(code, 0);
    assert_eq!(summary(&ev)["executed"], 0, "{ev:#?}");
}

#[test]
fn a_hand_port_must_exist_and_name_a_file_of_the_task() {
    let manifest = PIPELINE.replace(
        r#"out: "src/{dir}/{stem}.rs" }"#,
        r#"out: "src/{dir}/{stem}.rs", hand_ported: [stat.py, util.py] }"#,
    );
    let ws = Files::new(
        &manifest,
        &[("legacy/stats.py", STATS_PY), ("legacy/util.py", UTIL_PY)],
    );
    let out = batuta(&ws).args(["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    insta::assert_snapshot!("hand_port_errors", err);
}

/// A file the transpiler rejects is named with the code of its failure; the others wait.
#[test]
fn a_file_that_does_not_transpile_is_named_with_its_code() {
    let ws = Files::new(
        PIPELINE,
        &[
            ("legacy/bad.py", "def f(:\n    return 1\n"),
            ("legacy/util.py", UTIL_PY),
        ],
    );
    let (code, ev) = build(&ws);
    assert_eq!(code, 1, "{ev:#?}");
    let f = failure(&ev, "transpile/python:bad.py");
    let status = status_files(&ws);
    let bad = row(&status, "legacy/bad.py");
    assert_eq!(bad["transpile"]["state"], "failed");
    assert_eq!(bad["transpile"]["code"], f["code"]);
    assert_eq!(
        bad["status"],
        format!("transpile failed ({})", f["code"].as_str().unwrap())
    );
    assert_eq!(bad["compile"]["state"], "not-built");
    let util = row(&status, "legacy/util.py");
    assert_eq!(util["transpile"]["state"], "ok");
    assert_eq!(util["status"], "transpiled");
}
