//! From a checked manifest and a target to the action graph.
//!
//! The source tree is walked once; each `each` task matches against that one listing.
//! Everything that needs the file system (files matched, symlinks, outputs that clash,
//! actions that read each other's outputs) is checked here, with the manifest's spans.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use super::walk::{self, glob_set};
use super::{Action, ActionGraph, ActionKind, Edge, Node, Sidecar};
use crate::manifest::{
    Code, Diagnostic, Diagnostics, FanOut, Manifest, Phase, Placeholder, Sp, Span, Task, TaskKind,
    did_you_mean, normalize,
};

/// Expand `target` (the `default` target, or every stage, when `None`).
pub fn expand(m: &Manifest, target: Option<&str>) -> Result<ActionGraph, Diagnostics> {
    let (name, roots, keep_going) = select(m, target).map_err(|d| Diagnostics {
        source: m.source.clone(),
        items: vec![d],
    })?;
    build(m, name, &with_needs(m, roots), keep_going)
}

/// Expand the given stages and every stage they need, as the anonymous target `all`.
pub fn expand_stages(m: &Manifest, phases: &[Phase]) -> Result<ActionGraph, Diagnostics> {
    build(m, "all".to_owned(), &with_needs(m, phases.to_vec()), false)
}

/// Expand every stage the manifest defines, as `batuta check` and `batuta clean` need.
pub fn expand_all(m: &Manifest) -> Result<ActionGraph, Diagnostics> {
    let all: Vec<Phase> = m.stages.iter().map(|s| s.phase).collect();
    expand_stages(m, &all)
}

fn build(
    m: &Manifest,
    target: String,
    phases: &BTreeSet<Phase>,
    keep_going: bool,
) -> Result<ActionGraph, Diagnostics> {
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
    x.resolve_input_globs();
    let (graph, action_nodes) = x.link(&stages);
    if !x.diags.is_empty() {
        return Err(Diagnostics {
            source: m.source.clone(),
            items: x.diags,
        });
    }
    Ok(ActionGraph {
        target,
        keep_going,
        stages,
        actions: x.actions,
        graph,
        action_nodes,
        hand_ported: x.hand_ported,
    })
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
    /// Companion builtins already in the graph ([`crate::manifest::Companion`]): each is added once.
    companions: HashSet<&'static str>,
}

impl<'m> Expander<'m> {
    fn new(m: &'m Manifest) -> Self {
        let source = normalize("", &m.project.source.value).unwrap_or_default();
        let output = normalize("", &m.project.output.value).unwrap_or_default();
        Self {
            m,
            root_canon: m.root.canonicalize().ok(),
            source,
            output,
            files: Vec::new(),
            actions: Vec::new(),
            diags: Vec::new(),
            confined: HashMap::new(),
            input_globs: Vec::new(),
            hand_ported: Vec::new(),
            companions: HashSet::new(),
        }
    }

    fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.m.root.join(".")
        } else {
            self.m.root.join(rel)
        }
    }

    fn walk_source(&mut self) {
        let dir = self.abs(&self.source);
        if !dir.is_dir() {
            let p = &self.m.project.source;
            self.diags.push(
                Diagnostic::new(
                    Code::Missing,
                    format!("project.source '{}' is not a folder", p.value),
                )
                .at(p.span)
                .label("no such folder beside the manifest")
                .help("`each` globs match files under project.source; create it or fix the path"),
            );
            return;
        }
        if !self.inside(&self.source.clone()) {
            let p = &self.m.project.source;
            self.diags.push(escapes(p, "project.source"));
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
        // Never treat batuta's own files or generated output as legacy source.
        let skip = [
            self.abs(&self.output),
            self.abs(".batuta"),
            self.abs(".git"),
        ];
        self.files = walk::walk(&dir, &exclude, &skip);
    }

    /// Whether the folder `rel` (relative to the workspace) resolves inside it; checks the
    /// nearest existing ancestor, so symlinked folders pointing out are caught before writes.
    fn inside(&mut self, rel: &str) -> bool {
        if let Some(&known) = self.confined.get(rel) {
            return known;
        }
        let ok = match &self.root_canon {
            None => true,
            Some(root) => {
                let mut p = self.abs(rel);
                loop {
                    match p.canonicalize() {
                        Ok(c) => break c.starts_with(root),
                        Err(_) => {
                            if !p.pop() {
                                break true;
                            }
                        }
                    }
                }
            }
        };
        self.confined.insert(rel.to_owned(), ok);
        ok
    }

    fn parent_inside(&mut self, rel: &str) -> bool {
        let parent = rel.rsplit_once('/').map_or("", |(d, _)| d);
        self.inside(parent)
    }

    fn task(&mut self, task: &'m Task) {
        let mut gate: &[Sp<crate::manifest::Template>] = &[];
        let mut sidecars: &[(String, Sp<crate::manifest::Template>)] = &[];
        let (run, tool): (&[Sp<crate::manifest::Template>], Option<&str>) = match &task.kind {
            TaskKind::Run(run) => (run, task.tool.as_ref().map(|t| t.value.as_str())),
            TaskKind::Rule(name) => {
                let rule = self.m.rule(&name.value).expect("validated rule");
                gate = &rule.gate;
                sidecars = &rule.sidecars;
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
            let argv = run
                .iter()
                .map(|a| a.value.expand(|_| tool_cmd.clone().unwrap_or_default()))
                .collect();
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
            if task.hand_ported.iter().any(|h| h.value == file.rel) {
                self.hand_port(task, &file.rel, input, out);
                continue;
            }
            let argv = run
                .iter()
                .map(|a| {
                    a.value.expand(|p| match p {
                        Placeholder::In => input.clone(),
                        Placeholder::Out => out.clone().unwrap_or_default(),
                        Placeholder::Tool => tool_cmd.clone().unwrap_or_default(),
                        other => var(other),
                    })
                })
                .collect();
            let id = format!("{}/{}:{}", task.phase, task.name, file.rel);
            let kind = ActionKind::Command {
                argv,
                tool: tool.map(str::to_owned),
            };
            self.push_action(task, id, kind, Some(input), out.clone());
            if let Some(out) = &out {
                self.add_sidecars(task, sidecars, out, &var);
            }
            // A gate checks the output, as an action of its own that reads it: the stage
            // is not done, and nothing after it runs, until every gate passes.
            if let (false, Some(out)) = (gate.is_empty(), out) {
                let argv = gate
                    .iter()
                    .map(|a| {
                        a.value.expand(|p| match p {
                            Placeholder::In | Placeholder::Out => out.clone(),
                            Placeholder::Tool => tool_cmd.clone().unwrap_or_default(),
                            other => var(other),
                        })
                    })
                    .collect();
                let id = format!("{}/{}#gate:{}", task.phase, task.name, file.rel);
                let kind = ActionKind::Command {
                    argv,
                    tool: tool.map(str::to_owned),
                };
                self.push_action(task, id, kind, Some(out), None);
            }
        }
    }

    /// Declares the sidecars of the action just pushed: each becomes one of its outputs.
    fn add_sidecars(
        &mut self,
        task: &Task,
        sidecars: &[(String, Sp<crate::manifest::Template>)],
        out: &str,
        var: &dyn Fn(Placeholder) -> String,
    ) {
        for (name, dest) in sidecars {
            let path = dest.value.expand(|p| match p {
                Placeholder::Out => out.to_owned(),
                other => var(other),
            });
            match normalize("", &path) {
                Some(p) if !p.is_empty() && self.parent_inside(&p) => {
                    let a = self.actions.last_mut().expect("the action was just pushed");
                    a.outputs.push(p.clone());
                    a.sidecars.push(Sidecar {
                        name: name.clone(),
                        output: p,
                    });
                }
                _ => self.diags.push(escapes(
                    &Sp::new(path, dest.span),
                    &format!(
                        "task '{}.{}': the {name} its tool writes",
                        task.phase, task.name
                    ),
                )),
            }
        }
    }

    /// The catalog's companion ([`crate::manifest::Companion`]) of the builtin `builtin`, which the action just pushed for
    /// `task` reads; the companion's action itself is added with the first such task.
    fn companion(&mut self, task: &Task, builtin: &str) {
        let Some(c) = self.m.companions.iter().find(|c| c.builtin == builtin) else {
            return;
        };
        let outputs: Vec<String> = c.outputs.iter().map(|o| (*o).to_owned()).collect();
        let a = self.actions.last_mut().expect("just pushed");
        a.inputs.splice(0..0, outputs.iter().cloned());
        if !self.companions.insert(c.adds) {
            return;
        }
        self.actions.push(Action {
            id: format!("{}/{}#{}", task.phase, task.name, c.adds),
            phase: task.phase,
            task: task.name.value.clone(),
            kind: ActionKind::Builtin {
                name: c.adds.to_owned(),
                with: None,
            },
            inputs: Vec::new(),
            outputs,
            env: Vec::new(),
            // Whatever the task says: the companion's result is what makes it worth having.
            cache: true,
            gpu: 0,
            sidecars: Vec::new(),
            span: task.name.span,
        });
    }

    /// One `per_file` action per source file that can be read, then the aggregate, which
    /// reads their outputs and learns of the others through `with.skipped` ([`FanOut`]).
    fn fan_out(&mut self, task: &'m Task, fo: &FanOut) {
        let files = std::mem::take(&mut self.files);
        let mut per_file = Vec::with_capacity(files.len());
        let mut skipped = Vec::new();
        for file in &files {
            let input = join(&self.source, &file.rel);
            if let Some(reason) = self.unreadable(file, &input) {
                skipped.push(serde_json::json!({ "path": file.rel, "reason": reason }));
                continue;
            }
            let out = format!("{}/files/{}.json", fo.dir, file.rel);
            self.actions.push(Action {
                id: format!("{}/{}:{}", task.phase, task.name, file.rel),
                phase: task.phase,
                task: task.name.value.clone(),
                kind: ActionKind::Builtin {
                    name: fo.per_file.to_owned(),
                    with: None,
                },
                inputs: vec![input],
                outputs: vec![out.clone()],
                env: task.env.iter().map(|e| e.value.clone()).collect(),
                cache: task.cache,
                gpu: 0,
                sidecars: Vec::new(),
                span: task.name.span,
            });
            per_file.push(out);
        }
        self.files = files;
        let mut with = match task.with.as_ref().map(crate::manifest::Node::to_json) {
            Some(serde_json::Value::Object(m)) => m,
            Some(other) => serde_json::Map::from_iter([("with".to_owned(), other)]),
            None => serde_json::Map::new(),
        };
        if !skipped.is_empty() {
            with.insert("skipped".to_owned(), serde_json::Value::Array(skipped));
        }
        let kind = ActionKind::Builtin {
            name: fo.builtin.to_owned(),
            with: (!with.is_empty()).then_some(serde_json::Value::Object(with)),
        };
        self.push_action(
            task,
            format!("{}/{}", task.phase, task.name),
            kind,
            None,
            None,
        );
        let a = self.actions.last_mut().expect("just pushed");
        a.inputs.splice(0..0, per_file);
        a.outputs
            .splice(0..0, fo.outputs.iter().map(|o| format!("{}/{o}", fo.dir)));
    }

    /// Why a walked file cannot be an action's input, if it cannot.
    fn unreadable(&self, file: &walk::SourceFile, input: &str) -> Option<&'static str> {
        if file.special {
            return Some("not a regular file (socket, pipe or device)");
        }
        let abs = self.abs(input);
        if file.symlink {
            match std::fs::metadata(&abs) {
                #[cfg(unix)]
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    return Some("symbolic link loop");
                }
                Err(_) => return Some("symbolic link to nothing (dangling)"),
                Ok(m) if m.is_dir() => return Some("symbolic link to a folder"),
                Ok(m) if !m.is_file() => {
                    return Some("not a regular file (socket, pipe or device)");
                }
                Ok(_) if !self.file_inside(input) => {
                    return Some("symbolic link that leaves the workspace");
                }
                Ok(_) => {}
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let c = std::ffi::CString::new(abs.as_os_str().as_bytes()).ok()?;
            // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
            if unsafe { libc::access(c.as_ptr(), libc::R_OK) } != 0 {
                return Some(match std::io::Error::last_os_error().kind() {
                    std::io::ErrorKind::NotFound => {
                        "cannot read: its name is not valid UTF-8, or it vanished"
                    }
                    _ => "cannot read: permission denied",
                });
            }
        }
        None
    }

    fn file_inside(&self, rel: &str) -> bool {
        match (&self.root_canon, self.abs(rel).canonicalize()) {
            (Some(root), Ok(c)) => c.starts_with(root),
            _ => true,
        }
    }

    /// A file ported by hand gets no action; its module must be there, or the crate would
    /// silently lose it.
    fn hand_port(&mut self, task: &Task, rel: &str, source: String, module: Option<String>) {
        let Some(module) = module else {
            return; // validation reported the missing `out`
        };
        if !self.abs(&module).is_file() {
            let span = task
                .hand_ported
                .iter()
                .find(|h| h.value == rel)
                .map_or(task.name.span, |h| h.span);
            self.diags.push(
                Diagnostic::new(
                    Code::Missing,
                    format!("'{source}' is hand-ported, but its module '{module}' does not exist"),
                )
                .at(span)
                .label("listed in hand_ported")
                .help(format!("write the Rust module by hand at {module}, or remove the file from hand_ported to transpile it again")),
            );
        }
        self.hand_ported.push(super::HandPort {
            task: format!("{}/{}", task.phase, task.name),
            source,
            module,
        });
    }

    /// Every `hand_ported` entry must be one of the files the task's `each` matches.
    fn unmatched_hand_ports(&mut self, task: &Task, matches: &[walk::SourceFile]) {
        for h in &task.hand_ported {
            if matches.iter().any(|f| f.rel == h.value) {
                continue;
            }
            let mut d = Diagnostic::new(
                Code::UnknownName,
                format!(
                    "hand_ported names '{}', which `each` of task '{}.{}' does not match",
                    h.value, task.phase, task.name
                ),
            )
            .at(h.span)
            .label("not one of the task's files");
            d = match did_you_mean(&h.value, matches.iter().map(|f| f.rel.as_str())) {
                Some(s) => d.help(format!(
                    "did you mean '{s}'? (paths are relative to project.source, like `each`)"
                )),
                None => d.help("paths are relative to project.source, like `each`"),
            };
            self.diags.push(d);
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
            match norm {
                Some(p) if !p.is_empty() && self.parent_inside(&p) => outputs.push(p),
                _ => self.diags.push(escapes(
                    &Sp::new(raw, span),
                    &format!("task '{}.{}': output", task.phase, task.name),
                )),
            }
        }
        self.actions.push(Action {
            id,
            phase: task.phase,
            task: task.name.value.clone(),
            kind,
            inputs,
            outputs,
            env: task.env.iter().map(|e| e.value.clone()).collect(),
            cache: task.cache,
            gpu: task.resources.gpu,
            sidecars: Vec::new(),
            span: task.name.span,
        });
    }

    /// An input glob (`rust/src/**/*.rs`) means every file it matches that an action of
    /// this graph writes, and every such file already on disk (hand-written ones), except
    /// the action's own outputs. Matches are sorted, so the action's key is stable.
    fn resolve_input_globs(&mut self) {
        for (i, pattern, span) in std::mem::take(&mut self.input_globs) {
            let glob = match glob_set([pattern.as_str()]) {
                Ok(g) => g,
                Err(e) => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::Syntax,
                            format!("invalid glob '{pattern}' in inputs: {}", e.kind()),
                        )
                        .at(span),
                    );
                    continue;
                }
            };
            // The literal folders before the first wildcard: the only part of the disk to walk.
            let base: Vec<&str> = pattern
                .split('/')
                .take_while(|part| !is_glob(part))
                .collect();
            let base = base.join("/");
            let Some(base) = normalize("", &base) else {
                self.diags.push(escapes(&Sp::new(pattern, span), "inputs"));
                continue;
            };
            let own: HashSet<String> = self.actions[i].outputs.iter().cloned().collect();
            let mut found: BTreeSet<String> = self
                .actions
                .iter()
                .flat_map(|a| &a.outputs)
                .filter(|o| !own.contains(*o) && glob.is_match(o.as_str()))
                .cloned()
                .collect();
            let dir = self.abs(&base);
            if dir.is_dir() && self.inside(&base) {
                let none = glob_set(std::iter::empty::<&str>()).expect("empty glob set");
                let skip = [self.abs(".batuta"), self.abs(".git")];
                for f in walk::walk(&dir, &none, &skip) {
                    let rel = join(&base, &f.rel);
                    if !own.contains(&rel)
                        && glob.is_match(&rel)
                        && (!f.symlink || self.file_inside(&rel))
                    {
                        found.insert(rel);
                    }
                }
            }
            let inputs = &mut self.actions[i].inputs;
            for f in found {
                if !inputs.contains(&f) {
                    inputs.push(f);
                }
            }
        }
    }

    /// Wire file edges and stage barriers; report clashing outputs and cycles.
    fn link(&mut self, stages: &[(Phase, Vec<Phase>)]) -> (DiGraph<Node, Edge>, Vec<NodeIndex>) {
        let mut g =
            DiGraph::with_capacity(self.actions.len() + stages.len(), self.actions.len() * 2);
        let nodes: Vec<NodeIndex> = (0..self.actions.len())
            .map(|i| g.add_node(Node::Action(i)))
            .collect();
        let barriers: HashMap<Phase, NodeIndex> = stages
            .iter()
            .map(|(p, _)| (*p, g.add_node(Node::StageDone(*p))))
            .collect();

        let mut producer: HashMap<&str, usize> = HashMap::with_capacity(self.actions.len());
        for (i, a) in self.actions.iter().enumerate() {
            for out in &a.outputs {
                if let Some(&j) = producer.get(out.as_str()) {
                    let first = &self.actions[j];
                    let d = Diagnostic::new(
                        Code::Conflict,
                        format!("'{out}' is written by both '{}' and '{}'", first.id, a.id),
                    )
                    .at(a.span);
                    // Two files of one `each` task: its `out` drops what tells them apart.
                    let d = if first.phase == a.phase && first.task == a.task {
                        d.label("two of this task's files have one output")
                            .help("every file has one writer; keep {dir} or {path} in `out` so each input gets its own output")
                    } else {
                        d.label("this task writes it again").help(
                            "every file has one writer; give one of the tasks a different output",
                        )
                    };
                    self.diags.push(d);
                } else {
                    producer.insert(out, i);
                }
            }
        }
        for (i, a) in self.actions.iter().enumerate() {
            for input in &a.inputs {
                if let Some(&j) = producer.get(input.as_str()) {
                    g.add_edge(nodes[j], nodes[i], Edge::File(input.clone()));
                }
            }
            g.add_edge(nodes[i], barriers[&a.phase], Edge::Stage);
        }
        for (phase, needs) in stages {
            for need in needs {
                if let Some(&b) = barriers.get(need) {
                    for (i, a) in self.actions.iter().enumerate() {
                        if a.phase == *phase {
                            g.add_edge(b, nodes[i], Edge::Stage);
                        }
                    }
                    // An empty stage still orders the stages around it.
                    g.add_edge(b, barriers[phase], Edge::Stage);
                }
            }
        }
        if toposort(&g, None).is_err() {
            self.report_cycles(&g);
        }
        (g, nodes)
    }

    fn report_cycles(&mut self, g: &DiGraph<Node, Edge>) {
        for scc in tarjan_scc(g) {
            let cyclic = scc.len() > 1 || g.contains_edge(scc[0], scc[0]);
            if !cyclic {
                continue;
            }
            // Name one real cycle, not the whole component: through stage barriers a
            // component can hold every action of the stages between reader and writer.
            let cycle = shortest_cycle(g, &scc);
            let names: Vec<String> = cycle
                .iter()
                .map(|&n| match g[n] {
                    Node::Action(i) => self.actions[i].id.clone(),
                    Node::StageDone(p) => format!("stage {p}"),
                })
                .collect();
            let first = cycle.iter().find_map(|&n| match g[n] {
                Node::Action(i) => Some(&self.actions[i]),
                Node::StageDone(_) => None,
            });
            let mut d = Diagnostic::new(
                Code::Cycle,
                format!("actions wait for each other: {}", names.join(" -> ")),
            )
            .label("this task is part of the cycle")
            .help("an action cannot read what it, or an action after it, writes; a stage cannot read what a stage that needs it writes");
            if let Some(a) = first {
                d = d.at(a.span);
            }
            self.diags.push(d);
        }
    }
}

/// The shortest cycle inside the strongly connected component `scc`, as a path that ends
/// where it starts. It starts at an action that reads a file written inside the component:
/// stage edges alone never close a cycle (validation rules out cyclic `needs`), so that read
/// is the edge the user can change.
fn shortest_cycle(g: &DiGraph<Node, Edge>, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    use petgraph::Direction::Incoming;
    use petgraph::visit::EdgeRef;
    let members: HashSet<NodeIndex> = scc.iter().copied().collect();
    let start = scc
        .iter()
        .copied()
        .find(|&n| {
            g.edges_directed(n, Incoming)
                .any(|e| matches!(e.weight(), Edge::File(_)) && members.contains(&e.source()))
        })
        .unwrap_or(scc[0]);
    let mut prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for next in g.neighbors(n) {
            if next == start {
                // Back from `n` to `start` along the search, then reversed.
                let mut path = vec![start, n];
                let mut at = n;
                while at != start {
                    at = prev[&at];
                    path.push(at);
                }
                path.reverse(); // a self-loop gives `start -> start`
                return path;
            }
            if members.contains(&next) && !prev.contains_key(&next) {
                prev.insert(next, n);
                queue.push_back(next);
            }
        }
    }
    let mut all = scc.to_vec();
    all.push(scc[0]);
    all
}

/// The catalog's fan-out for a task that names a file-by-file builtin.
fn fan_out_of(m: &Manifest, t: &Task) -> Option<&'static FanOut> {
    match &t.kind {
        TaskKind::Builtin(name) => m.fan_out.iter().find(|f| f.builtin == name.value),
        _ => None,
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
