//! The guide (`docs/`, an mdBook) as CI checks it:
//!
//! - its manifest reference is what `schemas/batuta.schema.json` declares, so the two cannot
//!   drift (`BATUTA_BLESS=1` writes the chapter again after a schema change);
//! - mdbook builds it, with no chapter missing, and every link in it leads to a page and an
//!   anchor that exist;
//! - every shell example marked runnable runs, with the batuta under test on PATH, in a
//!   scratch folder holding a copy of the repository's `examples/`, each chapter's blocks in
//!   order in one shell.
//!
//! mdbook is required (`cargo install --locked mdbook@0.5.4`; `.ci/run` installs it): without
//! it the build test fails and says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "book/links.rs"]
mod links;
#[path = "book/reference.rs"]
mod reference;
#[path = "book/runnable.rs"]
mod runnable;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_manifest_reference_is_the_schemas() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/batuta.schema.json")).unwrap(),
    )
    .unwrap();
    let want = reference::render(&schema);
    let path = repo().join(reference::CHAPTER);
    if std::env::var_os("BATUTA_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "{} is not what the schema says; run `BATUTA_BLESS=1 cargo test --test book` to write it again",
        reference::CHAPTER
    );
    // Every key the schema declares is in the chapter.
    for key in ["hand_ported", "keep_going", "token_env", "min_grade"] {
        assert!(got.contains(&format!("`{key}`")), "{key}");
    }
}

fn mdbook() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("mdbook"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("mdbook is not on PATH: install it with `cargo install --locked mdbook@0.5.4`")
        })
}

#[test]
fn the_guide_builds_and_every_link_leads_somewhere() {
    let out = tempfile::tempdir().unwrap();
    let built = Command::new(mdbook())
        .arg("build")
        .arg(repo().join("docs"))
        .arg("--dest-dir")
        .arg(out.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&built.stderr);
    assert!(built.status.success(), "mdbook build failed:\n{log}");
    assert!(
        !log.contains("WARN") && !log.contains("ERROR"),
        "mdbook warned:\n{log}"
    );
    for page in [
        "index.html",
        "manifest-reference.html",
        "error-codes.html",
        "workbench.html",
    ] {
        assert!(out.path().join(page).is_file(), "{page} was not built");
    }
    let bad = links::broken(out.path());
    assert!(
        bad.is_empty(),
        "links that lead nowhere:\n{}",
        bad.join("\n")
    );
    // `batuta explain` prints the chapter the guide shows.
    let codes = std::fs::read_to_string(out.path().join("error-codes.html")).unwrap();
    assert!(
        codes.contains("BATUTA-T-001"),
        "the error codes chapter holds the codes"
    );
}

/// A copy of `from` into `to`, without what builds leave behind.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if [".batuta", "dist", "target", "validation", "report-files"]
            .iter()
            .any(|n| name == *n)
            || name == ".batuta-state.json"
        {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// One chapter's runnable blocks, run in order by one `bash -euo pipefail` in a scratch
/// folder; a chapter may take this long.
const CHAPTER_TIMEOUT: Duration = Duration::from_secs(900);

#[test]
fn the_guides_runnable_examples_run() {
    let chapters = runnable::chapters(&repo().join("docs/src"));
    assert!(
        chapters.iter().any(|c| c.path == "getting-started.md"),
        "getting started has runnable examples"
    );
    let batuta = assert_cmd::cargo::cargo_bin("batuta");
    let path = std::env::join_paths(
        std::iter::once(batuta.parent().unwrap().to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .unwrap();
    for chapter in chapters {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&repo().join("examples"), &dir.path().join("examples"));
        let script = format!(
            "set -euo pipefail\n{}",
            chapter.blocks.join("cd \"$BOOK_DIR\"\n")
        );
        let started = Instant::now();
        // Output goes to files: a pipe nobody reads while the script runs would fill up.
        let logs = tempfile::tempdir().unwrap();
        let (stdout, stderr) = (logs.path().join("stdout"), logs.path().join("stderr"));
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("BOOK_DIR", dir.path())
            .env("NO_COLOR", "1")
            .env_remove("BATUTA_CONFIG")
            .env_remove("BATUTA_CACHE_DIR")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > CHAPTER_TIMEOUT {
                let _ = child.kill();
                panic!(
                    "{}: its runnable examples took over {CHAPTER_TIMEOUT:?}",
                    chapter.path
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        assert!(
            status.success(),
            "{}: a runnable example failed ({status}):\n--- script\n{script}\n--- stdout\n{}\n--- stderr\n{}",
            chapter.path,
            read(&stdout),
            read(&stderr)
        );
        eprintln!(
            "{}: ran in {:.1}s",
            chapter.path,
            started.elapsed().as_secs_f64()
        );
    }
}
