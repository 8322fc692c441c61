//! `batuta port FILE`: start porting a source file by hand, and `batuta port --undo FILE`
//! to hand it back to its transpiler.
//!
//! A port puts the file's Rust module in place for the user to edit (the transpiler's last
//! output when there is one, else a skeleton of the source), names the file in its task's
//! `hand_ported:` list (an edit of the manifest's text, see [`edit`]), and prints the checks
//! that will judge the port. The module starts with a line saying where it came from, which
//! also makes it the user's own file: the next build's sweep of stale outputs leaves alone
//! what changed since batuta wrote it.
//!
//! Undo takes the file out of the list. The module goes too when it is still what `port`
//! wrote (the next build transpiles the file again); a module the user changed is moved to
//! `.batuta/port/undone/`, never lost, since the transpiler would write over it.

pub mod edit;
mod skeleton;

use std::path::{Path, PathBuf};

use batuta_engine::digest::Digest;
use batuta_engine::fsutil::{remove_file_if_exists, write_atomic};
use batuta_engine::graph::{ActionGraph, ActionKind};
use batuta_engine::journal::{self, Journal};
use batuta_engine::manifest::{Manifest, Phase, Task};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::Exit;
use crate::cli::ManifestArg;
use crate::output::Ui;

#[derive(Debug, Args)]
pub struct PortArgs {
    /// The source file (relative to here, or to the project's source folder)
    #[arg(value_name = "FILE")]
    pub source: PathBuf,
    /// Go back: hand the file to its transpiler again
    #[arg(long)]
    pub undo: bool,
    #[command(flatten)]
    pub manifest: ManifestArg,
}

/// What `port` wrote, so `--undo` can tell it from the user's own work.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    source: String,
    module: String,
    /// BLAKE3 of the module as `port` wrote it.
    blake3: String,
}

fn record_path(root: &Path, module: &str) -> PathBuf {
    root.join(".batuta/port").join(format!("{module}.json"))
}

pub fn run(ui: &Ui, args: &PortArgs) -> Exit {
    let (m, g) = match super::load_graph(ui, &args.manifest) {
        Ok(x) => x,
        Err(exit) => return exit,
    };
    let Some(source) = workspace_path(&m, &args.source) else {
        eprintln!(
            "error: {} is not a file of this workspace ({})",
            args.source.display(),
            m.root.display()
        );
        return Exit::Usage;
    };
    let _lock = match super::lock(&m.root, false, &super::NEVER) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let done = if args.undo {
        undo(&m, &g, &source)
    } else {
        port(&m, &g, &source)
    };
    match done {
        Ok(text) => {
            print!("{text}");
            Exit::Success
        }
        Err(Problem { message, help }) => {
            eprintln!("error: {message}");
            if let Some(h) = help {
                eprintln!("  help: {h}");
            }
            Exit::Usage
        }
    }
}

/// Why nothing was done.
struct Problem {
    message: String,
    help: Option<String>,
}

impl Problem {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: None,
        }
    }
    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl From<std::io::Error> for Problem {
    fn from(e: std::io::Error) -> Self {
        Problem::new(e.to_string())
    }
}

/// FILE as the graph names it (relative to the workspace, `/`-separated): as given from
/// here, or relative to `project.source`.
fn workspace_path(m: &Manifest, file: &Path) -> Option<String> {
    let root = m.root.canonicalize().ok()?;
    let candidates = [
        file.to_path_buf(),
        m.root.join(&m.project.source.value).join(file),
    ];
    candidates.iter().find_map(|c| {
        let abs = c.canonicalize().ok()?;
        let rel = abs.strip_prefix(&root).ok()?;
        Some(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        )
    })
}

/// The transpile task the manifest defines as `stage/task`.
/// The manifest of the migration a file belongs to: in a workspace, its project's.
fn migration_of<'m>(m: &'m Manifest, project: Option<&str>) -> std::borrow::Cow<'m, Manifest> {
    match project.and_then(|p| m.workspace_project(p)) {
        Some(wp) => std::borrow::Cow::Owned(m.instance(wp)),
        None => std::borrow::Cow::Borrowed(m),
    }
}

fn task_of<'m>(m: &'m Manifest, phase: Phase, name: &str) -> Option<&'m Task> {
    m.stage(phase)?.tasks.iter().find(|t| t.name.value == name)
}

/// `source` relative to `project.source`, as `each` and `hand_ported` name files.
fn entry_of(m: &Manifest, source: &str) -> String {
    match m.project.source.value.trim_matches('/') {
        "" | "." => source.to_owned(),
        base => source
            .strip_prefix(base)
            .map_or(source, |r| r.trim_start_matches('/'))
            .to_owned(),
    }
}

fn port(m: &Manifest, g: &ActionGraph, source: &str) -> Result<String, Problem> {
    if let Some(h) = g.hand_ported.iter().find(|h| h.source == source) {
        return Err(Problem::new(format!(
            "{source} is ported by hand already, at {}",
            h.module
        ))
        .help(format!(
            "`batuta port --undo {source}` hands it back to its transpiler"
        )));
    }
    let action = g
        .actions
        .iter()
        .find(|a| {
            a.phase == Phase::Transpile
                && !a.id.contains("#gate:")
                && a.id.contains(':')
                && a.inputs.first().map(String::as_str) == Some(source)
                && matches!(a.kind, ActionKind::Command { .. })
        })
        .ok_or_else(|| {
            Problem::new(format!("no transpile task of the manifest turns {source} into Rust"))
                .help("a file is ported by hand in place of its transpiler's output: its task needs `each` and `out`")
        })?;
    let mine = migration_of(m, action.scope.as_ref().map(|s| s.name.as_str()));
    let task = task_of(&mine, action.phase, &action.task)
        .ok_or_else(|| Problem::new(format!("the task of {} was not found", action.id)))?;
    let each = task
        .each
        .as_ref()
        .ok_or_else(|| Problem::new(format!("task {} has no `each`", action.task)))?;
    let module = action
        .outputs
        .first()
        .cloned()
        .ok_or_else(|| Problem::new(format!("{} writes no file", action.id)))?;
    let tool = match &action.kind {
        ActionKind::Command { tool: Some(t), .. } => t.clone(),
        _ => action.task.clone(),
    };
    let entry = entry_of(&mine, source);
    let text = m.source.text.to_string();
    let new_manifest = edit::add(&text, each.span.offset, &entry).map_err(Problem::new)?;

    // The module first: a manifest that names a hand port needs it to exist.
    let module_abs = m.root.join(&module);
    let before = std::fs::read(&module_abs).ok();
    let (content, started_from) = match &before {
        Some(generated) => (
            skeleton::with_origin(source, &tool, &String::from_utf8_lossy(generated), &module),
            format!("{tool}'s last output, to edit"),
        ),
        None => (
            skeleton::new(&m.root, source, &module, &tool),
            "a skeleton: the source's functions, as comments, to write in Rust".to_owned(),
        ),
    };
    write_atomic(&module_abs, content.as_bytes())?;
    let rec = Record {
        source: source.to_owned(),
        module: module.clone(),
        blake3: Digest::of(content.as_bytes()).to_hex(),
    };
    let rec_path = record_path(&m.root, &module);
    let saved = serde_json::to_vec_pretty(&rec)
        .map_err(std::io::Error::other)
        .and_then(|j| write_atomic(&rec_path, &j))
        .and_then(|()| write_atomic(&m.path, new_manifest.as_bytes()));
    if let Err(e) = saved {
        // Leave things as they were.
        let _ = match &before {
            Some(b) => std::fs::write(&module_abs, b),
            None => remove_file_if_exists(&module_abs),
        };
        let _ = remove_file_if_exists(&rec_path);
        return Err(e.into());
    }

    let mut out = format!("Porting {source} by hand.\n");
    out.push_str(&format!("  {module}: {started_from}\n"));
    out.push_str(&format!(
        "  {}: {entry} added to `hand_ported` of {}.{}\n",
        m.path.display(),
        action.phase,
        action.task
    ));
    out.push_str(&judges(m, g, source, &module));
    out.push_str(&format!(
        "💡 Edit {module}, then `batuta build`; `batuta port --undo {source}` goes back.\n"
    ));
    Ok(out)
}

/// The checks that will judge the port: what compiles the module, and the validate
/// actions that cover it (see [`super::files::coverage`]).
fn judges(m: &Manifest, g: &ActionGraph, source: &str, module: &str) -> String {
    let mut lines = Vec::new();
    for a in &g.actions {
        let compiles = match &a.kind {
            ActionKind::Builtin { name, .. } if name == batuta_rules::transpile::assemble::NAME => {
                Some("assemble compiles it into the crate")
            }
            ActionKind::Builtin { name, .. } if name == "cargo-build" => {
                Some("cargo-build builds it")
            }
            _ => None,
        };
        if let Some(what) = compiles
            && a.inputs.iter().any(|i| i == module)
            && a.phase != Phase::Validate
        {
            lines.push((a.id.clone(), what.to_owned()));
        }
    }
    let (journal, _) = Journal::load(&journal::path(&m.root));
    let checks = super::files::coverage::checks(g, &journal, &|_| false, &m.root);
    for c in &checks {
        use super::files::coverage::Reach;
        match c.reach(Some(source), module, None) {
            Some(Reach::Exercises) => lines.push((c.id.to_owned(), "runs it".to_owned())),
            Some(Reach::Links) => lines.push((
                c.id.to_owned(),
                "checks what it is built into (a test that names the module runs it)".to_owned(),
            )),
            None => {}
        }
    }
    if lines.is_empty() {
        return "No check covers it yet: add a compare-outputs or cargo-test task that runs it.\n"
            .to_owned();
    }
    let width = lines.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
    let mut out = "Checks that will judge it:\n".to_owned();
    for (id, what) in lines {
        out.push_str(&format!("  {id:<width$}  {what}\n"));
    }
    out
}

fn undo(m: &Manifest, g: &ActionGraph, source: &str) -> Result<String, Problem> {
    let h = g
        .hand_ported
        .iter()
        .find(|h| h.source == source)
        .ok_or_else(|| {
            Problem::new(format!("{source} is not ported by hand"))
                .help(format!("`batuta port {source}` starts a hand port"))
        })?;
    // In a workspace the task is `project/stage/task`.
    let (project, task_id) = match h.task.split_once('/') {
        Some((p, rest)) if m.is_workspace() => (Some(p), rest),
        _ => (None, h.task.as_str()),
    };
    let mine = migration_of(m, project);
    let (stage, name) = task_id.split_once('/').unwrap_or(("", task_id));
    let task = Phase::from_stage_name(stage)
        .and_then(|p| task_of(&mine, p, name))
        .ok_or_else(|| Problem::new(format!("the task {} was not found", h.task)))?;
    let each = task
        .each
        .as_ref()
        .ok_or_else(|| Problem::new(format!("task {} has no `each`", h.task)))?;
    let entry = entry_of(&mine, source);
    let text = m.source.text.to_string();
    let new_manifest = edit::remove(&text, each.span.offset, &entry).map_err(Problem::new)?;

    let module_abs = m.root.join(&h.module);
    let rec_path = record_path(&m.root, &h.module);
    let recorded: Option<Record> = std::fs::read(&rec_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let current = std::fs::read(&module_abs).ok();
    let untouched = match (&current, &recorded) {
        (Some(now), Some(rec)) => Digest::of(now).to_hex() == rec.blake3,
        _ => false,
    };
    let fate = match current {
        None => format!("{} was not there", h.module),
        Some(_) if untouched => {
            remove_file_if_exists(&module_abs)?;
            format!("{} removed (unchanged since `batuta port`)", h.module)
        }
        Some(bytes) => {
            let kept = m.root.join(".batuta/port/undone").join(&h.module);
            write_atomic(&kept, &bytes)?;
            remove_file_if_exists(&module_abs)?;
            format!(
                "{} moved to {} (your changes; the transpiler will write its own module there)",
                h.module,
                kept.strip_prefix(&m.root).unwrap_or(&kept).display()
            )
        }
    };
    write_atomic(&m.path, new_manifest.as_bytes())?;
    remove_file_if_exists(&rec_path)?;
    Ok(format!(
        "{source} goes back to its transpiler.\n  {}: {entry} removed from `hand_ported` of {}\n  {fate}\n💡 The next `batuta build` transpiles it again.\n",
        m.path.display(),
        h.task.replacen('/', ".", 1)
    ))
}
