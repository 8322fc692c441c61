//! The database of one workspace and selection, as `batuta build` and `batuta watch` use
//! it: opened from `.batuta/db/`, given the inputs as they stand now, asked for the
//! manifest, the graph and the fingerprints, and saved back when anything was derived.
//!
//! On a no-op nothing is derived: the manifest text is the same, no folder expansion
//! listed changed (a few hundred stats), no tool's identity changed (no process), so every
//! query answers from what was loaded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use salsa::Setter;

use super::shape::Shape;
use super::store::{self, Extra};
use super::{
    Database, Db, Expanded, Expansion, Fingerprints, KeyInputs, ManifestInput, Selection, Tree,
};
use crate::digest::Digest;
use crate::manifest::{self, Catalog, Diagnostics, Manifest};
use crate::rule::Rules;

pub struct Workspace {
    db: Database,
    root: PathBuf,
    file: PathBuf,
    extra: Extra,
    /// Set by salsa when a query runs: something was derived, and is worth saving.
    executed: Arc<AtomicBool>,
    /// An input or the extra data changed: worth saving.
    dirty: bool,
    /// Why the file on disk was not used, said once.
    warning: Option<String>,
}

/// The queries whose results are kept on disk: when one runs, the file is worth writing.
const PERSISTED: &[&str] = &["action_graph", "fingerprints"];

/// A database that notes when salsa executes a persisted query. (Salsa names a query in
/// its event only through the key's `Debug`; this runs once per execution, not per check.)
fn database(catalog: Catalog, executed: &Arc<AtomicBool>) -> Database {
    let flag = executed.clone();
    let mut db = Database::new(catalog);
    db.storage = salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
        if let salsa::EventKind::WillExecute { database_key } = event.kind {
            let name = format!("{database_key:?}");
            if PERSISTED.iter().any(|q| name.starts_with(q)) {
                flag.store(true, Ordering::Relaxed);
            }
        }
    })));
    db
}

impl Workspace {
    /// The database of the manifest at `path` for `selection`: the one kept under the
    /// workspace's `.batuta/db/`, or a new one. Fails only when the manifest cannot be read.
    pub fn open(
        path: &Path,
        selection: Selection,
        catalog: Catalog,
    ) -> Result<Workspace, Arc<Diagnostics>> {
        let text = manifest::read(path).map_err(Arc::new)?;
        let root = manifest::workspace_of(path);
        let file = root.join(".batuta/db").join(selection.file_name());
        let executed = Arc::new(AtomicBool::new(false));
        let mut db = database(catalog, &executed);
        let (extra, warning) = match store::load(&file, &mut db) {
            Ok(Some(extra)) => (extra, None),
            Ok(None) => (Extra::default(), None),
            Err(why) => {
                db = database(catalog, &executed);
                (Extra::default(), Some(why))
            }
        };
        db.listings = extra.listings.clone();
        let mut ws = Workspace {
            db,
            root,
            file,
            extra,
            executed,
            dirty: false,
            warning,
        };
        ws.set_manifest(path, text, selection);
        match Tree::try_get(&ws.db) {
            None => {
                Tree::new(&ws.db, 0);
            }
            Some(t) => {
                if ws.extra.shape.changed() {
                    ws.reshape_with(t);
                }
            }
        }
        if KeyInputs::try_get(&ws.db).is_none() {
            KeyInputs::new(
                &ws.db,
                Default::default(),
                Default::default(),
                Default::default(),
            );
        }
        Ok(ws)
    }

    fn set_manifest(&mut self, path: &Path, text: String, selection: Selection) {
        match ManifestInput::try_get(&self.db) {
            None => {
                ManifestInput::new(&self.db, path.to_path_buf(), text, selection);
            }
            Some(m) => {
                if m.path(&self.db) != path {
                    m.set_path(&mut self.db).to(path.to_path_buf());
                }
                if *m.text(&self.db) != text {
                    m.set_text(&mut self.db).to(text);
                }
                if *m.selection(&self.db) != selection {
                    m.set_selection(&mut self.db).to(selection);
                }
            }
        }
    }

    /// Why the database kept on disk could not be used, once.
    pub fn take_warning(&mut self) -> Option<String> {
        self.warning.take()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn db_mut(&mut self) -> &mut Database {
        &mut self.db
    }

    /// The manifest's path, as the build was given it.
    pub fn manifest_path(&self) -> PathBuf {
        ManifestInput::get(&self.db).path(&self.db).clone()
    }

    /// Which part of the manifest is built.
    pub fn selection(&self) -> Selection {
        ManifestInput::get(&self.db).selection(&self.db).clone()
    }

    /// What the database keeps besides salsa's part: the tree's shape as the last
    /// expansion saw it, and the tools' answers by identity.
    pub fn kept(&self) -> (&Shape, &crate::probe::Memo) {
        (&self.extra.shape, &self.extra.probes)
    }

    pub fn manifest_text(&self) -> &str {
        ManifestInput::get(&self.db).text(&self.db)
    }

    /// A new text for the manifest (an edit `watch` saw). Equal text changes nothing.
    pub fn set_manifest_text(&mut self, text: String) {
        let m = ManifestInput::get(&self.db);
        if *m.text(&self.db) != text {
            m.set_text(&mut self.db).to(text);
        }
    }

    /// The tree changed shape (files came or went): expansion must walk it again.
    pub fn reshape(&mut self) {
        let t = Tree::get(&self.db);
        self.reshape_with(t);
    }

    fn reshape_with(&mut self, t: Tree) {
        let g = t.generation(&self.db) + 1;
        t.set_generation(&mut self.db).to(g);
    }

    pub fn manifest(&self) -> Result<Arc<Manifest>, Arc<Diagnostics>> {
        super::loaded_manifest(&self.db).0.clone()
    }

    /// The expanded graph. When it had to be expanded again, what the expansion read is
    /// observed anew for the next run's check.
    pub fn expansion(&mut self) -> Result<Arc<Expansion>, Arc<Diagnostics>> {
        let started = SystemTime::now();
        let was = self.executed.swap(false, Ordering::Relaxed);
        let out = match super::action_graph(&self.db) {
            Expanded(Ok(e)) => Ok(e.clone()),
            Expanded(Err(d)) => Err(d.clone()),
        };
        let expanded = self.executed.load(Ordering::Relaxed);
        self.executed.fetch_or(was, Ordering::Relaxed);
        if expanded && let Ok(e) = &out {
            self.extra.shape = Shape::observe(&self.root, e, started);
            self.extra.listings.forget_unused();
            self.dirty = true;
        }
        out
    }

    /// Each action's fingerprint, with the tool and rule versions and the environment as
    /// they are now (a tool asked only when what runs changed, see `crate::probe`). `g` is
    /// the database's graph, or the last good one `watch` keeps while the manifest is
    /// broken, whose fingerprints are then made from the same parts.
    pub fn fingerprints(
        &mut self,
        m: &Manifest,
        g: &crate::graph::ActionGraph,
        rules: &dyn Rules,
    ) -> Fingerprints {
        let (tools, rule_versions, env) = super::gather(m, g, rules, &mut self.extra.probes);
        if self.extra.probes.changed() {
            self.dirty = true;
        }
        let k = KeyInputs::get(&self.db);
        if *k.tools(&self.db) != tools {
            k.set_tools(&mut self.db).to(tools);
        }
        if *k.rules(&self.db) != rule_versions {
            k.set_rules(&mut self.db).to(rule_versions);
        }
        if *k.env(&self.db) != env {
            k.set_env(&mut self.db).to(env);
        }
        let kept = super::fingerprints(&self.db);
        if kept.0.len() == g.actions.len() {
            return kept.clone();
        }
        let parts = super::KeyParts {
            tools: k.tools(&self.db),
            rules: k.rules(&self.db),
            env: k.env(&self.db),
        };
        Fingerprints(Arc::new(super::fingerprints_of(g, &parts)))
    }

    /// How many processes asking tools their version cost since it was opened.
    pub fn probes_spawned(&self) -> usize {
        self.extra.probes.spawned()
    }

    /// Register a source file's digest (`watch`).
    pub fn set_source(&mut self, path: &str, digest: Option<Digest>) {
        self.db.set_source(path, digest);
    }

    pub fn is_source(&self, path: &str) -> bool {
        self.db.is_source(path)
    }

    pub fn source_digest(&self, path: &str) -> Option<Digest> {
        self.db.source_file(path).and_then(|f| f.digest(&self.db))
    }

    /// Action `i`'s key as the registered sources stand (`watch`).
    pub fn action_key(&self, i: usize) -> Option<Digest> {
        super::action_key(&self.db, super::ActionIndex::new(&self.db, i))
    }

    /// Whether anything was derived, or an input changed, since it was opened or saved.
    pub fn derived(&self) -> bool {
        self.dirty || self.executed.load(Ordering::Relaxed)
    }

    /// Write the database back when something was derived or changed since it was
    /// opened; a database whose graph failed to expand is not written.
    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.derived() {
            return Ok(());
        }
        if !matches!(super::action_graph(&self.db), Expanded(Ok(_))) {
            return Ok(());
        }
        store::save(&self.file, &mut self.db, &self.extra)?;
        self.dirty = false;
        self.executed.store(false, Ordering::Relaxed);
        Ok(())
    }
}
