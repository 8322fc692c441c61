//! What the end-to-end tests share: a workspace in a temporary folder.
#![allow(dead_code)] // each test crate uses its own part

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
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
