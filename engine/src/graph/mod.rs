//! The action graph: one node per action, an edge wherever one action reads a file another
//! writes, and one barrier node per stage so `needs` orders stages without N×M edges.
//!
//! Expansion (`expand`) turns a checked manifest into this graph; the scheduler walks it.

mod affected;
mod critical;
mod expand;
mod ignores;
pub mod listing;
pub mod walk;

pub use affected::{affected, affected_projects};
pub use critical::critical_path;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use crate::manifest::{Phase, Span};

pub use expand::{expand, expand_all, expand_stages};

/// What an action does when it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActionKind {
    /// A process, spawned without a shell.
    Command {
        argv: Vec<String>,
        /// The manifest tool the command runs, if any (its version joins the cache key).
        tool: Option<String>,
    },
    /// A built-in rule from the rules crate.
    Builtin {
        name: String,
        #[serde(with = "json_text")]
        with: Option<serde_json::Value>,
    },
    /// An in-process kernel from the rules crate.
    Kernel {
        name: String,
        #[serde(with = "json_text")]
        with: Option<serde_json::Value>,
    },
}

/// One unit of work, with every path relative to the workspace and `/`-separated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Stable and readable: `stage/task` or, for `each`, `stage/task:path`; in a workspace
    /// the project's name comes first, `project/stage/task[:path]`.
    pub id: String,
    pub phase: Phase,
    pub task: String,
    pub kind: ActionKind,
    pub inputs: Vec<String>,
    /// The inputs an input glob matched (sorted; also in `inputs`). The glob means the files
    /// that match, so one that is absent when the action runs (its writer failed, or it was
    /// deleted) is left out of the key and of what the action reads, never an error. A
    /// failed writer therefore does not stop an action that reads it only through a glob.
    pub matched: Vec<String>,
    pub outputs: Vec<String>,
    pub env: Vec<String>,
    pub cache: bool,
    /// Runs on this machine even when the remote executes (`local: true`; every builtin
    /// and kernel runs here anyway).
    pub local: bool,
    pub gpu: u32,
    /// How long its command may run (`timeout:`); `None`: as long as it needs.
    pub timeout: Option<std::time::Duration>,
    /// Files the command's tool writes beside an output of its own accord, and the
    /// declared outputs they become.
    pub sidecars: Vec<Sidecar>,
    /// Where the task is defined, for errors about this action.
    pub span: Span,
    /// The project of a workspace (`projects:`) the action belongs to; `None` for the one
    /// project of a manifest with `project:`.
    pub scope: Option<std::sync::Arc<Scope>>,
}

/// A project of a workspace, as its actions see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub name: String,
    /// Its `source` and `output`, normalised relative to the workspace.
    pub source: String,
    pub output: String,
}

/// A file a tool writes next to the output it was told to write (depyler writes a
/// `Cargo.toml` beside every `.rs`). Two actions writing into one folder would race for it,
/// so the command runs with its outputs in a private staging folder and the sidecar is
/// moved from there to `output`, one of the action's declared outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The file's name, as the tool writes it beside the output.
    pub name: String,
    pub output: String,
}

/// A node of the graph: an action, or the point where a whole stage is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Node {
    Action(usize),
    /// Every action of this phase, in every project, is done (the phase board's point).
    StageDone(Phase),
    /// A stage of one project of a workspace (an index into `ActionGraph::projects`) is
    /// done: the project's later stages wait for it.
    StageOf(u32, Phase),
    /// A stage of one project is done, as the projects that need it see it: they wait for
    /// it, and a failure in it (with keep-going) stops them ([`Edge::Needs`]).
    Needed(u32, Phase),
}

/// Why one node waits for another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Edge {
    /// The later action reads this file, which the earlier one writes.
    File(String),
    /// Ordering by stage: an action finishes its stage, or a stage gates what needs it.
    Stage,
    /// A project waits for one it needs: unlike a stage, what fails before it stops it.
    Needs,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionGraph {
    /// The target that was expanded (`default` when none was named).
    pub target: String,
    /// Whether the target asks to finish independent work after a failure.
    pub keep_going: bool,
    /// The stages selected, in phase order, each with the stages it needs.
    pub stages: Vec<(Phase, Vec<Phase>)>,
    pub actions: Vec<Action>,
    pub graph: DiGraph<Node, Edge>,
    /// `graph` node of each action, by action index.
    pub action_nodes: Vec<NodeIndex>,
    /// The files the manifest says are ported by hand, which have no action.
    pub hand_ported: Vec<HandPort>,
    /// How each file of the `each` tasks with an `out` is to be migrated.
    #[serde(with = "plan_as_tuples")]
    pub plan: Vec<FilePlan>,
    /// What expansion found worth a look that stops nothing (an `each` that matches no
    /// file), pointing into the manifest.
    pub warnings: Vec<crate::manifest::Diagnostic>,
    /// A workspace's projects in the graph (`Node::StageOf` and `Node::Needed` index it);
    /// empty for a manifest with `project:`.
    pub projects: Vec<ProjectStages>,
}

/// One project of a workspace in the graph: the stages selected of it, and the projects
/// (indices into `ActionGraph::projects`) it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectStages {
    pub scope: std::sync::Arc<Scope>,
    pub stages: Vec<(Phase, Vec<Phase>)>,
    pub needs: Vec<u32>,
}

/// How the manifest plans to migrate one source file of an `each` task with an `out`
/// (what actually became of it is for the build to say). Builtins named in
/// `Catalog::migration_map` get the whole plan in their `with`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilePlan {
    /// The task, `stage/task`.
    pub task: String,
    /// The source file, relative to the workspace.
    pub source: String,
    /// The Rust module the task's `out` names for it.
    pub module: String,
    /// The tool of the task's rule, when it names one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tool: Option<String>,
    pub how: How,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// The tool transpiles it; its module stands for it.
    Generated,
    /// The tool transpiles it; if its module fails, the original file is linked in
    /// (`fallback: bridge`).
    GeneratedOrBridged,
    /// Its module is written by hand (`hand_ported:`).
    HandPorted,
    /// Its original code is linked in (`bridged:`).
    Bridged,
}

/// The graph is stored (in the database) with postcard, which cannot skip a field as
/// `FilePlan`'s JSON form does: there the plan goes as tuples.
mod plan_as_tuples {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{FilePlan, How};

    type Row = (String, String, String, Option<String>, How);

    pub fn serialize<S: Serializer>(plan: &[FilePlan], s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<(&str, &str, &str, Option<&str>, How)> = plan
            .iter()
            .map(|p| {
                (
                    p.task.as_str(),
                    p.source.as_str(),
                    p.module.as_str(),
                    p.tool.as_deref(),
                    p.how,
                )
            })
            .collect();
        rows.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FilePlan>, D::Error> {
        let rows = Vec::<Row>::deserialize(d)?;
        Ok(rows
            .into_iter()
            .map(|(task, source, module, tool, how)| FilePlan {
                task,
                source,
                module,
                tool,
                how,
            })
            .collect())
    }
}

/// A source file whose module is written by hand instead of generated (`hand_ported:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandPort {
    /// The task that would have transpiled it, `stage/task`.
    pub task: String,
    /// The source file, relative to the workspace.
    pub source: String,
    /// The hand-written module, at the task's `out` for the file.
    pub module: String,
}

impl Action {
    /// Whether `input` came from an input glob, so it may be absent (see `matched`).
    pub fn is_matched(&self, input: &str) -> bool {
        self.matched
            .binary_search_by(|m| m.as_str().cmp(input))
            .is_ok()
    }
}

impl ActionGraph {
    /// Actions whose outputs the given action reads, with the file that links them.
    pub fn file_deps(&self, action: usize) -> impl Iterator<Item = (usize, &str)> + '_ {
        use petgraph::Direction::Incoming;
        self.graph
            .edges_directed(self.action_nodes[action], Incoming)
            .filter_map(|e| {
                match (
                    &self.graph[petgraph::visit::EdgeRef::source(&e)],
                    e.weight(),
                ) {
                    (Node::Action(a), Edge::File(f)) => Some((*a, f.as_str())),
                    _ => None,
                }
            })
    }
}

/// A `with:` mapping kept as JSON text when a graph is stored: the compact formats the
/// database is written in cannot hold a self-describing value.
mod json_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        v: &Option<serde_json::Value>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.as_ref().map(|v| v.to_string()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<serde_json::Value>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| serde_json::from_str(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}
