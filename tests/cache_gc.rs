//! `batuta cache gc` through the binary: what nothing uses goes first, the least recently
//! used records go with the blobs only they name, and every hit that stays still restores;
//! a record whose blob is gone is a quiet miss.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::{events, outcomes, summary};

/// Files big enough (over the 64 KiB a record carries inline) that their copies are blobs.
const FILES: usize = 12;
const FILE_BYTES: usize = 100 * 1024;

const MANIFEST: &str = r#"version: 1
project: { name: gc, source: src, output: out }
stages:
  transpile:
    run: [cp, "{in}", "{out}"]
    each: "*.bin"
    out: "{stem}.copy"
"#;

struct Ws {
    files: common::Files,
}

impl Ws {
    fn new() -> Ws {
        let ws = Ws {
            files: common::Files::new(MANIFEST, &[]),
        };
        ws.generation(b'a');
        ws
    }

    /// Give every source file the content of generation `g`.
    fn generation(&self, g: u8) {
        for i in 0..FILES {
            let mut bytes = format!("generation {} file {i}\n", g as char).into_bytes();
            bytes.extend((bytes.len()..FILE_BYTES).map(|j| (j % 251) as u8));
            let p = self.files.path(&format!("src/f{i:02}.bin"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("batuta").unwrap();
        c.current_dir(self.files.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("BATUTA_CACHE_DIR")
            .env_remove("RUST_LOG");
        c
    }

    fn cache(&self) -> std::path::PathBuf {
        self.files.path(".batuta/cache")
    }

    /// Run batuta with `args`, which must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> std::process::Output {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A build of a clean checkout: the outputs removed first.
    fn clean_build(&self) -> Vec<Value> {
        let _ = std::fs::remove_dir_all(self.files.path("out"));
        events(&self.ok(&["build", "--format", "json"]))
    }

    fn gc(&self, max: u64) -> String {
        let out = self.ok(&["cache", "gc", "--max-size", &max.to_string()]);
        String::from_utf8(out.stdout).unwrap()
    }
}

fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => size_of(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

fn warnings(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["event"] == "warning").collect()
}

/// Blobs nothing names, as a record lost to the old gc left them: stored under their
/// BLAKE3 like any blob, and newer than the pack.
fn orphan_blobs(cache: &Path, n: usize) -> u64 {
    for i in 0..n {
        let bytes = vec![i as u8; FILE_BYTES];
        let hex = blake3::hash(&bytes).to_hex().to_string();
        let p = cache.join("cas").join(&hex[..2]).join(&hex);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    (n * FILE_BYTES) as u64
}

#[test]
fn blobs_nothing_names_go_first_and_every_hit_stays() {
    let ws = Ws::new();
    assert_eq!(summary(&ws.clean_build())["executed"], FILES);
    let live = size_of(&ws.cache());
    let orphans = orphan_blobs(&ws.cache(), 2 * FILES);
    assert!(size_of(&ws.cache()) >= live + orphans);

    let said = ws.gc(live + live / 10);
    assert!(
        said.starts_with(&format!(
            "evicted 0 action records and removed {} blobs ({orphans} bytes)",
            2 * FILES
        )),
        "{said}"
    );
    assert!(size_of(&ws.cache()) <= live + live / 10);
    let ev = ws.clean_build();
    assert_eq!(summary(&ev)["cached"], FILES, "every hit stays");
    assert_eq!(summary(&ev)["executed"], 0);
}

#[test]
fn the_least_recently_used_generation_goes_and_the_newer_one_stays() {
    let ws = Ws::new();
    ws.clean_build();
    let one_generation = size_of(&ws.cache());
    ws.generation(b'b');
    assert_eq!(summary(&ws.clean_build())["executed"], FILES);
    assert!(size_of(&ws.cache()) > one_generation + one_generation / 2);

    let said = ws.gc(one_generation + one_generation / 5);
    let evicted: usize = said
        .strip_prefix("evicted ")
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        (FILES * 3 / 4..=FILES).contains(&evicted),
        "most of generation a had to go: {said}"
    );
    assert!(
        said.contains(&format!("removed {evicted} blobs")),
        "each with its blob: {said}"
    );
    let ev = ws.clean_build();
    assert_eq!(summary(&ev)["cached"], FILES, "generation b is kept");
    ws.generation(b'a');
    let ev = ws.clean_build();
    assert_eq!(summary(&ev)["executed"], evicted, "what was evicted runs");
    assert_eq!(
        summary(&ev)["cached"],
        FILES - evicted,
        "what was kept restores"
    );
    assert!(warnings(&ev).is_empty(), "{:?}", warnings(&ev));
}

#[test]
fn a_record_whose_blob_is_gone_is_a_quiet_miss() {
    let ws = Ws::new();
    ws.clean_build();
    std::fs::remove_dir_all(ws.cache().join("cas")).unwrap();
    let ev = ws.clean_build();
    assert_eq!(
        outcomes(&ev, "executed").len(),
        FILES,
        "each action runs again"
    );
    assert!(warnings(&ev).is_empty(), "{:?}", warnings(&ev));
    let ev = ws.clean_build();
    assert_eq!(summary(&ev)["cached"], FILES, "and is cached again");
}
