//! Folder listings, kept by the folder's stamp.
//!
//! A folder's mtime and ctime change whenever an entry in it is created, removed or
//! renamed, so a listing taken when the folder had a stamp holds for as long as it keeps
//! that stamp. The database keeps the listings of the last expansion (see
//! `crate::db::Workspace`): when a file is added, expansion runs again, and lists the one
//! folder that changed instead of the whole tree.
//!
//! A listing taken within a clock tick of the folder's last change is not kept: an entry
//! made in the same tick after the listing would leave the stamp as it was (git's "racy
//! clean" problem).

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::digest::{Stamp, nanos};

/// What an entry is, as the folder says (not looking through a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    File,
    Folder,
    Link,
    /// A socket, pipe or device.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: OsString,
    pub kind: Kind,
}

/// A folder's entries, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub entries: Vec<Entry>,
}

impl Listing {
    /// Whether the folder holds an entry called `name` of kind `kind` (the entries are
    /// sorted by name, and a name is there once).
    pub fn has(&self, name: &str, kind: Kind) -> bool {
        self.entries
            .binary_search_by(|e| e.name.as_os_str().cmp(std::ffi::OsStr::new(name)))
            .is_ok_and(|i| self.entries[i].kind == kind)
    }
}

/// Read `dir`'s entries.
pub fn read(dir: &Path) -> io::Result<Listing> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let Ok(e) = e else { continue };
        let Ok(t) = e.file_type() else { continue };
        let kind = if t.is_symlink() {
            Kind::Link
        } else if t.is_dir() {
            Kind::Folder
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        entries.push(Entry {
            name: e.file_name(),
            kind,
        });
    }
    entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(Listing { entries })
}

/// Listings by folder (absolute), each with the folder's stamp when it was read.
#[derive(Debug, Default)]
pub struct Listings {
    kept: RwLock<HashMap<PathBuf, (Stamp, Arc<Listing>)>>,
    /// The folders asked for since the last [`Listings::forget_unused`].
    used: Mutex<HashSet<PathBuf>>,
    /// How many folders were read rather than found kept.
    read: AtomicUsize,
}

impl Listings {
    /// `dir`'s entries: the kept listing when the folder's stamp is the one it was read
    /// with, else read now.
    pub fn list(&self, dir: &Path) -> io::Result<Arc<Listing>> {
        self.used
            .lock()
            .expect("listings lock")
            .insert(dir.to_path_buf());
        let stamp = Stamp::of(&std::fs::metadata(dir)?);
        if let Some((then, listing)) = self.kept.read().expect("listings lock").get(dir)
            && *then == stamp
        {
            return Ok(listing.clone());
        }
        let listing = Arc::new(read(dir)?);
        self.read.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.kept.write().expect("listings lock");
        if !stamp.racy_at(nanos(std::time::SystemTime::now())) {
            kept.insert(dir.to_path_buf(), (stamp, listing.clone()));
        } else {
            kept.remove(dir);
        }
        Ok(listing)
    }

    /// Drop the listings of folders not asked for since the last call: the tree has no
    /// such folder any more, or expansion no longer walks it.
    pub fn forget_unused(&self) {
        let used = std::mem::take(&mut *self.used.lock().expect("listings lock"));
        self.kept
            .write()
            .expect("listings lock")
            .retain(|dir, _| used.contains(dir));
    }

    /// How many folders were read (not found kept) so far.
    pub fn reads(&self) -> usize {
        self.read.load(Ordering::Relaxed)
    }
}

/// Kept with the database: the listings as one list.
impl Serialize for Listings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kept = self.kept.read().expect("listings lock");
        let mut all: Vec<(&PathBuf, &Stamp, &Listing)> =
            kept.iter().map(|(p, (s, l))| (p, s, &**l)).collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Listings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let all: Vec<(PathBuf, Stamp, Listing)> = Vec::deserialize(d)?;
        Ok(Listings {
            kept: RwLock::new(
                all.into_iter()
                    .map(|(p, s, l)| (p, (s, Arc::new(l))))
                    .collect(),
            ),
            ..Listings::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_read_again_only_when_its_stamp_moved() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.py"), "a").unwrap();
        std::fs::create_dir(d.join("pkg")).unwrap();
        // Past the racy window, or nothing is kept.
        std::thread::sleep(std::time::Duration::from_millis(60));
        let listings = Listings::default();
        let first = listings.list(d).unwrap();
        assert_eq!(listings.reads(), 1);
        assert!(first.has("a.py", Kind::File) && first.has("pkg", Kind::Folder));
        assert!(Arc::ptr_eq(&listings.list(d).unwrap(), &first), "kept");
        assert_eq!(listings.reads(), 1);

        // An edit in place moves no folder stamp; a new file does.
        std::fs::write(d.join("a.py"), "edited").unwrap();
        assert_eq!(listings.reads(), 1);
        std::fs::write(d.join("b.py"), "b").unwrap();
        let again = listings.list(d).unwrap();
        assert_eq!(listings.reads(), 2);
        assert!(again.has("b.py", Kind::File));
        // (Read within a tick of the change, it is not kept: `Stamp::racy_at` decides, and
        // is tested with its own clock; here a loaded machine could pass the tick.)
    }

    #[test]
    fn listings_survive_a_round_trip_and_unused_ones_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(60));
        let listings = Listings::default();
        listings.list(&a).unwrap();
        listings.list(&b).unwrap();
        listings.forget_unused();
        listings.list(&a).unwrap();
        listings.forget_unused();
        let bytes = postcard::to_stdvec(&listings).unwrap();
        let back: Listings = postcard::from_bytes(&bytes).unwrap();
        back.list(&a).unwrap();
        assert_eq!(back.reads(), 0, "a was kept");
        back.list(&b).unwrap();
        assert_eq!(back.reads(), 1, "b was forgotten");
    }
}
