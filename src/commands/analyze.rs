//! `batuta analyze [PATH]`: build the analyze stage (file by file, cached) and print what
//! it found. With a manifest it builds that manifest's analyze stage; without one it
//! analyses PATH ad hoc with the same builtin, its cache under `PATH/.batuta/`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use batuta_engine::exec::{self, Event, Reporter};
use batuta_engine::graph;
use batuta_engine::manifest::{self, Diagnostics, Manifest, Phase, TaskKind};
use batuta_rules::analyze::left_out::{LeftOut, left_out};
use batuta_rules::analyze::recommend;
use batuta_rules::analyze::report::{Analysis, Sections, render_markdown, render_text};
use clap::{Args, ValueEnum};

use crate::Exit;
use crate::cli::ManifestArg;
use crate::output::Ui;

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The folder to analyse [default: the manifest's project.source, or this folder]
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub manifest: ManifestArg,
    /// Show the language mix
    #[arg(long)]
    pub languages: bool,
    /// Show the dependencies found in manifests
    #[arg(long)]
    pub dependencies: bool,
    /// Show the TDG score, grade and sub-scores
    #[arg(long)]
    pub tdg: bool,
    /// For people, for scripts, or for a document
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnalyzeFormat {
    Text,
    Json,
    Markdown,
}

/// Warnings only: the analysis is what this command prints.
struct Quiet;

impl Reporter for Quiet {
    fn event(&self, e: Event<'_>) {
        if let Event::Warning(w) = e {
            tracing::warn!("{w}");
        }
    }
}

/// A manifest that analyses `dir` and nothing else (its output folder is batuta's own,
/// so no folder of the tree is left out).
fn ad_hoc(dir: &Path) -> Result<Manifest, Diagnostics> {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".to_owned());
    let text = format!(
        "version: 1\nproject:\n  name: {}\n  source: .\n  output: .batuta/out\n  exclude: [\"**/__pycache__/**\", \"**/node_modules/**\", \"venv/**\", \".venv/**\"]\nstages:\n  analyze:\n    builtin: analyze\n",
        serde_json::Value::String(name)
    );
    manifest::load_str(&text, &dir.join("batuta.yaml"), &batuta_rules::CATALOG)
}

/// The folders the walk of the manifest's source passes over (what `exclude` names, hidden
/// ones, cache folders, batuta's own), so the output names what it did not count.
fn left_out_of(m: &Manifest) -> Vec<LeftOut> {
    let patterns: Vec<&str> = m.project.exclude.iter().map(|e| e.value.as_str()).collect();
    let Ok(exclude) = graph::walk::glob_set(patterns.iter().copied()) else {
        return Vec::new();
    };
    let own = [m.root.join(&m.project.output.value)];
    left_out(
        &m.root.join(&m.project.source.value),
        &exclude,
        &patterns,
        &own,
    )
}

/// Whether the manifest analyses its tree with the builtin.
fn has_analyze(m: &Manifest) -> bool {
    m.stage(Phase::Analyze).is_some_and(|s| {
        s.tasks
            .iter()
            .any(|t| matches!(&t.kind, TaskKind::Builtin(n) if n.value == "analyze"))
    })
}

fn usage(ui: &Ui, d: &Diagnostics) -> Exit {
    ui.report(d);
    Exit::Usage
}

pub fn run(ui: &Ui, args: &AnalyzeArgs) -> Exit {
    let m = match select(args) {
        Ok(m) => m,
        Err(d) => return usage(ui, &d),
    };
    let g = match graph::expand_stages(&m, &[Phase::Analyze]) {
        Ok(g) => g,
        Err(d) => return usage(ui, &d),
    };
    let opts = exec::Options {
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        keep_going: false,
        cache_dir: super::build::cache_dir(&m),
        modules: Vec::new(),
        only: None,
        remote: None,
        writes: None,
    };
    let cancel = AtomicBool::new(false);
    let _lock = match super::lock(&m.root, false, &cancel) {
        Ok(l) => l,
        Err(exit) => return exit,
    };
    let s = exec::build(&m, &g, &opts, &batuta_rules::Registry, &Quiet, &cancel);
    tracing::info!(
        executed = s.executed,
        cached = s.cached,
        up_to_date = s.up_to_date,
        "analysis built"
    );
    if !s.failures.is_empty() {
        for (id, f) in &s.failures {
            eprint!("{}", super::build::andon(ui, id, Phase::Analyze.title(), f));
        }
        return Exit::Failed;
    }
    let sections = Sections {
        languages: args.languages,
        dependencies: args.dependencies,
        tdg: args.tdg,
    };
    // Each analyze action's analysis: one, or one per project of a workspace.
    let mut by_project = serde_json::Map::new();
    for a in g
        .actions
        .iter()
        .filter(|a| matches!(&a.kind, graph::ActionKind::Builtin { name, .. } if name == "analyze"))
    {
        let Some(out) = a.outputs.iter().find(|o| o.ends_with("/analysis.json")) else {
            continue;
        };
        let json_path = m.root.join(out);
        let mut an: Analysis = match std::fs::read(&json_path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(an) => an,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", json_path.display());
                return Exit::Failed;
            }
        };
        // Tools come and go between runs; what is on PATH is looked up now.
        an.recommendations = recommend::recommend(&an.language_files(), None, &an.recommendations);
        an.left_out = left_out_of(&m);
        let project = a.scope.as_ref().map(|s| s.name.as_str());
        match (args.format, project) {
            (AnalyzeFormat::Text, Some(p)) => {
                print!("== project {p} ==\n{}\n", render_text(&an, sections))
            }
            (AnalyzeFormat::Markdown, Some(p)) => {
                print!("# Project {p}\n\n{}\n", render_markdown(&an, sections))
            }
            (AnalyzeFormat::Json, Some(p)) => {
                let v = serde_json::from_str(&json(&an, sections)).unwrap_or_default();
                by_project.insert(p.to_owned(), v);
            }
            (AnalyzeFormat::Text, None) => print!("{}", render_text(&an, sections)),
            (AnalyzeFormat::Markdown, None) => print!("{}", render_markdown(&an, sections)),
            (AnalyzeFormat::Json, None) => println!("{}", json(&an, sections)),
        }
    }
    if !by_project.is_empty() {
        println!("{}", serde_json::json!({ "projects": by_project }));
    }
    Exit::Success
}

/// The manifest to analyse with: PATH's own batuta.yaml, the one found from here (or
/// named with -f), or an ad hoc one for PATH or this folder.
fn select(args: &AnalyzeArgs) -> Result<Manifest, Diagnostics> {
    let loaded = match &args.path {
        Some(p) => {
            if !p.is_dir() {
                return Err(Diagnostics {
                    source: manifest::Source::new(p.display().to_string(), ""),
                    items: vec![
                        manifest::Diagnostic::new(
                            manifest::Code::Missing,
                            format!("{} is not a folder", p.display()),
                        )
                        .help("name the folder that holds the code to analyse"),
                    ],
                });
            }
            let own = p.join(super::MANIFEST_NAME);
            if own.is_file() && args.manifest.file.is_none() {
                Some(manifest::load(&own, &batuta_rules::CATALOG)?)
            } else {
                None
            }
        }
        None if args.manifest.file.is_some() => Some(super::load(&args.manifest)?),
        None => match super::find_manifest(&args.manifest) {
            Ok(path) => Some(manifest::load(&path, &batuta_rules::CATALOG)?),
            Err(_) => None,
        },
    };
    match loaded {
        Some(m) if has_analyze(&m) => Ok(m),
        Some(m) => {
            // A manifest without the analyze builtin: analyse its source ad hoc.
            let src = m.root.join(&m.project.source.value);
            ad_hoc(&src)
        }
        None => ad_hoc(args.path.as_deref().unwrap_or(Path::new("."))),
    }
}

/// The whole analysis, or only the sections asked for.
fn json(a: &Analysis, s: Sections) -> String {
    let full = serde_json::to_value(a).unwrap_or_default();
    let wanted: Vec<&str> = [
        (s.languages, "languages"),
        (s.dependencies, "dependencies"),
        (s.tdg, "tdg"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, k)| *k)
    .collect();
    let value = if wanted.is_empty() {
        full
    } else {
        serde_json::Value::Object(
            wanted
                .iter()
                .map(|k| ((*k).to_owned(), full[*k].clone()))
                .collect(),
        )
    };
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
