//! `projects:`: several migrations in one manifest (MANIFEST.md, "Several projects in one
//! manifest"). Each has its own source, output and excludes, may need other projects, and
//! may replace shared stages by name.

use super::super::diagnostic::{Code, Diagnostic};
use super::super::model::{Project, Sp, WorkspaceProject};
use super::super::yaml::Node;
use super::{Lower, keys};

impl Lower<'_> {
    pub(super) fn projects(&mut self, node: &Node) -> Vec<WorkspaceProject> {
        let mut projects: Vec<WorkspaceProject> = Vec::new();
        for (key, def) in self.named(node, "projects") {
            let what = format!("project '{}'", key.name);
            if !valid_name(&key.name) {
                self.push(
                    Diagnostic::new(
                        Code::WrongType,
                        format!("'{}' is not a project name", key.name),
                    )
                    .at(key.span)
                    .label("letters, digits, '-', '_' and '.' only")
                    .help("a project's name starts its actions' ids (`name/stage/task`) and its targets (`name:stage`)"),
                );
                continue;
            }
            let Some(f) = self.fields(def, &what, &[keys::WORKSPACE_PROJECT]) else {
                continue;
            };
            let default = |v: &str| Sp::new(v.to_owned(), key.span);
            let source = f
                .get("source")
                .and_then(|n| self.string(n, &format!("{what}: source")))
                .unwrap_or_else(|| default(&key.name));
            let output = f
                .get("output")
                .and_then(|n| self.string(n, &format!("{what}: output")))
                .unwrap_or_else(|| default(&format!("rust/{}", key.name)));
            let exclude = f
                .get("exclude")
                .map(|n| self.string_list(n, &format!("{what}: exclude")))
                .unwrap_or_default();
            let needs = f
                .get("needs")
                .map(|n| self.string_list(n, &format!("{what}: needs")))
                .unwrap_or_default();
            let stages = f.get("stages").map(|n| self.stages(n)).unwrap_or_default();
            projects.push(WorkspaceProject {
                project: Project {
                    name: Sp::new(key.name.clone(), key.span),
                    source,
                    output,
                    exclude,
                },
                needs,
                stages,
            });
        }
        projects
    }
}

/// A project's name: what `name/stage/task` and `name:stage` can carry.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
