//! The incremental database (salsa): what a build computes, kept between builds so that
//! `batuta watch` recomputes only what an edit touched.
//!
//! Inputs are what the outside world changes: the manifest's text, the shape of the file
//! tree (a generation number, bumped when files come or go), each source file's digest, and
//! the probed tool and rule versions. Tracked queries derive the manifest, the action graph
//! and each action's cache key from them. Salsa backdates a recomputed value equal to the
//! old one, so an edit that leaves a key unchanged invalidates nothing after it (early
//! cutoff); and a value nobody's inputs touched is not recomputed at all.
//!
//! The database decides *what* is stale; the scheduler (`exec`) decides how to run it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use salsa::Setter;

use crate::digest::Digest;
use crate::graph::{self, Action, ActionGraph, ActionKind};
use crate::key;
use crate::manifest::{self, Catalog, Diagnostics, Manifest};

#[salsa::db]
pub trait Db: salsa::Database {
    /// The input for a source file, if one was registered.
    fn source_file(&self, path: &str) -> Option<SourceFile>;
    fn catalog(&self) -> &Catalog;
}

#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
    /// Source-file inputs by workspace-relative path. Only ever grows: an input's identity
    /// must stay stable for salsa to compare revisions.
    files: Arc<Mutex<HashMap<String, SourceFile>>>,
    catalog: Catalog,
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
}

/// The workspace being built: the manifest and which target of it.
#[salsa::input]
pub struct Workspace {
    #[returns(ref)]
    pub manifest_path: PathBuf,
    #[returns(ref)]
    pub manifest_text: String,
    /// Bumped whenever files appear or disappear, since expansion walks the tree.
    pub tree: u64,
    #[returns(ref)]
    pub target: Option<String>,
}

/// A file an action reads that no action writes.
#[salsa::input]
pub struct SourceFile {
    #[returns(ref)]
    pub path: String,
    /// `None` when the file does not exist.
    #[returns(copy)]
    pub digest: Option<Digest>,
}

/// Versions probed once per session: each tool's version output (`None` if it cannot
/// run), each rule's version, and the declared environment.
#[salsa::input]
pub struct Probes {
    #[returns(ref)]
    pub tools: BTreeMap<String, Option<String>>,
    #[returns(ref)]
    pub rules: BTreeMap<String, String>,
    #[returns(ref)]
    pub env: BTreeMap<String, Option<String>>,
}

/// A loaded manifest, or why it did not load. Compared by its text's digest and path:
/// the same text always loads the same way.
#[derive(Clone)]
pub struct Loaded(pub Result<Arc<Manifest>, Arc<Diagnostics>>);

/// An expanded graph, or why expansion failed. Compared by value, so an edit that leaves
/// every action as it was (a comment, a reordering of keys) changes nothing downstream.
/// Spans (where a task is written) are left out of the comparison: a comment moves them,
/// and no key depends on them. Salsa still stores the new value, so errors point at the
/// manifest as it now reads.
#[derive(Clone)]
pub struct Expanded(pub Result<Arc<(Arc<Manifest>, ActionGraph)>, Arc<Diagnostics>>);

impl PartialEq for Expanded {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Ok(a), Ok(b)) => {
                let (ga, gb) = (&a.1, &b.1);
                ga.target == gb.target
                    && ga.keep_going == gb.keep_going
                    && ga.stages == gb.stages
                    && ga.projects == gb.projects
                    && ga.actions.len() == gb.actions.len()
                    && ga
                        .actions
                        .iter()
                        .zip(&gb.actions)
                        .all(|(x, y)| same_action(x, y))
                    && a.0.root == b.0.root
            }
            _ => false,
        }
    }
}

impl Eq for Expanded {}

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
        && *sidecars == b.sidecars
}

#[salsa::tracked(returns(ref), no_eq)]
pub fn loaded_manifest(db: &dyn Db, ws: Workspace) -> Loaded {
    let loaded = manifest::load_str(ws.manifest_text(db), ws.manifest_path(db), db.catalog());
    Loaded(loaded.map(Arc::new).map_err(Arc::new))
}

/// The target's action graph. Expansion walks the file tree, which salsa cannot see: the
/// `tree` generation stands for it.
#[salsa::tracked(returns(ref))]
pub fn action_graph(db: &dyn Db, ws: Workspace) -> Expanded {
    let m = match &loaded_manifest(db, ws).0 {
        Ok(m) => m.clone(),
        Err(d) => return Expanded(Err(d.clone())),
    };
    let _ = ws.tree(db);
    Expanded(
        graph::expand(&m, ws.target(db).as_deref())
            .map(|g| Arc::new((m, g)))
            .map_err(Arc::new),
    )
}

/// The cache key of action `index` as the inputs stand, or `None` when it cannot be known
/// before the build: the action reads another action's output, a source file has no input
/// registered or does not exist, or its tool cannot run.
#[salsa::tracked(returns(copy))]
pub fn action_key(db: &dyn Db, ws: Workspace, probes: Probes, index: usize) -> Option<Digest> {
    let Expanded(Ok(built)) = action_graph(db, ws) else {
        return None;
    };
    let g = &built.1;
    let a = g.actions.get(index)?;
    if g.file_deps(index).next().is_some() {
        return None;
    }
    let mut inputs = Vec::with_capacity(a.inputs.len());
    for path in &a.inputs {
        let digest = db.source_file(path)?.digest(db)?;
        inputs.push((path.as_str(), digest));
    }
    let (tool_version, rule_version) = versions(a, probes.tools(db), probes.rules(db))?;
    let env: Vec<Option<String>> = a
        .env
        .iter()
        .map(|n| probes.env(db).get(n).cloned().flatten())
        .collect();
    Some(key::action_key(
        a,
        &key::KeyParts {
            tool_version,
            rule_version,
            env: &env,
            inputs: &inputs,
        },
    ))
}

type Versions<'a> = (Option<&'a str>, Option<&'a str>);

fn versions<'a>(
    a: &Action,
    tools: &'a BTreeMap<String, Option<String>>,
    rules: &'a BTreeMap<String, String>,
) -> Option<Versions<'a>> {
    Some(match &a.kind {
        ActionKind::Command { tool: Some(t), .. } => (Some(tools.get(t)?.as_deref()?), None),
        ActionKind::Command { tool: None, .. } => (None, None),
        ActionKind::Builtin { name, .. } => (
            None,
            rules.get(&rule_id("builtin", name)).map(String::as_str),
        ),
        ActionKind::Kernel { name, .. } => (
            None,
            rules.get(&rule_id("kernel", name)).map(String::as_str),
        ),
    })
}

/// How `Probes::rules` names a rule: builtins and kernels may share a name.
pub fn rule_id(kind: &str, name: &str) -> String {
    format!("{kind}:{name}")
}

impl Database {
    pub fn new(catalog: Catalog) -> Database {
        Database {
            storage: salsa::Storage::default(),
            files: Arc::default(),
            catalog,
        }
    }

    /// Register a source file, or update its digest. Setting an equal digest is skipped,
    /// so a save that changes nothing starts no new revision.
    pub fn set_source(&mut self, path: &str, digest: Option<Digest>) {
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
mod tests {
    use super::*;

    const MANIFEST: &str = "version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      copy: { run: [cp, '{in}', '{out}'], each: '*.py', out: '{stem}.txt' }
";

    const CATALOG: Catalog = Catalog::EMPTY;

    /// A database that records which queries salsa executed.
    fn logging() -> (Database, Arc<Mutex<Vec<String>>>) {
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = log.clone();
        let mut db = Database::new(CATALOG);
        db.storage = salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
            if let salsa::EventKind::WillExecute { database_key } = event.kind {
                sink.lock().unwrap().push(format!("{database_key:?}"));
            }
        })));
        (db, log)
    }

    fn executed(log: &Mutex<Vec<String>>, query: &str) -> usize {
        let mut log = log.lock().unwrap();
        let n = log.iter().filter(|e| e.contains(query)).count();
        log.clear();
        n
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        db: Database,
        log: Arc<Mutex<Vec<String>>>,
        ws: Workspace,
        probes: Probes,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        for f in ["a.py", "b.py"] {
            std::fs::write(dir.path().join("src").join(f), f).unwrap();
        }
        let (mut db, log) = logging();
        let path = dir.path().join("batuta.yaml");
        let ws = Workspace::new(&db, path, MANIFEST.to_owned(), 0, None);
        let probes = Probes::new(&db, BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        db.set_source("src/a.py", Some(Digest::of(b"a")));
        db.set_source("src/b.py", Some(Digest::of(b"b")));
        Fixture {
            _dir: dir,
            db,
            log,
            ws,
            probes,
        }
    }

    fn keys(f: &Fixture) -> Vec<Option<Digest>> {
        (0..2)
            .map(|i| action_key(&f.db, f.ws, f.probes, i))
            .collect()
    }

    #[test]
    fn every_action_of_a_plain_manifest_has_a_key_before_the_build() {
        let f = fixture();
        let k = keys(&f);
        assert!(k.iter().all(Option::is_some));
        assert_ne!(k[0], k[1]);
    }

    #[test]
    fn an_edit_to_one_source_recomputes_one_key() {
        let mut f = fixture();
        let before = keys(&f);
        executed(&f.log, "action_key");
        f.db.set_source("src/a.py", Some(Digest::of(b"a, edited")));
        let after = keys(&f);
        assert_eq!(executed(&f.log, "action_key"), 1);
        assert_ne!(before[0], after[0]);
        assert_eq!(before[1], after[1]);
    }

    #[test]
    fn setting_an_equal_digest_recomputes_nothing() {
        let mut f = fixture();
        keys(&f);
        executed(&f.log, "action_key");
        f.db.set_source("src/a.py", Some(Digest::of(b"a")));
        keys(&f);
        assert_eq!(executed(&f.log, "action_key"), 0);
    }

    #[test]
    fn early_cutoff_a_comment_in_the_manifest_reexpands_but_recomputes_no_key() {
        let mut f = fixture();
        let before = keys(&f);
        executed(&f.log, "action_key");
        f.ws.set_manifest_text(&mut f.db)
            .to(format!("# a comment\n{MANIFEST}"));
        let after = keys(&f);
        let log = f.log.lock().unwrap().clone();
        assert!(log.iter().any(|e| e.contains("action_graph")), "{log:?}");
        assert_eq!(executed(&f.log, "action_key"), 0);
        assert_eq!(before, after);
    }

    #[test]
    fn a_changed_command_changes_every_key() {
        let mut f = fixture();
        let before = keys(&f);
        f.ws.set_manifest_text(&mut f.db)
            .to(MANIFEST.replace("[cp,", "[cp, -p,"));
        let after = keys(&f);
        assert_ne!(before[0], after[0]);
        assert_ne!(before[1], after[1]);
    }

    #[test]
    fn a_missing_source_or_a_broken_manifest_gives_no_key() {
        let mut f = fixture();
        f.db.set_source("src/a.py", None);
        assert_eq!(action_key(&f.db, f.ws, f.probes, 0), None);
        f.ws.set_manifest_text(&mut f.db)
            .to("version: [".to_owned());
        assert_eq!(action_key(&f.db, f.ws, f.probes, 1), None);
        assert!(matches!(action_graph(&f.db, f.ws), Expanded(Err(_))));
    }
}
