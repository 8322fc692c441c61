//! The builder, as ninja's: it asks the [`Plan`] what may run, hands each action to a pool
//! of workers (which bring it up to date through `action`), tells the plan how each ended,
//! reports as it goes, and keeps the state file in step.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::action::Build;
use super::plan::{Done, Plan, Resources, Step};
use super::recorder::phases::PhaseTracker;
use super::{Event, Job, Outcome, Summary};

/// Run the plan to its end.
pub(super) fn run(b: &Build<'_>, job: &Job<'_>, phases: &mut PhaseTracker<'_>) -> Summary {
    let (g, opts, progress, cancel) = (job.graph, job.options, job.progress, job.cancel);
    let t0 = Instant::now();
    let wanted: Vec<bool> = g
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| opts.keeps(i, a))
        .collect();
    // Most actions of most builds are up to date: find them all at once, in parallel, so
    // they complete here without a round trip through a worker.
    let fresh: Vec<bool> = (0..g.actions.len())
        .into_par_iter()
        .map(|i| {
            wanted[i]
                && match job.known_fresh.and_then(|k| k.get(i).copied().flatten()) {
                    Some(known) => known,
                    None => b.fresh(i),
                }
        })
        .collect();
    tracing::debug!(
        fresh = fresh.iter().filter(|f| **f).count(),
        elapsed = ?t0.elapsed(),
        "checked freshness"
    );
    let mut plan = Plan::new(g, Some(wanted), opts.keep_going, Resources::default());
    let mut summary = Summary::default();
    let jobs = opts.jobs.max(1);
    // Each worker finds its next job already queued, so it never waits for this thread.
    let queue_depth = jobs * 2;
    let (job_tx, job_rx) = mpsc::channel::<usize>();
    let job_rx = Mutex::new(job_rx);
    // `None`: the job was queued but not started because the build is halting.
    // (action, outcome, how long it ran, which worker ran it)
    let (done_tx, done_rx) = mpsc::channel::<(usize, Option<Outcome>, Duration, usize)>();
    // Set when nothing new may start (a failure without keep_going, or cancellation): the
    // workers look at it before taking a queued job, sooner than the plan can tell them.
    let halt = AtomicBool::new(false);
    let keep_going = opts.keep_going;

    std::thread::scope(|s| {
        for worker in 0..jobs {
            let done_tx = done_tx.clone();
            let (job_rx, halt) = (&job_rx, &halt);
            s.spawn(move || {
                loop {
                    let next = job_rx.lock().expect("job lock").recv();
                    let Ok(i) = next else { break };
                    let t = Instant::now();
                    let halted = halt.load(Ordering::SeqCst) || cancel.load(Ordering::SeqCst);
                    let outcome = (!halted).then(|| b.process(i));
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

        loop {
            if cancel.load(Ordering::SeqCst) && !plan.cancelled() {
                plan.cancel();
                halt.store(true, Ordering::SeqCst);
                summary.cancelled = true;
                b.runner.kill_all();
            }
            while plan.running() < queue_depth {
                match plan.next_step() {
                    None => break,
                    Some(Step::StageDone(p)) => phases.stage_done(p),
                    Some(Step::ProjectStageDone(k, p)) => phases.project_stage_done(k, p),
                    Some(Step::Action {
                        index,
                        inputs_rewritten,
                    }) => {
                        let a = &g.actions[index];
                        if fresh[index] && !inputs_rewritten {
                            phases.action_started(a, false);
                            progress.event(Event::ActionFinished {
                                action: a,
                                outcome: &Outcome::UpToDate,
                                duration: Duration::ZERO,
                                worker: None,
                            });
                            let done = summary.count(&a.id, Outcome::UpToDate);
                            plan.finish(index, done);
                            continue;
                        }
                        phases.action_started(a, true);
                        progress.event(Event::ActionStarted(a));
                        job_tx.send(index).expect("workers alive");
                    }
                }
            }
            if plan.is_over() {
                break;
            }
            phases.tick();
            let Ok((i, outcome, duration, worker)) =
                done_rx.recv_timeout(Duration::from_millis(50))
            else {
                continue;
            };
            let Some(outcome) = outcome else {
                plan.finish(i, Done::NotStarted);
                continue;
            };
            let a = &g.actions[i];
            progress.event(Event::ActionFinished {
                action: a,
                outcome: &outcome,
                duration,
                worker: Some(worker),
            });
            if let Outcome::Failed(f) = &outcome {
                phases.action_failed(a, f);
                if !keep_going {
                    halt.store(true, Ordering::SeqCst);
                }
            }
            let done = summary.count(&a.id, outcome);
            for (j, why) in plan.finish(i, done) {
                phases.action_blocked(&g.actions[j], a, why);
            }
        }
        drop(job_tx);
    });
    summary.skipped = plan.not_run();
    summary
}
