//! What the last build saw, in one compact file loaded at start (`.batuta/journal`): the
//! stat cache and, per action, the key it last ran with and the outputs it left.
//!
//! With it a no-op build reads one file and stats the workspace, nothing more. A journal
//! that is missing or damaged costs speed, never correctness: actions then fall back to the
//! action cache.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::{Digest, StatCache};
use crate::fsutil;

// 0002: records keep how long the action last ran.
const MAGIC: &[u8; 8] = b"BTJN0002";

/// The last successful run of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub key: Digest,
    pub outputs: Vec<(String, Digest)>,
    /// How long it last ran here, in milliseconds; `None` when its outputs have only been
    /// restored from the cache since. What `batuta graph --critical-path` adds up.
    pub run_ms: Option<u32>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Journal {
    pub stat: StatCache,
    pub actions: HashMap<String, ActionRecord>,
}

/// Where the journal of the workspace at `root` lives.
pub fn path(root: &Path) -> PathBuf {
    root.join(".batuta").join("journal")
}

impl Journal {
    /// Load the journal; a missing one is empty, a damaged one is empty and reported.
    pub fn load(path: &Path) -> (Journal, Option<String>) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return (Journal::default(), None),
            Err(e) => {
                return (
                    Journal::default(),
                    Some(format!(
                        "cannot read {}: {e}; starting afresh",
                        path.display()
                    )),
                );
            }
        };
        match fsutil::unseal(MAGIC, &bytes).and_then(|p| postcard::from_bytes(p).ok()) {
            Some(j) => (j, None),
            None => (
                Journal::default(),
                Some(format!(
                    "{} is damaged or from another batuta version; starting afresh",
                    path.display()
                )),
            ),
        }
    }

    pub fn save(&self, path: &Path) -> io::Result<()> {
        let payload = postcard::to_stdvec(self).map_err(io::Error::other)?;
        fsutil::write_atomic(path, &fsutil::seal(MAGIC, &payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path());
        let mut j = Journal::default();
        j.actions.insert(
            "a".into(),
            ActionRecord {
                key: Digest::of(b"k"),
                outputs: vec![("o".into(), Digest::of(b"o"))],
                run_ms: Some(12),
            },
        );
        j.save(&p).unwrap();
        let (loaded, warning) = Journal::load(&p);
        assert_eq!(loaded.actions, j.actions);
        assert!(warning.is_none());
        std::fs::write(&p, b"garbage").unwrap();
        let (loaded, warning) = Journal::load(&p);
        assert!(loaded.actions.is_empty());
        assert!(warning.unwrap().contains("damaged"));
    }
}
