//! Running a build, in three parts as ninja's `build.h` and Buck2's split of what to compute
//! from how: a pure [`plan`] says what may run next (ready queue, dependencies, stage
//! barriers, resource slots, keep-going, cancellation); [`runner`]s run an action's work
//! (a local process, a rule in this process, a remote worker); a [`recorder`] keeps what
//! each action did (the cache, the journal, the state file, the history). The builder ties
//! them: it asks the plan, hands actions to a pool of workers, and reports.
//!
//! A failure stops the line (Jidoka): what depends on the failed action never starts, and
//! without `keep_going` nothing new starts at all.

mod action;
mod builder;
pub mod plan;
pub(crate) mod recorder;
mod remote_link;
pub(crate) mod runner;
mod staging;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::db::{self, ToolDown};
use crate::digest::Digest;
use crate::graph::{Action, ActionGraph};
use crate::journal::{self, Journal};
use crate::manifest::{Manifest, Phase};
use crate::rule::{Failure, Rules};

pub use recorder::{LOGS_DIR, log_of};
pub use runner::Runner;

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
        /// The worker that ran it (0-based), or `None` when the builder found it up to
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

pub trait Progress: Sync {
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

impl Summary {
    /// Count how an action ended, and say so to the plan.
    fn count(&mut self, id: &str, outcome: Outcome) -> plan::Done {
        use plan::Done;
        match outcome {
            Outcome::Executed => self.executed += 1,
            Outcome::RemoteExecuted { .. } => {
                self.executed += 1;
                self.remote_executed += 1;
            }
            Outcome::Cached => self.cached += 1,
            Outcome::RemoteCached => {
                self.cached += 1;
                self.remote_cached += 1;
            }
            Outcome::UpToDate => {
                self.up_to_date += 1;
                return Done::Unchanged;
            }
            Outcome::Cancelled => return Done::Cancelled,
            Outcome::Failed(f) => {
                self.failed += 1;
                self.failures.push((id.to_owned(), f));
                return Done::Failed;
            }
        }
        Done::Wrote
    }
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

/// Build the graph once, without a database kept between runs (every tool asked its
/// version now). `cancel` stops the build: running children are killed, nothing new
/// starts, and nothing half-written is kept.
pub fn build(
    m: &Manifest,
    g: &ActionGraph,
    opts: &Options,
    rules: &dyn Rules,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Summary {
    let mut memo = crate::probe::Memo::default();
    let (tools, rule_versions, env) = db::gather(m, g, rules, &mut memo);
    let fingerprints = db::fingerprints_of(
        g,
        &db::KeyParts {
            tools: &tools,
            rules: &rule_versions,
            env: &env,
        },
    );
    let mut session = Session::open(&m.root);
    session.build(&Job {
        manifest: m,
        graph: g,
        fingerprints: &fingerprints,
        options: opts,
        rules,
        progress,
        cancel,
        known_fresh: None,
    })
}

/// Remove what builds leave besides their outputs and records: batuta's temporary files
/// (a killed build's), the staging folders, the failure logs, and the cache's unsealed
/// packs. `batuta clean` calls it; a build that follows a killed one sweeps the same.
pub fn sweep_leftovers(root: &Path, g: &ActionGraph, cache_dir: &Path) -> usize {
    let _ = std::fs::remove_dir_all(root.join(recorder::LOGS_DIR));
    recorder::sweep(root, g, &crate::cache::Cache::new(cache_dir))
}

/// One build's inputs.
pub struct Job<'a> {
    pub manifest: &'a Manifest,
    pub graph: &'a ActionGraph,
    /// Each action's fingerprint (see `crate::key`), as the database gives them.
    pub fingerprints: &'a [Result<Digest, ToolDown>],
    pub options: &'a Options,
    pub rules: &'a dyn Rules,
    pub progress: &'a dyn Progress,
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
    /// The set of written files the journal was last swept against: the records this
    /// session adds are all of files some action writes, so until the set or the journal
    /// on disk changes, a sweep finds nothing (and costs a look at every record).
    swept: Option<std::sync::Weak<std::collections::HashSet<String>>>,
    /// How many times the journal was read from disk (see [`Session::loads`]).
    loads: u64,
    /// The cache's packs as the last build read them: the next reads only new ones.
    packs: Option<std::sync::Arc<crate::cache::Packs>>,
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
            swept: None,
            loads: 0,
            packs: None,
        }
    }

    /// Which reading of the journal the session holds: it changes when another process's
    /// build made the session read it again, and with it any record.
    pub fn loads(&self) -> u64 {
        self.loads
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
            self.swept = None;
            self.loads += 1;
        }
    }

    /// The last successful run of an action, by id.
    pub fn record(&self, id: &str) -> Option<&journal::ActionRecord> {
        self.journal.actions.get(id)
    }

    /// The stamp the stat cache holds for a workspace file: what a build last verified
    /// (hashed, or found unchanged) of it.
    pub fn stamp(&self, rel: &str) -> Option<crate::digest::Stamp> {
        self.journal.stat.get(rel).map(|(s, _)| s)
    }

    /// The digest of a workspace file through the stat cache (`Ok(None)`: no such file).
    pub fn digest(&mut self, root: &Path, rel: &str) -> std::io::Result<Option<Digest>> {
        let cache = std::sync::RwLock::new(std::mem::take(&mut self.journal.stat));
        let d = crate::digest::digest(&cache, root, rel);
        self.journal.stat = cache.into_inner().expect("stat lock");
        d
    }

    pub fn build(&mut self, job: &Job<'_>) -> Summary {
        let started = Instant::now();
        self.refresh();
        let (m, g, opts, progress) = (job.manifest, job.graph, job.options, job.progress);
        let root: &Path = &m.root;
        if let Some(w) = self.warning.take() {
            progress.event(Event::Warning(&w));
        }
        let link = opts
            .remote
            .as_deref()
            .map(|r| remote_link::RemoteLink::new(r, progress));
        let unfinished = self.journal.unfinished;
        if unfinished {
            let cache = crate::cache::Cache::new(&opts.cache_dir);
            let swept = recorder::sweep(root, g, &cache);
            tracing::info!(swept, "the last build was killed: swept what it left");
        }
        let recorder = recorder::Recorder::new(
            root,
            &opts.cache_dir,
            std::mem::take(&mut self.journal),
            self.journal_path.clone(),
            link.as_ref(),
            progress,
            self.packs.take(),
        );
        if let Some(writes) = &opts.writes {
            let same = self
                .swept
                .as_ref()
                .and_then(std::sync::Weak::upgrade)
                .is_some_and(|w| std::sync::Arc::ptr_eq(&w, writes));
            if !same {
                for s in &recorder.sweep_stale(writes) {
                    progress.event(Event::Swept(s));
                }
                self.swept = Some(std::sync::Arc::downgrade(writes));
            }
        }
        let local_slots = opts.remote.as_ref().filter(|r| r.executes()).map(|_| {
            runner::Slots::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
        });
        let runners = runner::Runners {
            remote: link.as_ref().map(|link| runner::Remote {
                link,
                recorder: &recorder,
                root,
                cancel: job.cancel,
            }),
            process: runner::Process::new(m, job.cancel, local_slots.as_ref()),
            in_process: runner::InProcess {
                rules: job.rules,
                root,
                source: crate::manifest::normalize("", &m.project.source.value).unwrap_or_default(),
                output: crate::manifest::normalize("", &m.project.output.value).unwrap_or_default(),
                cancel: job.cancel,
                local_slots: local_slots.as_ref(),
            },
        };
        let b = action::Build {
            m,
            g,
            recorder: &recorder,
            runner: &runners,
            rules: job.rules,
            fingerprints: job.fingerprints,
            cancel: job.cancel,
            progress,
        };
        let mut phases = recorder::phases::PhaseTracker::new(root, g, progress);
        let mut summary = builder::run(&b, job, &mut phases);
        tracing::debug!(elapsed = ?started.elapsed(), "scheduled");
        phases.close(summary.cancelled);
        drop(runners);
        let (journal, changed, packs) = recorder.finish();
        self.journal = journal;
        self.packs = packs;
        // What the build did is in the journal already, appended as it went; a new
        // snapshot is written when the appended part has grown, or the stat cache learnt
        // digests worth keeping (hashed inputs), not after every small build.
        let learnt = self.journal.stat.changed() && !changed;
        if self.journal.worth_compacting() || learnt {
            tracing::debug!(elapsed = ?started.elapsed(), "saving journal");
            self.journal.stat.mark_saved();
            if let Err(e) = self.journal.save(&self.journal_path) {
                let w = format!("could not save {}: {e}", self.journal_path.display());
                progress.event(Event::Warning(&w));
            }
        }
        self.stamp = stamp_of(&self.journal_path);
        summary.duration = started.elapsed();
        recorder::history(root, &g.target, &summary, progress);
        tracing::debug!(elapsed = ?started.elapsed(), "build done");
        summary
    }
}
