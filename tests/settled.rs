//! A settled build (`batuta_engine::db::settled`): once every action of a build was up to
//! date, the next `batuta build` answers by stat calls alone. It must say exactly what the
//! full path says, and every change the full path would act on must send it there.

mod common;

use std::time::Duration;

use common::Files;

const MANIFEST: &str = "version: 1
project: { name: settled, source: src, output: out }
tools:
  stamp: { command: ./tools/stamp.sh, version: [--version] }
stages:
  transpile:
    tasks:
      copy: { run: [cp, '{in}', '{out}'], each: '**/*.txt', out: '{path}' }
      label: { run: [./tools/stamp.sh, '{in}', '{out}'], tool: stamp, each: '*.lbl', out: '{stem}.out', env: [LABEL] }
";

const TOOL: &str = "#!/bin/sh\nif [ \"$1\" = --version ]; then echo stamp 1.0; exit 0; fi\nprintf '%s:' \"$LABEL\" > \"$2\"; cat \"$1\" >> \"$2\"\n";

fn workspace() -> Files {
    let ws = Files::new(
        MANIFEST,
        &[
            ("src/a.txt", "a\n"),
            ("src/pkg/b.txt", "b\n"),
            ("src/pkg/deep/c.txt", "c\n"),
            ("src/one.lbl", "one\n"),
            ("tools/stamp.sh", TOOL),
        ],
    );
    make_executable(&ws.path("tools/stamp.sh"));
    ws
}

fn make_executable(p: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A build's stdout and stderr (with the debug log, which names the settled path).
fn build(ws: &Files) -> (String, String) {
    build_with(ws, "x")
}

fn build_with(ws: &Files, label: &str) -> (String, String) {
    let out = ws
        .batuta()
        .args(["build"])
        .env("LABEL", label)
        .env("RUST_LOG", "batuta=debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

fn settled(stderr: &str) -> bool {
    stderr.contains("settled: nothing to do")
}

/// Build until the workspace is settled: a build whose files are all older than a clock
/// tick records it, and the build after answers from it.
fn settle(ws: &Files) {
    std::thread::sleep(Duration::from_millis(120));
    let (_, err) = build(ws);
    assert!(!settled(&err), "the build after a change looks: {err}");
    assert!(ws.path(".batuta/db/default.settled").exists());
    let (out, err) = build(ws);
    assert!(settled(&err), "{err}");
    assert!(
        out.starts_with("ok: nothing to do, 4 up to date ("),
        "{out}"
    );
}

/// The summary line without its time.
fn summary(stdout: &str) -> String {
    let line = stdout.lines().last().unwrap_or_default();
    line.split(" (")
        .next()
        .unwrap()
        .split(" in ")
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn a_settled_build_says_what_the_full_path_says() {
    let ws = workspace();
    let (out, _) = build(&ws);
    assert_eq!(
        summary(&out),
        "ok: 4 executed, 0 restored from cache, 0 up to date"
    );
    assert_eq!(ws.read("out/one.out"), "x:one\n");
    std::thread::sleep(Duration::from_millis(120));
    let (full, err) = build(&ws);
    assert!(!settled(&err));
    let (fast, err) = build(&ws);
    assert!(settled(&err), "{err}");
    assert_eq!(summary(&full), summary(&fast));
    assert_eq!(summary(&fast), "ok: nothing to do, 4 up to date");
    // Quiet, it says nothing either way.
    let out = ws
        .batuta()
        .args(["build", "-q"])
        .env("LABEL", "x")
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
}

#[test]
fn every_change_the_full_path_acts_on_sends_the_build_there() {
    let ws = workspace();
    build(&ws);
    settle(&ws);

    // A source edited in place, the same size.
    ws.write("src/pkg/b.txt", "B\n");
    let (out, err) = build(&ws);
    assert!(!settled(&err));
    assert_eq!(
        summary(&out),
        "ok: 1 executed, 0 restored from cache, 3 up to date"
    );
    assert_eq!(ws.read("out/pkg/b.txt"), "B\n");
    settle(&ws);

    // An output deleted, and one edited by hand: both put back.
    std::fs::remove_file(ws.path("out/pkg/deep/c.txt")).unwrap();
    ws.write("out/a.txt", "z\n");
    let (out, err) = build(&ws);
    assert!(!settled(&err));
    assert_eq!(
        summary(&out),
        "ok: 0 executed, 2 restored from cache, 2 up to date"
    );
    assert_eq!(ws.read("out/a.txt"), "a\n");
    settle(&ws);

    // A new source in a folder the glob walks.
    ws.write("src/pkg/deep/d.txt", "d\n");
    let (out, err) = build(&ws);
    assert!(!settled(&err));
    assert_eq!(
        summary(&out),
        "ok: 1 executed, 0 restored from cache, 4 up to date"
    );
    std::fs::remove_file(ws.path("src/pkg/deep/d.txt")).unwrap();
    build(&ws);
    settle(&ws);

    // A declared variable's value.
    let (out, err) = build_with(&ws, "y");
    assert!(!settled(&err));
    assert_eq!(
        summary(&out),
        "ok: 1 executed, 0 restored from cache, 3 up to date"
    );
    assert_eq!(ws.read("out/one.out"), "y:one\n");
    build(&ws);
    settle(&ws);

    // The tool's program changed (a new version): asked again, and its actions re-run.
    ws.write("tools/stamp.sh", &TOOL.replace("stamp 1.0", "stamp 2.0"));
    make_executable(&ws.path("tools/stamp.sh"));
    let (out, err) = build(&ws);
    assert!(!settled(&err));
    assert_eq!(
        summary(&out),
        "ok: 1 executed, 0 restored from cache, 3 up to date"
    );
    settle(&ws);

    // The manifest.
    ws.write(
        "batuta.yaml",
        &MANIFEST.replace(
            "'{in}', '{out}'], each: '**",
            "'-p', '{in}', '{out}'], each: '**",
        ),
    );
    let (out, err) = build(&ws);
    assert!(!settled(&err));
    assert_eq!(
        summary(&out),
        "ok: 3 executed, 0 restored from cache, 1 up to date"
    );
    settle(&ws);

    // batuta's own journal gone: the full path decides what that means.
    std::fs::remove_file(ws.path(".batuta/journal")).unwrap();
    let (_, err) = build(&ws);
    assert!(!settled(&err));
}

#[test]
fn a_damaged_record_is_ignored_and_a_failed_build_records_nothing() {
    let ws = workspace();
    build(&ws);
    settle(&ws);
    let file = ws.path(".batuta/db/default.settled");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();
    let (out, err) = build(&ws);
    assert!(!settled(&err), "a flipped byte is not trusted");
    assert_eq!(summary(&out), "ok: nothing to do, 4 up to date");
    std::fs::write(&file, b"BTOK0001").unwrap();
    let (_, err) = build(&ws);
    assert!(!settled(&err), "a cut file is not trusted");

    // A failing action: no record, and every build looks.
    ws.write("src/bad.lbl", "bad\n");
    ws.write(
        "tools/stamp.sh",
        &TOOL.replace("printf", "[ \"$1\" = src/bad.lbl ] && exit 3; printf"),
    );
    make_executable(&ws.path("tools/stamp.sh"));
    std::thread::sleep(Duration::from_millis(120));
    for _ in 0..2 {
        let out = ws
            .batuta()
            .args(["build"])
            .env("LABEL", "x")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(!ws.path(".batuta/db/default.settled").exists());
    }
}
