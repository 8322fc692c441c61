//! A workspace's graph (`projects:`): each project is expanded as the manifest of its own
//! migration, its actions' ids prefixed with its name, and then the actions of every
//! project are linked as one graph: files written by one project and read by another are
//! edges like any other, and `needs` between projects order their stages.

use std::sync::Arc;

use super::*;
use crate::graph::{ProjectStages, Scope};
use crate::manifest::WorkspaceProject;

/// Expand `target` of a workspace: a target's name, a project's name (all its stages),
/// `project:stage` or `*:stage`; `None` is the `default` target, or everything.
pub(super) fn expand(m: &Manifest, target: Option<&str>) -> Result<ActionGraph, Diagnostics> {
    let (name, refs, keep_going) = select(m, target).map_err(|d| Diagnostics {
        source: m.source.clone(),
        items: vec![d],
    })?;
    build(m, name, &refs, keep_going)
}

fn select(m: &Manifest, target: Option<&str>) -> Result<(String, Vec<StageRef>, bool), Diagnostic> {
    let refs = |t: &crate::manifest::Target| -> Vec<StageRef> {
        t.stages
            .iter()
            .filter_map(|s| StageRef::parse(&s.value))
            .collect()
    };
    let every = || -> Vec<StageRef> {
        Phase::ALL
            .iter()
            .map(|&phase| StageRef {
                project: None,
                phase,
            })
            .collect()
    };
    let Some(name) = target else {
        return Ok(match m.target("default") {
            Some(t) => ("default".to_owned(), refs(t), t.keep_going),
            None => ("default".to_owned(), every(), false),
        });
    };
    if let Some(t) = m.target(name) {
        return Ok((name.to_owned(), refs(t), t.keep_going));
    }
    if m.workspace_project(name).is_some() {
        let all = Phase::ALL
            .iter()
            .map(|&phase| StageRef {
                project: Some(name.to_owned()),
                phase,
            })
            .collect();
        return Ok((name.to_owned(), all, false));
    }
    if let Some(r) = StageRef::parse(name)
        && r.project
            .as_deref()
            .is_none_or(|p| m.workspace_project(p).is_some())
    {
        return Ok((name.to_owned(), vec![r], false));
    }
    let targets = m.targets.iter().map(|t| t.name.value.as_str());
    let projects = m.projects.iter().map(|p| p.project.name.value.as_str());
    let known: Vec<&str> = targets.chain(projects).collect();
    let d = Diagnostic::new(
        Code::UnknownName,
        format!("unknown target or project '{name}'"),
    );
    Err(match did_you_mean(name, known.iter().copied()) {
        Some(s) => d.help(format!("did you mean '{s}'?")),
        None => d.help(format!(
            "name a target, a project, `project:stage` or `*:stage`; the targets and projects are: {}",
            known.join(", ")
        )),
    })
}

/// Expand the stages `refs` name, with every stage they need in their own project and in
/// the projects theirs needs.
pub(super) fn build(
    m: &Manifest,
    target: String,
    refs: &[StageRef],
    keep_going: bool,
) -> Result<ActionGraph, Diagnostics> {
    let instances = m.instances();
    let selected = selection(m, &instances, refs);
    let mut x = Expander::new(m);
    let mut projects: Vec<ProjectStages> = Vec::new();
    let mut index: Vec<Option<u32>> = vec![None; instances.len()];
    // The projects are independent until linked: each is walked and expanded at once.
    let gathered: Vec<_> = {
        use rayon::prelude::*;
        instances
            .par_iter()
            .zip(&selected)
            .map(|(inst, phases)| (!phases.is_empty()).then(|| gather(inst, phases)))
            .collect()
    };
    // Per hand_ported/bridged entry: the projects whose task has it, and those that found
    // no such file.
    let mut runs: HashMap<usize, usize> = HashMap::new();
    let mut unmatched: HashMap<usize, usize> = HashMap::new();
    for (k, (inst, one)) in instances.iter().zip(gathered).enumerate() {
        let Some((one, stages)) = one else {
            continue;
        };
        let listed = entries(inst);
        for &at in &listed {
            *runs.entry(at).or_default() += 1;
        }
        for d in &one.diags {
            if d.code == Code::UnknownName
                && let Some(at) = d.span.map(|s| s.offset)
                && listed.contains(&at)
            {
                *unmatched.entry(at).or_default() += 1;
            }
        }
        index[k] = Some(projects.len() as u32);
        let wp: &WorkspaceProject = &m.projects[k];
        let scope = Arc::new(Scope {
            name: wp.project.name.value.clone(),
            source: normalize("", &inst.project.source.value).unwrap_or_default(),
            output: normalize("", &inst.project.output.value).unwrap_or_default(),
        });
        x.adopt(one, &scope);
        projects.push(ProjectStages {
            scope,
            stages,
            needs: Vec::new(),
        });
    }
    for (k, wp) in m.projects.iter().enumerate() {
        let Some(at) = index[k] else { continue };
        projects[at as usize].needs = wp
            .needs
            .iter()
            .filter_map(|n| {
                m.projects
                    .iter()
                    .position(|p| p.project.name.value == n.value)
            })
            .filter_map(|q| index[q])
            .collect();
    }
    // The board's stages: every selected phase, needing what any project's needs.
    let mut stages: Vec<(Phase, Vec<Phase>)> = Vec::new();
    for p in &projects {
        for (phase, needs) in &p.stages {
            match stages.iter_mut().find(|(q, _)| q == phase) {
                Some((_, all)) => {
                    for n in needs {
                        if !all.contains(n) {
                            all.push(*n);
                        }
                    }
                }
                None => stages.push((*phase, needs.clone())),
            }
        }
    }
    stages.sort_by_key(|(p, _)| *p);
    x.keep_unmatched_of_no_project(&unmatched, &runs);
    x.resolve_input_globs();
    let (graph, action_nodes) = x.link_workspace(&stages, &projects);
    x.finish(target, keep_going, stages, graph, action_nodes, projects)
}

/// The phases selected of each project (in the order of `projects:`): those `refs` name,
/// the stages they need in their project, and the same and earlier stages of the projects
/// it needs, transitively.
fn selection(m: &Manifest, instances: &[Manifest], refs: &[StageRef]) -> Vec<BTreeSet<Phase>> {
    let mut selected: Vec<BTreeSet<Phase>> = vec![BTreeSet::new(); instances.len()];
    let mut todo: Vec<(usize, Phase)> = Vec::new();
    for r in refs {
        for (k, inst) in instances.iter().enumerate() {
            let named = r
                .project
                .as_deref()
                .is_none_or(|p| p == m.projects[k].project.name.value);
            if named && inst.stage(r.phase).is_some() {
                todo.push((k, r.phase));
            }
        }
    }
    while let Some((k, phase)) = todo.pop() {
        if !selected[k].insert(phase) {
            continue;
        }
        let inst = &instances[k];
        if let Some(stage) = inst.stage(phase) {
            todo.extend(
                stage
                    .needs
                    .iter()
                    .filter_map(|n| Phase::from_stage_name(&n.value))
                    .filter(|p| inst.stage(*p).is_some())
                    .map(|p| (k, p)),
            );
        }
        for need in &m.projects[k].needs {
            let Some(q) = m
                .projects
                .iter()
                .position(|p| p.project.name.value == need.value)
            else {
                continue;
            };
            todo.extend(
                instances[q]
                    .stages
                    .iter()
                    .filter(|s| s.phase <= phase)
                    .map(|s| (q, s.phase)),
            );
        }
    }
    selected
}

impl Expander<'_> {
    /// Take in what one project's expansion found, its ids and tasks prefixed with the
    /// project's name.
    fn adopt(&mut self, one: Expander<'_>, scope: &Arc<Scope>) {
        let name = &scope.name;
        // A companion (the machine's calibration, which every project's optimize reads) is
        // the workspace's, in no project, so no project waits for another through it; it
        // is added once. Where each of `one`'s actions lands:
        let mut at: Vec<Option<usize>> = Vec::with_capacity(one.actions.len());
        for mut a in one.actions {
            let companion = matches!(&a.kind, ActionKind::Builtin { name, .. }
                if self.m.companions.iter().any(|c| c.adds == name.as_str()));
            if companion {
                let same = self
                    .actions
                    .iter()
                    .position(|b| b.outputs == a.outputs && b.kind == a.kind);
                at.push(Some(same.unwrap_or(self.actions.len())));
                if same.is_none() {
                    self.actions.push(a);
                }
                continue;
            }
            at.push(Some(self.actions.len()));
            a.id = format!("{name}/{}", a.id);
            a.scope = Some(Arc::clone(scope));
            self.actions.push(a);
        }
        self.input_globs.extend(
            one.input_globs
                .into_iter()
                .filter_map(|(i, pattern, span)| Some((at[i]?, pattern, span))),
        );
        self.hand_ported
            .extend(one.hand_ported.into_iter().map(|mut h| {
                h.task = format!("{name}/{}", h.task);
                h
            }));
        self.plan.extend(one.plan.into_iter().map(|mut p| {
            p.task = format!("{name}/{}", p.task);
            p
        }));
        for d in one.diags {
            if !self.diags.contains(&d) {
                self.diags.push(d);
            }
        }
    }

    /// A shared task's `hand_ported` or `bridged` entry names a file of one project: it is
    /// wrong only when no project that runs the task has that file. `unmatched` counts, per
    /// entry (by where it is written), the projects that did not match it.
    fn keep_unmatched_of_no_project(
        &mut self,
        unmatched: &HashMap<usize, usize>,
        runs: &HashMap<usize, usize>,
    ) {
        self.diags.retain(|d| {
            let Some(at) = d.span.map(|s| s.offset) else {
                return true;
            };
            match (unmatched.get(&at), runs.get(&at)) {
                (Some(missed), Some(ran)) => missed >= ran,
                _ => true,
            }
        });
    }
}

/// Where the `hand_ported` and `bridged` entries of an instance's tasks are written, for
/// [`Expander::keep_unmatched_of_no_project`].
fn entries(inst: &Manifest) -> Vec<usize> {
    inst.stages
        .iter()
        .flat_map(|s| &s.tasks)
        .flat_map(|t| t.hand_ported.iter().chain(&t.bridged))
        .map(|h| h.span.offset)
        .collect()
}
