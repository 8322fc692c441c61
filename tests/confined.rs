//! An action that plants a symbolic link cannot make batuta write outside the workspace:
//! outputs are put in place by a walk that never follows a link (BATUTA-E-002 instead).
#![cfg(unix)]

mod common;

use std::process::Command;

use common::{Files, events};

/// `plant` links `out/m` to a folder outside the workspace (`$OUTSIDE`); `write` then
/// declares an output under `out/m`, which batuta would have moved there.
const MANIFEST: &str = r#"version: 1
project: { name: t }
stages:
  transpile:
    tasks:
      plant: { run: [sh, -c, 'mkdir -p out && ln -s "$OUTSIDE" out/m && echo planted > planted.txt'], outputs: [planted.txt], env: [OUTSIDE] }
  build:
    needs: [transpile]
    tasks:
      write: { run: [sh, -c, 'echo data > "$1"', sh, out/m/x.txt], outputs: [out/m/x.txt] }
"#;

#[test]
fn a_planted_link_fails_the_action_and_nothing_is_written_outside() {
    let ws = Files::new(MANIFEST, &[]);
    let outside = tempfile::tempdir().unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(ws.dir.path())
        .env("BATUTA_CACHE_DIR", ws.path("cache"))
        .env("OUTSIDE", outside.path())
        .args(["build", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let ev = events(&out);
    let f = ev
        .iter()
        .find(|e| e["outcome"] == "failed")
        .unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(f["id"], "build/write");
    assert_eq!(f["code"], "BATUTA-E-002", "{f}");
    assert!(
        f["message"].as_str().unwrap().contains("symbolic link"),
        "{f}"
    );
    assert!(
        std::fs::read_dir(outside.path()).unwrap().next().is_none(),
        "batuta wrote outside the workspace through a link"
    );
}
