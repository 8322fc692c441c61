//! From a checked manifest and a target to the action graph.
//!
//! The source tree is walked once; each `each` task matches against that one listing.
//! Everything that needs the file system (files matched, symlinks, outputs that clash,
//! actions that read each other's outputs) is checked here, with the manifest's spans.

mod builtins;
mod confine;
mod link;
mod workspace;

use builtins::fan_out_of;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use super::walk::{self, glob_set};
use super::{Action, ActionGraph, ActionKind, Edge, FilePlan, How, Node, Sidecar};
use crate::manifest::{
    Code, Diagnostic, Diagnostics, FanOut, Manifest, Phase, Placeholder, Sp, Span, StageRef, Task,
    TaskKind, Template, did_you_mean, expand_command, normalize,
};

/// Expand `target` (the `default` target, or every stage, when `None`).
pub fn expand(m: &Manifest, target: Option<&str>) -> Result<ActionGraph, Diagnostics> {
    if m.is_workspace() {
        return workspace::expand(m, target);
    }
    let (name, roots, keep_going) = select(m, target).map_err(|d| Diagnostics {
        source: m.source.clone(),
        items: vec![d],
    })?;
    build(m, name, &with_needs(m, roots), keep_going)
}

/// Expand the given stages and every stage they need, as the anonymous target `all` (of
/// every project, in a workspace).
pub fn expand_stages(m: &Manifest, phases: &[Phase]) -> Result<ActionGraph, Diagnostics> {
    if m.is_workspace() {
        let refs: Vec<StageRef> = phases
            .iter()
            .map(|&phase| StageRef {
                project: None,
                phase,
            })
            .collect();
        return workspace::build(m, "all".to_owned(), &refs, false);
    }
    build(m, "all".to_owned(), &with_needs(m, phases.to_vec()), false)
}

/// Expand every stage the manifest defines, as `batuta check` and `batuta clean` need.
pub fn expand_all(m: &Manifest) -> Result<ActionGraph, Diagnostics> {
    if m.is_workspace() {
        return expand_stages(m, &Phase::ALL);
    }
    let all: Vec<Phase> = m.stages.iter().map(|s| s.phase).collect();
    expand_stages(m, &all)
}

fn build(
    m: &Manifest,
    target: String,
    phases: &BTreeSet<Phase>,
    keep_going: bool,
) -> Result<ActionGraph, Diagnostics> {
    let (mut x, stages) = gather(m, phases);
    x.resolve_input_globs();
    let (graph, action_nodes) = x.link(&stages);
    x.finish(target, keep_going, stages, graph, action_nodes, Vec::new())
}

/// The actions of the selected stages, and those stages with the stages each needs.
fn gather<'m>(
    m: &'m Manifest,
    phases: &BTreeSet<Phase>,
) -> (Expander<'m>, Vec<(Phase, Vec<Phase>)>) {
    let mut x = Expander::new(m);
    let tasks: Vec<&Task> = m
        .stages
        .iter()
        .filter(|s| phases.contains(&s.phase))
        .flat_map(|s| &s.tasks)
        .collect();
    if tasks
        .iter()
        .any(|t| t.each.is_some() || fan_out_of(m, t).is_some())
    {
        x.walk_source();
    }
    for task in tasks {
        x.task(task);
    }
    let stages: Vec<(Phase, Vec<Phase>)> = m
        .stages
        .iter()
        .filter(|s| phases.contains(&s.phase))
        .map(|s| {
            let needs = s
                .needs
                .iter()
                .filter_map(|n| Phase::from_stage_name(&n.value))
                .collect();
            (s.phase, needs)
        })
        .collect();
    x.tell_the_plan();
    (x, stages)
}

impl Expander<'_> {
    /// The graph, or the errors found on the way to it.
    fn finish(
        self,
        target: String,
        keep_going: bool,
        stages: Vec<(Phase, Vec<Phase>)>,
        graph: DiGraph<Node, Edge>,
        action_nodes: Vec<NodeIndex>,
        projects: Vec<super::ProjectStages>,
    ) -> Result<ActionGraph, Diagnostics> {
        let (warnings, errors): (Vec<Diagnostic>, Vec<Diagnostic>) = self
            .diags
            .into_iter()
            .partition(|d| d.severity != crate::manifest::Severity::Error);
        if !errors.is_empty() {
            return Err(Diagnostics {
                source: self.m.source.clone(),
                items: errors,
            });
        }
        Ok(ActionGraph {
            warnings,
            target,
            keep_going,
            stages,
            actions: self.actions,
            graph,
            action_nodes,
            hand_ported: self.hand_ported,
            plan: self.plan,
            projects,
        })
    }
}

/// The target's name, its stages with everything they need, and keep_going.
fn select(m: &Manifest, target: Option<&str>) -> Result<(String, Vec<Phase>, bool), Diagnostic> {
    let (name, roots, keep_going): (String, Vec<Phase>, bool) = match target {
        Some(name) => match m.target(name) {
            Some(t) => (
                name.to_owned(),
                t.stages
                    .iter()
                    .filter_map(|s| Phase::from_stage_name(&s.value))
                    .collect(),
                t.keep_going,
            ),
            None => {
                let known: Vec<&str> = m.targets.iter().map(|t| t.name.value.as_str()).collect();
                let d = Diagnostic::new(Code::UnknownName, format!("unknown target '{name}'"));
                return Err(match did_you_mean(name, known.iter().copied()) {
                    Some(s) => d.help(format!("did you mean '{s}'?")),
                    None if known.is_empty() => d.help(
                        "this manifest declares no `targets:`; run without a target to build every stage",
                    ),
                    None => d.help(format!("the targets are: {}", known.join(", "))),
                });
            }
        },
        None => match m.target("default") {
            Some(t) => (
                "default".to_owned(),
                t.stages
                    .iter()
                    .filter_map(|s| Phase::from_stage_name(&s.value))
                    .collect(),
                t.keep_going,
            ),
            None => (
                "default".to_owned(),
                m.stages.iter().map(|s| s.phase).collect(),
                false,
            ),
        },
    };
    Ok((name, roots, keep_going))
}

/// The stages and every stage they need, transitively (validation ruled out cycles).
fn with_needs(m: &Manifest, roots: Vec<Phase>) -> BTreeSet<Phase> {
    let mut selected = BTreeSet::new();
    let mut todo = roots;
    while let Some(p) = todo.pop() {
        if selected.insert(p)
            && let Some(stage) = m.stage(p)
        {
            todo.extend(
                stage
                    .needs
                    .iter()
                    .filter_map(|n| Phase::from_stage_name(&n.value)),
            );
        }
    }
    selected
}

struct Expander<'m> {
    m: &'m Manifest,
    root_canon: Option<PathBuf>,
    /// `project.source` and `project.output`, normalised relative to the workspace.
    source: String,
    output: String,
    files: Vec<walk::SourceFile>,
    actions: Vec<Action>,
    diags: Vec<Diagnostic>,
    /// Folders known to resolve inside the workspace (symlink check), by relative path.
    confined: HashMap<String, bool>,
    /// `inputs` written as globs: the action, the pattern, where it is written.
    input_globs: Vec<(usize, String, Span)>,
    hand_ported: Vec<super::HandPort>,
    plan: Vec<FilePlan>,
    /// Companion builtins already in the graph ([`crate::manifest::Companion`]): each is added once.
    companions: HashSet<&'static str>,
    /// The manifest and the cache folder relative to the workspace (the cache when it is
    /// inside it): no task may write them ([`Expander::reserved`]).
    manifest_rel: Option<String>,
    cache_rel: Option<String>,
}

impl<'m> Expander<'m> {
    fn new(m: &'m Manifest) -> Self {
        let source = normalize("", &m.project.source.value).unwrap_or_default();
        let output = normalize("", &m.project.output.value).unwrap_or_default();
        let root_canon = m.root.canonicalize().ok();
        let manifest_rel = m
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned);
        let cache_rel = root_canon.as_deref().and_then(|root| {
            let cache = crate::cache::dir_for(&m.root);
            // A relative BATUTA_CACHE_DIR is relative to where batuta runs.
            let cache = std::path::absolute(&cache).unwrap_or(cache);
            confine::rel_inside(root, &cache)
        });
        Self {
            m,
            root_canon,
            source,
            output,
            files: Vec::new(),
            actions: Vec::new(),
            diags: Vec::new(),
            confined: HashMap::new(),
            input_globs: Vec::new(),
            hand_ported: Vec::new(),
            plan: Vec::new(),
            companions: HashSet::new(),
            manifest_rel,
            cache_rel,
        }
    }

    fn walk_source(&mut self) {
        let dir = self.abs(&self.source);
        if !dir.is_dir() {
            let p = &self.m.project.source;
            let key = self.m.project_key("source");
            self.diags.push(
                Diagnostic::new(
                    Code::Missing,
                    format!("{key} '{}' is not a folder", p.value),
                )
                .at(p.span)
                .label("no such folder beside the manifest")
                .help(format!(
                    "`each` globs match files under {key}; create it or fix the path"
                )),
            );
            return;
        }
        if !self.inside(&self.source.clone()) {
            let p = &self.m.project.source;
            self.diags.push(escapes(p, &self.m.project_key("source")));
            return;
        }
        let exclude = glob_set(self.m.project.exclude.iter().map(|e| e.value.as_str()));
        let exclude = match exclude {
            Ok(g) => g,
            Err(e) => {
                let at = self
                    .m
                    .project
                    .exclude
                    .first()
                    .map_or(Span::default(), |e| e.span);
                self.diags.push(
                    Diagnostic::new(
                        Code::Syntax,
                        format!("invalid glob in project.exclude: {}", e.kind()),
                    )
                    .at(at),
                );
                return;
            }
        };
        // Never treat batuta's own files or generated output as legacy source: the manifest,
        // the output folder, what any task declares it writes (a release in dist/, when the source is
        // the workspace itself), the cache wherever it is kept.
        let mut skip = vec![
            self.abs(&self.output),
            self.abs(".batuta"),
            self.abs(".git"),
        ];
        if let Some(name) = self.m.path.file_name().and_then(|n| n.to_str()) {
            skip.push(self.abs(name));
        }
        let written = self
            .m
            .stages
            .iter()
            .flat_map(|s| &s.tasks)
            .flat_map(|t| &t.outputs);
        skip.extend(
            written
                .filter_map(|o| normalize("", &o.value))
                .map(|o| self.abs(&o)),
        );
        if let Some(cache) = std::env::var_os("BATUTA_CACHE_DIR").filter(|c| !c.is_empty()) {
            skip.push(std::path::PathBuf::from(cache));
        }
        self.files = walk::walk(&dir, &exclude, &skip);
    }

    fn task(&mut self, task: &'m Task) {
        let mut gate: &[Sp<crate::manifest::Template>] = &[];
        let mut prelude: Option<&str> = None;
        let (run, tool): (&[Sp<crate::manifest::Template>], Option<&str>) = match &task.kind {
            TaskKind::Run(run) => (run, task.tool.as_ref().map(|t| t.value.as_str())),
            TaskKind::Rule(name) => {
                let rule = self.m.rule(&name.value).expect("validated rule");
                gate = &rule.gate;
                prelude = rule.prelude.as_deref();
                (&rule.run, rule.tool.as_ref().map(|t| t.value.as_str()))
            }
            TaskKind::Builtin(_) if let Some(fo) = fan_out_of(self.m, task) => {
                self.fan_out(task, fo);
                return;
            }
            TaskKind::Builtin(name) | TaskKind::Kernel(name) => {
                let with = task.with.as_ref().map(crate::manifest::Node::to_json);
                let kind = if matches!(task.kind, TaskKind::Builtin(_)) {
                    ActionKind::Builtin {
                        name: name.value.clone(),
                        with,
                    }
                } else {
                    ActionKind::Kernel {
                        name: name.value.clone(),
                        with,
                    }
                };
                let id = format!("{}/{}", task.phase, task.name);
                self.push_action(task, id, kind, None, None);
                if matches!(task.kind, TaskKind::Builtin(_)) {
                    self.companion(task, &name.value);
                }
                return;
            }
        };
        let tool_cmd = tool.map(|t| {
            self.m
                .tool(t)
                .expect("validated tool")
                .command
                .value
                .clone()
        });
        let Some(each) = &task.each else {
            let Some(argv) = self.command(task, run, |_| tool_cmd.clone().unwrap_or_default())
            else {
                return;
            };
            let id = format!("{}/{}", task.phase, task.name);
            let kind = ActionKind::Command {
                argv,
                tool: tool.map(str::to_owned),
            };
            self.push_action(task, id, kind, None, None);
            return;
        };
        let glob = glob_set([each.value.as_str()]).expect("validated glob");
        let matches: Vec<walk::SourceFile> = self
            .files
            .iter()
            .filter(|f| glob.is_match(&f.rel))
            .cloned()
            .collect();
        self.unmatched_hand_ports(task, &matches);
        if matches.is_empty() && task.hand_ported.is_empty() && task.bridged.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    Code::Missing,
                    format!(
                        "task '{}.{}' matches no file: `each: \"{}\"` finds nothing under {}",
                        task.phase, task.name, each.value, self.m.project.source.value
                    ),
                )
                .warning()
                .at(each.span)
                .label("matches nothing")
                .help("check the glob against the files (`batuta analyze` lists them); a script without an extension needs its path, or a list of globs such as \"{**/*.sh,bin/tool}\""),
            );
        }
        for file in matches {
            let input = join(&self.source, &file.rel);
            if file.symlink && !self.file_inside(&input) {
                self.diags.push(
                    Diagnostic::new(
                        Code::PathEscapes,
                        format!("'{input}' is a symbolic link that leaves the workspace"),
                    )
                    .at(each.span)
                    .label("matched by this glob")
                    .help("copy the file into the workspace, or exclude it with project.exclude"),
                );
                continue;
            }
            let (dir, name) = file.rel.rsplit_once('/').unwrap_or(("", &file.rel));
            let (stem, ext) = match name.rsplit_once('.') {
                Some((s, e)) if !s.is_empty() => (s, e),
                _ => (name, ""),
            };
            let var = |p: Placeholder| -> String {
                match p {
                    Placeholder::Path => file.rel.clone(),
                    Placeholder::Dir => dir.to_owned(),
                    Placeholder::Stem => stem.to_owned(),
                    Placeholder::Ext => ext.to_owned(),
                    _ => String::new(),
                }
            };
            let out = match &task.out {
                // Validation rejected absolute templates; a leading `/` here is an empty `{dir}`.
                Some(t) => {
                    match normalize(&self.output, t.value.expand(var).trim_start_matches('/')) {
                        Some(o) if !o.is_empty() => Some(o),
                        _ => {
                            self.diags.push(escapes(
                                &Sp::new(t.value.expand(var), t.span),
                                &format!(
                                    "task '{}.{}': out for '{}'",
                                    task.phase, task.name, file.rel
                                ),
                            ));
                            continue;
                        }
                    }
                }
                None => None,
            };
            let how = if task.hand_ported.iter().any(|h| h.value == file.rel) {
                How::HandPorted
            } else if task.bridged.iter().any(|b| b.value == file.rel) {
                How::Bridged
            } else if task.fallback.is_some() {
                How::GeneratedOrBridged
            } else {
                How::Generated
            };
            if let Some(module) = &out {
                self.plan.push(FilePlan {
                    task: format!("{}/{}", task.phase, task.name),
                    source: input.clone(),
                    module: module.clone(),
                    tool: tool.map(str::to_owned),
                    how,
                });
            }
            match how {
                How::HandPorted => {
                    self.hand_port(task, &file.rel, input, out);
                    continue;
                }
                // The original code is linked in: nothing to transpile.
                How::Bridged => continue,
                How::Generated | How::GeneratedOrBridged => {}
            }
            // Found now, not as a "syntax error" from the transpiler at build time.
            if let Some(reason) = self.unreadable(&file, &input) {
                self.diags.push(
                    Diagnostic::new(Code::Missing, format!("'{input}' cannot be read: {reason}"))
                        .at(each.span)
                        .label("matched by this glob")
                        .help("fix or remove the file, or leave it out with project.exclude"),
                );
                continue;
            }
            // The tool reads the prelude, when the project's flags give one, in its place.
            let prelude =
                prelude.and_then(|builtin| self.prelude(task, builtin, &input, &file.rel));
            let read = prelude.clone().unwrap_or_else(|| input.clone());
            let Some(argv) = self.command(task, run, |p| match p {
                Placeholder::In => read.clone(),
                Placeholder::Out => out.clone().unwrap_or_default(),
                Placeholder::Tool => tool_cmd.clone().unwrap_or_default(),
                other => var(other),
            }) else {
                continue;
            };
            let id = format!("{}/{}:{}", task.phase, task.name, file.rel);
            let kind = ActionKind::Command {
                argv,
                tool: tool.map(str::to_owned),
            };
            self.push_action(task, id, kind, Some(input), out.clone());
            if let Some(p) = prelude {
                self.actions.last_mut().expect("just pushed").inputs.push(p);
            }
            let sidecars = tool.and_then(|t| self.m.tool(t)).map(|t| &t.sidecars);
            if let (Some(out), Some(sidecars)) = (&out, sidecars) {
                self.add_sidecars(task, sidecars, out, &var);
            }
            // A gate checks the output, as an action of its own that reads it: the stage
            // is not done, and nothing after it runs, until every gate passes.
            if let (false, Some(out)) = (gate.is_empty(), out) {
                let Some(argv) = self.command(task, gate, |p| match p {
                    Placeholder::In | Placeholder::Out => out.clone(),
                    Placeholder::Tool => tool_cmd.clone().unwrap_or_default(),
                    other => var(other),
                }) else {
                    continue;
                };
                let id = format!("{}/{}#gate:{}", task.phase, task.name, file.rel);
                let kind = ActionKind::Command {
                    argv,
                    tool: tool.map(str::to_owned),
                };
                self.push_action(task, id, kind, Some(out), None);
            }
        }
    }

    /// A command's arguments, each value made safe where it stands (see
    /// `manifest::expand_command`). Loading refuses what cannot be quoted, so `None` (with
    /// a diagnostic) is only for a template that skipped the check.
    fn command(
        &mut self,
        task: &Task,
        run: &[Sp<Template>],
        value: impl FnMut(Placeholder) -> String,
    ) -> Option<Vec<String>> {
        let templates: Vec<&Template> = run.iter().map(|a| &a.value).collect();
        match expand_command(&templates, value) {
            Ok(argv) => Some(argv),
            Err(e) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::Placeholder,
                        format!(
                            "task '{}.{}': {} stands {} in a shell script, where no quoting keeps a value one value",
                            task.phase, task.name, e.placeholder, e.place
                        ),
                    )
                    .at(run[e.arg].span),
                );
                None
            }
        }
    }

    fn push_action(
        &mut self,
        task: &Task,
        id: String,
        kind: ActionKind,
        each_input: Option<String>,
        out: Option<String>,
    ) {
        let mut inputs: Vec<String> = each_input.into_iter().collect();
        for i in &task.inputs {
            if is_glob(&i.value) {
                self.input_globs
                    .push((self.actions.len(), i.value.clone(), i.span));
                continue;
            }
            match normalize("", &i.value) {
                Some(p) if self.parent_inside(&p) && self.file_inside(&p) => inputs.push(p),
                _ => self.diags.push(escapes(
                    i,
                    &format!("task '{}.{}': input", task.phase, task.name),
                )),
            }
        }
        let mut outputs: Vec<String> = Vec::new();
        let out_span = task.out.as_ref().map_or(task.name.span, |t| t.span);
        let written = out
            .map(|o| (o.clone(), Some(o), out_span))
            .into_iter()
            .chain(
                task.outputs
                    .iter()
                    .map(|o| (o.value.clone(), normalize("", &o.value), o.span)),
            );
        for (raw, norm, span) in written {
            let what = format!("task '{}.{}': output", task.phase, task.name);
            let catalogs = task.catalog_outputs.contains(&raw);
            match norm {
                Some(p) if !p.is_empty() && self.parent_inside(&p) => match self.reserved(&p) {
                    Some(why) if !catalogs => self.diags.push(
                        Diagnostic::new(
                            Code::PathEscapes,
                            format!("{what} '{p}' is batuta's own: {why}"),
                        )
                        .at(span)
                        .label("no task may write this")
                        .help("write outputs elsewhere in the workspace; batuta alone writes .batuta/, the state file, the cache folder, and reads the manifest"),
                    ),
                    _ => outputs.push(p),
                },
                _ => self.diags.push(escapes(&Sp::new(raw, span), &what)),
            }
        }
        let local = task.local || !matches!(kind, ActionKind::Command { .. });
        self.actions.push(Action {
            id,
            phase: task.phase,
            task: task.name.value.clone(),
            kind,
            inputs,
            matched: Vec::new(),
            outputs,
            env: task.env.iter().map(|e| e.value.clone()).collect(),
            cache: task.cache,
            local,
            gpu: task.resources.gpu,
            timeout: task.timeout,
            sidecars: Vec::new(),
            span: task.name.span,
            scope: None,
        });
    }
}

fn escapes(p: &Sp<String>, what: &str) -> Diagnostic {
    Diagnostic::new(Code::PathEscapes, format!("{what}: '{}' leaves the workspace", p.value))
        .at(p.span)
        .label("outside the manifest's folder")
        .help("paths stay inside the manifest's folder, and so do the folders they resolve through (no symbolic link pointing out)")
}

/// Whether an `inputs` entry is a glob rather than a path.
fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

fn join(base: &str, rel: &str) -> String {
    normalize(base, rel).unwrap_or_else(|| rel.to_owned())
}
