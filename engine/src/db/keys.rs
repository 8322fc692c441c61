//! What an action's key needs besides its inputs, gathered in one place: each tool's
//! version (asked once per identity of what runs, see `crate::probe`), each rule's
//! version with its tools', each declared variable's value; and every action's
//! fingerprint made from them.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::graph::{ActionGraph, ActionKind};
use crate::key::{self, Versions};
use crate::manifest::Manifest;
use crate::probe::{self, Answer, Unavailable};
use crate::rule::Rules;

/// Each tool's answer, each rule's version and each variable's value, by name.
pub type Gathered = (
    BTreeMap<String, Answer>,
    BTreeMap<String, String>,
    BTreeMap<String, Option<String>>,
);

/// The parts of the keys, by name.
pub struct KeyParts<'a> {
    pub tools: &'a BTreeMap<String, Answer>,
    pub rules: &'a BTreeMap<String, String>,
    pub env: &'a BTreeMap<String, Option<String>>,
}

/// Why an action has no fingerprint: the tool it runs cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolDown {
    pub tool: String,
    pub why: Unavailable,
}

/// How `KeyParts::rules` names a rule: builtins and kernels may share a name.
fn rule_id(kind: &str, name: &str) -> String {
    format!("{kind}:{name}")
}

/// Every action's fingerprint (see `crate::key`) from `parts`.
pub fn fingerprints_of(g: &ActionGraph, parts: &KeyParts<'_>) -> Vec<Result<Digest, ToolDown>> {
    g.actions
        .par_iter()
        .map(|a| {
            let tool = match &a.kind {
                ActionKind::Command { tool: Some(t), .. } => match parts.tools.get(t) {
                    Some(Ok(v)) => Some(v.as_str()),
                    Some(Err(why)) => {
                        return Err(ToolDown {
                            tool: t.clone(),
                            why: why.clone(),
                        });
                    }
                    None => None,
                },
                _ => None,
            };
            let rule = match &a.kind {
                ActionKind::Builtin { name, .. } => parts.rules.get(&rule_id("builtin", name)),
                ActionKind::Kernel { name, .. } => parts.rules.get(&rule_id("kernel", name)),
                ActionKind::Command { .. } => None,
            };
            let env: Vec<Option<String>> = a
                .env
                .iter()
                .map(|n| parts.env.get(n).cloned().flatten())
                .collect();
            Ok(key::fingerprint(
                a,
                &Versions {
                    tool,
                    rule: rule.map(String::as_str),
                    env: &env,
                },
            ))
        })
        .collect()
}

/// What the keys of a graph's actions ask of the world: the tools they run, the rules
/// they use, the variables they declare. Kept by name, so that a settled build (see
/// `super::settled`) can ask again without the graph.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyNeeds {
    pub tools: std::collections::BTreeSet<String>,
    /// `(kind, name)`: `builtin` or `kernel`.
    pub rules: std::collections::BTreeSet<(String, String)>,
    pub env: std::collections::BTreeSet<String>,
}

impl KeyNeeds {
    pub fn of(g: &ActionGraph) -> KeyNeeds {
        let mut needs = KeyNeeds::default();
        for a in &g.actions {
            match &a.kind {
                ActionKind::Command { tool: Some(t), .. } => {
                    if !needs.tools.contains(t) {
                        needs.tools.insert(t.clone());
                    }
                }
                ActionKind::Builtin { name, .. } => {
                    needs.rules.insert(("builtin".to_owned(), name.clone()));
                }
                ActionKind::Kernel { name, .. } => {
                    needs.rules.insert(("kernel".to_owned(), name.clone()));
                }
                ActionKind::Command { .. } => {}
            }
            for n in &a.env {
                if !needs.env.contains(n) {
                    needs.env.insert(n.clone());
                }
            }
        }
        needs
    }
}

/// What the keys of `g`'s actions need, as it stands now: tools and rules asked through
/// `memo` (a process only when what runs changed since it was asked), variables read.
pub fn gather(
    m: &Manifest,
    g: &ActionGraph,
    rules: &dyn Rules,
    memo: &mut probe::Memo,
) -> Gathered {
    gather_needs(m, &KeyNeeds::of(g), rules, memo)
}

/// [`gather`] for what a graph needs, by name.
pub fn gather_needs(
    m: &Manifest,
    needs: &KeyNeeds,
    rules: &dyn Rules,
    memo: &mut probe::Memo,
) -> Gathered {
    let root: &Path = &m.root;
    let mut tools = BTreeMap::new();
    let mut rule_versions = BTreeMap::new();
    for t in &needs.tools {
        let tool = m.tool(t).expect("validated tool");
        let answer = memo.ask(&probe::Query {
            program: &tool.command.value,
            args: &tool.version,
            env: &[],
            dir: root,
        });
        tools.insert(t.clone(), answer);
    }
    for (kind, name) in &needs.rules {
        let rule = match kind.as_str() {
            "builtin" => rules.builtin(name),
            _ => rules.kernel(name),
        };
        let Some(rule) = rule else { continue };
        let id = rule_id(kind, name);
        let mut version = match rule.version_inputs() {
            Some(inputs) => memo.remember(&id, &inputs, || rule.version().to_owned()),
            None => rule.version().to_owned(),
        };
        for t in rule.tools() {
            let args: Vec<String> = t.args.iter().map(|s| (*s).to_owned()).collect();
            let answer = memo.ask(&probe::Query {
                program: t.program,
                args: &args,
                env: t.env,
                dir: root,
            });
            version.push(' ');
            match answer {
                Ok(v) => version.push_str(&v),
                Err(_) => version.push_str(&format!("{}: not found", t.program)),
            }
        }
        rule_versions.insert(id, version);
    }
    let env = needs
        .env
        .iter()
        .map(|n| {
            let v = std::env::var_os(n).map(|v| v.to_string_lossy().into_owned());
            (n.clone(), v)
        })
        .collect();
    (tools, rule_versions, env)
}
