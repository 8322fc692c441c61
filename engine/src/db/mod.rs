//! The incremental database (salsa): what a build derives before it runs anything, asked
//! the same way by `batuta build` and `batuta watch`, and kept between runs
//! ([`Workspace`], [`store`]).
//!
//! Inputs are what the outside world changes: the manifest's text and which part of it is
//! built, the shape of the file tree (a generation, moved on when a folder expansion listed
//! changed; expanding again then lists only the folders whose stamp moved, see
//! `graph::listing`), the tool and rule versions and declared environment values the keys need, and,
//! in `watch`, each source file's digest. Tracked queries derive the manifest, the action
//! graph, each action's fingerprint (the part of its key known before its inputs are read,
//! see `crate::key`) and, in `watch`, each action's key. Salsa backdates a recomputed value
//! equal to the old one, so an edit that leaves a graph or a key unchanged invalidates
//! nothing after it (early cutoff); and a value nobody's inputs touched is not recomputed.
//!
//! The database decides *what* is stale; the scheduler (`exec`) decides how to run it.

mod keys;
pub mod settled;
mod shape;
pub(crate) mod store;
mod workspace;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

pub use keys::{KeyNeeds, KeyParts, ToolDown, fingerprints_of, gather, gather_needs};
pub use workspace::Workspace;

use crate::digest::Digest;
use crate::graph::listing::Listings;
use crate::graph::{self, Action, ActionGraph};
use crate::key;
use crate::manifest::{self, Catalog, Diagnostics, Manifest, Phase};

#[salsa::db]
pub trait Db: salsa::Database {
    /// The input for a source file, if one was registered.
    fn source_file(&self, path: &str) -> Option<SourceFile>;
    fn catalog(&self) -> &Catalog;
    /// The folder listings expansion reads folders through (see `graph::listing`).
    fn listings(&self) -> Arc<Listings>;
}

#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
    /// Source-file inputs by workspace-relative path. Only ever grows: an input's identity
    /// must stay stable for salsa to compare revisions.
    files: Arc<Mutex<HashMap<String, SourceFile>>>,
    catalog: Catalog,
    /// Kept with the database (see `store::Extra`): a folder whose stamp did not move is
    /// not listed again when the graph is expanded again.
    listings: Arc<Listings>,
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn source_file(&self, path: &str) -> Option<SourceFile> {
        self.files.lock().expect("files lock").get(path).copied()
    }

    fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn listings(&self) -> Arc<Listings> {
        self.listings.clone()
    }
}

/// Which part of the manifest a build expands: a target (`None`: the default), or some
/// stages and what they need.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Selection {
    Target(Option<String>),
    Stages(Vec<Phase>),
}

impl Selection {
    /// A name for the selection that can be a file name.
    pub fn file_name(&self) -> String {
        let raw = match self {
            Selection::Target(None) => "default".to_owned(),
            Selection::Target(Some(t)) => format!("target-{t}"),
            Selection::Stages(ps) => {
                let names: Vec<&str> = ps.iter().map(|p| p.stage_name()).collect();
                format!("stages-{}", names.join("-"))
            }
        };
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    fn expand(&self, m: &Manifest) -> Result<ActionGraph, Diagnostics> {
        match self {
            Selection::Target(t) => graph::expand(m, t.as_deref()),
            Selection::Stages(ps) => graph::expand_stages(m, ps),
        }
    }
}

/// The manifest and what of it is built.
#[salsa::input(singleton, persist)]
pub struct ManifestInput {
    #[returns(ref)]
    pub path: PathBuf,
    #[returns(ref)]
    pub text: String,
    #[returns(ref)]
    pub selection: Selection,
}

/// The shape of the file tree expansion read, as a generation: moved on whenever a folder
/// it listed (or an ignore file that filtered a listing) changed, since expansion walks the
/// tree, which salsa cannot see.
#[salsa::input(singleton, persist)]
pub struct Tree {
    pub generation: u64,
}

/// What the keys need besides the graph: each tool's version output (or why it cannot
/// run), each rule's version, each declared environment variable's value.
#[salsa::input(singleton, persist)]
pub struct KeyInputs {
    #[returns(ref)]
    pub tools: BTreeMap<String, crate::probe::Answer>,
    #[returns(ref)]
    pub rules: BTreeMap<String, String>,
    #[returns(ref)]
    pub env: BTreeMap<String, Option<String>>,
}

/// A file an action reads that no action writes (`watch` keeps these up to date).
#[salsa::input]
pub struct SourceFile {
    #[returns(ref)]
    pub path: String,
    /// `None` when the file does not exist.
    #[returns(copy)]
    pub digest: Option<Digest>,
}

/// A loaded manifest, or why it did not load.
#[derive(Clone)]
pub struct Loaded(pub Result<Arc<Manifest>, Arc<Diagnostics>>);

/// An expanded graph with the folders its expansion listed (absolute), or why expansion
/// failed. Compared by value, so an edit that leaves every action as it was (a comment, a
/// reordering of keys) changes nothing downstream. Spans (where a task is written) are
/// left out of the comparison: a comment moves them, and no key depends on them. Salsa
/// still stores the new value, so errors point at the manifest as it now reads.
#[derive(Clone)]
pub struct Expanded(pub Result<Arc<Expansion>, Arc<Diagnostics>>);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expansion {
    pub graph: ActionGraph,
    pub walked: Vec<PathBuf>,
    /// Files expansion asked for by name (absolute), outside the folders it walked.
    pub probed: Vec<PathBuf>,
}

impl PartialEq for Expanded {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Ok(a), Ok(b)) => {
                let (ga, gb) = (&a.graph, &b.graph);
                ga.target == gb.target
                    && ga.keep_going == gb.keep_going
                    && ga.stages == gb.stages
                    && ga.projects == gb.projects
                    && ga.hand_ported == gb.hand_ported
                    && ga.plan == gb.plan
                    && ga.warnings.len() == gb.warnings.len()
                    && ga
                        .warnings
                        .iter()
                        .zip(&gb.warnings)
                        .all(|(x, y)| (x.code, &x.message) == (y.code, &y.message))
                    && ga.actions.len() == gb.actions.len()
                    && ga
                        .actions
                        .iter()
                        .zip(&gb.actions)
                        .all(|(x, y)| same_action(x, y))
                    && a.walked == b.walked
                    && a.probed == b.probed
            }
            _ => false,
        }
    }
}

impl Eq for Expanded {}

/// Stored with the database: only a graph is kept (a failed expansion is not, see
/// `store`), and a database whose last expansion failed is not saved.
impl Serialize for Expanded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(e) => blob::serialize(&**e, s),
            Err(_) => Err(serde::ser::Error::custom(
                "a failed expansion is not stored",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Expanded {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Expanded(Ok(Arc::new(blob::deserialize(d)?))))
    }
}

/// A large value stored as one run of bytes (postcard) inside salsa's serialization.
/// Salsa writes each stored value through `erased_serde`, which pays a virtual call and a
/// small allocation per field: 46 ms to read a 10,000-action graph field by field, against
/// 3 ms for the same bytes read at once.
mod blob {
    use serde::de::DeserializeOwned;
    use serde::{Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        let bytes = postcard::to_stdvec(v).map_err(serde::ser::Error::custom)?;
        s.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        struct Bytes<T>(std::marker::PhantomData<T>);
        impl<T: DeserializeOwned> serde::de::Visitor<'_> for Bytes<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a stored value's bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<T, E> {
                postcard::from_bytes(b).map_err(E::custom)
            }
        }
        d.deserialize_bytes(Bytes(std::marker::PhantomData))
    }
}

/// Equal in everything but where it is written.
fn same_action(a: &Action, b: &Action) -> bool {
    let Action {
        id,
        phase,
        task,
        kind,
        inputs,
        matched,
        outputs,
        env,
        cache,
        local,
        gpu,
        timeout,
        sidecars,
        span: _,
        scope,
    } = a;
    *id == b.id
        && *phase == b.phase
        && *task == b.task
        && *kind == b.kind
        && *inputs == b.inputs
        && *matched == b.matched
        && *outputs == b.outputs
        && *env == b.env
        && *scope == b.scope
        && *cache == b.cache
        && *local == b.local
        && *gpu == b.gpu
        && *timeout == b.timeout
        && *sidecars == b.sidecars
}

#[salsa::tracked(returns(ref), no_eq)]
pub fn loaded_manifest(db: &dyn Db) -> Loaded {
    let input = ManifestInput::get(db);
    let loaded = manifest::load_str(input.text(db), input.path(db), db.catalog());
    Loaded(loaded.map(Arc::new).map_err(Arc::new))
}

/// The selection's action graph. Expansion walks the file tree, which salsa cannot see:
/// the tree's generation stands for it, and the folders it walked go with the graph.
#[salsa::tracked(returns(ref), persist)]
pub fn action_graph(db: &dyn Db) -> Expanded {
    let m = match &loaded_manifest(db).0 {
        Ok(m) => m.clone(),
        Err(d) => return Expanded(Err(d.clone())),
    };
    let _ = Tree::get(db).generation(db);
    let selection = ManifestInput::get(db).selection(db).clone();
    let (graph, seen) = graph::walk::observing_with(Some(db.listings()), || selection.expand(&m));
    Expanded(
        graph
            .map(|graph| {
                Arc::new(Expansion {
                    graph,
                    walked: seen.folders,
                    probed: seen.files,
                })
            })
            .map_err(Arc::new),
    )
}

/// Each action's fingerprint, or the tool it needs that cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprints(pub Arc<Vec<Result<Digest, ToolDown>>>);

impl Serialize for Fingerprints {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        blob::serialize(&*self.0, s)
    }
}

impl<'de> Deserialize<'de> for Fingerprints {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Fingerprints(Arc::new(blob::deserialize(d)?)))
    }
}

#[salsa::tracked(returns(ref), persist)]
pub fn fingerprints(db: &dyn Db) -> Fingerprints {
    let Expanded(Ok(e)) = action_graph(db) else {
        return Fingerprints(Arc::default());
    };
    let k = KeyInputs::get(db);
    let parts = KeyParts {
        tools: k.tools(db),
        rules: k.rules(db),
        env: k.env(db),
    };
    Fingerprints(Arc::new(fingerprints_of(&e.graph, &parts)))
}

/// An action of the graph, by its index, as salsa names a query's argument.
#[salsa::interned]
pub struct ActionIndex {
    pub index: usize,
}

/// The cache key of action `index` as the registered sources stand, or `None` when it
/// cannot be known before the build: the action reads another action's output, a source
/// file has no input registered or does not exist, or its tool cannot run.
#[salsa::tracked(returns(copy))]
pub fn action_key<'db>(db: &'db dyn Db, at: ActionIndex<'db>) -> Option<Digest> {
    let index = *at.index(db);
    let Expanded(Ok(e)) = action_graph(db) else {
        return None;
    };
    let g = &e.graph;
    let a = g.actions.get(index)?;
    if g.file_deps(index).next().is_some() {
        return None;
    }
    let fingerprint = fingerprints(db).0.get(index)?.as_ref().ok()?;
    let mut inputs = Vec::with_capacity(a.inputs.len());
    for path in &a.inputs {
        // A source that is absent is not known here, even one a glob matched: the build
        // finds out.
        let digest = db.source_file(path)?.digest(db)?;
        inputs.push((a.is_matched(path).then_some(path.as_str()), digest));
    }
    Some(key::action_key(fingerprint, &inputs))
}

impl Database {
    pub fn new(catalog: Catalog) -> Database {
        Database {
            storage: salsa::Storage::default(),
            files: Arc::default(),
            catalog,
            listings: Arc::default(),
        }
    }

    /// Register a source file, or update its digest. Setting an equal digest is skipped,
    /// so a save that changes nothing starts no new revision.
    pub fn set_source(&mut self, path: &str, digest: Option<Digest>) {
        use salsa::Setter;
        let existing = self.source_file(path);
        match existing {
            Some(f) => {
                if f.digest(self) != digest {
                    f.set_digest(self).to(digest);
                }
            }
            None => {
                let f = SourceFile::new(self, path.to_owned(), digest);
                self.files
                    .lock()
                    .expect("files lock")
                    .insert(path.to_owned(), f);
            }
        }
    }

    /// Whether a path is registered as a source file.
    pub fn is_source(&self, path: &str) -> bool {
        self.source_file(path).is_some()
    }
}

/// Files that actions read and no action writes: what `set_source` must know.
pub fn source_paths(g: &ActionGraph) -> impl Iterator<Item = &str> {
    let written: std::collections::HashSet<&str> = g
        .actions
        .iter()
        .flat_map(|a| a.outputs.iter().map(String::as_str))
        .collect();
    g.actions
        .iter()
        .flat_map(|a| a.inputs.iter().map(String::as_str))
        .filter(move |p| !written.contains(p))
}

#[cfg(test)]
pub(crate) mod tests;
