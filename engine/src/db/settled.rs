//! A settled build: what a build that found every action up to date depended on, kept
//! so that the next `batuta build` of the same selection can tell by `stat` calls alone
//! that it would do nothing, without loading the database, the graph or the journal.
//!
//! A no-op of 10,000 actions spent more time reading those three and walking the graph
//! than on the 20,000 `stat` calls that decide it. What decided that every action was up
//! to date was:
//!
//! - this batuta binary, the manifest's text and the selection;
//! - what the keys asked of the world (see `super::keys`): each tool's identity (through
//!   the probe memo, frozen, so that no process starts), each rule's version, each
//!   declared variable's value;
//! - the tree's [`Shape`] as the graph's expansion saw it;
//! - the stamp of every input and output of every action, as the build verified them
//!   (the stat cache's, which the build keeps for exactly what it hashed or checked);
//! - batuta's own journal and state file, which only a build that did something rewrites
//!   (each write is a rename, so a new inode tells a rewrite within one clock tick).
//!
//! If all of it is as it was, the full path would find every action up to date with the
//! same records, and print the same. A stamp taken within a clock tick of the record
//! proves nothing (git's "racy clean" problem): such a build is not recorded settled, and
//! the next build takes the full path (and records it then). The file is framed like the
//! database (magic, the binary, length, BLAKE3), so a damaged or foreign one is ignored.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::keys::{self, KeyNeeds};
use super::shape::Shape;
use super::store;
use super::{Selection, Workspace};
use crate::digest::{Digest, Stamp, nanos};
use crate::folders;
use crate::fsutil::{self, Durability};
use crate::graph::ActionGraph;
use crate::manifest::{self, Catalog};
use crate::probe;
use crate::rule::Rules;

const MAGIC: &[u8; 8] = b"BTOK0002";

/// A folder (`""`: the workspace's) and the stamps of some of its files, by name.
type Folder = (String, Vec<(String, Stamp)>);

/// `files` (path, stamp) by folder, each folder's names sorted.
fn by_folder(mut files: Vec<(&str, Stamp)>) -> Vec<Folder> {
    files.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut folders: Vec<Folder> = Vec::new();
    for (p, s) in files {
        let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
        match folders.last_mut() {
            Some((d, names)) if d == dir => names.push((name.to_owned(), s)),
            _ => folders.push((dir.to_owned(), vec![(name.to_owned(), s)])),
        }
    }
    // Sorted paths keep a folder's files together except where its subfolders' sort
    // between them ("a/a.txt" < "a/b/c.txt" < "a/d.txt"): merge what split.
    folders.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<Folder> = Vec::with_capacity(folders.len());
    for (dir, names) in folders {
        match merged.last_mut() {
            Some((d, have)) if *d == dir => have.extend(names),
            _ => merged.push((dir, names)),
        }
    }
    merged
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Settled {
    manifest: PathBuf,
    text: Digest,
    selection: Selection,
    needs: KeyNeeds,
    /// What [`keys::gather_needs`] gave, hashed.
    asked: Digest,
    probes: probe::Memo,
    shape: Shape,
    /// The journal and the state file, with their stamps (`None`: absent).
    own: Vec<(PathBuf, Option<Stamp>)>,
    /// Every input no action writes with its stamp, by folder (`""`: the workspace's),
    /// each folder's names sorted; the folders holding the most recently changed files
    /// first. Checked before [`Settled::folders`]: an edit is far likelier in a source than
    /// in an output, and a check that stops at the first change then fails fast (a build
    /// after an edit pays for it: up to 15 ms at 10,000 actions when outputs came first).
    sources: Vec<Folder>,
    /// The other files: outputs, and inputs some action writes, by folder, sorted.
    folders: Vec<Folder>,
    /// How many actions the build had: all of them up to date.
    pub actions: usize,
}

/// Where the settled record of `selection` is kept.
pub fn path(root: &Path, selection: &Selection) -> PathBuf {
    root.join(".batuta/db")
        .join(format!("{}.settled", selection.file_name()))
}

fn own_files(root: &Path) -> Vec<(PathBuf, Option<Stamp>)> {
    [crate::journal::path(root), crate::state::path(root)]
        .into_iter()
        .map(|p| {
            let s = Stamp::of_path(&p);
            (p, s)
        })
        .collect()
}

fn digest_of(asked: &keys::Gathered) -> Digest {
    Digest(*blake3::hash(&postcard::to_stdvec(asked).unwrap_or_default()).as_bytes())
}

impl Settled {
    /// The record of a build of `ws`'s graph `g` that found every action up to date,
    /// with `stamp` giving what the build verified of each file; `None` when something it
    /// depended on cannot be proven unchanged later (a stamp within a clock tick of now, a
    /// file it has no stamp for, an action that is never up to date).
    pub fn record(
        ws: &Workspace,
        g: &ActionGraph,
        rules: &dyn Rules,
        stamp: &dyn Fn(&str) -> Option<Stamp>,
    ) -> Option<Settled> {
        if g.actions.iter().any(|a| !a.cache) {
            return None;
        }
        let m = ws.manifest().ok()?;
        let (shape, probes) = ws.kept();
        let needs = KeyNeeds::of(g);
        let mut frozen = probes.clone().frozen();
        let asked = keys::gather_needs(&m, &needs, rules, &mut frozen);
        if frozen.changed() {
            return None;
        }
        let written: std::collections::HashSet<&str> = g
            .actions
            .iter()
            .flat_map(|a| a.outputs.iter().map(String::as_str))
            .collect();
        let mut paths: Vec<&str> = g
            .actions
            .iter()
            .flat_map(|a| a.inputs.iter().chain(&a.outputs))
            .map(String::as_str)
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let now = nanos(SystemTime::now());
        let (mut sources, mut others) = (Vec::new(), Vec::new());
        for p in paths {
            // No stamp: the build did not verify it (an input a glob matched, now gone).
            let s = stamp(p)?;
            if s.racy_at(now) {
                return None;
            }
            if written.contains(p) {
                others.push((p, s));
            } else {
                sources.push((p, s));
            }
        }
        let mut sources = by_folder(sources);
        let newest = |names: &[(String, Stamp)]| names.iter().map(|(_, s)| s.mtime_ns).max();
        sources.sort_by_cached_key(|(_, names)| std::cmp::Reverse(newest(names)));
        Some(Settled {
            manifest: ws.manifest_path(),
            text: Digest::of(ws.manifest_text().as_bytes()),
            selection: ws.selection(),
            needs,
            asked: digest_of(&asked),
            probes: probes.clone(),
            shape: shape.clone(),
            own: own_files(ws.root()),
            sources,
            folders: by_folder(others),
            actions: g.actions.len(),
        })
    }

    /// Write it beside the database. Not flushed: a torn file fails its checksum.
    pub fn save(&self, root: &Path) -> std::io::Result<()> {
        let payload = postcard::to_stdvec(self).map_err(std::io::Error::other)?;
        let bytes = store::seal(MAGIC, &payload);
        fsutil::write_replace(&path(root, &self.selection), &bytes, Durability::Deferred)
    }

    /// Forget that `selection` is settled (a build is about to change the workspace).
    pub fn forget(root: &Path, selection: &Selection) {
        let _ = std::fs::remove_file(path(root, selection));
    }

    /// The record kept for `selection` in the workspace at `root`, if it is sound.
    fn load(root: &Path, selection: &Selection) -> Option<Settled> {
        let bytes = std::fs::read(path(root, selection)).ok()?;
        postcard::from_bytes(store::unseal(MAGIC, &bytes).ok()?).ok()
    }

    /// Whether the build of `selection` of the manifest at `manifest_path` is still
    /// settled: the record kept for it, if everything it depended on is as it was.
    pub fn check(
        manifest_path: &Path,
        selection: &Selection,
        catalog: &Catalog,
        rules: &dyn Rules,
    ) -> Option<Settled> {
        let root = manifest::workspace_of(manifest_path);
        let t = std::time::Instant::now();
        let s = Settled::load(&root, selection)?;
        tracing::debug!(elapsed = ?t.elapsed(), "settled: loaded");
        if s.manifest != manifest_path || s.selection != *selection {
            return None;
        }
        let text = manifest::read(manifest_path).ok()?;
        if Digest::of(text.as_bytes()) != s.text || own_files(&root) != s.own {
            return None;
        }
        if s.shape.changed() {
            return None;
        }
        tracing::debug!(elapsed = ?t.elapsed(), "settled: shape");
        if !s.files_unchanged(&root) {
            tracing::debug!(elapsed = ?t.elapsed(), "settled: a file changed");
            return None;
        }
        tracing::debug!(elapsed = ?t.elapsed(), "settled: files");
        // Last, as it parses the manifest: the tools, rules and variables the keys asked.
        let m = manifest::load_str(&text, manifest_path, catalog).ok()?;
        let mut frozen = s.probes.clone().frozen();
        let asked = keys::gather_needs(&m, &s.needs, rules, &mut frozen);
        if frozen.changed() || digest_of(&asked) != s.asked {
            return None;
        }
        Some(s)
    }

    /// Each folder is opened once, its files stat-ed relative to it, and closed before the
    /// next: holding thousands open grows the process's descriptor table, and each growth
    /// with threads running waits for an RCU grace period (milliseconds each, most of a
    /// no-op's time at 2,000 folders).
    fn files_unchanged(&self, root: &Path) -> bool {
        Self::unchanged(root, &self.sources) && Self::unchanged(root, &self.folders)
    }

    fn unchanged(root: &Path, folders: &[Folder]) -> bool {
        folders.par_iter().all(|(dir, names)| {
            let path = if dir.is_empty() {
                root.to_path_buf()
            } else {
                root.join(dir)
            };
            let Some(fd) = folders::open_folder(&path) else {
                return false;
            };
            names.iter().all(|(name, then)| {
                matches!(folders::stat_at(&fd, name), Ok(Some((now, _))) if now == *then)
            })
        })
    }
}
