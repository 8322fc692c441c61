//! Checks across the whole typed manifest: every name refers to something defined,
//! placeholders have values where they are used, stages form no cycle, and no path
//! leaves the workspace. Pure: it reads no files (graph expansion checks symlinks).

use std::path::Path;

use super::Catalog;
use super::command::{Script, places, script_of};
use super::diagnostic::{Code, Diagnostic, Span, did_you_mean};
use super::model::{Manifest, Phase, Sp, Task, TaskKind};
use super::template::{Placeholder, Template};
use super::yaml::{Node, NodeKind};

pub(super) fn validate(m: &Manifest, catalog: &Catalog, diags: &mut Vec<Diagnostic>) {
    for rule in &m.rules {
        if let Some(tool) = &rule.tool {
            check_tool(m, tool, diags);
        }
        for arg in &rule.run {
            for p in arg.value.placeholders() {
                if p == Placeholder::Tool && rule.tool.is_none() {
                    diags.push(
                        Diagnostic::new(
                            Code::Placeholder,
                            format!("rule '{}' uses {{tool}} but names no tool", rule.name),
                        )
                        .at(arg.span)
                        .label("{tool} has no value")
                        .help("add `tool: NAME` to the rule, naming one of `tools:`"),
                    );
                }
            }
        }
    }
    for stage in &m.stages {
        for need in &stage.needs {
            check_stage_name(m, need, "needs", diags);
        }
        for task in &stage.tasks {
            check_task(m, catalog, task, diags);
        }
    }
    check_stage_cycles(m, diags);
    for target in &m.targets {
        for stage in &target.stages {
            check_stage_name(m, stage, &format!("target '{}'", target.name), diags);
        }
    }
    check_path(&m.project.source, &m.project_key("source"), diags);
    check_path(&m.project.output, &m.project_key("output"), diags);
}

fn unknown_name(kind: &str, name: &Sp<String>, known: &[&str], where_: &str) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownName,
        format!("unknown {kind} '{}'", name.value),
    )
    .at(name.span)
    .label(format!("no {kind} of this name"));
    match did_you_mean(&name.value, known.iter().copied()) {
        Some(s) => d.help(format!("did you mean '{s}'?")),
        None if known.is_empty() => d.help(format!("{where_} defines no {kind}s")),
        None => d.help(format!("the {kind}s are: {}", known.join(", "))),
    }
}

/// Asks the rule whether it understands the task's `with:`, and points at what it does not.
fn check_with(
    catalog: &Catalog,
    kind: &str,
    name: &Sp<String>,
    task: &Task,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(check) = catalog.check_with else {
        return;
    };
    let with = task
        .with
        .as_ref()
        .map_or(serde_json::Value::Null, Node::to_json);
    let Err(p) = check(kind, &name.value, &with) else {
        return;
    };
    let entry = match (&task.with, &p.key) {
        (
            Some(Node {
                kind: NodeKind::Map(entries),
                ..
            }),
            Some(key),
        ) => entries.iter().find(|(k, _)| k.name == *key),
        _ => None,
    };
    let span = match entry {
        Some((k, _)) if p.unknown => k.span,
        Some((_, v)) => v.span,
        None => task.with.as_ref().map_or(name.span, |w| w.span),
    };
    let code = if p.unknown {
        Code::UnknownKey
    } else {
        Code::WrongType
    };
    let label = if p.unknown {
        format!("not an option of {kind} '{}'", name.value)
    } else {
        format!("{kind} '{}' cannot use this", name.value)
    };
    let d = Diagnostic::new(code, format!("{what}: {}", p.message))
        .at(span)
        .label(label);
    let suggestion = p
        .key
        .as_deref()
        .filter(|_| p.unknown)
        .and_then(|k| did_you_mean(k, p.known.iter().map(String::as_str)));
    let d = match suggestion {
        Some(s) => d.help(format!("did you mean '{s}'?")),
        None if !p.known.is_empty() => d.help(format!("the options are: {}", p.known.join(", "))),
        None => d,
    };
    diags.push(d);
}

fn check_tool(m: &Manifest, tool: &Sp<String>, diags: &mut Vec<Diagnostic>) {
    if m.tool(&tool.value).is_none() {
        let known: Vec<&str> = m.tools.iter().map(|t| t.name.value.as_str()).collect();
        diags.push(unknown_name("tool", tool, &known, "`tools:`"));
    }
}

fn check_stage_name(m: &Manifest, name: &Sp<String>, in_: &str, diags: &mut Vec<Diagnostic>) {
    let defined = Phase::from_stage_name(&name.value).is_some_and(|p| m.stage(p).is_some());
    if !defined {
        let known: Vec<&str> = m.stages.iter().map(|s| s.phase.stage_name()).collect();
        let mut d = unknown_name("stage", name, &known, "`stages:`");
        d.message = format!("{in_} names unknown stage '{}'", name.value);
        diags.push(d);
    }
}

fn check_task(m: &Manifest, catalog: &Catalog, task: &Task, diags: &mut Vec<Diagnostic>) {
    let what = format!("task '{}.{}'", task.phase, task.name);
    // The command template and the tool that gives `{tool}` its value.
    let (run, tool): (&[Sp<Template>], Option<&Sp<String>>) = match &task.kind {
        TaskKind::Run(run) => (run, task.tool.as_ref()),
        TaskKind::Rule(name) => match m.rule(&name.value) {
            Some(rule) => (&rule.run, rule.tool.as_ref()),
            None => {
                let known: Vec<&str> = m
                    .rules
                    .iter()
                    .map(|r| r.name.value.as_str())
                    .chain(catalog.templates.iter().map(|t| t.name))
                    .collect();
                diags.push(unknown_name("rule", name, &known, "`rules:`"));
                (&[], None)
            }
        },
        TaskKind::Builtin(name) => {
            if !catalog.builtins.contains(&name.value.as_str()) {
                diags.push(unknown_name("builtin", name, catalog.builtins, "batuta"));
            } else {
                check_with(catalog, "builtin", name, task, &what, diags);
            }
            (&[], None)
        }
        TaskKind::Kernel(name) => {
            if !catalog.kernels.contains(&name.value.as_str()) {
                diags.push(unknown_name("kernel", name, catalog.kernels, "batuta"));
            } else {
                check_with(catalog, "kernel", name, task, &what, diags);
            }
            (&[], None)
        }
    };
    if let Some(t) = &task.tool {
        check_tool(m, t, diags);
        if !matches!(task.kind, TaskKind::Run(_)) {
            diags.push(conflict(
                t.span,
                format!("{what}: 'tool' only applies to run tasks"),
                "a rule names its own tool; builtins and kernels need none",
            ));
        }
    }
    let is_command = matches!(task.kind, TaskKind::Run(_) | TaskKind::Rule(_));
    if let (Some(each), false) = (&task.each, is_command) {
        diags.push(conflict(
            each.span,
            format!("{what}: 'each' only applies to run and rule tasks"),
            "a builtin or kernel task is one action; it reads `inputs`",
        ));
    }
    // A built-in rule with a prelude takes the flags the project is compiled with.
    let prelude = match &task.kind {
        TaskKind::Rule(name) => m
            .rule(&name.value)
            .and_then(|r| r.prelude.as_ref())
            .map(|p| Sp::new(p.clone(), name.span)),
        _ => None,
    };
    match (&task.with, is_command, &prelude) {
        (Some(_), true, Some(p)) => check_with(catalog, "builtin", p, task, &what, diags),
        (Some(w), true, None) => diags.push(conflict(
            w.span,
            format!("{what}: 'with' only applies to builtin and kernel tasks"),
            "pass options to a command through its `run` arguments",
        )),
        _ => {}
    }
    if let Some(h) = task.hand_ported.first()
        && (task.each.is_none() || task.out.is_none())
    {
        diags.push(conflict(
            h.span,
            format!("{what}: 'hand_ported' needs 'each' and 'out'"),
            "`hand_ported` lists files an `each` task leaves alone because their module, at the task's `out`, is written by hand",
        ));
    }
    let bridge_span = task
        .bridged
        .first()
        .map(|b| b.span)
        .or(task.fallback.as_ref().map(|f| f.span));
    if let Some(span) = bridge_span
        && (task.each.is_none() || task.out.is_none())
    {
        diags.push(conflict(
            span,
            format!("{what}: 'bridged' and 'fallback' need 'each' and 'out'"),
            "they say, per file an `each` task transpiles to its `out`, when the original file is linked in instead of the module",
        ));
    }
    for b in &task.bridged {
        if task.hand_ported.iter().any(|h| h.value == b.value) {
            diags.push(conflict(
                b.span,
                format!("{what}: '{}' is both hand-ported and bridged", b.value),
                "a file is ported by hand (its Rust module is yours) or bridged (its original code is linked in), not both",
            ));
        }
    }
    if let (Some(out), None) = (&task.out, &task.each) {
        diags.push(conflict(
            out.span,
            format!("{what}: 'out' needs 'each'"),
            "`out` names the output of each matched file; a single action lists its files in `outputs`",
        ));
    }
    if let Some(each) = &task.each
        && leaves_workspace(&each.value)
    {
        let source = m.task_project_key("source");
        diags.push(
            Diagnostic::new(
                Code::PathEscapes,
                format!("{what}: each '{}' leaves {source}", each.value),
            )
            .at(each.span)
            .label("matches outside the source folder")
            .help(format!(
                "`each` matches files under {source} ('{}'): write the pattern from there, or make {source} the folder that holds the files",
                m.project.source.value
            )),
        );
    }
    if let (Some(each), false) = (&task.each, task.outputs.is_empty()) {
        diags.push(conflict(
            task.outputs[0].span,
            format!("{what}: 'outputs' with 'each' would make every action write the same files"),
            &format!("name each action's output with `out`, a template such as \"{{dir}}/{{stem}}.rs\" (each is '{}')", each.value),
        ));
    }

    // Placeholders in the command.
    let span_of_use = |arg: &Sp<Template>| match &task.kind {
        // A rule's template is shared; point at the task that uses it in the wrong place.
        TaskKind::Rule(name) => name.span,
        _ => arg.span,
    };
    for arg in run {
        for p in arg.value.placeholders() {
            let missing = match p {
                Placeholder::Tool => tool.is_none().then_some((
                    "the task names no tool",
                    "add `tool: NAME` (one of `tools:`) to the task",
                )),
                Placeholder::Out => task.out.is_none().then_some((
                    "the task has no 'out'",
                    "add `each:` and `out:` to the task, or write the output path literally",
                )),
                _ if p.needs_each() => task.each.is_none().then_some((
                    "the task has no 'each'",
                    "add `each: \"**/*.py\"` to run the command once per matching file",
                )),
                _ => None,
            };
            if let Some((why, help)) = missing {
                if matches!(task.kind, TaskKind::Rule(_)) && p == Placeholder::Tool {
                    continue; // reported once on the rule itself
                }
                diags.push(
                    Diagnostic::new(Code::Placeholder, format!("{what} uses {p}, but {why}"))
                        .at(span_of_use(arg))
                        .label(format!("{p} has no value here"))
                        .help(help),
                );
            }
        }
    }
    check_script(m, run, tool, &what, span_of_use, diags);
    if let Some(out) = &task.out {
        for p in out.value.placeholders() {
            if matches!(p, Placeholder::In | Placeholder::Out | Placeholder::Tool) {
                diags.push(
                    Diagnostic::new(Code::Placeholder, format!("{what}: 'out' cannot use {p}"))
                        .at(out.span)
                        .label(format!("{p} is not a part of a path"))
                        .help("an output path is built from {path}, {dir}, {stem} and {ext}"),
                );
            }
        }
        // Placeholders come from paths inside project.source, so test the literal parts.
        let sample = out.value.expand(|_| "x".to_owned());
        if leaves_workspace(&sample) {
            let output = m.task_project_key("output");
            diags.push(
                Diagnostic::new(
                    Code::PathEscapes,
                    format!("{what}: out '{}' leaves {output}", out.value),
                )
                .at(out.span)
                .label("climbs out of the output folder")
                .help(format!(
                    "`out` is relative to {output} ('{}') and stays inside it, for example \"src/{{dir}}/{{stem}}.rs\"",
                    m.project.output.value
                )),
            );
        }
    }
    for p in &task.inputs {
        check_path(p, &format!("{what}: inputs"), diags);
    }
    for p in &task.outputs {
        check_path(p, &format!("{what}: outputs"), diags);
    }
}

/// A command that hands a script to an interpreter: placeholders in a shell script must
/// stand where they can be quoted (and batuta quotes them); in another interpreter's program
/// they cannot be quoted at all. Both are worth a warning: an argument list needs no quoting.
fn check_script(
    m: &Manifest,
    run: &[Sp<Template>],
    tool: Option<&Sp<String>>,
    what: &str,
    span_of_use: impl Fn(&Sp<Template>) -> Span,
    diags: &mut Vec<Diagnostic>,
) {
    let tool_command = tool
        .and_then(|t| m.tool(&t.value))
        .map(|t| t.command.value.clone())
        .unwrap_or_default();
    let templates: Vec<&Template> = run.iter().map(|a| &a.value).collect();
    let Some(script) = script_of(&templates, |_| tool_command.clone()) else {
        return;
    };
    let (Script::Shell(i) | Script::Other { arg: i, .. }) = script;
    let arg = &run[i];
    let Some(first) = arg.value.placeholders().find(|p| *p != Placeholder::Tool) else {
        return;
    };
    let d = match (script, places(&arg.value)) {
        (Script::Shell(_), Err((p, place))) => Diagnostic::new(
            Code::Placeholder,
            format!("{what}: {p} stands {place} in a shell script, where no quoting keeps a value one value"),
        )
        .label(format!("{p} is {place}"))
        .help(format!(
            "pass the value to the script as an argument, where it needs no quoting: [sh, -c, '… \"$1\" …', sh, \"{p}\"]"
        )),
        (Script::Shell(_), Ok(_)) => Diagnostic::new(
            Code::Placeholder,
            format!("{what} builds a shell script from placeholders"),
        )
        .advice()
        .label(format!("{first} goes into this script"))
        .help(
            "batuta quotes each value for the shell; arguments need no quoting at all: [sh, -c, 'cat \"$1\" > \"$2\"', sh, \"{in}\", \"{out}\"]",
        ),
        (Script::Other { interpreter, .. }, _) => Diagnostic::new(
            Code::Placeholder,
            format!("{what} pastes {first} into a {interpreter} program as it is"),
        )
        .warning()
        .label(format!("{first} is not quoted here"))
        .help(format!(
            "batuta cannot quote for {interpreter}: pass the value as an argument after the program (in Python, sys.argv) so that a file name is never code"
        )),
    };
    diags.push(d.at(span_of_use(arg)));
}

fn conflict(span: Span, message: String, help: &str) -> Diagnostic {
    Diagnostic::new(Code::Conflict, message)
        .at(span)
        .label("here")
        .help(help.to_owned())
}

/// Lexically: no absolute path, no `..` that climbs above the workspace.
fn leaves_workspace(path: &str) -> bool {
    normalize("", path).is_none()
}

/// `base/rel`, lexically normalised, `/`-separated; `None` if it climbs out of the workspace.
pub(crate) fn normalize(base: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || Path::new(rel).is_absolute() {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn check_path(path: &Sp<String>, what: &str, diags: &mut Vec<Diagnostic>) {
    if leaves_workspace(&path.value) {
        diags.push(
            Diagnostic::new(
                Code::PathEscapes,
                format!("{what}: path '{}' leaves the workspace", path.value),
            )
            .at(path.span)
            .label("outside the manifest's folder")
            .help("paths are relative to the manifest's folder and stay inside it; move the files into the workspace"),
        );
    }
}

/// Report each cycle in `needs` once, as `a -> b -> a`, at the edge that closes it.
fn check_stage_cycles(m: &Manifest, diags: &mut Vec<Diagnostic>) {
    let phases: Vec<Phase> = m.stages.iter().map(|s| s.phase).collect();
    let needs: Vec<Vec<(usize, Span)>> = m
        .stages
        .iter()
        .map(|s| {
            s.needs
                .iter()
                .filter_map(|n| {
                    let p = Phase::from_stage_name(&n.value)?;
                    Some((phases.iter().position(|q| *q == p)?, n.span))
                })
                .collect()
        })
        .collect();
    for (cycle, span) in cycles(&needs) {
        let names: Vec<&str> = cycle.iter().map(|&i| phases[i].stage_name()).collect();
        diags.push(
            Diagnostic::new(
                Code::Cycle,
                format!("stages need each other: {}", names.join(" -> ")),
            )
            .at(span)
            .label("this need closes the cycle")
            .help("a stage runs after the stages it needs; remove one of these needs"),
        );
    }
}

/// Every cycle of a graph given as each node's edges (to a node, written where), once, as
/// the path `a, b, a` and the edge that closes it, in a depth-first search from each node in
/// order.
pub(super) fn cycles(edges: &[Vec<(usize, Span)>]) -> Vec<(Vec<usize>, Span)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    struct Search<'e> {
        edges: &'e [Vec<(usize, Span)>],
        mark: Vec<Mark>,
        path: Vec<usize>,
        found: Vec<(Vec<usize>, Span)>,
    }
    impl Search<'_> {
        fn visit(&mut self, n: usize) {
            self.mark[n] = Mark::Active;
            self.path.push(n);
            for &(next, span) in &self.edges[n] {
                match self.mark[next] {
                    Mark::New => self.visit(next),
                    Mark::Active => {
                        let start = self.path.iter().position(|&q| q == next).unwrap_or(0);
                        let mut cycle = self.path[start..].to_vec();
                        cycle.push(next);
                        self.found.push((cycle, span));
                    }
                    Mark::Done => {}
                }
            }
            self.path.pop();
            self.mark[n] = Mark::Done;
        }
    }
    let mut s = Search {
        edges,
        mark: vec![Mark::New; edges.len()],
        path: Vec::new(),
        found: Vec::new(),
    };
    for n in 0..edges.len() {
        if s.mark[n] == Mark::New {
            s.visit(n);
        }
    }
    s.found
}

#[cfg(test)]
mod tests {
    use super::{leaves_workspace, normalize};

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            normalize("rust", "src//main.rs").as_deref(),
            Some("rust/src/main.rs")
        );
        assert_eq!(normalize("", "./a/../b").as_deref(), Some("b"));
        assert_eq!(normalize(".", "x").as_deref(), Some("x"));
        assert_eq!(normalize("rust", "../../x"), None);
        assert_eq!(normalize("", "/etc"), None);
    }

    #[test]
    fn lexical_escapes() {
        assert!(leaves_workspace("/etc/passwd"));
        assert!(leaves_workspace("../x"));
        assert!(leaves_workspace("a/../../x"));
        assert!(!leaves_workspace("a/../x"));
        assert!(!leaves_workspace("./a/b"));
        assert!(!leaves_workspace("."));
    }
}
