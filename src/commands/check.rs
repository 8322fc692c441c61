//! `batuta check`: load, validate and expand every stage; report all problems at once.

use batuta_engine::graph;
use batuta_engine::manifest::{Diagnostics, Severity};
use serde_json::json;

use crate::Exit;
use crate::cli::{CheckFormat, ManifestArg};
use crate::output::{Ui, diagnostics_json, notes, print_json_lines};

pub fn run(ui: &Ui, manifest: &ManifestArg, format: CheckFormat) -> Exit {
    let result = super::load(manifest).and_then(|m| {
        // Expanding every stage also checks what needs the file system: matched files,
        // symbolic links, two tasks writing one file, actions reading each other's outputs.
        let g = graph::expand_all(&m)?;
        Ok((m, g))
    });
    match (result, format) {
        (Ok((m, g)), CheckFormat::Text) => {
            ui.warnings(&m, &g.warnings, true);
            let tasks: usize = m.stages.iter().map(|s| s.tasks.len()).sum();
            let projects = match m.projects.len() {
                0 => String::new(),
                n => format!("{n} project{}, ", plural(n)),
            };
            println!(
                "ok: {} is valid: {projects}{} stage{}, {} task{}, {} action{}, {} target{}",
                m.path.display(),
                m.stages.len(),
                plural(m.stages.len()),
                tasks,
                plural(tasks),
                g.actions.len(),
                plural(g.actions.len()),
                m.targets.len(),
                plural(m.targets.len()),
            );
            Exit::Success
        }
        (Ok((m, g)), CheckFormat::Json) => {
            let mut events = diagnostics_json(&Diagnostics {
                source: m.source.clone(),
                items: notes(&m, &g.warnings, true),
            });
            events.push(json!({
                "event": "check",
                "ok": true,
                "file": m.path.display().to_string(),
                "stages": m.stages.len(),
                "projects": m.projects.iter().map(|p| p.project.name.value.as_str()).collect::<Vec<_>>(),
                "actions": g.actions.len(),
                "problems": 0,
                "warnings": notes(&m, &g.warnings, true).iter().filter(|d| d.severity == Severity::Warning).count(),
                "advice": m.warnings.iter().filter(|d| d.severity == Severity::Advice).count(),
            }));
            print_json_lines(events);
            Exit::Success
        }
        (Err(d), CheckFormat::Text) => {
            ui.report(&d);
            Exit::Usage
        }
        (Err(d), CheckFormat::Json) => {
            let mut events = diagnostics_json(&d);
            events.push(json!({
                "event": "check",
                "ok": false,
                "file": d.source.name,
                "problems": d.items.len(),
            }));
            print_json_lines(events);
            Exit::Usage
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
