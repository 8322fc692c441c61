//! What the end-to-end tests share: a workspace in a temporary folder.
#![allow(dead_code)] // each test crate uses its own part

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A temporary workspace: a manifest and the files it names.
pub struct Files {
    pub dir: tempfile::TempDir,
}

impl Files {
    pub fn new(manifest: &str, files: &[(&str, &str)]) -> Files {
        let ws = Files {
            dir: tempfile::tempdir().unwrap(),
        };
        ws.write("batuta.yaml", manifest);
        for (p, c) in files {
            ws.write(p, c);
        }
        ws
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// `batuta` in this workspace, with its own cache, no colour and no outside config.
    pub fn batuta(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("batuta").unwrap();
        c.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("BATUTA_CACHE_DIR", self.path("cache"))
            .env_remove("BATUTA_CONFIG")
            .env_remove("RUST_LOG");
        c
    }

    /// `batuta build --format json` with `args`: its exit code and its events.
    pub fn build_json(&self, args: &[&str]) -> (i32, Vec<Value>) {
        let out = self
            .batuta()
            .args(["build", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), events(&out))
    }

    /// What `batuta status --files --format json` says (it must succeed).
    pub fn status_files(&self) -> Value {
        let out = self
            .batuta()
            .args(["status", "--files", "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The rows of [`Files::status_files`].
    pub fn file_rows(&self) -> Vec<Value> {
        self.status_files()["files"].as_array().unwrap().clone()
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

/// A folder of real legacy code committed under tests/corpus.
pub fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(rel)
}

/// Copy the tree `from` into the folder `to`, made as needed.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Wait for a file a test command creates when it starts.
pub fn wait_for(path: &Path) {
    let t = Instant::now();
    while !path.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The JSON events a command printed, one per line.
pub fn events(out: &Output) -> Vec<Value> {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| {
                panic!(
                    "not JSON: {l}: {e}\n{text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
        })
        .collect()
}

/// A build's summary line, which the contract puts last.
pub fn summary(events: &[Value]) -> &Value {
    let last = events.last().expect("events");
    assert_eq!(last["event"], "summary", "the summary is the last line");
    last
}

/// The ids of the actions a build reported with this outcome, sorted.
pub fn outcomes<'a>(events: &'a [Value], outcome: &str) -> Vec<&'a str> {
    let mut ids: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "action" && e["outcome"] == outcome)
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// A Python module whose depyler 4.1.1 output does not compile (`tests/cargo_build.rs`,
/// `tests/workbench.rs`): the module a migration quarantines, then ports by hand.
pub const STATS_PY: &str = r#"from typing import List


def mean(values: List[float]) -> float:
    """Arithmetic mean of a non-empty list."""
    total = 0.0
    count = 0
    for v in values:
        total += v
        count += 1
    if count == 0:
        raise ValueError("empty")
    return total / count
"#;
