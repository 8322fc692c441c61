//! What builtins and templates add to a task's plain expansion: file-by-file fan-out,
//! companion actions, a tool's sidecar files, modules ported by hand, and the migration plan.

use super::*;

impl<'m> Expander<'m> {
    /// Declares the sidecars of the action just pushed: each becomes one of its outputs.
    pub(super) fn add_sidecars(
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

    /// The prelude of `input` for a built-in rule that has one
    /// ([`crate::manifest::BuiltinTemplate::prelude`]): an action of `builtin` that writes
    /// it from the source and the project's flags, which are the task's `with` or the
    /// compilation database (`compile_commands.json`, as bear and CMake write it) in the
    /// project's source folder or the workspace. Without flags the tool reads the source.
    pub(super) fn prelude(
        &mut self,
        task: &Task,
        builtin: &str,
        input: &str,
        rel: &str,
    ) -> Option<String> {
        // The one the task names among its inputs, else one beside the sources or at the top.
        let named = task
            .inputs
            .iter()
            .filter_map(|i| normalize("", &i.value))
            .find(|i| i.rsplit('/').next() == Some("compile_commands.json"));
        let database = named
            .into_iter()
            .chain([
                join(&self.source, "compile_commands.json"),
                "compile_commands.json".to_owned(),
            ])
            .find(|p| {
                let abs = self.abs(p);
                crate::graph::walk::probed(&abs);
                abs.is_file()
            });
        if task.with.is_none() && database.is_none() {
            return None;
        }
        let out = format!(".batuta/transpile/prelude/{input}");
        self.actions.push(helper_action(
            task,
            format!("{}/{}#prelude:{rel}", task.phase, task.name),
            builtin,
            task.with.as_ref().map(crate::manifest::Node::to_json),
            std::iter::once(input.to_owned()).chain(database).collect(),
            vec![out.clone()],
        ));
        Some(out)
    }

    /// The catalog's companion ([`crate::manifest::Companion`]) of the builtin `builtin`, which the action just pushed for
    /// `task` reads; the companion's action itself is added with the first such task.
    pub(super) fn companion(&mut self, task: &Task, builtin: &str) {
        let Some(c) = self.m.companions.iter().find(|c| c.builtin == builtin) else {
            return;
        };
        let outputs: Vec<String> = c.outputs.iter().map(|o| (*o).to_owned()).collect();
        let a = self.actions.last_mut().expect("just pushed");
        a.inputs.splice(0..0, outputs.iter().cloned());
        if !self.companions.insert(c.adds) {
            return;
        }
        // Whatever the task says: the companion's result is what makes it worth having.
        self.actions.push(helper_action(
            task,
            format!("{}/{}#{}", task.phase, task.name, c.adds),
            c.adds,
            None,
            Vec::new(),
            outputs,
        ));
    }

    /// One `per_file` action per source file that can be read, then the aggregate, which
    /// reads their outputs and learns of the others through `with.skipped` ([`FanOut`]).
    pub(super) fn fan_out(&mut self, task: &'m Task, fo: &FanOut) {
        let files = std::mem::take(&mut self.files);
        let mut per_file = Vec::with_capacity(files.len());
        let mut skipped = Vec::new();
        for file in &files {
            let input = join(&self.source, &file.rel);
            if let Some(reason) = self.unreadable(file, &input) {
                skipped.push(serde_json::json!({ "path": file.rel, "reason": reason }));
                continue;
            }
            let out = self
                .m
                .scoped(&format!("{}/files/{}.json", fo.dir, file.rel));
            self.actions.push(Action {
                env: task.env.iter().map(|e| e.value.clone()).collect(),
                cache: task.cache,
                ..helper_action(
                    task,
                    format!("{}/{}:{}", task.phase, task.name, file.rel),
                    fo.per_file,
                    None,
                    vec![input],
                    vec![out.clone()],
                )
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
        a.outputs.splice(
            0..0,
            fo.outputs
                .iter()
                .map(|o| self.m.scoped(&format!("{}/{o}", fo.dir))),
        );
    }

    /// A file ported by hand gets no action; its module must be there, or the crate would
    /// silently lose it.
    pub(super) fn hand_port(
        &mut self,
        task: &Task,
        rel: &str,
        source: String,
        module: Option<String>,
    ) {
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
        self.hand_ported.push(crate::graph::HandPort {
            task: format!("{}/{}", task.phase, task.name),
            source,
            module,
        });
    }

    /// The builtins of `Catalog::migration_map` get the plan in their `with` (so a change
    /// of plan reruns them), and read the sources of the files that may be bridged.
    pub(super) fn tell_the_plan(&mut self) {
        if self.m.migration_map.is_empty() {
            return;
        }
        let plan = serde_json::to_value(&self.plan).expect("the plan is plain data");
        let bridged: Vec<String> = self
            .plan
            .iter()
            .filter(|p| matches!(p.how, How::Bridged | How::GeneratedOrBridged))
            .map(|p| p.source.clone())
            .collect();
        // What a builtin of `migration_sources` reads besides: the sources of the files
        // ported, generated or by hand (the Python extension reads their functions).
        let ported: Vec<String> = self
            .plan
            .iter()
            .filter(|p| matches!(p.how, How::Generated | How::HandPorted))
            .map(|p| p.source.clone())
            .collect();
        for a in &mut self.actions {
            let ActionKind::Builtin { name, with } = &mut a.kind else {
                continue;
            };
            if !self.m.migration_map.contains(&name.as_str()) {
                continue;
            }
            if self.m.migration_sources.contains(&name.as_str()) {
                for src in &ported {
                    if !a.inputs.contains(src) {
                        a.inputs.push(src.clone());
                    }
                }
            }
            let mut map = match with.take() {
                Some(serde_json::Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            map.insert(crate::manifest::MIGRATION_KEY.to_owned(), plan.clone());
            *with = Some(serde_json::Value::Object(map));
            for src in &bridged {
                if !a.inputs.contains(src) {
                    a.inputs.push(src.clone());
                }
            }
        }
    }

    /// Every `hand_ported` and `bridged` entry must be one of the files the task's `each`
    /// matches.
    pub(super) fn unmatched_hand_ports(&mut self, task: &Task, matches: &[walk::SourceFile]) {
        let listed = task
            .hand_ported
            .iter()
            .map(|h| (h, "hand_ported"))
            .chain(task.bridged.iter().map(|b| (b, "bridged")));
        for (h, key) in listed {
            if matches.iter().any(|f| f.rel == h.value) {
                continue;
            }
            let mut d = Diagnostic::new(
                Code::UnknownName,
                format!(
                    "{key} names '{}', which `each` of task '{}.{}' does not match",
                    h.value, task.phase, task.name
                ),
            )
            .at(h.span)
            .label("not one of the task's files");
            let source = self.m.task_project_key("source");
            d = match did_you_mean(&h.value, matches.iter().map(|f| f.rel.as_str())) {
                Some(s) => d.help(format!(
                    "did you mean '{s}'? (paths are relative to {source}, like `each`)"
                )),
                None => d.help(format!("paths are relative to {source}, like `each`")),
            };
            self.diags.push(d);
        }
    }
}

/// An action of a builtin that a task brings along (a companion, a prelude, a fan-out's
/// per-file work): run here, cached, with no environment of its own.
fn helper_action(
    task: &Task,
    id: String,
    builtin: &str,
    with: Option<serde_json::Value>,
    inputs: Vec<String>,
    outputs: Vec<String>,
) -> Action {
    Action {
        id,
        phase: task.phase,
        task: task.name.value.clone(),
        kind: ActionKind::Builtin {
            name: builtin.to_owned(),
            with,
        },
        inputs,
        matched: Vec::new(),
        outputs,
        env: Vec::new(),
        cache: true,
        local: true,
        gpu: 0,
        timeout: None,
        sidecars: Vec::new(),
        span: task.name.span,
        scope: None,
    }
}

/// The catalog's fan-out for a task that names a file-by-file builtin.
pub(super) fn fan_out_of(m: &Manifest, t: &Task) -> Option<&'static FanOut> {
    match &t.kind {
        TaskKind::Builtin(name) => m.fan_out.iter().find(|f| f.builtin == name.value),
        _ => None,
    }
}
