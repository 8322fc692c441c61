//! `batuta graph`: the expanded action graph as Graphviz dot or JSON.

use std::fmt::Write as _;

use batuta_engine::graph::{self, ActionGraph, ActionKind};
use serde_json::{Value, json};

use crate::Exit;
use crate::cli::{GraphFormat, ManifestArg};
use crate::output::Ui;

pub fn run(
    ui: &Ui,
    target: Option<&str>,
    manifest: &ManifestArg,
    format: GraphFormat,
    critical: bool,
) -> Exit {
    let loaded = super::load(manifest).and_then(|m| graph::expand(&m, target).map(|g| (m, g)));
    let (m, g) = match loaded {
        Ok(x) => x,
        Err(d) => {
            ui.report(&d);
            return Exit::Usage;
        }
    };
    if critical {
        print!("{}", critical_path(&m.root, &g));
        return Exit::Success;
    }
    let text = match format {
        GraphFormat::Dot => dot(&g),
        GraphFormat::Json => {
            let mut s = serde_json::to_string_pretty(&json_graph(&g)).expect("JSON of plain data");
            s.push('\n');
            s
        }
    };
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Exit::Success
}

/// What an action runs, in a word or a command line.
fn describe(kind: &ActionKind) -> serde_json::Value {
    match kind {
        ActionKind::Command { argv, tool } => {
            json!({ "type": "command", "argv": argv, "tool": tool })
        }
        ActionKind::Builtin { name, with } => {
            json!({ "type": "builtin", "name": name, "with": with })
        }
        ActionKind::Kernel { name, with } => {
            json!({ "type": "kernel", "name": name, "with": with })
        }
    }
}

fn json_graph(g: &ActionGraph) -> Value {
    let stages: Vec<_> = g
        .stages
        .iter()
        .map(|(p, needs)| json!({ "name": p.stage_name(), "needs": needs.iter().map(|n| n.stage_name()).collect::<Vec<_>>() }))
        .collect();
    let mut edges = Vec::new();
    let actions: Vec<_> = g
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut deps: Vec<&str> = Vec::new();
            for (j, file) in g.file_deps(i) {
                deps.push(&g.actions[j].id);
                edges.push((&g.actions[j].id, &a.id, file));
            }
            deps.sort_unstable();
            deps.dedup();
            let mut v = json!({
                "id": a.id,
                "stage": a.phase.stage_name(),
                "task": a.task,
                "run": describe(&a.kind),
                "inputs": a.inputs,
                "outputs": a.outputs,
                "deps": deps,
                "env": a.env,
                "cache": a.cache,
                "gpu": a.gpu,
            });
            if let Some(scope) = &a.scope {
                v["project"] = json!(scope.name);
            }
            v
        })
        .collect();
    edges.sort_unstable();
    let edges: Vec<_> = edges
        .into_iter()
        .map(|(from, to, file)| json!({ "from": from, "to": to, "file": file }))
        .collect();
    // Built as a map so the large arrays move in (`json!` would deep-copy them).
    let mut graph = serde_json::Map::new();
    graph.insert("target".into(), json!(g.target));
    graph.insert("stages".into(), Value::Array(stages));
    if !g.projects.is_empty() {
        let projects = g
            .projects
            .iter()
            .map(|p| {
                json!({
                    "name": p.scope.name,
                    "source": p.scope.source,
                    "output": p.scope.output,
                    "needs": p.needs.iter().map(|&k| &g.projects[k as usize].scope.name).collect::<Vec<_>>(),
                    "stages": p.stages.iter().map(|(s, needs)| json!({ "name": s.stage_name(), "needs": needs.iter().map(|n| n.stage_name()).collect::<Vec<_>>() })).collect::<Vec<_>>(),
                })
            })
            .collect();
        graph.insert("projects".into(), Value::Array(projects));
    }
    graph.insert("actions".into(), Value::Array(actions));
    graph.insert("edges".into(), Value::Array(edges));
    Value::Object(graph)
}

/// Quote a string for dot.
fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn dot(g: &ActionGraph) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "digraph batuta {{");
    let _ = writeln!(s, "  label={};", q(&format!("batuta target: {}", g.target)));
    s.push_str("  rankdir=LR;\n  compound=true;\n  node [shape=box, fontname=\"monospace\"];\n");
    for (phase, _) in &g.stages {
        let name = phase.stage_name();
        let _ = writeln!(s, "  subgraph {} {{", q(&format!("cluster_{name}")));
        let _ = writeln!(s, "    label={};", q(name));
        // An invisible anchor lets `needs` edges join clusters, even empty ones.
        let _ = writeln!(
            s,
            "    {} [shape=point, style=invis];",
            q(&format!("stage:{name}"))
        );
        for a in g.actions.iter().filter(|a| a.phase == *phase) {
            let label = match &a.kind {
                ActionKind::Command { .. } => a.id.clone(),
                ActionKind::Builtin { name, .. } => format!("{}\\n(builtin {name})", a.id),
                ActionKind::Kernel { name, .. } => format!("{}\\n(kernel {name})", a.id),
            };
            let _ = writeln!(
                s,
                "    {} [label=\"{}\"];",
                q(&a.id),
                label.replace('"', "\\\"")
            );
        }
        s.push_str("  }\n");
    }
    for (phase, needs) in &g.stages {
        for need in needs {
            let _ = writeln!(
                s,
                "  {} -> {} [ltail={}, lhead={}, style=dashed, label=\"needs\"];",
                q(&format!("stage:{}", need.stage_name())),
                q(&format!("stage:{}", phase.stage_name())),
                q(&format!("cluster_{}", need.stage_name())),
                q(&format!("cluster_{}", phase.stage_name())),
            );
        }
    }
    for (i, a) in g.actions.iter().enumerate() {
        let mut deps: Vec<(usize, &str)> = g.file_deps(i).collect();
        deps.sort_unstable();
        for (j, file) in deps {
            let _ = writeln!(
                s,
                "  {} -> {} [label={}];",
                q(&g.actions[j].id),
                q(&a.id),
                q(file)
            );
        }
    }
    s.push_str("}\n");
    s
}

/// The critical path as text, with the run times the journal kept from the last builds.
fn critical_path(root: &std::path::Path, g: &ActionGraph) -> String {
    let (journal, _) = batuta_engine::journal::Journal::load(&batuta_engine::journal::path(root));
    let run_ms = |id: &str| journal.actions.get(id).and_then(|r| r.run_ms);
    let time = |i: usize| run_ms(&g.actions[i].id).map_or(0, u64::from);
    let (total, path) = graph::critical_path(g, time);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "critical path: {:.2}s over {} action{} (run times of the last builds)",
        total as f64 / 1000.0,
        path.len(),
        if path.len() == 1 { "" } else { "s" }
    );
    let mut unknown = 0;
    for i in path {
        let a = &g.actions[i];
        match run_ms(&a.id) {
            Some(ms) => {
                let _ = writeln!(s, "  {:>8.2}s  {}", f64::from(ms) / 1000.0, a.id);
            }
            None => {
                unknown += 1;
                let _ = writeln!(s, "  {:>9}  {}", "?", a.id);
            }
        }
    }
    if unknown > 0 {
        s.push_str(
            "? not run here since its outputs came from the cache (or never built): \
             counted as 0\n",
        );
    }
    s
}
