//! `.batuta/history.jsonl`: one line per build that did something, so a report can show a
//! team's progress over weeks (duration, what ran, what was restored, what failed).
//!
//! Append-only: a build adds one line in one write, and a line torn by a crash is skipped
//! on reading, never taken for data. A build that found everything up to date writes
//! nothing, like the rest of batuta.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When the build ended (RFC 3339, UTC).
    pub finished: String,
    pub target: String,
    pub duration_ms: u64,
    pub executed: usize,
    pub cached: usize,
    pub up_to_date: usize,
    pub failed: usize,
    #[serde(default)]
    pub cancelled: bool,
}

pub fn path(root: &Path) -> PathBuf {
    root.join(".batuta").join("history.jsonl")
}

/// Add a build to the history.
pub fn append(root: &Path, entry: &Entry) -> io::Result<()> {
    append_line(&path(root), entry)
}

/// Add one line to a JSON-lines file kept as the history is (another record that grows
/// build by build, such as the share of native code).
pub fn append_line(path: &Path, value: &impl Serialize) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    // After a torn line, start a new one, so the damage stays one line.
    if !ends_with_newline(&mut f)? {
        line.insert(0, b'\n');
    }
    // One write of a whole line: concurrent appends (O_APPEND) do not interleave.
    f.write_all(&line)
}

fn ends_with_newline(f: &mut std::fs::File) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if f.metadata()?.len() == 0 {
        return Ok(true);
    }
    f.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    f.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Every build recorded, oldest first, and how many damaged lines were skipped.
pub fn read(root: &Path) -> io::Result<(Vec<Entry>, usize)> {
    read_lines(&path(root))
}

/// Every line of a JSON-lines file written by [`append_line`], oldest first, and how many
/// damaged lines were skipped.
pub fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<(Vec<T>, usize)> {
    // Bytes, not text: a crash may tear a line inside a multi-byte character.
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut skipped = 0;
    let entries = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .filter_map(|l| serde_json::from_slice(l).map_err(|_| skipped += 1).ok())
        .collect();
    Ok((entries, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Entry {
        Entry {
            finished: format!("2026-11-30T10:00:0{n}Z"),
            target: "default".into(),
            duration_ms: 10 * n as u64,
            executed: n,
            cached: 0,
            up_to_date: 1,
            failed: 0,
            cancelled: false,
        }
    }

    #[test]
    fn appends_read_back_in_order_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), (vec![], 0));
        append(dir.path(), &entry(1)).unwrap();
        append(dir.path(), &entry(2)).unwrap();
        // A crash in the middle of a write leaves half a line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path(dir.path()))
            .unwrap();
        // A tear inside a two-byte character: the file is no longer UTF-8.
        f.write_all(b"{\"finished\":\"2026-\xc3").unwrap();
        drop(f);
        let (entries, skipped) = read(dir.path()).unwrap();
        assert_eq!(entries, [entry(1), entry(2)]);
        assert_eq!(skipped, 1);
        // The next build's line is whole again.
        append(dir.path(), &entry(3)).unwrap();
        let (entries, skipped) = read(dir.path()).unwrap();
        assert_eq!(entries, [entry(1), entry(2), entry(3)]);
        assert_eq!(skipped, 1);
    }
}
