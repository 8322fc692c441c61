//! From the YAML node tree to the typed model, collecting every structural problem
//! (unknown keys, wrong types, missing keys) instead of stopping at the first.
//!
//! Cross-references (does this rule exist? do these stages form a cycle?) are `validate`'s.

use super::diagnostic::{Code, Diagnostic, Span, did_you_mean};
use super::model::{
    Fallback, Manifest, Phase, Project, Resources, Rule, Sp, Stage, Target, Task, TaskKind, Tool,
};
use super::template::{Template, TemplateErrorKind};
use super::yaml::{Key, Node, NodeKind};

mod projects;
mod remote;
pub use remote::check_url as check_remote_url;

/// The keys each mapping of the manifest may have. The schema test checks that
/// `schemas/batuta.schema.json` declares exactly these.
pub mod keys {
    pub const TOP: &[&str] = &[
        "version", "project", "projects", "tools", "rules", "stages", "targets", "remote",
    ];
    pub const REMOTE: &[&str] = &["cache", "execute", "instance", "upload", "token_env", "tls"];
    pub const REMOTE_TLS: &[&str] = &["ca", "domain"];
    pub const PROJECT: &[&str] = &["name", "source", "output", "exclude"];
    /// A project of `projects:`: its name is its key.
    pub const WORKSPACE_PROJECT: &[&str] = &["source", "output", "exclude", "needs", "stages"];
    pub const TOOL: &[&str] = &["command", "version", "install"];
    pub const RULE: &[&str] = &["tool", "run"];
    pub const TASK: &[&str] = &[
        "run",
        "rule",
        "builtin",
        "kernel",
        "tool",
        "each",
        "out",
        "inputs",
        "outputs",
        "env",
        "cache",
        "local",
        "resources",
        "timeout",
        "with",
        "hand_ported",
        "bridged",
        "fallback",
    ];
    /// A stage has `needs` and `tasks`, or is itself a single task (`builtin: analyze`).
    pub const STAGE_OWN: &[&str] = &["needs", "tasks"];
    pub const RESOURCES: &[&str] = &["gpu"];
    pub const TARGET: &[&str] = &["stages", "keep_going"];
    /// The task keys that say what a task does; a task has exactly one.
    pub const TASK_KIND: &[&str] = &["run", "rule", "builtin", "kernel"];
}

/// The only manifest version this batuta reads.
pub const VERSION: u32 = 1;

pub(super) struct Lower<'s> {
    src: &'s str,
    pub diags: Vec<Diagnostic>,
}

/// A mapping's entries, checked against the keys it may have.
struct Fields<'n> {
    span: Span,
    entries: &'n [(Key, Node)],
}

impl<'n> Fields<'n> {
    fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
    }

    fn key(&self, name: &str) -> Option<&'n Key> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k)
    }
}

impl<'s> Lower<'s> {
    pub fn new(src: &'s str) -> Self {
        Self {
            src,
            diags: Vec::new(),
        }
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn wrong_type(&mut self, node: &Node, expected: &str, what: &str) {
        let help = match (&node.kind, expected) {
            (NodeKind::Str(_), e) if e.starts_with("a list") => {
                Some(format!("write a list, for example [{}]", self.raw(node)))
            }
            (NodeKind::Str(_), "true or false") => {
                Some("write true or false without quotes".to_owned())
            }
            _ => None,
        };
        let d = Diagnostic::new(
            Code::WrongType,
            format!("{what} must be {expected}, not {}", node.type_name()),
        )
        .at(node.span)
        .label(format!("expected {expected}"));
        self.push(match help {
            Some(h) => d.help(h),
            None => d,
        });
    }

    /// The text a scalar was written as (numbers keep their spelling: `0x1F`, `1e3`).
    fn raw(&self, node: &Node) -> &'s str {
        let s = node.span;
        self.src.get(s.offset..s.offset + s.len).unwrap_or("")
    }

    fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&[&str]],
    ) -> Option<Fields<'n>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.wrong_type(node, "a mapping", what);
            return None;
        };
        for (key, _) in entries {
            if !allowed.iter().any(|set| set.contains(&key.name.as_str())) {
                self.unknown_key(key, what, allowed.iter().flat_map(|s| s.iter().copied()));
            }
        }
        Some(Fields {
            span: node.span,
            entries,
        })
    }

    fn unknown_key<'k>(
        &mut self,
        key: &Key,
        what: &str,
        allowed: impl Iterator<Item = &'k str> + Clone,
    ) {
        let d = Diagnostic::new(
            Code::UnknownKey,
            format!("unknown key '{}' in {what}", key.name),
        )
        .at(key.span)
        .label("not a key of this mapping");
        let d = match did_you_mean(&key.name, allowed.clone()) {
            Some(s) => d.help(format!("did you mean '{s}'?")),
            None => d.help(format!(
                "the keys of {what} are: {}",
                allowed.collect::<Vec<_>>().join(", ")
            )),
        };
        self.push(d);
    }

    fn missing(&mut self, span: Span, key: &str, what: &str, help: &str) {
        self.push(
            Diagnostic::new(Code::MissingKey, format!("{what} has no '{key}'"))
                .at(span)
                .label(format!("'{key}' is required here"))
                .help(help.to_owned()),
        );
    }

    /// A string, strictly: `name: 12` is a mistake, not a name.
    fn string(&mut self, node: &Node, what: &str) -> Option<Sp<String>> {
        match &node.kind {
            NodeKind::Str(s) => self.without_nul(node, s, what),
            _ => {
                self.wrong_type(node, "a string", what);
                None
            }
        }
    }

    /// A string that no path, name or argument can hold is refused here: the system
    /// would refuse it later, at a worse moment (a NUL byte ends a C string).
    fn without_nul(&mut self, node: &Node, s: &str, what: &str) -> Option<Sp<String>> {
        if !s.contains('\0') {
            return Some(Sp::new(s.to_owned(), node.span));
        }
        self.push(
            Diagnostic::new(Code::WrongType, format!("{what} holds a NUL byte"))
                .at(node.span)
                .label("a NUL byte (\\0) is in this value")
                .help("no file name, program or argument can hold a NUL byte; remove it"),
        );
        None
    }

    /// A string that must not be empty (a name, a program).
    fn non_empty(&mut self, node: &Node, what: &str, help: &str) -> Option<Sp<String>> {
        let s = self.string(node, what)?;
        if !s.value.trim().is_empty() {
            return Some(s);
        }
        self.push(
            Diagnostic::new(Code::WrongType, format!("{what} is empty"))
                .at(node.span)
                .label("an empty string")
                .help(help.to_owned()),
        );
        None
    }

    /// A command argument: numbers and booleans are taken as written (`[sleep, 1]`).
    fn argument(&mut self, node: &Node, what: &str) -> Option<Sp<String>> {
        match &node.kind {
            NodeKind::Str(s) => self.without_nul(node, s, what),
            NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
                Some(Sp::new(self.raw(node).to_owned(), node.span))
            }
            _ => {
                self.wrong_type(node, "a string", what);
                None
            }
        }
    }

    fn list<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.kind {
            NodeKind::Seq(items) => items,
            _ => {
                self.wrong_type(node, "a list", what);
                &[]
            }
        }
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Vec<Sp<String>> {
        let items = self.list(node, what);
        items
            .iter()
            .filter_map(|n| self.string(n, &format!("an entry of {what}")))
            .collect()
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.kind {
            NodeKind::Bool(b) => Some(b),
            _ => {
                self.wrong_type(node, "true or false", what);
                None
            }
        }
    }

    fn count(&mut self, node: &Node, what: &str) -> Option<u32> {
        match node.kind {
            NodeKind::Int(i) if (0..=i64::from(u32::MAX)).contains(&i) => Some(i as u32),
            NodeKind::Int(i) => {
                self.push(
                    Diagnostic::new(
                        Code::WrongType,
                        format!("{what} must be a whole number, 0 or more, not {i}"),
                    )
                    .at(node.span)
                    .label("out of range"),
                );
                None
            }
            _ => {
                self.wrong_type(node, "a whole number, 0 or more", what);
                None
            }
        }
    }

    fn template(&mut self, node: &Node, text: Sp<String>, what: &str) -> Option<Sp<Template>> {
        match Template::parse(&text.value) {
            Ok(t) => Some(Sp::new(t, text.span)),
            Err(e) => {
                // Point inside the scalar when it is written plainly; else at the whole scalar.
                let raw = self.raw(node);
                let span = match raw.find(&text.value) {
                    Some(at) => Span::new(node.span.offset + at + e.offset, e.len),
                    None => node.span,
                };
                let d = match e.kind {
                    TemplateErrorKind::Unknown(name) => {
                        let names = super::template::Placeholder::ALL.map(|p| p.name());
                        let d = Diagnostic::new(
                            Code::Placeholder,
                            format!("unknown placeholder '{{{name}}}' in {what}"),
                        )
                        .at(span)
                        .label("no such placeholder");
                        match did_you_mean(&name, names) {
                            Some(s) => d.help(format!("did you mean '{{{s}}}'?")),
                            None => d.help(format!(
                                "the placeholders are {}; write '{{{{' for a literal brace",
                                names.map(|n| format!("{{{n}}}")).join(", ")
                            )),
                        }
                    }
                    TemplateErrorKind::Unclosed => {
                        Diagnostic::new(Code::Placeholder, format!("unclosed '{{' in {what}"))
                            .at(span)
                            .label("this '{' is never closed")
                            .help("close the placeholder, or write '{{' for a literal brace")
                    }
                };
                self.push(d);
                None
            }
        }
    }

    fn command(&mut self, node: &Node, what: &str) -> Option<Vec<Sp<Template>>> {
        if let NodeKind::Str(s) = &node.kind {
            let words: Vec<&str> = s.split_whitespace().collect();
            self.push(
                Diagnostic::new(
                    Code::WrongType,
                    format!("{what} must be a list of arguments, not a string"),
                )
                .at(node.span)
                .label("expected a list")
                .help(format!(
                    "write [{}]; batuta never runs a command through a shell unless the list \
                     says so, as in [sh, -c, \"...\"]",
                    words.join(", ")
                )),
            );
            return None;
        }
        let items = self.list(node, what);
        if items.is_empty() && matches!(node.kind, NodeKind::Seq(_)) {
            self.push(
                Diagnostic::new(Code::WrongType, format!("{what} is empty"))
                    .at(node.span)
                    .label("the program to run goes here")
                    .help(
                        "write the program and its arguments, for example [\"{tool}\", \"{in}\"]",
                    ),
            );
            return None;
        }
        let mut ok = true;
        let mut args = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(arg) = self.argument(item, &format!("an argument of {what}")) else {
                ok = false;
                continue;
            };
            if i == 0 && arg.value.is_empty() {
                self.push(
                    Diagnostic::new(Code::WrongType, format!("{what}: the program is empty"))
                        .at(item.span)
                        .label("the program to run goes here")
                        .help("the first argument names the program, for example \"{tool}\" or \"python3\""),
                );
                ok = false;
                continue;
            }
            match self.template(item, arg, what) {
                Some(t) => args.push(t),
                None => ok = false,
            }
        }
        ok.then_some(args)
    }

    pub fn manifest(
        &mut self,
        root: &Node,
        path: std::path::PathBuf,
        source: super::diagnostic::Source,
    ) -> Option<Manifest> {
        if matches!(root.kind, NodeKind::Null) {
            self.push(
                Diagnostic::new(Code::Unreadable, "the manifest is empty")
                    .help("start with `version: 1`, a `project:` with a name, and `stages:`; `batuta.yaml.example` shows every key"),
            );
            return None;
        }
        let top = self.fields(root, "the manifest", &[keys::TOP])?;
        // Where the top mapping starts (byte 0 is often a comment).
        let top_start = Span::new(top.span.offset, 0);
        let version = match top.get("version") {
            Some(n) => self.version(n),
            None => {
                self.missing(
                    top_start,
                    "version",
                    "the manifest",
                    "add `version: 1` at the top",
                );
                None
            }
        };
        let projects = top
            .get("projects")
            .map(|n| self.projects(n))
            .unwrap_or_default();
        let project = match (top.get("project"), top.get("projects")) {
            (Some(n), None) => self.project(n),
            (Some(n), Some(_)) => {
                self.push(
                    Diagnostic::new(
                        Code::Conflict,
                        "the manifest has both `project:` and `projects:`",
                    )
                    .at(n.span)
                    .label("one migration")
                    .help(
                        "`project:` describes one migration, `projects:` several; keep one of them",
                    ),
                );
                None
            }
            // A workspace: its own project stands for the whole, named after its folder.
            (None, Some(n)) => Some(Project {
                name: Sp::new(workspace_name(&path), n.span),
                source: Sp::new(".".to_owned(), n.span),
                output: Sp::new("rust".to_owned(), n.span),
                exclude: Vec::new(),
            }),
            (None, None) => {
                self.missing(
                    top_start,
                    "project",
                    "the manifest",
                    "add `project: { name: my-migration }` (or `projects:` for several)",
                );
                None
            }
        };
        let tools = top.get("tools").map(|n| self.tools(n)).unwrap_or_default();
        let rules = top.get("rules").map(|n| self.rules(n)).unwrap_or_default();
        let stages = match top.get("stages") {
            Some(n) => self.stages(n),
            None => {
                self.missing(
                    top_start,
                    "stages",
                    "the manifest",
                    "add `stages:` with at least one of analyze, transpile, optimize, validate, build",
                );
                Vec::new()
            }
        };
        let targets = top
            .get("targets")
            .map(|n| self.targets(n))
            .unwrap_or_default();
        let remote = top.get("remote").and_then(|n| self.remote(n));
        let root_dir = super::workspace_of(&path);
        // A missing or broken version or project is already reported; stand-ins let
        // `validate` still check the rest. The load fails on the reported problems.
        let project = project.unwrap_or_else(|| Project {
            name: Sp::new(String::new(), top_start),
            source: Sp::new(".".to_owned(), top_start),
            output: Sp::new("rust".to_owned(), top_start),
            exclude: Vec::new(),
        });
        Some(Manifest {
            source,
            path,
            root: root_dir,
            version: version.unwrap_or(VERSION),
            project,
            tools,
            rules,
            stages,
            targets,
            remote,
            projects,
            warnings: Vec::new(),
            fan_out: &[],
            companions: &[],
            migration_map: &[],
            migration_sources: &[],
            builtin_files: &[],
            crate_name: None,
            instance: None,
        })
    }

    fn version(&mut self, node: &Node) -> Option<u32> {
        match node.kind {
            NodeKind::Int(v) if v == i64::from(VERSION) => Some(VERSION),
            NodeKind::Int(v) => {
                self.push(
                    Diagnostic::new(Code::Version, format!("unsupported manifest version {v}"))
                        .at(node.span)
                        .label(format!("this batuta reads version {VERSION}"))
                        .help(format!(
                            "write `version: {VERSION}`, or use a batuta that reads version {v}"
                        )),
                );
                None
            }
            NodeKind::Str(ref s) if s.trim() == VERSION.to_string() => {
                self.push(
                    Diagnostic::new(
                        Code::WrongType,
                        "version must be the number 1, not a string",
                    )
                    .at(node.span)
                    .label("a string, because of the quotes")
                    .help(format!("write `version: {VERSION}` without quotes")),
                );
                None
            }
            _ => {
                self.wrong_type(node, "the number 1", "version");
                None
            }
        }
    }

    fn project(&mut self, node: &Node) -> Option<Project> {
        let f = self.fields(node, "project", &[keys::PROJECT])?;
        let name = match f.get("name") {
            Some(n) => self.non_empty(
                n,
                "project.name",
                "name the migration: `name: my-migration`",
            ),
            None => {
                self.missing(f.span, "name", "project", "add `name: my-migration`");
                None
            }
        };
        let default = |v: &str| Sp::new(v.to_owned(), f.span);
        let source = match f.get("source") {
            Some(n) => self.string(n, "project.source"),
            None => Some(default(".")),
        };
        let output = match f.get("output") {
            Some(n) => self.string(n, "project.output"),
            None => Some(default("rust")),
        };
        let exclude = f
            .get("exclude")
            .map(|n| self.string_list(n, "project.exclude"))
            .unwrap_or_default();
        // Broken fields are reported; defaults stand in so the rest is still checked.
        Some(Project {
            name: name.unwrap_or_else(|| default("")),
            source: source.unwrap_or_else(|| default(".")),
            output: output.unwrap_or_else(|| default("rust")),
            exclude,
        })
    }

    /// The entries of a `name: definition` mapping (tools, rules, stages, tasks, targets).
    fn named<'n>(&mut self, node: &'n Node, what: &str) -> &'n [(Key, Node)] {
        match &node.kind {
            NodeKind::Map(entries) => entries,
            NodeKind::Null => &[],
            _ => {
                self.wrong_type(node, "a mapping of names to definitions", what);
                &[]
            }
        }
    }

    fn tools(&mut self, node: &Node) -> Vec<Tool> {
        let mut tools = Vec::new();
        for (key, def) in self.named(node, "tools") {
            let what = format!("tool '{}'", key.name);
            let name = Sp::new(key.name.clone(), key.span);
            // A broken tool is still a tool: rules and tasks naming it are not told it does
            // not exist. The load fails on its own error.
            let Some(f) = self.fields(def, &what, &[keys::TOOL]) else {
                tools.push(Tool {
                    command: name.clone(),
                    name,
                    version: Vec::new(),
                    install: None,
                    sidecars: Vec::new(),
                });
                continue;
            };
            let command = match f.get("command") {
                Some(n) => self.non_empty(
                    n,
                    &format!("{what}: command"),
                    "name the program, found on PATH (`depyler`) or by its path",
                ),
                None => Some(Sp::new(key.name.clone(), key.span)),
            };
            let version = match f.get("version") {
                Some(n) => {
                    let items = self.list(n, &format!("{what}: version"));
                    items
                        .iter()
                        .filter_map(|i| self.argument(i, &format!("{what}: version")))
                        .map(|s| s.value)
                        .collect()
                }
                None => vec!["--version".to_owned()],
            };
            let install = f
                .get("install")
                .and_then(|n| self.string(n, &format!("{what}: install")))
                .map(|s| s.value);
            tools.push(Tool {
                command: command.unwrap_or_else(|| name.clone()),
                name,
                version,
                install,
                sidecars: Vec::new(),
            });
        }
        tools
    }

    fn rules(&mut self, node: &Node) -> Vec<Rule> {
        let mut rules = Vec::new();
        for (key, def) in self.named(node, "rules") {
            let what = format!("rule '{}'", key.name);
            let Some(f) = self.fields(def, &what, &[keys::RULE]) else {
                rules.push(Rule {
                    name: Sp::new(key.name.clone(), key.span),
                    tool: None,
                    run: Vec::new(),
                    gate: Vec::new(),
                    prelude: None,
                });
                continue;
            };
            let tool = f
                .get("tool")
                .and_then(|n| self.string(n, &format!("{what}: tool")));
            let run = match f.get("run") {
                Some(n) => self.command(n, &format!("{what}: run")),
                None => {
                    self.missing(
                        f.span,
                        "run",
                        &what,
                        "add `run: [\"{tool}\", \"{in}\", \"-o\", \"{out}\"]`",
                    );
                    None
                }
            };
            // A rule whose command is broken is still a rule: its tool is checked, and tasks
            // that use it are not told it does not exist. The load fails on its own error.
            rules.push(Rule {
                name: Sp::new(key.name.clone(), key.span),
                tool,
                run: run.unwrap_or_default(),
                gate: Vec::new(),
                prelude: None,
            });
        }
        rules
    }

    fn stages(&mut self, node: &Node) -> Vec<Stage> {
        let mut stages: Vec<Stage> = Vec::new();
        for (key, def) in self.named(node, "stages") {
            let Some(phase) = Phase::from_stage_name(&key.name) else {
                let names = Phase::ALL.map(Phase::stage_name);
                let d = Diagnostic::new(Code::UnknownName, format!("unknown stage '{}'", key.name))
                    .at(key.span)
                    .label("not one of the five phases");
                self.push(match did_you_mean(&key.name, names) {
                    Some(s) => d.help(format!("did you mean '{s}'?")),
                    None => d.help(format!(
                        "the stages are the five phases: {}",
                        names.join(", ")
                    )),
                });
                continue;
            };
            let what = format!("stage '{}'", key.name);
            let Some(f) = self.fields(def, &what, &[keys::STAGE_OWN, keys::TASK]) else {
                // Still a stage, so `needs` and targets naming it are not told it is unknown.
                stages.push(Stage {
                    phase,
                    key_span: key.span,
                    needs: Vec::new(),
                    tasks: Vec::new(),
                });
                continue;
            };
            let needs = f
                .get("needs")
                .map(|n| self.string_list(n, &format!("{what}: needs")))
                .unwrap_or_default();
            let inline = f
                .entries
                .iter()
                .any(|(k, _)| keys::TASK.contains(&k.name.as_str()));
            let mut tasks = Vec::new();
            match (f.get("tasks"), inline) {
                (Some(_), true) => {
                    let k = f
                        .entries
                        .iter()
                        .find(|(k, _)| keys::TASK.contains(&k.name.as_str()))
                        .map(|(k, _)| k)
                        .expect("inline is true");
                    self.push(
                        Diagnostic::new(
                            Code::Conflict,
                            format!("{what} has both 'tasks' and the task key '{}'", k.name),
                        )
                        .at(k.span)
                        .label("a task key directly in the stage")
                        .help("a stage is either one task written inline (`builtin: analyze`) or a `tasks:` mapping; move this key into a task"),
                    );
                }
                (Some(t), false) => {
                    for (tkey, tdef) in self.named(t, &format!("{what}: tasks")) {
                        let name = Sp::new(tkey.name.clone(), tkey.span);
                        let twhat = format!("task '{}.{}'", key.name, tkey.name);
                        if let Some(tf) = self.fields(tdef, &twhat, &[keys::TASK])
                            && let Some(task) = self.task(&tf, name, phase, &twhat)
                        {
                            tasks.push(task);
                        }
                    }
                }
                (None, true) => {
                    let name = Sp::new(key.name.clone(), key.span);
                    if let Some(task) = self.task(&f, name, phase, &what) {
                        tasks.push(task);
                    }
                }
                (None, false) => {}
            }
            stages.push(Stage {
                phase,
                key_span: key.span,
                needs,
                tasks,
            });
        }
        stages.sort_by_key(|s| s.phase);
        stages
    }

    fn task(&mut self, f: &Fields<'_>, name: Sp<String>, phase: Phase, what: &str) -> Option<Task> {
        let kinds: Vec<&Key> = keys::TASK_KIND.iter().filter_map(|k| f.key(k)).collect();
        if kinds.len() > 1 {
            self.push(
                Diagnostic::new(
                    Code::Conflict,
                    format!(
                        "{what} has both '{}' and '{}'",
                        kinds[0].name, kinds[1].name
                    ),
                )
                .at(kinds[1].span)
                .label("second way of saying what the task does")
                .help("a task has exactly one of run, rule, builtin or kernel"),
            );
            return None;
        }
        let Some(kind_key) = kinds.first() else {
            self.push(
                Diagnostic::new(
                    Code::MissingKey,
                    format!("{what} has none of 'run', 'rule', 'builtin' or 'kernel'"),
                )
                .at(f.span)
                .label("what this task does is missing here")
                .help("a task says what it does with exactly one of run (a command), rule, builtin or kernel"),
            );
            return None;
        };
        let kind_node = f.get(&kind_key.name).expect("key was found");
        // Every field is read even when an earlier one is wrong, so all problems surface.
        let kind = match kind_key.name.as_str() {
            "run" => self
                .command(kind_node, &format!("{what}: run"))
                .map(TaskKind::Run),
            "rule" => self
                .string(kind_node, &format!("{what}: rule"))
                .map(TaskKind::Rule),
            "builtin" => self
                .string(kind_node, &format!("{what}: builtin"))
                .map(TaskKind::Builtin),
            _ => self
                .string(kind_node, &format!("{what}: kernel"))
                .map(TaskKind::Kernel),
        };
        let tool = f
            .get("tool")
            .and_then(|n| self.string(n, &format!("{what}: tool")));
        // A broken `each` or `out` is reported here; it still counts as present, so
        // `validate` does not add "the task has no 'each'" on top.
        let each = f.get("each").map(|n| {
            self.glob(n, &format!("{what}: each"))
                .unwrap_or_else(|| Sp::new(String::new(), n.span))
        });
        let out = f.get("out").map(|n| {
            self.string(n, &format!("{what}: out"))
                .and_then(|s| self.template(n, s, &format!("{what}: out")))
                .unwrap_or_else(|| Sp::new(Template::parse("").expect("empty template"), n.span))
        });
        let list = |this: &mut Self, key: &str| {
            f.get(key)
                .map(|n| this.string_list(n, &format!("{what}: {key}")))
                .unwrap_or_default()
        };
        let inputs = list(self, "inputs");
        let outputs = list(self, "outputs");
        let env = list(self, "env");
        let hand_ported = list(self, "hand_ported");
        let bridged = list(self, "bridged");
        let fallback = f.get("fallback").and_then(|n| {
            let s = self.string(n, &format!("{what}: fallback"))?;
            match s.value.as_str() {
                "bridge" => Some(Sp::new(Fallback::Bridge, s.span)),
                other => {
                    self.push(
                        Diagnostic::new(
                            Code::UnknownName,
                            format!("{what}: unknown fallback '{other}'"),
                        )
                        .at(s.span)
                        .label("not a fallback")
                        .help("`fallback: bridge` links a file's original code into the program when its generated module fails"),
                    );
                    None
                }
            }
        });
        for name in &env {
            let valid =
                name.value.chars().enumerate().all(|(i, c)| {
                    c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                });
            if !valid || name.value.is_empty() {
                self.push(
                    Diagnostic::new(
                        Code::WrongType,
                        format!("'{}' is not an environment variable name", name.value),
                    )
                    .at(name.span)
                    .label("expected a name like RUST_LOG")
                    .help("`env` lists the names of variables to pass through; their values come from batuta's environment"),
                );
            }
        }
        let cache = f
            .get("cache")
            .and_then(|n| self.bool(n, &format!("{what}: cache")))
            .unwrap_or(true);
        let local = f
            .get("local")
            .and_then(|n| self.bool(n, &format!("{what}: local")))
            .unwrap_or(false);
        let timeout = f.get("timeout").and_then(|n| {
            let seconds = self.count(n, &format!("{what}: timeout"))?;
            if seconds == 0 {
                self.push(
                    Diagnostic::new(Code::WrongType, format!("{what}: timeout must be 1 second or more"))
                        .at(n.span)
                        .label("a timeout of 0 would kill every run")
                        .help("give the most seconds a run may take, or remove `timeout` to let it run as long as it needs"),
                );
                return None;
            }
            if matches!(kind, Some(TaskKind::Builtin(_) | TaskKind::Kernel(_))) {
                self.push(
                    Diagnostic::new(Code::Conflict, format!("{what}: `timeout` is for commands"))
                        .at(n.span)
                        .label("a builtin or kernel runs inside batuta, which cannot kill it")
                        .help("a builtin that runs programs takes its own, as `with: { timeout: SECONDS }`"),
                );
                return None;
            }
            Some(std::time::Duration::from_secs(u64::from(seconds)))
        });
        let resources = match f.get("resources") {
            Some(n) => {
                let rwhat = format!("{what}: resources");
                match self.fields(n, &rwhat, &[keys::RESOURCES]) {
                    Some(rf) => Resources {
                        gpu: rf
                            .get("gpu")
                            .and_then(|g| self.count(g, &format!("{rwhat}.gpu")))
                            .unwrap_or(0),
                    },
                    None => Resources::default(),
                }
            }
            None => Resources::default(),
        };
        let with = match f.get("with") {
            Some(n) if !matches!(n.kind, NodeKind::Map(_)) => {
                self.wrong_type(n, "a mapping", &format!("{what}: with"));
                None
            }
            other => other.cloned(),
        };
        Some(Task {
            name,
            phase,
            kind: kind?,
            tool,
            each,
            out,
            inputs,
            outputs,
            catalog_outputs: Vec::new(),
            env,
            cache,
            local,
            resources,
            timeout,
            with,
            hand_ported,
            bridged,
            fallback,
        })
    }

    fn glob(&mut self, node: &Node, what: &str) -> Option<Sp<String>> {
        let s = self.string(node, what)?;
        match globset::GlobBuilder::new(&s.value)
            .literal_separator(true)
            .build()
        {
            Ok(_) => Some(s),
            Err(e) => {
                self.push(
                    Diagnostic::new(Code::Syntax, format!("invalid glob in {what}: {}", e.kind()))
                        .at(node.span)
                        .label("this pattern")
                        .help("globs are relative to project.source: `*.py` matches the top folder, `**/*.py` every folder"),
                );
                None
            }
        }
    }

    fn targets(&mut self, node: &Node) -> Vec<Target> {
        let mut targets = Vec::new();
        for (key, def) in self.named(node, "targets") {
            let what = format!("target '{}'", key.name);
            let name = Sp::new(key.name.clone(), key.span);
            match &def.kind {
                NodeKind::Seq(_) => targets.push(Target {
                    name,
                    stages: self.string_list(def, &what),
                    keep_going: false,
                }),
                NodeKind::Map(_) => {
                    let Some(f) = self.fields(def, &what, &[keys::TARGET]) else {
                        continue;
                    };
                    let stages = match f.get("stages") {
                        Some(n) => self.string_list(n, &format!("{what}: stages")),
                        None => {
                            self.missing(f.span, "stages", &what, "add `stages: [build]`");
                            continue;
                        }
                    };
                    let keep_going = f
                        .get("keep_going")
                        .and_then(|n| self.bool(n, &format!("{what}: keep_going")))
                        .unwrap_or(false);
                    targets.push(Target {
                        name,
                        stages,
                        keep_going,
                    });
                }
                _ => self.wrong_type(def, "a list of stages or { stages, keep_going }", &what),
            }
        }
        targets
    }
}

/// The name of a workspace manifest's folder, for the project that stands for the whole.
fn workspace_name(path: &std::path::Path) -> String {
    let dir = super::workspace_of(path);
    std::fs::canonicalize(&dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "workspace".to_owned())
}
