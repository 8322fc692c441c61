//! The typed manifest, version 1 (see MANIFEST.md). Values users can get wrong keep their
//! span, so later checks (references, paths, graph expansion) can point at them.

use std::fmt;
use std::path::PathBuf;

use super::diagnostic::{Source, Span};
use super::template::Template;
use super::yaml::Node;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

impl<T: fmt::Display> fmt::Display for Sp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

#[derive(Debug, Clone)]
pub struct Manifest {
    /// The text it was read from, so later errors (graph, build) can point into it.
    pub source: Source,
    /// The manifest file as given.
    pub path: PathBuf,
    /// The workspace: the manifest's folder (`.` for a bare file name). Nothing batuta
    /// writes may leave it.
    pub root: PathBuf,
    pub version: u32,
    pub project: Project,
    pub tools: Vec<Tool>,
    pub rules: Vec<Rule>,
    /// In phase order, whatever order the file lists them in.
    pub stages: Vec<Stage>,
    pub targets: Vec<Target>,
    /// A shared remote cache (`remote:`); `None` opens no connection.
    pub remote: Option<Remote>,
    /// `projects:`, several migrations in one workspace; empty for a manifest with
    /// `project:`. Each runs the shared `stages` (its own replace them by name); see
    /// [`Manifest::instances`].
    pub projects: Vec<WorkspaceProject>,
    /// What loading found that stops nothing (warnings and advice), in the order of the text.
    pub warnings: Vec<super::Diagnostic>,
    /// The catalog's file-by-file builtins (set when loaded).
    pub fan_out: &'static [super::FanOut],
    /// The catalog's companion actions (set when loaded).
    pub companions: &'static [super::Companion],
    /// The builtins told the migration plan (set when loaded); see `Catalog::migration_map`.
    pub migration_map: &'static [&'static str],
    /// The builtins that read every ported file's source; see `Catalog::migration_sources`.
    pub migration_sources: &'static [&'static str],
    /// The catalog's default files of builtins (set when loaded); see `Catalog::files`.
    pub builtin_files: &'static [super::BuiltinFiles],
    /// The catalog's name of the crate (set when loaded); see `Catalog::crate_name`.
    pub crate_name: Option<fn(&Manifest) -> Option<String>>,
    /// For the manifest of one project of a workspace ([`Manifest::instances`]), its name:
    /// its actions' ids start with it.
    pub instance: Option<String>,
}

/// One project of `projects:`.
#[derive(Debug, Clone)]
pub struct WorkspaceProject {
    /// Its name (the key), source, output and excludes.
    pub project: Project,
    /// Projects whose stages each of its stages waits for.
    pub needs: Vec<Sp<String>>,
    /// Its own stages, replacing the shared ones of the same phase.
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub name: Sp<String>,
    /// The legacy code, relative to the workspace.
    pub source: Sp<String>,
    /// Where generated Rust lives, relative to the workspace.
    pub output: Sp<String>,
    pub exclude: Vec<Sp<String>>,
}

/// An external program found on PATH; its version output is part of every cache key.
#[derive(Debug, Clone)]
pub struct Tool {
    pub name: Sp<String>,
    pub command: Sp<String>,
    /// Arguments that make the tool print its version.
    pub version: Vec<String>,
    /// What to tell a user who does not have the tool.
    pub install: Option<String>,
    /// Known tools only: files the tool writes beside its output, by name, and the
    /// workspace path (a template, like `out`) each is moved to; see `graph::Sidecar`.
    pub sidecars: Vec<(String, Sp<Template>)>,
}

/// A reusable action template.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: Sp<String>,
    pub tool: Option<Sp<String>>,
    pub run: Vec<Sp<Template>>,
    /// Built-in templates only: a check run on each output, as an action of its own.
    pub gate: Vec<Sp<Template>>,
    /// Built-in templates only: the builtin that writes what the tool reads in place of a
    /// source file (see `BuiltinTemplate::prelude`).
    pub prelude: Option<String>,
}

/// The five phases of a migration, in the order they run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Phase {
    Analyze,
    Transpile,
    Optimize,
    Validate,
    Build,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Analyze,
        Phase::Transpile,
        Phase::Optimize,
        Phase::Validate,
        Phase::Build,
    ];

    /// The stage name used in manifests.
    pub const fn stage_name(self) -> &'static str {
        match self {
            Phase::Analyze => "analyze",
            Phase::Transpile => "transpile",
            Phase::Optimize => "optimize",
            Phase::Validate => "validate",
            Phase::Build => "build",
        }
    }

    /// The phase name shown on the status board and in the state file.
    pub const fn title(self) -> &'static str {
        match self {
            Phase::Analyze => "Analysis",
            Phase::Transpile => "Transpilation",
            Phase::Optimize => "Optimization",
            Phase::Validate => "Validation",
            Phase::Build => "Deployment",
        }
    }

    pub fn from_stage_name(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.stage_name() == name)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stage_name())
    }
}

/// A stage: one phase's tasks and the stages it waits for.
#[derive(Debug, Clone)]
pub struct Stage {
    pub phase: Phase,
    /// The stage's key in `stages:`.
    pub key_span: Span,
    pub needs: Vec<Sp<String>>,
    pub tasks: Vec<Task>,
}

/// What a task does.
#[derive(Debug, Clone)]
pub enum TaskKind {
    /// A command as an argument list, never through a shell.
    Run(Vec<Sp<Template>>),
    /// A rule from `rules:`.
    Rule(Sp<String>),
    /// A built-in rule (from the rules crate).
    Builtin(Sp<String>),
    /// An in-process kernel (from the rules crate).
    Kernel(Sp<String>),
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: Sp<String>,
    pub phase: Phase,
    pub kind: TaskKind,
    /// The tool whose command `{tool}` means (run tasks; rules name their own).
    pub tool: Option<Sp<String>>,
    /// A glob relative to `project.source`: one action per matching file.
    pub each: Option<Sp<String>>,
    /// Output path template relative to `project.output` (with `each`).
    pub out: Option<Sp<Template>>,
    /// Extra files read, relative to the workspace.
    pub inputs: Vec<Sp<String>>,
    /// Files written, relative to the workspace.
    pub outputs: Vec<Sp<String>>,
    /// Those of `outputs` the catalog added for a builtin (its default outputs and its
    /// records, see `BuiltinFiles`): batuta's own, which may be under `.batuta/`, where
    /// no task of the manifest may write.
    pub catalog_outputs: Vec<String>,
    /// Environment variable names passed through to the action.
    pub env: Vec<Sp<String>>,
    /// `cache: false` marks a volatile task that always runs.
    pub cache: bool,
    /// `local: true` keeps the task's commands on this machine when the remote executes.
    pub local: bool,
    pub resources: Resources,
    /// `timeout:` in seconds: a command running longer is killed and fails (BATUTA-E-003).
    pub timeout: Option<std::time::Duration>,
    /// Options for a builtin or kernel, interpreted by the rules crate.
    pub with: Option<Node>,
    /// Files matched by `each` (relative to `project.source`, like its matches) whose
    /// module is ported by hand: no action is made for them, and the file at their `out`
    /// is the user's own, which later tasks (assemble) read like any hand-written file.
    pub hand_ported: Vec<Sp<String>>,
    /// Files matched by `each` whose original code is linked into the program instead of a
    /// module (C through the C ABI): no action is made for them.
    pub bridged: Vec<Sp<String>>,
    /// What stands in for a file whose generated module fails (`fallback: bridge`).
    pub fallback: Option<Sp<Fallback>>,
}

/// What stands in for a file whose generated module fails to transpile or compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// The original file, linked in (C through the C ABI).
    Bridge,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    pub gpu: u32,
}

/// What `batuta build TARGET` runs: these stages and every stage they need.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: Sp<String>,
    pub stages: Vec<Sp<String>>,
    pub keep_going: bool,
}

/// `remote:`: a cache shared over the Remote Execution API (REAPI v2), and workers that
/// run actions.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    /// `grpc://HOST:PORT`, or `grpcs://HOST:PORT` for TLS (checked when loaded); the
    /// execution server's address when only `execute` is given.
    pub cache: Sp<String>,
    /// Where command actions are executed (`remote.execute`); `None` runs them here.
    pub execute: Option<Sp<String>>,
    /// The REAPI instance name; empty for the server's default instance.
    pub instance: String,
    /// Whether results of local runs are shared (`false`: read-only).
    pub upload: bool,
    /// The environment variable holding a bearer token (its value is never written down).
    pub token_env: Option<Sp<String>>,
    /// A PEM file of the certificate authority to trust for `grpcs://`, relative to the
    /// workspace; the system's roots otherwise.
    pub ca: Option<Sp<String>>,
    /// The name the server's certificate must carry, when not the URL's host.
    pub domain: Option<Sp<String>>,
}

impl Manifest {
    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name.value == name)
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name.value == name)
    }

    pub fn stage(&self, phase: Phase) -> Option<&Stage> {
        self.stages.iter().find(|s| s.phase == phase)
    }

    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name.value == name)
    }
}
