//! The seam between the engine and the rules it runs. A built-in rule or a kernel is a
//! [`Rule`]; the caller hands the scheduler a [`Rules`] registry to find them by name. The
//! engine treats a rule like a command: it hashes the rule's version and `with` into the
//! action's key, removes stale outputs before the run, checks and caches the declared
//! outputs after it, and discards them when the rule fails.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::manifest::Phase;

pub mod failure;

pub use failure::Failure;

/// What a rule sees of the action it runs.
#[derive(Debug)]
pub struct Call<'a> {
    /// The action's id, `stage/task`, for messages.
    pub action: &'a str,
    pub phase: Phase,
    /// The workspace: the folder holding the manifest. Every path below is relative to it.
    pub root: &'a Path,
    /// `project.source` and `project.output`, relative to `root` (`""` for the root itself).
    pub source: &'a str,
    pub output: &'a str,
    pub inputs: &'a [String],
    /// Files the rule must write (and no others).
    pub outputs: &'a [String],
    /// The task's `with` mapping as JSON, `Null` when absent.
    pub with: &'a serde_json::Value,
    /// The declared environment (`env:`), plus PATH and HOME: nothing else reaches a rule's
    /// child processes.
    pub env: Vec<(String, OsString)>,
    /// Set on Ctrl-C: a long-running rule should stop and return an error.
    pub cancel: &'a AtomicBool,
}

impl Call<'_> {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// A `std::process::Command` for a child of this rule: no shell, the workspace as its
    /// folder, only the declared environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.current_dir(self.root).env_clear();
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }
}

/// What a successful rule has to say: a short note for people (`-v` shows it, the cache
/// keeps it like a command's stdout). Not "report": that word is `batuta report`'s and the
/// analysis report's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    pub text: String,
}

impl Note {
    pub fn new(text: impl Into<String>) -> Note {
        Note { text: text.into() }
    }
}

/// A program whose version output joins a rule's version in every key of its actions
/// (cargo-build's `rustc -vV`). The engine asks it once per identity of what runs (see
/// `crate::probe`), with PATH, HOME and `env`, in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolProbe {
    pub program: &'static str,
    pub args: &'static [&'static str],
    pub env: &'static [&'static str],
}

/// What a rule's version depends on when computing it is costly (probing the machine's
/// GPU): the engine keeps the version it got with the stamps of `files`, the values of
/// `env` and the `facts` (cheap to compute each build), and asks [`Rule::version`] again
/// only when one of them changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionInputs {
    pub files: Vec<PathBuf>,
    pub env: Vec<&'static str>,
    pub facts: Vec<String>,
}

pub trait Rule: Send + Sync {
    /// Folded into every cache key of the rule's actions: it must change whenever the
    /// rule's results could (the crate version is the usual choice). Asked once per build:
    /// what costs a process to find out belongs in [`Rule::tools`].
    fn version(&self) -> &str;

    /// Programs whose version output is part of the rule's version.
    fn tools(&self) -> &[ToolProbe] {
        &[]
    }

    /// What [`Rule::version`] depends on, when computing it costs more than a build
    /// should spend on every run; `None` (the default) asks it every build.
    fn version_inputs(&self) -> Option<VersionInputs> {
        None
    }

    /// Reads `call.inputs`, writes every one of `call.outputs`, or fails with the book's
    /// code and what to do.
    fn run(&self, call: &Call<'_>) -> Result<Note, Failure>;

    /// What is wrong with a task's `with:` for this rule (unknown options, values of the
    /// wrong kind), asked when the manifest loads so the mistake never starts a build.
    /// `run` still checks what only the workspace can tell.
    fn check(&self, with: &serde_json::Value) -> Result<(), crate::manifest::WithProblem> {
        let _ = with;
        Ok(())
    }

    /// Called before the engine removes the action's old outputs to run it: a rule whose
    /// output may take the place of a file of the user's refuses here, while that file
    /// still exists. The default accepts.
    fn before_run(&self, call: &Call<'_>) -> Result<(), Failure> {
        let _ = call;
        Ok(())
    }
}

/// Finds rules by the names a manifest uses in `builtin:` and `kernel:`.
pub trait Rules: Sync {
    fn builtin(&self, name: &str) -> Option<&dyn Rule>;
    fn kernel(&self, name: &str) -> Option<&dyn Rule>;

    /// Called with every failure of an action before it is reported: a registry that knows
    /// what the action's tool means by its error output can give the failure the book's
    /// precise code, the file and line, and what to do, reading the action's files and
    /// keeping the tool's whole output under `root` (the workspace). The default changes
    /// nothing.
    fn explain(
        &self,
        root: &std::path::Path,
        action: &crate::graph::Action,
        failure: Failure,
    ) -> Failure {
        let _ = (root, action);
        failure
    }
}

/// A registry with no rules: builtins and kernels fail with a clear message.
pub struct NoRules;

impl Rules for NoRules {
    fn builtin(&self, _: &str) -> Option<&dyn Rule> {
        None
    }
    fn kernel(&self, _: &str) -> Option<&dyn Rule> {
        None
    }
}
