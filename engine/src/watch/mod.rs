//! `batuta watch`'s engine side: file events go into the incremental database, and each
//! round the database says which actions are known to be up to date, so a rebuild after
//! one edit touches one action's files instead of stat-ing the whole workspace.

mod events;
mod known;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use events::{Changes, WatchError, Watcher};

use crate::db::{self, Expansion, Fingerprints, Selection, Workspace};
use crate::exec::Session;
use crate::graph::{ActionGraph, walk};
use crate::manifest::{self, Catalog, Diagnostics, Manifest};
use crate::rule::Rules;

/// A manifest and its expanded target, as the last good edit left them.
pub type Built = Arc<(Arc<Manifest>, ActionGraph)>;

/// What to build this round.
pub struct Round {
    pub built: Built,
    /// Each action's fingerprint (see `exec::Job`).
    pub fingerprints: Fingerprints,
    /// Per action: known up to date, known stale, or ask the disk (see `exec::Job`).
    pub known_fresh: Vec<Option<bool>>,
    /// The manifest's current problem, when the round falls back to the last good graph.
    pub problem: Option<Arc<Diagnostics>>,
}

pub struct Incremental {
    manifest_path: PathBuf,
    /// The manifest's absolute path and the workspace's, to read event paths.
    manifest_abs: PathBuf,
    root_abs: PathBuf,
    /// The database `batuta build` uses too, kept in memory between rounds.
    ws: Workspace,
    /// The expansion `good` holds, to tell a new one by.
    expansion: Arc<Expansion>,
    session: Session,
    good: Built,
    /// The graph whose sources the database was last given (see `read_sources`).
    registered: Option<Built>,
    /// Output path → the action that writes it (its index), for the last good graph.
    outputs: Arc<HashMap<String, usize>>,
    /// Source path → the actions that read it, for the last good graph.
    readers: HashMap<String, Vec<usize>>,
    /// What the last round knew, for the actions nothing touched since to keep.
    known: Option<known::Known>,
    /// Sources whose digest changed since the last round.
    edited: HashSet<String>,
    /// Every folder on the way to an output (absolute): watched when a build creates it,
    /// so an output deleted or edited by hand later is seen.
    output_dirs: HashSet<PathBuf>,
    /// Outputs changed by someone else since the last plan: the disk decides about them.
    touched: HashSet<String>,
    /// Whether the next plan must ask the disk about everything (the first round).
    cold: bool,
}

impl Incremental {
    /// Load the manifest and expand the target; a bad manifest stops here.
    pub fn open(
        path: &Path,
        target: Option<String>,
        catalog: Catalog,
    ) -> Result<Incremental, Arc<Diagnostics>> {
        let mut ws = Workspace::open(path, Selection::Target(target), catalog)?;
        let (good, expansion) = Self::built(&mut ws)?;
        let root = good.0.root.clone();
        let root_abs = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        let manifest_abs = root_abs.join(path.file_name().unwrap_or_default());
        let mut me = Incremental {
            manifest_path: path.to_path_buf(),
            manifest_abs,
            root_abs,
            ws,
            expansion,
            session: Session::open(&root),
            outputs: Arc::default(),
            readers: HashMap::new(),
            known: None,
            edited: HashSet::new(),
            output_dirs: HashSet::new(),
            good,
            registered: None,
            touched: HashSet::new(),
            cold: true,
        };
        me.index_outputs();
        Ok(me)
    }

    /// The manifest and its graph as the database has them now.
    fn built(ws: &mut Workspace) -> Result<(Built, Arc<Expansion>), Arc<Diagnostics>> {
        let m = ws.manifest()?;
        let e = ws.expansion()?;
        Ok((Arc::new((m, e.graph.clone())), e))
    }

    /// Why the database kept on disk could not be used, once.
    pub fn take_warning(&mut self) -> Option<String> {
        self.ws.take_warning()
    }

    /// Keep the database for the next `build` or `watch`; a failure costs only speed.
    pub fn save(&mut self) -> std::io::Result<()> {
        self.ws.save()
    }

    pub fn manifest_path(&self) -> &Path {
        &self.manifest_path
    }

    /// The workspace folder, absolute: event paths are below it.
    pub fn root_abs(&self) -> &Path {
        &self.root_abs
    }

    /// Each file the last good graph writes, with the action that writes it (its index):
    /// the graph each round builds.
    pub fn outputs(&self) -> Arc<HashMap<String, usize>> {
        self.outputs.clone()
    }

    /// Ask the disk about every action next round: after a cancelled build, whose
    /// discarded outputs the file events may not have reported yet.
    pub fn forget(&mut self) {
        self.cold = true;
    }

    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Decide what this round builds.
    pub fn round(&mut self, rules: &dyn Rules) -> Round {
        let t = std::time::Instant::now();
        // A `batuta build` run between rounds may have recorded what it did.
        self.session.refresh();
        // The graph is cloned out of the database only when it is a new one: a clone of
        // 10,000 actions was 4 ms of every round.
        let loaded = self
            .ws
            .manifest()
            .and_then(|m| Ok((m, self.ws.expansion()?)));
        let problem = match loaded {
            Ok((m, e)) => {
                if !Arc::ptr_eq(&m, &self.good.0) || !Arc::ptr_eq(&e, &self.expansion) {
                    self.good = Arc::new((m, e.graph.clone()));
                    self.expansion = e;
                    self.index_outputs();
                }
                None
            }
            Err(d) => Some(d),
        };
        let built = self.good.clone();
        let fingerprints = self.ws.fingerprints(&built.0, &built.1, rules);
        // Even a cold round registers the sources, so the first edit after it is seen; a
        // graph whose sources were registered has no new one.
        let registered = self
            .registered
            .as_ref()
            .is_some_and(|r| Arc::ptr_eq(r, &built));
        if problem.is_none() && !registered {
            self.read_sources(&built, false);
            self.registered = Some(built.clone());
        }
        let known_fresh = if self.cold || problem.is_some() {
            self.known = None;
            vec![None; built.1.actions.len()]
        } else {
            self.known_fresh(&built, &fingerprints)
        };
        self.cold = false;
        self.touched.clear();
        self.edited.clear();
        tracing::debug!(elapsed = ?t.elapsed(), "round planned");
        Round {
            built,
            fingerprints,
            known_fresh,
            problem,
        }
    }

    /// Give the database the digest of each source the graph reads as the disk has it
    /// now: every one (`all`), or those it does not know yet.
    fn read_sources(&mut self, built: &Built, all: bool) {
        let (m, g) = (&built.0, &built.1);
        let sources: Vec<String> = db::source_paths(g)
            .filter(|p| all || !self.ws.is_source(p))
            .map(str::to_owned)
            .collect();
        for p in sources {
            let d = self.session.digest(&m.root, &p).ok().flatten();
            self.ws.set_source(&p, d);
        }
    }

    fn index_outputs(&mut self) {
        self.outputs = Arc::new(
            self.good
                .1
                .actions
                .iter()
                .enumerate()
                .flat_map(|(i, a)| a.outputs.iter().map(move |o| (o.clone(), i)))
                .collect(),
        );
        let mut readers: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in self.good.1.actions.iter().enumerate() {
            for p in &a.inputs {
                if !self.outputs.contains_key(p) {
                    readers.entry(p.clone()).or_default().push(i);
                }
            }
        }
        self.readers = readers;
        let mut dirs = HashSet::new();
        for o in self.outputs.keys() {
            let mut dir = parent(o);
            while !dir.is_empty() && dirs.insert(self.root_abs.join(dir)) {
                dir = parent(dir);
            }
        }
        self.output_dirs = dirs;
    }

    /// Folders to watch: the workspace, the source tree, and every folder holding an input
    /// or output of the graph, with their parents up to the workspace.
    pub fn watch_dirs(&self) -> Vec<PathBuf> {
        let (m, g) = (&self.good.0, &self.good.1);
        let mut rels: HashSet<&str> = HashSet::new();
        rels.insert("");
        let folders = m.folders();
        let sources: Vec<&str> = folders.iter().map(|(s, _)| s.as_str()).collect();
        let paths = g
            .actions
            .iter()
            .flat_map(|a| a.inputs.iter().chain(&a.outputs))
            .map(String::as_str)
            .chain(sources.iter().copied().filter(|s| !s.is_empty()))
            .collect::<Vec<_>>();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for p in paths {
            let mut dir = if sources.contains(&p) { p } else { parent(p) };
            while rels.insert(dir) {
                dir = parent(dir);
            }
        }
        for r in rels {
            dirs.push(if r.is_empty() {
                self.root_abs.clone()
            } else {
                self.root_abs.join(r)
            });
        }
        // Every folder under the source trees, so new files anywhere in them are seen.
        let skip = self.skipped_dirs();
        for source in &sources {
            dirs.extend(walk::dirs(&self.root_abs.join(source), &skip));
        }
        dirs.sort();
        dirs.dedup();
        dirs
    }

    fn skipped_dirs(&self) -> Vec<PathBuf> {
        let folders = self.good.0.folders();
        let mut skip = vec![self.root_abs.join(".batuta"), self.root_abs.join(".git")];
        // An output tree is batuta's to write, unless it holds sources (`output: .`).
        for (_, output) in &folders {
            let holds_source = output.is_empty()
                || folders
                    .iter()
                    .any(|(s, _)| s == output || s.starts_with(&format!("{output}/")));
            if !holds_source {
                skip.push(self.root_abs.join(output));
            }
        }
        skip
    }

    /// Feed a batch of file events into the database. Returns the workspace-relative paths
    /// whose change can matter; a no-op save, batuta's own writes and unrelated files do not.
    pub fn apply(&mut self, changes: &Changes) -> Vec<String> {
        let mut relevant = Vec::new();
        let mut reshaped = false;
        let root = self.good.0.root.clone();
        let folders = self.good.0.folders();
        let skip = self.skipped_dirs();
        if changes.lost {
            self.recheck_everything();
            relevant.push(".".to_owned());
        }
        for p in &changes.paths {
            let Ok(rel) = p.strip_prefix(&self.root_abs) else {
                continue;
            };
            let rel = crate::graph::walk::to_slash(rel);
            if *p == self.manifest_abs {
                if let Ok(text) = manifest::read(&self.manifest_path)
                    && text != self.ws.manifest_text()
                {
                    self.ws.set_manifest_text(text);
                    relevant.push(rel);
                }
                continue;
            }
            if is_batutas_own(&rel) {
                continue;
            }
            if self.ws.is_source(&rel) {
                let d = self.session.digest(&root, &rel).ok().flatten();
                let before = self.ws.source_digest(&rel);
                if d != before {
                    self.ws.set_source(&rel, d);
                    self.edited.insert(rel.clone());
                    reshaped |= d.is_none() || before.is_none();
                    relevant.push(rel);
                }
                continue;
            }
            if let Some(&i) = self.outputs.get(&rel) {
                let now = self.session.digest(&root, &rel).ok().flatten();
                let recorded = self
                    .session
                    .record(&self.good.1.actions[i].id)
                    .and_then(|r| r.outputs.iter().find(|(o, _)| *o == rel).map(|(_, d)| *d));
                if now.is_none() || now != recorded {
                    self.touched.insert(rel.clone());
                    relevant.push(rel);
                }
                continue;
            }
            // A file or folder that came or went under the source tree may add or remove
            // actions made by `each`.
            let under_source = folders.iter().any(|(source, _)| {
                source.is_empty() || rel == *source || rel.starts_with(&format!("{source}/"))
            });
            if changes.reshaped.contains(p)
                && under_source
                && !skip.iter().any(|s| p.starts_with(s))
            {
                reshaped = true;
                relevant.push(rel);
            }
        }
        if reshaped {
            self.ws.reshape();
        }
        relevant
    }

    /// After events were lost: read the manifest and every source again, walk the tree
    /// again, and ask the disk about every action next round.
    fn recheck_everything(&mut self) {
        if let Ok(text) = manifest::read(&self.manifest_path) {
            self.ws.set_manifest_text(text);
        }
        self.read_sources(&self.good.clone(), true);
        self.ws.reshape();
        self.cold = true;
    }

    /// The folders that appeared in a batch, with the folders inside them.
    pub fn new_dirs(&self, changes: &Changes) -> Vec<PathBuf> {
        let skip = self.skipped_dirs();
        let mut dirs = Vec::new();
        for d in &changes.new_dirs {
            // A folder a build made for its outputs, and those below it on the way to one.
            let mut on_the_way: Vec<&PathBuf> = self
                .output_dirs
                .iter()
                .filter(|o| o.starts_with(d))
                .collect();
            if !on_the_way.is_empty() {
                on_the_way.sort();
                dirs.extend(on_the_way.into_iter().cloned());
                continue;
            }
            // A new hidden folder (a virtualenv, an editor's cache) is not walked for
            // sources either.
            let hidden = d
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if d.starts_with(&self.root_abs) && !hidden && !skip.iter().any(|s| d.starts_with(s)) {
                dirs.push(d.clone());
                dirs.extend(walk::dirs(d, &skip));
            }
        }
        dirs
    }
}

/// batuta's own files: the state file, the journal and cache, and their temporary files.
fn is_batutas_own(rel: &str) -> bool {
    let first = rel.split('/').next().unwrap_or(rel);
    let name = rel.rsplit('/').next().unwrap_or(rel);
    first == ".batuta" || first.starts_with(".batuta-state") || name.starts_with(".tmp")
}

fn parent(p: &str) -> &str {
    p.rsplit_once('/').map_or("", |(d, _)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::tests::MANIFEST;
    use crate::rule::NoRules;

    #[test]
    fn lost_events_read_every_source_again_and_ask_the_disk_about_every_action() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/a.py"), "a").unwrap();
        let path = dir.path().join("batuta.yaml");
        std::fs::write(&path, MANIFEST).unwrap();
        let mut inc = Incremental::open(&path, None, crate::manifest::Catalog::EMPTY).unwrap();
        let first = inc.round(&NoRules);
        assert_eq!(first.known_fresh, [None], "the first round asks the disk");
        let before = inc.ws.source_digest("src/a.py");
        assert!(before.is_some());

        // Edited while the kernel's queue overflowed: no event names it.
        std::fs::write(dir.path().join("src/a.py"), "edited").unwrap();
        let lost = Changes {
            lost: true,
            ..Changes::default()
        };
        assert_eq!(inc.apply(&lost), ["."]);
        assert_ne!(inc.ws.source_digest("src/a.py"), before, "read again");
        assert_eq!(inc.round(&NoRules).known_fresh, [None]);
    }
}
