//! `batuta watch`'s engine side: file events go into the incremental database, and each
//! round the database says which actions are known to be up to date, so a rebuild after
//! one edit touches one action's files instead of stat-ing the whole workspace.

mod events;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use salsa::Setter;

pub use events::{Changes, WatchError, Watcher};

use crate::db::{self, Database, Db, Expanded, Probes, Workspace};
use crate::exec::{self, Session};
use crate::graph::{ActionGraph, walk};
use crate::manifest::{self, Catalog, Diagnostics, Manifest};
use crate::rule::Rules;

/// A manifest and its expanded target, as the last good edit left them.
pub type Built = Arc<(Arc<Manifest>, ActionGraph)>;

/// A tool's (command, version arguments), and what they printed.
type ProbedTool = ((String, Vec<String>), Option<String>);

/// What to build this round.
pub struct Plan {
    pub built: Built,
    /// Per action: known up to date, known stale, or ask the disk (see `exec::Job`).
    pub known_fresh: Vec<Option<bool>>,
    /// The manifest's current problem, when the plan falls back to the last good graph.
    pub problem: Option<Arc<Diagnostics>>,
}

pub struct Incremental {
    manifest_path: PathBuf,
    /// The manifest's absolute path and the workspace's, to read event paths.
    manifest_abs: PathBuf,
    root_abs: PathBuf,
    db: Database,
    ws: Workspace,
    probes: Option<Probes>,
    /// Each tool's version output, with the (command, version arguments) that produced it.
    probed: HashMap<String, ProbedTool>,
    session: Session,
    good: Built,
    /// Output path → the action that writes it, for the last good graph.
    outputs: HashMap<String, String>,
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
        let text = manifest::read(path).map_err(Arc::new)?;
        let db = Database::new(catalog);
        let ws = Workspace::new(&db, path.to_path_buf(), text, 0, target);
        let good = match db::action_graph(&db, ws) {
            Expanded(Ok(b)) => b.clone(),
            Expanded(Err(d)) => return Err(d.clone()),
        };
        let root = good.0.root.clone();
        let root_abs = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        let manifest_abs = root_abs.join(path.file_name().unwrap_or_default());
        let mut me = Incremental {
            manifest_path: path.to_path_buf(),
            manifest_abs,
            root_abs,
            db,
            ws,
            probes: None,
            probed: HashMap::new(),
            session: Session::open(&root),
            outputs: HashMap::new(),
            output_dirs: HashSet::new(),
            good,
            touched: HashSet::new(),
            cold: true,
        };
        me.index_outputs();
        Ok(me)
    }

    pub fn manifest_path(&self) -> &Path {
        &self.manifest_path
    }

    /// The workspace folder, absolute: event paths are below it.
    pub fn root_abs(&self) -> &Path {
        &self.root_abs
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
    pub fn plan(&mut self, rules: &dyn Rules) -> Plan {
        // A `batuta build` run between rounds may have recorded what it did.
        self.session.refresh();
        let problem = match db::action_graph(&self.db, self.ws) {
            Expanded(Ok(b)) => {
                if !Arc::ptr_eq(b, &self.good) {
                    self.good = b.clone();
                    self.index_outputs();
                }
                None
            }
            Expanded(Err(d)) => Some(d.clone()),
        };
        let built = self.good.clone();
        if problem.is_none() {
            // Even a cold round registers the sources, so the first edit after it is seen.
            self.register_sources(&built);
        }
        let known_fresh = if self.cold || problem.is_some() {
            vec![None; built.1.actions.len()]
        } else {
            self.known_fresh(&built, rules)
        };
        self.cold = false;
        self.touched.clear();
        Plan {
            built,
            known_fresh,
            problem,
        }
    }

    /// Give the database every source the graph reads that it does not know yet.
    fn register_sources(&mut self, built: &Built) {
        let (m, g) = (&built.0, &built.1);
        let sources: Vec<String> = db::source_paths(g)
            .filter(|p| !self.db.is_source(p))
            .map(str::to_owned)
            .collect();
        for p in sources {
            let d = self.session.digest(&m.root, &p).ok().flatten();
            self.db.set_source(&p, d);
        }
    }

    fn known_fresh(&mut self, built: &Built, rules: &dyn Rules) -> Vec<Option<bool>> {
        let (m, g) = (&built.0, &built.1);
        let probes = self.probe(m, g, rules);
        g.actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if a.outputs.iter().any(|o| self.touched.contains(o)) || !a.cache {
                    return None;
                }
                let key = db::action_key(&self.db, self.ws, probes, i)?;
                Some(self.session.record(&a.id).is_some_and(|r| r.key == key))
            })
            .collect()
    }

    /// Tool and rule versions and the environment, probed when the manifest's tools change.
    fn probe(&mut self, m: &Manifest, g: &ActionGraph, rules: &dyn Rules) -> Probes {
        let tools: BTreeMap<String, Option<String>> = m
            .tools
            .iter()
            .map(|t| {
                // Probed again when the tool's command or version arguments change.
                let signature = (t.command.value.clone(), t.version.clone());
                let v = match self.probed.get(&t.name.value) {
                    Some((sig, v)) if *sig == signature => v.clone(),
                    _ => {
                        let v = exec::probe_tool(&m.root, t).ok();
                        self.probed
                            .insert(t.name.value.clone(), (signature, v.clone()));
                        v
                    }
                };
                (t.name.value.clone(), v)
            })
            .collect();
        let mut rule_versions = BTreeMap::new();
        let mut env = BTreeMap::new();
        for a in &g.actions {
            match &a.kind {
                crate::graph::ActionKind::Builtin { name, .. } => {
                    if let Some(r) = rules.builtin(name) {
                        rule_versions.insert(db::rule_id("builtin", name), r.version().to_owned());
                    }
                }
                crate::graph::ActionKind::Kernel { name, .. } => {
                    if let Some(r) = rules.kernel(name) {
                        rule_versions.insert(db::rule_id("kernel", name), r.version().to_owned());
                    }
                }
                crate::graph::ActionKind::Command { .. } => {}
            }
            for n in &a.env {
                env.entry(n.clone()).or_insert_with(|| {
                    std::env::var_os(n).map(|v| v.to_string_lossy().into_owned())
                });
            }
        }
        match self.probes {
            None => {
                let p = Probes::new(&self.db, tools, rule_versions, env);
                self.probes = Some(p);
                p
            }
            Some(p) => {
                if *p.tools(&self.db) != tools {
                    p.set_tools(&mut self.db).to(tools);
                }
                if *p.rules(&self.db) != rule_versions {
                    p.set_rules(&mut self.db).to(rule_versions);
                }
                if *p.env(&self.db) != env {
                    p.set_env(&mut self.db).to(env);
                }
                p
            }
        }
    }

    fn index_outputs(&mut self) {
        self.outputs = self
            .good
            .1
            .actions
            .iter()
            .flat_map(|a| a.outputs.iter().map(|o| (o.clone(), a.id.clone())))
            .collect();
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
        for p in &changes.paths {
            let Ok(rel) = p.strip_prefix(&self.root_abs) else {
                continue;
            };
            let rel = crate::graph::walk::to_slash(rel);
            if *p == self.manifest_abs {
                if let Ok(text) = manifest::read(&self.manifest_path)
                    && text != *self.ws.manifest_text(&self.db)
                {
                    self.ws.set_manifest_text(&mut self.db).to(text);
                    relevant.push(rel);
                }
                continue;
            }
            if is_batutas_own(&rel) {
                continue;
            }
            if self.db.is_source(&rel) {
                let d = self.session.digest(&root, &rel).ok().flatten();
                let before = self.db.source_file(&rel).and_then(|f| f.digest(&self.db));
                if d != before {
                    self.db.set_source(&rel, d);
                    reshaped |= d.is_none() || before.is_none();
                    relevant.push(rel);
                }
                continue;
            }
            if let Some(id) = self.outputs.get(&rel) {
                let now = self.session.digest(&root, &rel).ok().flatten();
                let recorded = self
                    .session
                    .record(id)
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
            let generation = self.ws.tree(&self.db) + 1;
            self.ws.set_tree(&mut self.db).to(generation);
        }
        relevant
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
