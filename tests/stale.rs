//! A workspace that stays clean: a file an earlier build wrote and no action writes any
//! more is removed by the next build (and said so); a file batuta never wrote, or one that
//! changed since, is never touched; `batuta clean` removes what past builds wrote too.

use serde_json::Value;

mod common;

use common::{Files, summary};

fn removed(ev: &[Value]) -> Vec<&str> {
    let mut v: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "removed")
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    v.sort_unstable();
    v
}

const COPY: &str = r#"version: 1
project: { name: t, source: src, output: out, exclude: [EXCLUDE] }
stages:
  transpile:
    tasks:
      copy: { run: [cp, "{in}", "{out}"], each: "**/*.py", out: "gen/{dir}/{stem}.txt" }
      crate:
        builtin: assemble
        inputs: ["out/src/**/*.rs"]
        outputs: [out/Cargo.toml, ROOT]
        with: { check: false, main: app }
"#;

fn manifest(exclude: &str, root: &str) -> String {
    COPY.replace("EXCLUDE", exclude).replace("ROOT", root)
}

#[test]
fn what_no_action_writes_any_more_is_removed_and_nothing_else() {
    let ws = Files::new(
        &manifest("", "out/src/lib.rs"),
        &[
            ("src/a.py", "a\n"),
            ("src/pkg/b.py", "b\n"),
            ("out/src/app.rs", "pub fn main() {}\n"),
        ],
    );
    let (code, ev) = ws.build_json(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    assert!(ws.path("out/gen/pkg/b.txt").exists());
    assert!(ws.path("out/src/lib.rs").exists());
    // The user's own file beside them, which batuta never wrote.
    ws.write("out/gen/notes.txt", "mine\n");

    // Exclude b.py, and make the crate a program: b's copy and the old crate root are
    // batuta's and unchanged, so they go, with the folder b's copy leaves empty.
    ws.write("batuta.yaml", &manifest("\"pkg/**\"", "out/src/main.rs"));
    let (code, ev) = ws.build_json(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(removed(&ev), ["out/gen/pkg/b.txt", "out/src/lib.rs"]);
    assert!(
        !ws.path("out/gen/pkg").exists(),
        "its emptied folder went too"
    );
    assert!(ws.path("out/src/main.rs").exists());
    assert_eq!(ws.read("out/gen/notes.txt"), "mine\n");
    assert_eq!(ws.read("out/gen/a.txt"), "a\n");
    assert_eq!(ws.read("out/src/app.rs"), "pub fn main() {}\n");

    // Nothing more to sweep, and nothing to do.
    let (_, ev) = ws.build_json(&[]);
    assert!(removed(&ev).is_empty(), "{ev:#?}");
    assert_eq!(summary(&ev)["executed"], 0);

    // Text output says why.
    ws.write("batuta.yaml", &manifest("\"*.py\"", "out/src/main.rs"));
    let out = ws.batuta().arg("build").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "removed out/gen/a.txt: an earlier build wrote it, and no action writes it any more"
        ),
        "{text}"
    );
}

#[test]
fn a_file_changed_since_batuta_wrote_it_is_kept() {
    let ws = Files::new(
        &manifest("", "out/src/lib.rs"),
        &[("src/a.py", "a\n"), ("src/b.py", "b\n")],
    );
    ws.build_json(&[]);
    // b's copy becomes someone's own work, then b leaves the migration.
    ws.write("out/gen/b.txt", "edited by hand\n");
    ws.write("batuta.yaml", &manifest("\"b.py\"", "out/src/lib.rs"));
    let (code, ev) = ws.build_json(&[]);
    assert_eq!(code, 0);
    assert!(removed(&ev).is_empty(), "{ev:#?}");
    let kept: Vec<&Value> = ev.iter().filter(|e| e["event"] == "kept").collect();
    assert_eq!(kept.len(), 1, "{ev:#?}");
    assert_eq!(kept[0]["path"], "out/gen/b.txt");
    assert_eq!(ws.read("out/gen/b.txt"), "edited by hand\n");
    // batuta forgets it: the next build does not mention it again.
    let (_, ev) = ws.build_json(&[]);
    assert!(!ev.iter().any(|e| e["event"] == "kept"), "{ev:#?}");
}

#[test]
fn clean_removes_what_past_builds_wrote_too() {
    let ws = Files::new(
        &manifest("", "out/src/lib.rs"),
        &[("src/a.py", "a\n"), ("src/b.py", "b\n")],
    );
    ws.build_json(&[]);
    // b leaves the manifest without a build in between: only the journal knows its copy.
    ws.write("batuta.yaml", &manifest("\"b.py\"", "out/src/lib.rs"));
    ws.write("out/mine.txt", "mine\n");
    let out = ws.batuta().arg("clean").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    for gone in [
        "out/gen/a.txt",
        "out/gen/b.txt",
        "out/src/lib.rs",
        "out/Cargo.toml",
    ] {
        assert!(!ws.path(gone).exists(), "{gone} is still there");
    }
    assert_eq!(ws.read("out/mine.txt"), "mine\n");
}

/// depyler writes a Cargo.toml beside each module, which batuta keeps as a sidecar: when
/// the module is ported by hand, the sidecar of the generated one goes, and the hand port
/// (which replaced the generated file in place) stays.
#[test]
fn a_hand_port_leaves_its_sidecar_behind_no_more() {
    let ws = Files::new(
        r#"version: 1
project: { name: t, source: legacy, output: rust }
stages:
  transpile:
    tasks:
      python: { rule: depyler, each: "**/*.py", out: "src/{stem}.rs" }
"#,
        &[(
            "legacy/calc.py",
            "def add(a: int, b: int) -> int:\n    return a + b\n",
        )],
    );
    let (code, ev) = ws.build_json(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    let sidecar = ".batuta/transpile/rust/src/calc.rs.Cargo.toml";
    assert!(ws.path(sidecar).exists());
    ws.write(
        "rust/src/calc.rs",
        "pub fn add(a: i64, b: i64) -> i64 { a + b }\n",
    );
    ws.write(
        "batuta.yaml",
        &ws.read("batuta.yaml").replace(
            "out: \"src/{stem}.rs\" }",
            "out: \"src/{stem}.rs\", hand_ported: [calc.py] }",
        ),
    );
    let (code, ev) = ws.build_json(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(removed(&ev), [sidecar]);
    let kept: Vec<&Value> = ev.iter().filter(|e| e["event"] == "kept").collect();
    assert_eq!(kept[0]["path"], "rust/src/calc.rs");
    assert!(ws.read("rust/src/calc.rs").contains("a + b"));
}
