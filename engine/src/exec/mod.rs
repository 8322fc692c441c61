//! The scheduler: runs ready actions on a bounded pool of workers, in graph order.
//!
//! An action is ready when everything it reads is written and every stage its stage needs
//! is done. A failure stops the line (Jidoka): the failed action's stage never completes,
//! so nothing downstream starts; without `keep_going` nothing new starts at all.

mod action;
mod shared;
mod stage;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, RwLock, mpsc};

use rayon::prelude::*;
use std::time::{Duration, Instant};

use petgraph::Direction::{Incoming, Outgoing};
use petgraph::graph::NodeIndex;

use crate::cache::Cache;
use crate::codes::ErrorCode;
use crate::graph::{Action, ActionGraph, Node};
use crate::journal::{self, Journal};
use crate::manifest::{Manifest, Phase};
use crate::rule::Rules;
use crate::state::{self, State};

pub use action::{phase_code, probe_tool};

/// Why an action failed, with the book's code and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
    /// The tool's own words (stderr), when it printed any.
    pub detail: String,
    pub hints: Vec<String>,
}

impl Failure {
    pub fn new(code: ErrorCode, message: String) -> Failure {
        Failure {
            code,
            message,
            detail: String::new(),
            hints: Vec::new(),
        }
    }

    pub fn detail(mut self, d: String) -> Failure {
        self.detail = d;
        self
    }

    pub fn hint(mut self, h: impl Into<String>) -> Failure {
        self.hints.push(h.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The action ran.
    Executed,
    /// Its outputs were restored from the local cache.
    Cached,
    /// Its outputs were fetched from the remote cache (and restored through the local one).
    RemoteCached,
    /// It ran on a remote worker, which the server names.
    RemoteExecuted {
        worker: String,
    },
    /// Its outputs were already in place.
    UpToDate,
    Failed(Failure),
    /// The build was cancelled while it ran; nothing it wrote was kept.
    Cancelled,
}

/// What a build reports as it goes.
pub enum Event<'a> {
    PhaseStarted(Phase),
    PhaseFinished {
        phase: Phase,
        ok: bool,
    },
    ActionStarted(&'a Action),
    ActionFinished {
        action: &'a Action,
        outcome: &'a Outcome,
        duration: Duration,
        /// The worker that ran it (0-based), or `None` when the scheduler found it up to
        /// date without a worker.
        worker: Option<usize>,
    },
    /// What a built-in rule or kernel reported about its successful run.
    ActionReport {
        action: &'a Action,
        text: &'a str,
    },
    Warning(&'a str),
    /// A file an earlier build wrote that no action writes any more, and what was done.
    Swept(&'a crate::stale::Swept),
}

pub trait Reporter: Sync {
    fn event(&self, e: Event<'_>);
}

#[derive(Debug, Clone)]
pub struct Options {
    pub jobs: usize,
    pub keep_going: bool,
    pub cache_dir: PathBuf,
    /// Restrict transpile actions to these source modules (paths, folders or stems).
    pub modules: Vec<String>,
    /// Per action, whether to build it (`--affected`); `None` builds every action.
    pub only: Option<Vec<bool>>,
    /// A shared cache asked after a local miss (`remote:` or `--remote-cache`); `None`
    /// opens no connection.
    pub remote: Option<std::sync::Arc<dyn crate::remote::RemoteCache>>,
    /// Every file the manifest's actions write, in all its stages: a file an earlier build
    /// wrote that is not among them is swept (see `crate::stale`). `None` sweeps nothing.
    pub writes: Option<std::sync::Arc<std::collections::HashSet<String>>>,
}

impl Options {
    /// Whether this build considers action `i` at all.
    fn keeps(&self, i: usize, a: &Action) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.get(i).copied().unwrap_or(true))
            && selected(a, &self.modules)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub executed: usize,
    /// Restored from a cache, local or remote.
    pub cached: usize,
    /// Of `cached`, those fetched from the remote cache.
    pub remote_cached: usize,
    /// Of `executed`, those run on remote workers.
    pub remote_executed: usize,
    pub up_to_date: usize,
    pub failed: usize,
    /// Actions that did not run because something they wait for failed or the build stopped.
    pub skipped: usize,
    pub duration: Duration,
    pub cancelled: bool,
    /// Each failed action's id and failure, in the order they failed.
    pub failures: Vec<(String, Failure)>,
}

/// Whether `--modules` keeps this action. Only transpile actions made by `each` are filtered.
pub fn selected(a: &Action, modules: &[String]) -> bool {
    if modules.is_empty() || a.phase != Phase::Transpile {
        return true;
    }
    let Some((_, path)) = a.id.split_once(':') else {
        return true;
    };
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    modules.iter().any(|m| {
        let m = m.trim_end_matches('/');
        path == m || stem == m || file == m || path.starts_with(&format!("{m}/"))
    })
}

/// Build the graph once, as `batuta build` does. `cancel` stops the build: running
/// children are killed, nothing new starts, and nothing half-written is kept.
pub fn build(
    m: &Manifest,
    g: &ActionGraph,
    opts: &Options,
    rules: &dyn Rules,
    reporter: &dyn Reporter,
    cancel: &AtomicBool,
) -> Summary {
    let mut session = Session::open(&m.root);
    session.build(&Job {
        manifest: m,
        graph: g,
        options: opts,
        rules,
        reporter,
        cancel,
        known_fresh: None,
    })
}

/// One build's inputs.
pub struct Job<'a> {
    pub manifest: &'a Manifest,
    pub graph: &'a ActionGraph,
    pub options: &'a Options,
    pub rules: &'a dyn Rules,
    pub reporter: &'a dyn Reporter,
    pub cancel: &'a AtomicBool,
    /// Per action, whether the caller already knows it is up to date (`Some(true)`) or out
    /// of date (`Some(false)`); `None` asks the disk. `batuta watch` knows most answers from
    /// its database and the file events, so it skips stat-ing the whole workspace.
    pub known_fresh: Option<&'a [Option<bool>]>,
}

/// What lasts from one build of a workspace to the next: the journal (the stat cache and
/// each action's last run). `batuta build` opens one per run; `batuta watch` keeps one.
pub struct Session {
    journal_path: PathBuf,
    journal: Journal,
    /// A damaged journal, reported by the first build.
    warning: Option<String>,
    /// The journal file as this session last read or wrote it (size, mtime): another
    /// batuta that built in between changes it, and the session reads it again.
    stamp: Option<(u64, std::time::SystemTime)>,
}

fn stamp_of(path: &Path) -> Option<(u64, std::time::SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

impl Session {
    pub fn open(root: &Path) -> Session {
        let journal_path = journal::path(root);
        let stamp = stamp_of(&journal_path);
        let (journal, warning) = Journal::load(&journal_path);
        Session {
            journal_path,
            journal,
            warning,
            stamp,
        }
    }

    /// Read the journal again if another process wrote it since this session did.
    pub fn refresh(&mut self) {
        let now = stamp_of(&self.journal_path);
        if now != self.stamp {
            tracing::debug!("the journal changed on disk; reading it again");
            let (journal, warning) = Journal::load(&self.journal_path);
            self.journal = journal;
            self.warning = warning.or(self.warning.take());
            self.stamp = now;
        }
    }

    /// The last successful run of an action, by id.
    pub fn record(&self, id: &str) -> Option<&journal::ActionRecord> {
        self.journal.actions.get(id)
    }

    /// The digest of a workspace file through the stat cache (`Ok(None)`: no such file).
    pub fn digest(
        &mut self,
        root: &Path,
        rel: &str,
    ) -> std::io::Result<Option<crate::digest::Digest>> {
        let cache = RwLock::new(std::mem::take(&mut self.journal.stat));
        let d = crate::digest::digest(&cache, root, rel);
        self.journal.stat = cache.into_inner().expect("stat lock");
        d
    }

    pub fn build(&mut self, job: &Job<'_>) -> Summary {
        let started = Instant::now();
        self.refresh();
        let (m, g, opts, reporter) = (job.manifest, job.graph, job.options, job.reporter);
        let root: &Path = &m.root;
        if let Some(w) = self.warning.take() {
            reporter.event(Event::Warning(&w));
        }
        let tool_versions = m
            .tools
            .iter()
            .map(|t| (t.name.value.clone(), OnceLock::new()))
            .collect();
        let journal = std::mem::take(&mut self.journal);
        let ctx = action::Ctx {
            m,
            root,
            cache: Cache::new(&opts.cache_dir),
            stat: RwLock::new(journal.stat),
            records: RwLock::new(journal.actions),
            records_changed: AtomicBool::new(false),
            tool_versions,
            running: Mutex::new(HashMap::new()),
            programs: Mutex::new(HashMap::new()),
            cancel: job.cancel,
            reporter,
            rules: job.rules,
            source: crate::manifest::normalize("", &m.project.source.value).unwrap_or_default(),
            output: crate::manifest::normalize("", &m.project.output.value).unwrap_or_default(),
            remote: opts.remote.as_deref(),
            remote_down: AtomicBool::new(false),
            stage: stage::StagePool::new(root),
            local_slots: opts.remote.as_ref().filter(|r| r.executes()).map(|_| {
                shared::Slots::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
            }),
        };
        if let Some(writes) = &opts.writes {
            let swept = {
                let mut records = ctx.records.write().expect("records lock");
                crate::stale::sweep(root, &mut records, writes, &ctx.stat)
            };
            if !swept.is_empty() {
                ctx.records_changed.store(true, Ordering::Relaxed);
            }
            for s in &swept {
                reporter.event(Event::Swept(s));
            }
        }
        let mut phases = PhaseTracker::new(root, g, reporter);
        let mut summary = schedule(&ctx, job, &mut phases);
        ctx.finish_remote();
        tracing::debug!(elapsed = ?started.elapsed(), "scheduled");
        phases.close(&summary);

        if let Err(e) = ctx.cache.flush() {
            let w = format!("could not flush the cache to disk: {e}");
            reporter.event(Event::Warning(&w));
        }
        let records_changed = ctx.records_changed.load(Ordering::Relaxed);
        self.journal = Journal {
            stat: ctx.stat.into_inner().expect("stat lock"),
            actions: ctx.records.into_inner().expect("records lock"),
        };
        if records_changed || self.journal.stat.changed() {
            tracing::debug!(elapsed = ?started.elapsed(), "saving journal");
            self.journal.stat.mark_saved();
            if let Err(e) = self.journal.save(&self.journal_path) {
                let w = format!("could not save {}: {e}", self.journal_path.display());
                reporter.event(Event::Warning(&w));
            }
            self.stamp = stamp_of(&self.journal_path);
        }
        summary.duration = started.elapsed();
        if summary.executed + summary.cached + summary.failed > 0 || summary.cancelled {
            let entry = crate::history::Entry {
                finished: state::now_rfc3339(),
                target: g.target.clone(),
                duration_ms: summary.duration.as_millis() as u64,
                executed: summary.executed,
                cached: summary.cached,
                up_to_date: summary.up_to_date,
                failed: summary.failed,
                cancelled: summary.cancelled,
            };
            if let Err(e) = crate::history::append(root, &entry) {
                let w = format!("could not add the build to its history: {e}");
                reporter.event(Event::Warning(&w));
            }
        }
        summary
    }
}

fn schedule(ctx: &action::Ctx<'_>, job: &Job<'_>, phases: &mut PhaseTracker<'_>) -> Summary {
    let (g, opts, reporter, cancel) = (job.graph, job.options, job.reporter, job.cancel);
    let graph = &g.graph;
    let mut waiting: Vec<usize> = graph
        .node_indices()
        .map(|n| graph.neighbors_directed(n, Incoming).count())
        .collect();
    let mut ready: VecDeque<NodeIndex> = graph
        .node_indices()
        .filter(|&n| waiting[n.index()] == 0)
        .collect();
    // Most actions of most builds are up to date: find them all at once, in parallel, so
    // they complete here without a round trip through a worker.
    let fresh: Vec<bool> = g
        .actions
        .par_iter()
        .enumerate()
        .map(|(i, a)| {
            opts.keeps(i, a)
                && match job.known_fresh.and_then(|k| k.get(i).copied().flatten()) {
                    Some(known) => known,
                    None => ctx.fresh(a),
                }
        })
        .collect();
    // Actions whose outputs this build wrote; what reads them must be checked again.
    let mut rewritten = vec![false; g.actions.len()];
    tracing::debug!(
        fresh = fresh.iter().filter(|f| **f).count(),
        "checked freshness"
    );
    let mut summary = Summary::default();
    let mut in_flight = 0usize;
    let mut gpu_in_use = 0u32;
    let mut stopping = false;
    let mut finished = 0usize;
    let jobs = opts.jobs.max(1);
    // Built-in kernels may claim the one GPU; no two GPU actions run at once.
    let gpu_slots = 1u32;

    let (job_tx, job_rx) = mpsc::channel::<usize>();
    let job_rx = Mutex::new(job_rx);
    // `None`: the job was queued but not started because the build is halting.
    // (action, outcome, how long it ran, which worker ran it)
    let (done_tx, done_rx) = mpsc::channel::<(usize, Option<Outcome>, Duration, usize)>();
    // Set when nothing new may start (a failure without keep_going, or Ctrl-C).
    let halt = AtomicBool::new(false);
    // Each worker finds its next job already queued, so it never waits for this thread.
    let queue_depth = jobs * 2;
    let keep_going = opts.keep_going;

    std::thread::scope(|s| {
        for worker in 0..jobs {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            let halt = &halt;
            s.spawn(move || {
                loop {
                    let next = job_rx.lock().expect("job lock").recv();
                    let Ok(i) = next else { break };
                    let t = Instant::now();
                    let halted = halt.load(Ordering::SeqCst) || cancel.load(Ordering::SeqCst);
                    let outcome = (!halted).then(|| ctx.process(&g.actions[i]));
                    // Stop the line here, before this worker or another takes a queued job.
                    if matches!(outcome, Some(Outcome::Failed(_))) && !keep_going {
                        halt.store(true, Ordering::SeqCst);
                    }
                    if done_tx.send((i, outcome, t.elapsed(), worker)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);

        let mut deferred: Vec<NodeIndex> = Vec::new();
        loop {
            if cancel.load(Ordering::SeqCst) && !stopping {
                stopping = true;
                halt.store(true, Ordering::SeqCst);
                summary.cancelled = true;
                kill_running(ctx);
            }
            // Dispatch what is ready, within the job and GPU limits.
            while !stopping && in_flight < queue_depth {
                let Some(n) = ready.pop_front() else { break };
                match graph[n] {
                    Node::StageDone(p) => {
                        phases.stage_done(p);
                        for next in graph.neighbors_directed(n, Outgoing) {
                            waiting[next.index()] -= 1;
                            if waiting[next.index()] == 0 {
                                ready.push_back(next);
                            }
                        }
                    }
                    Node::StageOf(k, p) => {
                        phases.project_stage_done(k, p);
                        complete(graph, n, &mut waiting, &mut ready);
                    }
                    Node::Needed(..) => complete(graph, n, &mut waiting, &mut ready),
                    Node::Action(i) => {
                        let a = &g.actions[i];
                        if !opts.keeps(i, a) {
                            complete(graph, n, &mut waiting, &mut ready);
                            continue;
                        }
                        if fresh[i] && !g.file_deps(i).any(|(j, _)| rewritten[j]) {
                            phases.action_started(a, false);
                            reporter.event(Event::ActionFinished {
                                action: a,
                                outcome: &Outcome::UpToDate,
                                duration: Duration::ZERO,
                                worker: None,
                            });
                            summary.up_to_date += 1;
                            finished += 1;
                            complete(graph, n, &mut waiting, &mut ready);
                            continue;
                        }
                        if a.gpu > 0 && gpu_in_use + a.gpu.min(gpu_slots) > gpu_slots {
                            deferred.push(n);
                            continue;
                        }
                        gpu_in_use += a.gpu.min(gpu_slots);
                        phases.action_started(a, true);
                        reporter.event(Event::ActionStarted(a));
                        in_flight += 1;
                        job_tx.send(i).expect("workers alive");
                    }
                }
            }
            if in_flight == 0 {
                if !deferred.is_empty() && !stopping {
                    ready.extend(deferred.drain(..));
                    continue;
                }
                break;
            }
            let Ok((i, outcome, duration, worker)) =
                done_rx.recv_timeout(Duration::from_millis(100))
            else {
                continue;
            };
            in_flight -= 1;
            let a = &g.actions[i];
            gpu_in_use -= a.gpu.min(gpu_slots);
            ready.extend(deferred.drain(..));
            let Some(outcome) = outcome else {
                continue; // never started: counted as not run
            };
            reporter.event(Event::ActionFinished {
                action: a,
                outcome: &outcome,
                duration,
                worker: Some(worker),
            });
            // A cancelled action counts as not run.
            finished += usize::from(outcome != Outcome::Cancelled);
            match outcome {
                Outcome::Executed => {
                    summary.executed += 1;
                    rewritten[i] = true;
                }
                Outcome::RemoteExecuted { .. } => {
                    summary.executed += 1;
                    summary.remote_executed += 1;
                    rewritten[i] = true;
                }
                Outcome::Cached => {
                    summary.cached += 1;
                    rewritten[i] = true;
                }
                Outcome::RemoteCached => {
                    summary.cached += 1;
                    summary.remote_cached += 1;
                    rewritten[i] = true;
                }
                Outcome::UpToDate => summary.up_to_date += 1,
                Outcome::Cancelled => continue,
                Outcome::Failed(f) => {
                    summary.failed += 1;
                    phases.action_failed(a, &f);
                    summary.failures.push((a.id.clone(), f));
                    if opts.keep_going {
                        for (j, why) in
                            fail_downstream(g, g.action_nodes[i], &mut waiting, &mut ready)
                        {
                            phases.action_blocked(&g.actions[j], a, why);
                        }
                    } else {
                        stopping = true;
                        halt.store(true, Ordering::SeqCst);
                    }
                    continue;
                }
            }
            complete(graph, g.action_nodes[i], &mut waiting, &mut ready);
        }
        drop(job_tx);
    });
    let considered = g
        .actions
        .iter()
        .enumerate()
        .filter(|(i, a)| opts.keeps(*i, a))
        .count();
    summary.skipped = considered - finished;
    summary
}

/// After `failed` failed, with keep-going: what reads one of its outputs never runs, nor
/// what reads theirs; everything else goes on. Its stage barrier counts it as finished, so
/// later stages run what does not depend on it, and an action that reads its output only
/// through an input glob runs without it (see `Action::matched`). Returns the actions that
/// will not run because of it.
fn fail_downstream(
    g: &ActionGraph,
    failed: NodeIndex,
    waiting: &mut [usize],
    ready: &mut VecDeque<NodeIndex>,
) -> Vec<(usize, Blocked)> {
    use petgraph::visit::EdgeRef;
    let graph = &g.graph;
    let mut blocked = Vec::new();
    let mut stack = vec![(failed, Blocked::Reads)];
    while let Some((n, why)) = stack.pop() {
        for e in graph.edges_directed(n, Outgoing) {
            let next = e.target();
            let blocks = match (e.weight(), graph[next]) {
                (crate::graph::Edge::File(f), Node::Action(j)) => {
                    (!g.actions[j].is_matched(f)).then_some(why)
                }
                // What a failed project's dependents wait for through `needs` never comes.
                (crate::graph::Edge::Needs, _) => Some(Blocked::Needs),
                _ => None,
            };
            if let Some(why) = blocks {
                // Each node is blocked once: its waiting count is spent so it never runs.
                if waiting[next.index()] != usize::MAX {
                    waiting[next.index()] = usize::MAX;
                    if let Node::Action(j) = graph[next] {
                        blocked.push((j, why));
                    }
                    stack.push((next, why));
                }
                continue;
            }
            if waiting[next.index()] == usize::MAX {
                continue;
            }
            waiting[next.index()] -= 1;
            if waiting[next.index()] == 0 {
                ready.push_back(next);
            }
        }
    }
    blocked
}

/// Why an action will not run after another failed (keep-going).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocked {
    /// It reads what the failed action (or one it waited for) did not write.
    Reads,
    /// Its project needs the failed action's project.
    Needs,
}

/// Mark a node done and release what waited only for it.
fn complete(
    graph: &petgraph::graph::DiGraph<Node, crate::graph::Edge>,
    n: NodeIndex,
    waiting: &mut [usize],
    ready: &mut VecDeque<NodeIndex>,
) {
    for next in graph.neighbors_directed(n, Outgoing) {
        // A node blocked by a failure (keep-going) never becomes ready.
        if waiting[next.index()] == usize::MAX {
            continue;
        }
        waiting[next.index()] -= 1;
        if waiting[next.index()] == 0 {
            ready.push_back(next);
        }
    }
}

fn kill_running(ctx: &action::Ctx<'_>) {
    for pid in ctx.running.lock().expect("running lock").keys() {
        kill_group(*pid);
    }
}

/// Kill an action's whole process group (see `spawn`).
fn kill_group(pid: u32) {
    #[cfg(unix)]
    // SAFETY: kill(2) on the process group of a child we spawned and have not yet reaped;
    // at worst the group already exited and the signal goes nowhere.
    unsafe {
        // The negative pid names the action's process group.
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Keeps `.batuta-state.json` in step with the build: a phase is InProgress from its first
/// action, Completed when its stage is done, Failed when one of its actions fails.
struct PhaseTracker<'a> {
    path: PathBuf,
    state: State,
    started: HashMap<Phase, Instant>,
    /// Phases in which an action had work to do (was not found up to date).
    worked: std::collections::HashSet<Phase>,
    failed: HashMap<Phase, Vec<String>>,
    done: Vec<Phase>,
    reporter: &'a dyn Reporter,
    /// Phases the graph holds, so empty stages still complete.
    phases: Vec<Phase>,
    /// A workspace's projects, each with its board (in the state file's `projects`), in
    /// the order of `ActionGraph::projects`.
    projects: Vec<ProjectBoard>,
    /// A project's board changed since the state file was written: the next write of the
    /// whole's (at its stage's end, or at the build's) takes it along, so a workspace costs
    /// no write of its own.
    unsaved: bool,
}

/// One project's board of a workspace, kept like the whole one.
#[derive(Default)]
struct ProjectBoard {
    name: String,
    phases: Vec<Phase>,
    started: HashMap<Phase, Instant>,
    worked: std::collections::HashSet<Phase>,
    failed: HashMap<Phase, Vec<String>>,
    done: std::collections::HashSet<Phase>,
}

impl<'a> PhaseTracker<'a> {
    fn new(root: &Path, g: &ActionGraph, reporter: &'a dyn Reporter) -> Self {
        let path = state::path(root);
        let state = State::load(&path).unwrap_or_else(|e| {
            let w = format!("{e}; starting a new state file");
            reporter.event(Event::Warning(&w));
            State::default()
        });
        Self {
            path,
            state,
            started: HashMap::new(),
            worked: std::collections::HashSet::new(),
            failed: HashMap::new(),
            done: Vec::new(),
            reporter,
            phases: g.stages.iter().map(|(p, _)| *p).collect(),
            projects: g
                .projects
                .iter()
                .map(|p| ProjectBoard {
                    name: p.scope.name.clone(),
                    phases: p.stages.iter().map(|(p, _)| *p).collect(),
                    ..ProjectBoard::default()
                })
                .collect(),
            unsaved: false,
        }
    }

    /// The board of the action's project, when it belongs to one, and that project's state.
    fn board_of(&mut self, a: &crate::graph::Action) -> Option<(&mut ProjectBoard, &mut State)> {
        let scope = a.scope.as_ref()?;
        let board = self.projects.iter_mut().find(|b| b.name == scope.name)?;
        let state = self.state.projects.entry(scope.name.clone()).or_default();
        Some((board, state))
    }

    /// A stage of project `k` of the workspace is done: its board says how it went.
    fn project_stage_done(&mut self, k: u32, p: Phase) {
        let Some(board) = self.projects.get_mut(k as usize) else {
            return;
        };
        board.done.insert(p);
        // None of its actions was part of this build (another target, --affected): the
        // board keeps what the last build that ran them said.
        if !board.started.contains_key(&p) && !board.failed.contains_key(&p) {
            return;
        }
        let state = self.state.projects.entry(board.name.clone()).or_default();
        let started = *board.started.entry(p).or_insert_with(Instant::now);
        let error = board.failed.get(&p).map(|e| e.join("; "));
        // As for the whole: a stage complete before with nothing to do is left as it was.
        if error.is_none()
            && !board.worked.contains(&p)
            && state.phase(p).status == crate::state::Status::Completed
        {
            return;
        }
        if !board.worked.contains(&p) {
            state.start(p, &state::now_rfc3339());
        }
        let secs = started.elapsed().as_secs_f64();
        state.finish(p, &state::now_rfc3339(), secs, error);
        self.unsaved = true;
    }

    fn save(&mut self) {
        self.unsaved = false;
        if let Err(e) = self.state.save(&self.path) {
            let w = format!("could not save {}: {e}", self.path.display());
            self.reporter.event(Event::Warning(&w));
        }
    }

    /// An action of phase `p` is being dealt with; `work` is false when it was found up to
    /// date, which changes nothing worth writing down.
    fn action_started(&mut self, a: &crate::graph::Action, work: bool) {
        let p = a.phase;
        if let Some((board, state)) = self.board_of(a) {
            board.started.entry(p).or_insert_with(Instant::now);
            if work && board.worked.insert(p) {
                state.start(p, &state::now_rfc3339());
            }
        }
        if let std::collections::hash_map::Entry::Vacant(e) = self.started.entry(p) {
            e.insert(Instant::now());
            self.reporter.event(Event::PhaseStarted(p));
        }
        if work && self.worked.insert(p) {
            self.state.start(p, &state::now_rfc3339());
            self.save();
        }
    }

    fn stage_done(&mut self, p: Phase) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.started.entry(p) {
            e.insert(Instant::now());
            self.reporter.event(Event::PhaseStarted(p));
        }
        self.done.push(p);
        // With keep-going a stage is passed with failures in it: it is still failed.
        if let Some(errors) = self.failed.get(&p) {
            let why = errors.join("; ");
            if !self.worked.contains(&p) {
                self.state.start(p, &state::now_rfc3339());
            }
            let secs = self.started[&p].elapsed().as_secs_f64();
            self.state.finish(p, &state::now_rfc3339(), secs, Some(why));
            self.save();
            self.reporter.event(Event::PhaseFinished {
                phase: p,
                ok: false,
            });
            return;
        }
        // A phase that was complete and had nothing to do stays as it was recorded: a no-op
        // build writes nothing.
        let unchanged = !self.worked.contains(&p)
            && self.state.phase(p).status == crate::state::Status::Completed;
        if !unchanged {
            if !self.worked.contains(&p) {
                self.state.start(p, &state::now_rfc3339());
            }
            let secs = self.started[&p].elapsed().as_secs_f64();
            self.state.finish(p, &state::now_rfc3339(), secs, None);
            self.save();
        } else if self.unsaved {
            self.save();
        }
        self.reporter
            .event(Event::PhaseFinished { phase: p, ok: true });
    }

    fn action_failed(&mut self, a: &crate::graph::Action, f: &Failure) {
        let why = format!("{}: {} [{}]", a.id, f.message, f.code);
        self.note_failure(a, why);
    }

    /// `a` will not run because `cause` failed (keep-going).
    fn action_blocked(
        &mut self,
        a: &crate::graph::Action,
        cause: &crate::graph::Action,
        why: Blocked,
    ) {
        let why = match (why, &cause.scope) {
            (Blocked::Needs, Some(project)) => format!(
                "{}: not run, it needs project '{}', where {} failed",
                a.id, project.name, cause.id
            ),
            _ => format!(
                "{}: not run, it reads what {} did not write",
                a.id, cause.id
            ),
        };
        self.note_failure(a, why);
    }

    fn note_failure(&mut self, a: &crate::graph::Action, why: String) {
        if let Some((board, _)) = self.board_of(a) {
            board.failed.entry(a.phase).or_default().push(why.clone());
        }
        self.failed.entry(a.phase).or_default().push(why);
    }

    /// At the end: phases that started but did not complete have failed.
    fn close(&mut self, summary: &Summary) {
        let open: Vec<Phase> = self
            .phases
            .iter()
            .copied()
            .filter(|p| self.started.contains_key(p) && !self.done.contains(p))
            .collect();
        for &p in &open {
            let why = match self.failed.get(&p) {
                Some(errors) => errors.join("; "),
                None if summary.cancelled => "cancelled".to_owned(),
                None => "stopped: an action in another phase failed".to_owned(),
            };
            if !self.worked.contains(&p) {
                self.state.start(p, &state::now_rfc3339());
            }
            let secs = self.started[&p].elapsed().as_secs_f64();
            self.state.finish(p, &state::now_rfc3339(), secs, Some(why));
            self.reporter.event(Event::PhaseFinished {
                phase: p,
                ok: false,
            });
        }
        let mut changed = !open.is_empty();
        for board in &self.projects {
            let state = self.state.projects.entry(board.name.clone()).or_default();
            for &p in &board.phases {
                if !board.started.contains_key(&p) || board.done.contains(&p) {
                    continue;
                }
                let why = match board.failed.get(&p) {
                    Some(errors) => errors.join("; "),
                    None if summary.cancelled => "cancelled".to_owned(),
                    None => "stopped: an action in another phase or project failed".to_owned(),
                };
                if !board.worked.contains(&p) {
                    state.start(p, &state::now_rfc3339());
                }
                let secs = board.started[&p].elapsed().as_secs_f64();
                state.finish(p, &state::now_rfc3339(), secs, Some(why));
                changed = true;
            }
        }
        if changed || self.unsaved {
            self.save();
        }
    }
}
