//! The in-process runner: a built-in rule or kernel, run on the worker's thread.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::process::child_env;
use super::{Ran, Runner, Slots};
use crate::codes;
use crate::graph::{Action, ActionKind};
use crate::rule::{Call, Failure, Rule, Rules};

pub(crate) struct InProcess<'a> {
    pub rules: &'a dyn Rules,
    pub root: &'a Path,
    /// `project.source` and `project.output`, relative to the workspace.
    pub source: String,
    pub output: String,
    pub cancel: &'a AtomicBool,
    pub local_slots: Option<&'a Slots>,
}

impl InProcess<'_> {
    /// The action's rule, and its `with`; `None` for a command or a rule this batuta lacks.
    fn rule<'r>(&'r self, a: &'r Action) -> Option<(&'r dyn Rule, &'r serde_json::Value)> {
        const NULL: &serde_json::Value = &serde_json::Value::Null;
        let (rule, with) = match &a.kind {
            ActionKind::Builtin { name, with } => (self.rules.builtin(name), with),
            ActionKind::Kernel { name, with } => (self.rules.kernel(name), with),
            ActionKind::Command { .. } => return None,
        };
        Some((rule?, with.as_ref().unwrap_or(NULL)))
    }

    /// The inputs a rule reads: all of them but a glob's match that is gone (see
    /// `Action::matched`).
    fn present_inputs(&self, a: &Action) -> Vec<String> {
        a.inputs
            .iter()
            .filter(|i| !a.is_matched(i) || self.root.join(i).exists())
            .cloned()
            .collect()
    }

    /// What a rule sees of the action it runs (or is asked about before the run).
    fn call<'c>(
        &'c self,
        a: &'c Action,
        inputs: &'c [String],
        with: &'c serde_json::Value,
    ) -> Call<'c> {
        Call {
            action: &a.id,
            phase: a.phase,
            root: self.root,
            // A workspace's action works in its own project's folders.
            source: a.scope.as_ref().map_or(&self.source, |s| &s.source),
            output: a.scope.as_ref().map_or(&self.output, |s| &s.output),
            inputs,
            outputs: &a.outputs,
            with,
            env: child_env(a),
            cancel: self.cancel,
        }
    }
}

impl Runner for InProcess<'_> {
    /// The rule's [`Rule::before_run`]. A rule this batuta lacks fails in `run`, with the
    /// message that says so.
    fn prepare(&self, a: &Action) -> Result<(), Failure> {
        match self.rule(a) {
            Some((rule, with)) => rule.before_run(&self.call(a, &self.present_inputs(a), with)),
            None => Ok(()),
        }
    }

    fn run(&self, a: &Action) -> Option<Result<Ran, Failure>> {
        let (what, name) = match &a.kind {
            ActionKind::Builtin { name, .. } => ("builtin", name),
            ActionKind::Kernel { name, .. } => ("kernel", name),
            ActionKind::Command { .. } => return None,
        };
        let Some((rule, with)) = self.rule(a) else {
            return Some(Err(Failure::new(
                codes::E004,
                format!(
                    "the {what} '{name}' cannot run: this batuta ({}) does not implement it",
                    env!("CARGO_PKG_VERSION")
                ),
            )
            .hint(
                "remove the task from the target you build, or build a target without it",
            )));
        };
        let _slot = self.local_slots.map(Slots::take);
        let inputs = self.present_inputs(a);
        Some(rule.run(&self.call(a, &inputs, with)).map(|report| Ran {
            program: format!("{what} '{name}'"),
            stdout: report.text.clone().into_bytes(),
            stderr: Vec::new(),
            report: report.text,
            worker: None,
        }))
    }
}
