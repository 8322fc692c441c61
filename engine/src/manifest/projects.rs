//! A workspace (`projects:`): each project is the manifest of one migration — its own
//! source, output and excludes, the shared stages with its own in their place — and the
//! workspace says which projects need which, and which stage of which project a target
//! means (`stage`, `project:stage`, `*:stage`).

use std::collections::HashMap;

use super::diagnostic::{Code, Diagnostic, Span, did_you_mean};
use super::model::{Manifest, Phase, Sp, Stage, WorkspaceProject};
use super::validate::normalize;

/// A stage a target or the command line names: `stage` or `*:stage` is that stage of every
/// project (of the one project, without `projects:`), `project:stage` one project's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRef {
    /// `None` for every project.
    pub project: Option<String>,
    pub phase: Phase,
}

impl StageRef {
    /// Reads `stage`, `*:stage` or `project:stage`; `None` when the stage is no phase.
    pub fn parse(text: &str) -> Option<StageRef> {
        let (project, stage) = match text.split_once(':') {
            Some(("*", stage)) => (None, stage),
            Some((project, stage)) => (Some(project.to_owned()), stage),
            None => (None, text),
        };
        Some(StageRef {
            project,
            phase: Phase::from_stage_name(stage)?,
        })
    }
}

impl Manifest {
    /// Whether this manifest has `projects:`.
    pub fn is_workspace(&self) -> bool {
        !self.projects.is_empty()
    }

    /// The project of `projects:` of this name.
    pub fn workspace_project(&self, name: &str) -> Option<&WorkspaceProject> {
        self.projects.iter().find(|p| p.project.name.value == name)
    }

    /// Each project of a workspace as the manifest of its own migration: its project, the
    /// shared stages with its own in their place, no targets (the workspace's name stages
    /// of projects), and the builtins' default files resolved against its folders.
    pub fn instances(&self) -> Vec<Manifest> {
        self.projects.iter().map(|p| self.instance(p)).collect()
    }

    /// The phases a project of the workspace has: the shared stages' and its own.
    pub fn project_phases(&self, p: &WorkspaceProject) -> std::collections::BTreeSet<Phase> {
        self.stages
            .iter()
            .chain(&p.stages)
            .map(|s| s.phase)
            .collect()
    }

    /// The manifest of one project of the workspace; see [`Manifest::instances`].
    pub fn instance(&self, p: &WorkspaceProject) -> Manifest {
        let mut stages: Vec<Stage> = self
            .stages
            .iter()
            .filter(|s| !p.stages.iter().any(|own| own.phase == s.phase))
            .chain(&p.stages)
            .cloned()
            .collect();
        stages.sort_by_key(|s| s.phase);
        let mut m = Manifest {
            source: self.source.clone(),
            path: self.path.clone(),
            root: self.root.clone(),
            version: self.version,
            project: p.project.clone(),
            tools: self.tools.clone(),
            rules: self.rules.clone(),
            stages,
            targets: Vec::new(),
            remote: self.remote.clone(),
            projects: Vec::new(),
            warnings: Vec::new(),
            fan_out: self.fan_out,
            companions: self.companions,
            migration_map: self.migration_map,
            migration_sources: self.migration_sources,
            builtin_files: self.builtin_files,
            crate_name: self.crate_name,
            instance: Some(p.project.name.value.clone()),
        };
        super::add_builtin_files(&mut m);
        m
    }

    /// How a diagnostic names a key of this manifest's project: `project.source`, or in a
    /// project of a workspace `projects.NAME.source`, where the user wrote it.
    pub fn project_key(&self, key: &str) -> String {
        match &self.instance {
            Some(name) => format!("projects.{name}.{key}"),
            None => format!("project.{key}"),
        }
    }

    /// How a diagnostic about a task names its project's key: a task may be shared by
    /// every project of a workspace, and the same problem found in each project must read
    /// the same to be said once.
    pub fn task_project_key(&self, key: &str) -> String {
        match &self.instance {
            Some(_) => format!("the project's `{key}`"),
            None => format!("project.{key}"),
        }
    }

    /// Where a builtin's default file of this manifest goes. In a project of a workspace,
    /// what the projects would otherwise all write (the release in `dist/`, the analysis
    /// and the shape traces under `.batuta/`) goes to a folder of the project's own.
    pub fn scoped(&self, path: &str) -> String {
        scoped(self.instance.as_deref(), path)
    }

    /// The source and output folders of each migration this manifest describes (each
    /// project's, in a workspace), normalised relative to the workspace.
    pub fn folders(&self) -> Vec<(String, String)> {
        let norm = |p: &Sp<String>| normalize("", &p.value).unwrap_or_default();
        if self.projects.is_empty() {
            return vec![(norm(&self.project.source), norm(&self.project.output))];
        }
        self.projects
            .iter()
            .map(|p| (norm(&p.project.source), norm(&p.project.output)))
            .collect()
    }

    /// The projects `name` needs, directly or through others (validation ruled out
    /// cycles), in the order of the manifest.
    pub fn needed_by(&self, name: &str) -> Vec<&str> {
        let mut found: Vec<&str> = Vec::new();
        let mut todo = vec![name];
        while let Some(n) = todo.pop() {
            let Some(p) = self.workspace_project(n) else {
                continue;
            };
            for need in &p.needs {
                if !found.contains(&need.value.as_str()) && need.value != name {
                    found.push(&need.value);
                    todo.push(&need.value);
                }
            }
        }
        self.projects
            .iter()
            .map(|p| p.project.name.value.as_str())
            .filter(|n| found.contains(n))
            .collect()
    }
}

/// The folders of builtins' default files that each project of a workspace has its own of
/// ([`Manifest::scoped`]).
const PER_PROJECT: &[&str] = &["dist/", ".batuta/analysis/", ".batuta/trace/"];

/// [`Manifest::scoped`] for the project named `instance`.
pub(super) fn scoped(instance: Option<&str>, path: &str) -> String {
    let Some(name) = instance else {
        return path.to_owned();
    };
    for shared in PER_PROJECT {
        if let Some(rest) = path.strip_prefix(shared) {
            return format!("{shared}{name}/{rest}");
        }
    }
    path.to_owned()
}

/// What only the workspace can get wrong: `needs` naming no project or forming a cycle,
/// targets naming an unknown project or stage, and sources that overlap.
pub(super) fn validate(m: &Manifest, diags: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = m
        .projects
        .iter()
        .map(|p| p.project.name.value.as_str())
        .collect();
    for p in &m.projects {
        for need in &p.needs {
            if need.value == p.project.name.value {
                diags.push(
                    Diagnostic::new(
                        Code::Cycle,
                        format!("project '{}' needs itself", need.value),
                    )
                    .at(need.span)
                    .label("a project cannot wait for itself")
                    .help("remove it from `needs`"),
                );
            } else if !names.contains(&need.value.as_str()) {
                diags.push(unknown_project(need, &names));
            }
        }
    }
    check_cycles(m, diags);
    for target in &m.targets {
        for stage in &target.stages {
            check_stage_ref(m, stage, &names, diags);
        }
    }
    check_overlaps(m, diags);
}

fn unknown_project(name: &Sp<String>, names: &[&str]) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownName,
        format!("unknown project '{}'", name.value),
    )
    .at(name.span)
    .label("no project of this name");
    match did_you_mean(&name.value, names.iter().copied()) {
        Some(s) => d.help(format!("did you mean '{s}'?")),
        None => d.help(format!("the projects are: {}", names.join(", "))),
    }
}

/// `stage`, `*:stage` or `project:stage`, naming a project that exists and a stage that
/// project (any project, for `*`) has.
fn check_stage_ref(m: &Manifest, text: &Sp<String>, names: &[&str], diags: &mut Vec<Diagnostic>) {
    let (project, stage) = match text.value.split_once(':') {
        Some(("*", s)) => (None, s),
        Some((p, s)) => (Some(p), s),
        None => (None, text.value.as_str()),
    };
    let known: std::collections::BTreeSet<Phase> = match project {
        Some(p) => match m.workspace_project(p) {
            Some(wp) => m.project_phases(wp),
            None => {
                diags.push(unknown_project(&Sp::new(p.to_owned(), text.span), names));
                return;
            }
        },
        None => m
            .projects
            .iter()
            .flat_map(|wp| m.project_phases(wp))
            .collect(),
    };
    if Phase::from_stage_name(stage).is_some_and(|ph| known.contains(&ph)) {
        return;
    }
    let known: Vec<&str> = known.iter().map(|p| p.stage_name()).collect();
    let whose = project.map_or("any project".to_owned(), |p| format!("project '{p}'"));
    let d = Diagnostic::new(
        Code::UnknownName,
        format!("unknown stage '{stage}' of {whose}"),
    )
    .at(text.span)
    .label("no stage of this name");
    diags.push(match did_you_mean(stage, known.iter().copied()) {
        Some(s) => d.help(format!("did you mean '{s}'?")),
        None => d.help(format!(
            "the stages are: {}; name one as `stage` (every project's), `project:stage` or `*:stage`",
            known.join(", ")
        )),
    });
}

/// Report each cycle of `needs` between projects once, at the need that closes it (a
/// project needing itself is reported as such by [`validate`]).
fn check_cycles(m: &Manifest, diags: &mut Vec<Diagnostic>) {
    let index: HashMap<&str, usize> = m
        .projects
        .iter()
        .enumerate()
        .map(|(i, p)| (p.project.name.value.as_str(), i))
        .collect();
    let needs: Vec<Vec<(usize, Span)>> = m
        .projects
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.needs
                .iter()
                .filter_map(|n| Some((*index.get(n.value.as_str())?, n.span)))
                .filter(|(j, _)| *j != i)
                .collect()
        })
        .collect();
    for (cycle, span) in super::validate::cycles(&needs) {
        let names: Vec<&str> = cycle
            .iter()
            .map(|&k| m.projects[k].project.name.value.as_str())
            .collect();
        diags.push(
            Diagnostic::new(
                Code::Cycle,
                format!("projects need each other: {}", names.join(" -> ")),
            )
            .at(span)
            .label("this need closes the cycle")
            .help("a project's stages wait for those of the projects it needs; remove one of these needs"),
        );
    }
}

/// Two projects whose sources are one folder, or one inside the other, both match its
/// files: each file belongs to one project, so the outer one must exclude the inner.
fn check_overlaps(m: &Manifest, diags: &mut Vec<Diagnostic>) {
    let folders: Vec<(usize, String)> = m
        .projects
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, normalize("", &p.project.source.value)?)))
        .collect();
    for (a, outer) in &folders {
        for (b, inner) in &folders {
            if a == b {
                continue;
            }
            let inside =
                outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"));
            // One report for equal folders, from the first of the two.
            if !inside || (inner == outer && b < a) {
                continue;
            }
            let (po, pi) = (&m.projects[*a].project, &m.projects[*b].project);
            let rel = if outer.is_empty() {
                inner.clone()
            } else {
                inner[outer.len()..].trim_start_matches('/').to_owned()
            };
            let excluded = !rel.is_empty()
                && po.exclude.iter().any(|e| {
                    let e = e.value.trim_end_matches('/');
                    let e = e.strip_suffix("/**").unwrap_or(e);
                    e == rel || rel.starts_with(&format!("{e}/"))
                });
            if excluded {
                continue;
            }
            let span: Span = pi.source.span;
            let d = Diagnostic::new(
                Code::Conflict,
                format!(
                    "projects '{}' and '{}' both match the files of '{}'",
                    po.name.value,
                    pi.name.value,
                    if inner.is_empty() { "." } else { inner },
                ),
            )
            .at(span)
            .label("this source is inside another project's");
            diags.push(if rel.is_empty() {
                d.help("each file belongs to one project: give the projects different sources")
            } else {
                d.help(format!(
                    "each file belongs to one project: add `exclude: [\"{rel}/**\"]` to project '{}'",
                    po.name.value
                ))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_refs() {
        let r = StageRef::parse("codec:build").unwrap();
        assert_eq!(r.project.as_deref(), Some("codec"));
        assert_eq!(r.phase, Phase::Build);
        assert_eq!(StageRef::parse("*:validate").unwrap().project, None);
        assert_eq!(StageRef::parse("analyze").unwrap().phase, Phase::Analyze);
        assert!(StageRef::parse("codec:nope").is_none());
    }
}
