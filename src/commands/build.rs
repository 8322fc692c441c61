//! `batuta build`: expand the target, run what is out of date, report as it goes.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use batuta_engine::db::{self, Selection};
use batuta_engine::exec::{self, Progress, Summary};
use batuta_engine::graph;
use batuta_engine::manifest::{Code, Diagnostic, Diagnostics, Manifest, Phase};
use batuta_engine::rule::Failure;
use batuta_engine::rule::failure::Kind;

use crate::Exit;
use crate::cli::{BuildArgs, TextOrJson, TranspileArgs};
use crate::output::Ui;
use crate::profile::Profile;
use crate::progress::{JsonProgress, TextProgress};

/// The cache folder: `BATUTA_CACHE_DIR`, or `.batuta/cache` beside the manifest.
pub fn cache_dir(m: &Manifest) -> PathBuf {
    batuta_engine::cache::dir_for(&m.root)
}

pub fn run(ui: &Ui, args: &BuildArgs) -> Exit {
    let selection = Selection::Target(args.target.clone());
    if let Some(exit) = settled(ui, args, &selection) {
        return exit;
    }
    run_loaded(ui, args, open(&args.manifest, selection, |_| Ok(())))
}

/// A plain build whose last run settled (see `batuta_engine::db::settled`) and whose
/// every dependency is as it was then: nothing to do, said as the full path says it,
/// without loading the graph. `None` when the full path must look.
fn settled(ui: &Ui, args: &BuildArgs, selection: &Selection) -> Option<Exit> {
    // What prints or writes more than the summary, or builds a part, takes the full path.
    let plain = args.format == TextOrJson::Text
        && args.affected.is_none()
        && args.junit.is_none()
        && args.profile.is_none()
        && args.modules.is_empty()
        && args.remote_cache.is_none()
        && args.remote_executor.is_none();
    if !plain {
        return None;
    }
    let started = std::time::Instant::now();
    let path = super::find_manifest(&args.manifest).ok()?;
    let root = batuta_engine::manifest::workspace_of(&path);
    // Held while looking, so no build changes the workspace meanwhile; a busy workspace
    // is the full path's to wait for (or not, with --no-wait).
    let _lock =
        batuta_engine::lock::WorkspaceLock::acquire(&root, batuta_engine::lock::Wait::No).ok()?;
    let s = db::settled::Settled::check(
        &path,
        selection,
        &batuta_rules::CATALOG,
        &batuta_rules::Registry,
    )?;
    tracing::debug!(elapsed = ?started.elapsed(), actions = s.actions, "settled: nothing to do");
    let summary = Summary {
        up_to_date: s.actions,
        duration: started.elapsed(),
        ..Summary::default()
    };
    print_text_summary(ui, &summary);
    Some(Exit::Success)
}

/// `batuta transpile`: build the transpile stage and what it needs.
pub fn transpile(ui: &Ui, args: &TranspileArgs) -> Exit {
    let args = args.build_args();
    let selection = Selection::Stages(vec![Phase::Transpile]);
    let loaded = open(&args.manifest, selection, |m| {
        match m.stage(Phase::Transpile) {
            Some(_) => Ok(()),
            None => Err(no_transpile_stage(m)),
        }
    });
    run_loaded(ui, &args, loaded)
}

/// A workspace's database (see `batuta_engine::db`), its manifest (checked by `check`),
/// its graph for `selection`, and its journal, read beside them.
type Opened = (
    db::Workspace,
    std::sync::Arc<Manifest>,
    std::sync::Arc<db::Expansion>,
    std::thread::JoinHandle<exec::Session>,
);

fn open(
    arg: &crate::cli::ManifestArg,
    selection: Selection,
    check: impl FnOnce(&Manifest) -> Result<(), Diagnostics>,
) -> Result<Opened, Diagnostics> {
    let path = super::find_manifest(arg)?;
    let started = std::time::Instant::now();
    // The journal is read on another core while the database loads: a no-op build is
    // mostly these two reads and the stats that follow. (Read again under the lock if
    // another build changed it meanwhile.)
    let root = batuta_engine::manifest::workspace_of(&path);
    let journal = std::thread::spawn(move || exec::Session::open(&root));
    let mut ws = db::Workspace::open(&path, selection, batuta_rules::CATALOG).map_err(unshare)?;
    let m = ws.manifest().map_err(unshare)?;
    check(&m)?;
    let e = ws.expansion().map_err(unshare)?;
    tracing::debug!(path = %path.display(), elapsed = ?started.elapsed(), "loaded manifest and graph");
    Ok((ws, m, e, journal))
}

/// The database shares its diagnostics; reporting wants them whole.
fn unshare(d: std::sync::Arc<Diagnostics>) -> Diagnostics {
    std::sync::Arc::try_unwrap(d).unwrap_or_else(|d| (*d).clone())
}

fn no_transpile_stage(m: &Manifest) -> Diagnostics {
    Diagnostics {
        source: m.source.clone(),
        items: vec![
            Diagnostic::new(Code::MissingKey, "the manifest has no transpile stage")
                .help("add `stages: { transpile: { tasks: { python: { rule: depyler, each: \"**/*.py\", out: \"src/{dir}/{stem}.rs\" } } } }`"),
        ],
    }
}

fn run_loaded(ui: &Ui, args: &BuildArgs, loaded: Result<Opened, Diagnostics>) -> Exit {
    let (mut ws, m, e, journal) = match loaded {
        Ok(x) => x,
        Err(d) => {
            ui.report(&d);
            return Exit::Usage;
        }
    };
    let g = &e.graph;
    match args.format {
        TextOrJson::Text => ui.warnings(&m, &g.warnings, false),
        TextOrJson::Json => {
            crate::output::print_json_lines(crate::output::diagnostics_json(&Diagnostics {
                source: m.source.clone(),
                items: crate::output::notes(&m, &g.warnings, false),
            }))
        }
    }
    tracing::debug!(actions = g.actions.len(), "expanded graph");
    // SIGINT, SIGTERM and SIGHUP cancel: the builder kills running actions and starts
    // nothing new.
    let cancel = crate::signals::cancel_on_signals();
    let _lock = match super::lock(&m.root, args.no_wait, cancel) {
        Err(_) if cancel.load(Ordering::SeqCst) => return Exit::Interrupted,
        Ok(l) => l,
        Err(exit) => return exit,
    };
    let mut opts = options(args, &m, g);
    match super::remote::for_build(
        args.remote_cache.as_deref(),
        args.remote_executor.as_deref(),
        &m,
    ) {
        Ok(r) => opts.remote = r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    }
    if let Some(base) = &args.affected {
        match affected(&m, g, base) {
            Ok(mut only) => {
                let projects = m
                    .is_workspace()
                    .then(|| graph::affected_projects(g, &mut only));
                let n = only.iter().filter(|k| **k).count();
                match args.format {
                    TextOrJson::Text => {
                        println!("affected since {base}: {n} of {} actions", g.actions.len());
                        if let Some(p) = &projects {
                            let list = if p.is_empty() {
                                "none".to_owned()
                            } else {
                                p.join(", ")
                            };
                            println!("affected projects: {list}");
                        }
                    }
                    TextOrJson::Json => {
                        let mut v = serde_json::json!({"event": "affected", "base": base, "actions": n, "of": g.actions.len()});
                        if let Some(p) = projects {
                            v["projects"] = serde_json::json!(p);
                        }
                        println!("{v}")
                    }
                }
                opts.only = Some(only);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Usage;
            }
        }
    }
    let fingerprints = ws.fingerprints(&m, g, &batuta_rules::Registry);
    let db_warning = ws.take_warning();
    // This build may change the workspace: until it settles again, the next one looks.
    db::settled::Settled::forget(&m.root, &ws.selection());
    let after = std::sync::Mutex::new(None::<exec::Session>);
    let build = |r: &dyn Progress| {
        if let Some(w) = &db_warning {
            r.event(exec::Event::Warning(w));
        }
        let mut session = journal.join().expect("the journal reader does not panic");
        let s = session.build(&exec::Job {
            manifest: &m,
            graph: g,
            fingerprints: &fingerprints.0,
            options: &opts,
            rules: &batuta_rules::Registry,
            progress: r,
            cancel,
            known_fresh: None,
        });
        *after.lock().expect("session lock") = Some(session);
        s
    };
    let summary = match args.format {
        TextOrJson::Text => {
            let progress = TextProgress::new(g.actions.len(), ui);
            let s = profiled(args.profile.as_deref(), &progress, build);
            progress.finish();
            print_text_summary(ui, &s);
            print_missing_tools(&m, g, &opts, &s);
            s
        }
        TextOrJson::Json => {
            let progress = JsonProgress::default();
            let s = profiled(args.profile.as_deref(), &progress, build);
            progress.line(&summary_line(&s));
            s
        }
    };
    if let Err(e) = ws.save() {
        // Only speed is lost: the next build derives the graph again.
        tracing::warn!("cannot keep the build's database: {e}");
    }
    if summary.executed + summary.cached + summary.failed > 0 || summary.cancelled {
        // The share of native code after this build, for the report's history of builds.
        if let Err(e) = super::files::record_native(g, &m.root, &m.project.source.value) {
            eprintln!("warning: could not record the share of native code: {e}");
        }
    }
    let junit_ok = args
        .junit
        .as_deref()
        .is_none_or(|p| write_junit(&m, g, &summary, p));
    let whole = opts.only.is_none() && args.modules.is_empty();
    let quiet = crate::output::notes(&m, &g.warnings, false).is_empty();
    // Only a build that ran nothing: one that wrote outputs did so within a clock tick of
    // now, which the record could not trust, and looking would cost every edit's build.
    let all_fresh = summary.up_to_date == g.actions.len();
    // Only `build` looks for the record (see `settled`); `transpile` would write it in vain.
    let looked_for = matches!(ws.selection(), Selection::Target(_));
    if looked_for && whole && quiet && all_fresh && summary.failed == 0 && !summary.cancelled {
        let session = after.lock().expect("session lock").take();
        if let Some(session) = session
            && let Some(s) =
                db::settled::Settled::record(&ws, g, &batuta_rules::Registry, &|p| session.stamp(p))
            && let Err(e) = s.save(&m.root)
        {
            tracing::warn!("cannot keep that the build settled: {e}");
        }
    }
    if summary.cancelled {
        Exit::Interrupted
    } else if summary.failed > 0 || !junit_ok {
        Exit::Failed
    } else {
        Exit::Success
    }
}

/// Run `build` with `progress`, recording a trace into `profile` when one is asked for.
pub fn profiled(
    profile: Option<&std::path::Path>,
    progress: &dyn Progress,
    build: impl FnOnce(&dyn Progress) -> Summary,
) -> Summary {
    let Some(path) = profile else {
        return build(progress);
    };
    let recorder = Profile::new(progress);
    let s = build(&recorder);
    if let Err(e) = recorder.write(path) {
        eprintln!("warning: cannot write the profile {}: {e}", path.display());
    }
    s
}

/// `--affected BASE`: per action, whether a change since BASE reaches it. A changed
/// manifest reaches everything.
fn affected(m: &Manifest, g: &graph::ActionGraph, base: &str) -> Result<Vec<bool>, String> {
    let changed = super::affected::changed_since(&m.root, base)?;
    let manifest = m.path.file_name().map(|n| n.to_string_lossy().into_owned());
    if manifest.is_some_and(|n| changed.contains(&n)) {
        return Ok(vec![true; g.actions.len()]);
    }
    Ok(graph::affected(g, &changed))
}

/// How to run a build of `g`, as the command line and the manifest ask.
pub fn options(args: &BuildArgs, m: &Manifest, g: &graph::ActionGraph) -> exec::Options {
    options_with(args, m, g, writes(m, g))
}

/// [`options`] with the set of files the manifest writes already known (`watch` keeps it
/// while the graph stays the same: it is 10,000 paths at 10,000 actions).
pub fn options_with(
    args: &BuildArgs,
    m: &Manifest,
    g: &graph::ActionGraph,
    writes: Option<std::sync::Arc<std::collections::HashSet<String>>>,
) -> exec::Options {
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    exec::Options {
        jobs,
        keep_going: args.keep_going || g.keep_going,
        cache_dir: cache_dir(m),
        modules: args.modules.clone(),
        only: None,
        remote: None,
        writes,
    }
}

/// Every file the manifest's actions write, in all its stages, for the sweep of files an
/// earlier build wrote that nothing writes any more. The target's graph serves when it is
/// every stage; a manifest whose other stages do not expand sweeps nothing.
pub fn writes(
    m: &Manifest,
    g: &graph::ActionGraph,
) -> Option<std::sync::Arc<std::collections::HashSet<String>>> {
    let all;
    let every_stage = if m.is_workspace() {
        // Every stage of every project: shared ones and each project's own, by phase.
        g.projects.len() == m.projects.len()
            && m.projects
                .iter()
                .zip(&g.projects)
                .all(|(wp, gp)| m.project_phases(wp).len() == gp.stages.len())
    } else {
        g.stages.len() == m.stages.len()
    };
    let g = if every_stage {
        g
    } else {
        all = graph::expand_all(m).ok()?;
        &all
    };
    let outputs = g.actions.iter().flat_map(|a| a.outputs.iter().cloned());
    Some(std::sync::Arc::new(outputs.collect()))
}

/// The JSON summary line. The contract (ARCHITECTURE.md): exactly these keys, in this
/// order, the last line of a build.
pub fn summary_line(s: &Summary) -> String {
    format!(
        "{{\"event\":\"summary\",\"executed\":{},\"cached\":{},\"up_to_date\":{},\"failed\":{},\"duration_ms\":{}}}",
        s.executed,
        s.cached,
        s.up_to_date,
        s.failed,
        s.duration.as_millis()
    )
}

/// `--junit PATH`: the cargo-test results of this build in one JUnit file for CI.
pub fn write_junit(
    m: &Manifest,
    g: &graph::ActionGraph,
    s: &Summary,
    path: &std::path::Path,
) -> bool {
    let name = format!("batuta build {}", g.target);
    let written =
        batuta_rules::validate::junit::merge_build(&m.root, &name, &g.actions, &s.failures)
            .map_err(|e| e.to_string())
            .and_then(|(xml, n)| {
                std::fs::write(path, xml)
                    .map(|()| n)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
            });
    match written {
        Ok(n) => {
            tracing::info!(reports = n, path = %path.display(), "wrote JUnit results");
            true
        }
        Err(e) => {
            eprintln!("error: --junit: {e}");
            false
        }
    }
}

/// For each tool that was missing (BATUTA-T-001 on an action that runs it): every file of
/// this build that needs it, and the exact command that installs it.
fn print_missing_tools(m: &Manifest, g: &graph::ActionGraph, opts: &exec::Options, s: &Summary) {
    use batuta_engine::graph::ActionKind;
    let tool_of = |id: &str| {
        g.actions
            .iter()
            .find(|a| a.id == id)
            .and_then(|a| match &a.kind {
                ActionKind::Command { tool: Some(t), .. } => Some(t.clone()),
                _ => None,
            })
    };
    let mut missing: Vec<String> = s
        .failures
        .iter()
        .filter(|(_, f)| matches!(*f.kind, Kind::ToolMissing { tool: Some(_), .. }))
        .filter_map(|(id, _)| tool_of(id))
        .collect();
    missing.sort();
    missing.dedup();
    let mut err = std::io::stderr().lock();
    for t in missing {
        let mut files: Vec<&str> = g
            .actions
            .iter()
            .filter(|a| matches!(&a.kind, ActionKind::Command { tool: Some(x), .. } if *x == t))
            .filter(|a| exec::selected(a, &opts.modules))
            .filter_map(|a| a.inputs.first().map(String::as_str))
            .collect();
        files.sort_unstable();
        files.dedup();
        let install = m
            .tool(&t)
            .and_then(|x| x.install.clone())
            .unwrap_or_else(|| format!("install '{t}' and put it on PATH"));
        let _ = writeln!(
            err,
            "\n[BATUTA-T-001] {t} is not installed; {} file{} need{} it:",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            if files.len() == 1 { "s" } else { "" }
        );
        for f in &files {
            let _ = writeln!(err, "  {f}");
        }
        let _ = writeln!(err, "Install it with: {install}");
    }
}

/// The last lines of a tool's error output: enough to act on, not a flood.
fn tail(text: &str, lines: usize) -> Vec<&str> {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].to_vec()
}

/// Andon: for each failure, what failed, why, and what to do (REFERENCE.md).
pub fn andon(ui: &Ui, id: &str, phase_title: &str, f: &Failure) -> String {
    let mut s = String::new();
    let red = |t: &str| {
        if ui.color {
            format!("\x1b[1;31m{t}\x1b[0m")
        } else {
            t.to_owned()
        }
    };
    s.push_str(&red(&format!("❌ {phase_title} failed!")));
    s.push('\n');
    s.push_str(&format!("Error: {id}: {}\n", f.message));
    for line in tail(&f.detail, 20) {
        s.push_str(&format!("  {line}\n"));
    }
    if let Kind::Command { log: Some(log), .. } = &*f.kind
        && !f.detail.contains(log.as_str())
    {
        s.push_str(&format!("  (its whole output is in {log})\n"));
    }
    s.push_str(&format!("  [{}] {}\n", f.code.code, f.code.meaning));
    s.push_str("💡 Troubleshooting:\n");
    for h in &f.hints {
        s.push_str(&format!("  • {h}\n"));
    }
    s.push_str(&format!("  • {}\n", capitalise(f.code.what_to_do)));
    s.push_str(&format!(
        "  • `batuta explain {}` lists common causes and fixes\n",
        f.code.code
    ));
    s.push_str("  • Try running with --verbose for more details\n");
    s
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub fn print_text_summary(ui: &Ui, s: &Summary) {
    let mut err = std::io::stderr().lock();
    for (id, f) in &s.failures {
        let phase = id
            .split('/')
            .next()
            .and_then(batuta_engine::manifest::Phase::from_stage_name)
            .map_or("Build", |p| p.title());
        let _ = write!(err, "\n{}", andon(ui, id, phase, f));
    }
    let secs = s.duration.as_secs_f64();
    let counts = format!(
        "{} executed{}, {} restored from cache{}, {} up to date",
        s.executed,
        if s.remote_executed > 0 {
            format!(" ({} on remote workers)", s.remote_executed)
        } else {
            String::new()
        },
        s.cached,
        if s.remote_cached > 0 {
            format!(" ({} from the remote cache)", s.remote_cached)
        } else {
            String::new()
        },
        s.up_to_date
    );
    if s.cancelled {
        let _ = writeln!(err, "\nerror: cancelled after {secs:.2}s ({counts})");
    } else if s.failed > 0 {
        let _ = writeln!(
            err,
            "\nerror: {} action{} failed, {} not run ({counts}) in {secs:.2}s",
            s.failed,
            if s.failed == 1 { "" } else { "s" },
            s.skipped
        );
    } else if ui.quiet {
        // -q: nothing to say about success.
    } else if s.executed + s.cached == 0 {
        println!(
            "ok: nothing to do, {} up to date ({secs:.2}s)",
            s.up_to_date
        );
    } else {
        println!("ok: {counts} in {secs:.2}s");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(tail("", 2), Vec::<&str>::new());
    }
}
