//! `batuta watch`: build once, then rebuild what each edit makes stale, until Ctrl-C.
//!
//! The engine's `watch` module decides what an edit touched; this loop feeds it file events,
//! runs each build on a worker thread while it keeps listening, and cancels a build whose
//! running action just had an input changed under it, so the rebuild that follows reads
//! the new content.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use batuta_engine::exec::{Event, Job, Progress, Summary};
use batuta_engine::watch::{Changes, Incremental, Round as Planned, WatchError, Watcher};

use crate::Exit;
use crate::cli::{TextOrJson, WatchArgs};
use crate::output::{self, Ui};
use crate::profile::Profile;
use crate::progress::{JsonProgress, TextProgress};

use super::build::{options_with, print_text_summary, summary_line, write_junit};

/// Set by Ctrl-C (or SIGTERM, SIGHUP): the running build is cancelled and watching ends.
use crate::signals::CANCELLED as STOP;

/// How often the loop looks at Ctrl-C while nothing happens: rare enough to cost nothing.
const IDLE_POLL: Duration = Duration::from_millis(200);
/// How often it looks at Ctrl-C while a build runs (the build's end wakes it at once).
const BUSY_POLL: Duration = Duration::from_millis(50);

pub fn run(ui: &Ui, args: &WatchArgs) -> Exit {
    let path = match super::find_manifest(&args.build.manifest) {
        Ok(p) => p,
        Err(d) => {
            ui.report(&d);
            return Exit::Usage;
        }
    };
    let mut inc = match Incremental::open(&path, args.build.target.clone(), batuta_rules::CATALOG) {
        Ok(i) => i,
        Err(d) => {
            ui.report(&d);
            return Exit::Usage;
        }
    };
    crate::signals::cancel_on_signals();
    let out = Out {
        ui: *ui,
        format: args.build.format,
    };
    let mut watcher = match Watcher::new(Duration::from_millis(args.debounce)) {
        Ok(w) => w,
        Err(e) => return out.fatal(&e),
    };
    if let Err(e) = watcher.watch(inc.watch_dirs().iter().map(PathBuf::as_path)) {
        return out.fatal(&e);
    }
    let exit = watch(&mut inc, &mut watcher, args, &out);
    // The database goes on disk once, as watching ends: the next build starts from it.
    if let Err(e) = inc.save() {
        tracing::warn!("cannot keep the database: {e}");
    }
    exit
}

/// Build, then rebuild after each change, until Ctrl-C or a fatal error.
fn watch(inc: &mut Incremental, watcher: &mut Watcher, args: &WatchArgs, out: &Out) -> Exit {
    let mut announced = false;
    let mut graph_seen = None;
    let mut writes = None;
    loop {
        let plan = inc.round(&batuta_rules::Registry);
        if let Some(d) = &plan.problem {
            out.diagnostics(d);
        }
        // A new graph may read files in folders not watched yet.
        let graph_id = std::sync::Arc::as_ptr(&plan.built);
        if graph_seen.is_some_and(|g| g != graph_id)
            && let Err(e) = watcher.watch(inc.watch_dirs().iter().map(PathBuf::as_path))
        {
            return out.fatal(&e);
        }
        if graph_seen != Some(graph_id) {
            let (m, g) = (&plan.built.0, &plan.built.1);
            writes = super::build::writes(m, g);
        }
        graph_seen = Some(graph_id);
        // Every round builds, even when the database knows everything is up to date: a
        // summary answers every change, and a build of known-fresh actions reads no file.
        let round = build(inc, &plan, writes.clone(), args, out, &mut *watcher);
        if let Some(e) = round.error {
            return out.fatal(&e);
        }
        if let Some(exit) = round.busy {
            return if STOP.load(Ordering::SeqCst) {
                Exit::Success
            } else {
                exit
            };
        }
        if let Some(path) = &args.build.junit {
            // Each round's results replace the last; a failure to write is said and kept.
            write_junit(&plan.built.0, &plan.built.1, &round.summary, path);
        }
        match &round.restart {
            Some(why) if !STOP.load(Ordering::SeqCst) => {
                out.restart(&round.summary, why);
                inc.forget();
            }
            _ => out.summary(&round.summary),
        }
        if STOP.load(Ordering::SeqCst) {
            break;
        }
        if !announced {
            out.note(&format!(
                "watching {} folders for changes (Ctrl-C to stop)",
                watcher.watched()
            ));
            announced = true;
        }
        // Wait until something that matters changes; a cancelled build goes again at once.
        let mut again = take(inc, watcher, &round.pending, out) || round.restart.is_some();
        while !again {
            if STOP.load(Ordering::SeqCst) {
                return Exit::Success;
            }
            match watcher.next(IDLE_POLL) {
                Ok(Some(c)) => again = take(inc, watcher, &c, out),
                Ok(None) => {}
                Err(e) => return out.fatal(&e),
            }
        }
    }
    Exit::Success
}

/// Feed a batch of events to the database; watch folders that appeared. Returns whether
/// anything that matters changed, and says what on a terminal.
fn take(inc: &mut Incremental, watcher: &mut Watcher, c: &Changes, out: &Out) -> bool {
    if c.is_empty() {
        return false;
    }
    if c.lost {
        out.note(
            "warning: file events were lost (the system's queue overflowed); checking every file",
        );
    }
    if let Err(e) = watcher.watch(inc.new_dirs(c).iter().map(PathBuf::as_path)) {
        // A folder that cannot be watched loses its future events, not this batch.
        out.note(&format!("warning: {e}"));
    }
    let relevant = inc.apply(c);
    if relevant.is_empty() {
        return false;
    }
    out.change(&relevant);
    true
}

struct Round {
    summary: Summary,
    /// Events that arrived during the build.
    pending: Changes,
    /// Why the build was cancelled to start again, when it was.
    restart: Option<String>,
    error: Option<WatchError>,
    /// The workspace lock could not be had (`--no-wait`, or Ctrl-C while waiting): no build.
    busy: Option<Exit>,
}

/// Run one build on a worker thread; meanwhile listen for events, and cancel the build
/// when one changes an input of a running action (the next round re-runs it).
fn build(
    inc: &mut Incremental,
    plan: &Planned,
    writes: Option<std::sync::Arc<HashSet<String>>>,
    args: &WatchArgs,
    out: &Out,
    watcher: &mut Watcher,
) -> Round {
    let (m, g) = (&plan.built.0, &plan.built.1);
    let mut opts = options_with(&args.build, m, g, writes);
    match super::remote::for_build(
        args.build.remote_cache.as_deref(),
        args.build.remote_executor.as_deref(),
        m,
    ) {
        Ok(r) => opts.remote = r,
        Err(e) => eprintln!("warning: {e}; building without the remote cache"),
    }
    let mut round = Round {
        summary: Summary::default(),
        pending: Changes::default(),
        restart: None,
        error: None,
        busy: None,
    };
    // Held for the build only: between builds, `batuta build` in another terminal may run.
    let _lock = match super::lock(&m.root, args.build.no_wait, &STOP) {
        Ok(l) => l,
        Err(exit) => {
            round.busy = Some(exit);
            return round;
        }
    };
    let root_abs = inc.root_abs().to_path_buf();
    // Files the build itself writes: their events are its own doing, not an edit.
    let written = inc.outputs();
    let cancel = AtomicBool::new(false);
    let text =
        (out.format == TextOrJson::Text).then(|| TextProgress::new(g.actions.len(), &out.ui));
    let json = JsonProgress::default();
    let inner: &dyn Progress = match &text {
        Some(t) => t,
        None => &json,
    };
    let profile = args.build.profile.as_ref().map(|_| Profile::new(inner));
    let inner: &dyn Progress = match &profile {
        Some(p) => p,
        None => inner,
    };
    let progress = Tracking {
        inner,
        running: Mutex::default(),
    };
    let db_warning = inc.take_warning();
    if let Some(w) = &db_warning {
        progress.event(Event::Warning(w));
    }
    let job = Job {
        manifest: m,
        graph: g,
        fingerprints: &plan.fingerprints.0,
        options: &opts,
        rules: &batuta_rules::Registry,
        progress: &progress,
        cancel: &cancel,
        known_fresh: Some(&plan.known_fresh),
    };
    round.summary = std::thread::scope(|s| {
        let session = inc.session();
        let waker = watcher.waker();
        let job = &job;
        let worker = s.spawn(move || {
            let summary = session.build(job);
            waker.wake();
            summary
        });
        while !worker.is_finished() {
            if STOP.load(Ordering::SeqCst) {
                cancel.store(true, Ordering::SeqCst);
            }
            match watcher.next(BUSY_POLL) {
                Ok(Some(c)) => {
                    if round.restart.is_none()
                        && let Some(why) = progress.reads(&root_abs, &written, &c)
                    {
                        round.restart = Some(why);
                        cancel.store(true, Ordering::SeqCst);
                    }
                    round.pending.merge(c);
                }
                Ok(None) => {}
                Err(e) => {
                    round.error = Some(e);
                    cancel.store(true, Ordering::SeqCst);
                }
            }
        }
        match worker.join() {
            Ok(s) => s,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    if let (Some(p), Some(path)) = (&profile, &args.build.profile) {
        // Each round's trace replaces the last.
        if let Err(e) = p.write(path) {
            out.note(&format!(
                "warning: cannot write the profile {}: {e}",
                path.display()
            ));
        }
    }
    if let Some(t) = &text {
        t.finish();
    }
    round
}

/// Passes events on, and keeps what each running action reads.
struct Tracking<'a> {
    inner: &'a dyn Progress,
    running: Mutex<HashMap<String, Vec<String>>>,
}

impl Tracking<'_> {
    /// Which running action reads a changed file (not one the build writes), said for
    /// people.
    fn reads(
        &self,
        root_abs: &Path,
        written: &HashMap<String, usize>,
        c: &Changes,
    ) -> Option<String> {
        let running = self.running.lock().expect("running lock");
        for p in &c.paths {
            let Ok(rel) = p.strip_prefix(root_abs) else {
                continue;
            };
            let rel = batuta_engine::graph::walk::to_slash(rel);
            if written.contains_key(rel.as_str()) {
                continue;
            }
            if let Some((id, _)) = running.iter().find(|(_, inputs)| inputs.contains(&rel)) {
                return Some(format!("{rel} changed while {id} read it"));
            }
        }
        None
    }
}

impl Progress for Tracking<'_> {
    fn event(&self, e: Event<'_>) {
        match &e {
            Event::ActionStarted(a) => {
                self.running
                    .lock()
                    .expect("running lock")
                    .insert(a.id.clone(), a.inputs.clone());
            }
            Event::ActionFinished { action, .. } => {
                self.running
                    .lock()
                    .expect("running lock")
                    .remove(&action.id);
            }
            _ => {}
        }
        self.inner.event(e);
    }
}

/// Where the loop's own messages go: stdout for people, one JSON event per line for
/// machines (the same stream as `batuta build`, a summary line after every build).
struct Out {
    ui: Ui,
    format: TextOrJson,
}

impl Out {
    fn json(&self, v: serde_json::Value) {
        output::print_json_lines([v]);
    }

    fn note(&self, text: &str) {
        match self.format {
            TextOrJson::Text => println!("{text}"),
            TextOrJson::Json => {}
        }
    }

    fn change(&self, paths: &[String]) {
        match self.format {
            TextOrJson::Text => {
                let shown = paths.len().min(3);
                let mut line = format!("\nchanged: {}", paths[..shown].join(", "));
                if paths.len() > shown {
                    line.push_str(&format!(" and {} more", paths.len() - shown));
                }
                println!("{line}");
            }
            TextOrJson::Json => self.json(serde_json::json!({ "event": "change", "paths": paths })),
        }
    }

    fn diagnostics(&self, d: &batuta_engine::manifest::Diagnostics) {
        match self.format {
            TextOrJson::Text => {
                self.ui.report(d);
                println!("keeping the last good graph; fix the manifest to rebuild it");
            }
            TextOrJson::Json => output::print_json_lines(output::diagnostics_json(d)),
        }
    }

    fn summary(&self, s: &Summary) {
        match self.format {
            TextOrJson::Text => print_text_summary(&self.ui, s),
            TextOrJson::Json => println!("{}", summary_line(s)),
        }
    }

    fn restart(&self, s: &Summary, why: &str) {
        match self.format {
            TextOrJson::Text => println!("restarting: {why}"),
            TextOrJson::Json => {
                self.json(serde_json::json!({ "event": "restart", "reason": why }));
                println!("{}", summary_line(s));
            }
        }
    }

    fn fatal(&self, e: &WatchError) -> Exit {
        match self.format {
            TextOrJson::Text => {
                let _ = writeln!(std::io::stderr(), "error: {e}");
            }
            TextOrJson::Json => {
                self.json(serde_json::json!({ "event": "error", "message": e.to_string() }))
            }
        }
        Exit::Failed
    }
}
