//! Files batuta wrote in an earlier build that no action writes any more: the module of a
//! source file now excluded or ported by hand, the crate root `assemble` wrote before it
//! wrote another, a tool's sidecar. Left in place they would pass for hand-written files
//! (an input glob takes them in) and break the crate; so the next build removes them, as
//! `ninja -t cleandead` does, and says so. The journal remembers every file an action wrote
//! and its digest: a file whose contents changed since batuta wrote it is someone's own
//! now, and stays (batuta forgets it). A file batuta never wrote is never touched.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::RwLock;

use crate::digest::StatCache;
use crate::fsutil::remove_file_if_exists;
use crate::journal::ActionRecord;

/// What the sweep did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swept {
    /// Removed: batuta wrote it, nothing writes it now, and it was as batuta left it.
    Removed(String),
    /// Left in place: it changed since batuta wrote it.
    Kept(String),
    /// It could not be removed (the reason).
    Failed(String, String),
}

/// Sweep the journal's `records` against `writes`, every file an action of the manifest
/// writes (all its stages, not only the target's). A record with a file nothing writes any
/// more is dropped: its action is gone or writes other files now, and runs again. Returns
/// what was done with each file, and the records dropped (their ids and outputs).
pub fn sweep(
    root: &Path,
    records: &mut HashMap<String, ActionRecord>,
    writes: &HashSet<String>,
    stat: &RwLock<StatCache>,
) -> (Vec<Swept>, Vec<(String, Vec<String>)>) {
    let mut done = Vec::new();
    let mut dropped = Vec::new();
    // Only the records with a file nothing writes, in a stable order: sorting every id
    // was most of a watch rebuild's sweep at 10,000 actions.
    let mut ids: Vec<&String> = records
        .iter()
        .filter(|(_, rec)| {
            rec.outputs
                .iter()
                .any(|(p, _)| !writes.contains(p.as_str()))
        })
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    for id in ids {
        let rec = &records[id];
        let stale = rec
            .outputs
            .iter()
            .filter(|(p, _)| !writes.contains(p.as_str()));
        for (path, recorded) in stale {
            // Another record of the same file (an action renamed, or two past writers)
            // already dealt with it.
            if done.iter().any(|s: &Swept| s.path() == path) {
                continue;
            }
            match crate::digest::digest(stat, root, path) {
                Ok(Some(d)) if d == *recorded => {
                    let p = root.join(path);
                    match remove_file_if_exists(&p) {
                        Ok(()) => {
                            stat.write().expect("stat lock").forget(path);
                            remove_empty_parents(root, &p);
                            done.push(Swept::Removed(path.clone()));
                        }
                        Err(e) => done.push(Swept::Failed(path.clone(), e.to_string())),
                    }
                }
                Ok(Some(_)) => done.push(Swept::Kept(path.clone())),
                Ok(None) => {}
                Err(e) => done.push(Swept::Failed(path.clone(), e.to_string())),
            }
        }
        dropped.push(id.clone());
    }
    let dropped = dropped
        .into_iter()
        .filter_map(|id| records.remove_entry(&id))
        .map(|(id, rec)| (id, rec.outputs.into_iter().map(|(p, _)| p).collect()))
        .collect();
    (done, dropped)
}

impl Swept {
    pub fn path(&self) -> &str {
        match self {
            Swept::Removed(p) | Swept::Kept(p) | Swept::Failed(p, _) => p,
        }
    }
}

/// Remove the folders a removal left empty, up to (not including) the workspace.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    fn record(outputs: &[(&str, &[u8])]) -> ActionRecord {
        ActionRecord {
            key: Digest::of(b"k"),
            outputs: outputs
                .iter()
                .map(|(p, b)| ((*p).to_owned(), Digest::of(b)))
                .collect(),
            run_ms: None,
        }
    }

    #[test]
    fn removes_what_nothing_writes_keeps_what_changed_and_touches_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let w = |p: &str, b: &[u8]| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b).unwrap();
        };
        w("rust/src/old/gone.rs", b"generated");
        w("rust/src/edited.rs", b"a hand port now");
        w("rust/src/kept.rs", b"still written");
        w("rust/src/mine.rs", b"never batuta's");
        let mut records = HashMap::from([
            (
                "t/x:old/gone.py".to_owned(),
                record(&[("rust/src/old/gone.rs", b"generated")]),
            ),
            (
                "t/x:edited.py".to_owned(),
                record(&[("rust/src/edited.rs", b"generated")]),
            ),
            (
                "t/x:kept.py".to_owned(),
                record(&[("rust/src/kept.rs", b"still written")]),
            ),
        ]);
        let writes: HashSet<String> = HashSet::from(["rust/src/kept.rs".to_owned()]);
        let stat = RwLock::new(StatCache::default());
        let (mut swept, dropped) = sweep(root, &mut records, &writes, &stat);
        assert_eq!(dropped.len(), 2, "{dropped:?}");
        swept.sort_by(|a, b| a.path().cmp(b.path()));
        assert_eq!(
            swept,
            [
                Swept::Kept("rust/src/edited.rs".into()),
                Swept::Removed("rust/src/old/gone.rs".into()),
            ]
        );
        assert!(
            !root.join("rust/src/old").exists(),
            "its empty folder went too"
        );
        assert!(root.join("rust/src/edited.rs").exists());
        assert!(root.join("rust/src/mine.rs").exists());
        assert_eq!(records.len(), 1, "only the record still written stays");
        assert!(records.contains_key("t/x:kept.py"));
        // A second sweep finds nothing.
        assert_eq!(sweep(root, &mut records, &writes, &stat), (vec![], vec![]));
    }
}
