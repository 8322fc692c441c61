//! `batuta worker`: a bot of a REAPI scheduler, over the Remote Workers API as BuildGrid's
//! Bots service speaks it. It keeps a BotSession alive, takes the leases the scheduler
//! assigns (each an Action), runs each in a clean folder holding only its input root,
//! uploads what the command wrote, and reports the ActionResult on the lease.
//!
//! A worker that dies mid-action stops calling the server; the scheduler notices when the
//! session's keepalive runs out and gives the lease to another bot.

mod lease;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tonic::{Code, Status};

use crate::bots::{self, BotSession, BotStatus, Lease, LeaseState};
use crate::grpc::Conn;
use crate::{Config, describe, target};

/// How a worker is set up (`batuta worker`).
pub struct WorkerConfig {
    /// The scheduler's address, instance and credentials (`execute` is not used).
    pub server: Config,
    /// Its name for the scheduler, unique among the bots.
    pub bot_id: String,
    /// Where each action gets its own folder, removed after the run.
    pub work_dir: PathBuf,
    /// Actions at once.
    pub jobs: usize,
}

/// A long poll for work lasts this long at most (the server answers sooner, within its
/// session keepalive).
const POLL: Duration = Duration::from_secs(5);

/// Run until `stop` is set. An unreachable server is retried; a server that refuses the
/// worker (bad credentials, no Bots service) ends it with the reason.
pub fn run(cfg: WorkerConfig, stop: &AtomicBool) -> Result<(), String> {
    std::fs::create_dir_all(&cfg.work_dir).map_err(|e| {
        format!(
            "cannot create the work folder {}: {e}",
            cfg.work_dir.display()
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("batuta-worker")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the worker: {e}"))?;
    runtime.block_on(serve(&cfg, stop))
}

/// A lease that finished, ready to report.
struct Finished {
    lease: Lease,
}

async fn serve(cfg: &WorkerConfig, stop: &AtomicBool) -> Result<(), String> {
    let (channel, auth) = crate::grpc::channel(&target(&cfg.server, &cfg.server.url))?;
    let mut conn = Conn::new(channel, auth, cfg.server.instance.clone());
    let mut bots_client = conn.bots();
    let mut session = loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        if let Err(s) = conn.handshake().await {
            wait_for_server(&s, stop).await?;
            continue;
        }
        let mut req = tonic::Request::new(bots::CreateBotSessionRequest {
            parent: cfg.server.instance.clone(),
            bot_session: Some(new_session(cfg)),
        });
        req.set_timeout(POLL);
        match bots_client.create_bot_session(req).await {
            Ok(s) => break s,
            Err(s) => wait_for_server(&s, stop).await?,
        }
    };
    eprintln!(
        "batuta worker {}: serving {} as {} ({} at once)",
        cfg.bot_id,
        cfg.server.url,
        session.name,
        cfg.jobs.max(1)
    );
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Finished>();
    let mut running: HashMap<String, lease::Cancel> = HashMap::new();
    // Cancelled leases whose runs have not ended yet: their outcome is not reported.
    let mut dropped: HashSet<String> = HashSet::new();
    let mut finished: Vec<Lease> = Vec::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            for (_, c) in running.drain() {
                c.cancel();
            }
            return Ok(());
        }
        // Start what the server assigned and is not running yet.
        for lease in &session.leases {
            let fresh = lease.state == LeaseState::Active as i32
                || lease.state == LeaseState::Pending as i32;
            if fresh
                && !running.contains_key(&lease.id)
                && !finished.iter().any(|f| f.id == lease.id)
            {
                let (conn, tx) = (conn.clone(), done_tx.clone());
                let (lease, dir, bot) = (lease.clone(), cfg.work_dir.clone(), cfg.bot_id.clone());
                let cancel = lease::Cancel::default();
                running.insert(lease.id.clone(), cancel.clone());
                tokio::spawn(async move {
                    let lease = lease::run_lease(conn, lease, &dir, &bot, cancel).await;
                    let _ = tx.send(Finished { lease });
                });
            }
        }
        // A lease the server no longer lists was cancelled (or given to another bot).
        let listed: Vec<&str> = session.leases.iter().map(|l| l.id.as_str()).collect();
        running.retain(|id, cancel| {
            let keep = listed.contains(&id.as_str());
            if !keep {
                cancel.cancel();
                dropped.insert(id.clone());
            }
            keep
        });
        while let Ok(f) = done_rx.try_recv() {
            ended(f, &mut running, &mut dropped, &mut finished);
        }
        // At capacity with nothing to report: wait for a run to end or for the heartbeat
        // the session's expiry asks for.
        let at_capacity = running.len() >= cfg.jobs.max(1);
        if finished.is_empty() && at_capacity {
            let beat = heartbeat(&session);
            tokio::select! {
                f = done_rx.recv() => if let Some(f) = f {
                    ended(f, &mut running, &mut dropped, &mut finished);
                },
                () = tokio::time::sleep(beat) => {}
            }
        }
        let mut outgoing = session.clone();
        outgoing.status = BotStatus::Ok as i32;
        outgoing.leases = running
            .keys()
            .map(|id| Lease {
                id: id.clone(),
                state: LeaseState::Active as i32,
                ..Default::default()
            })
            .chain(finished.iter().cloned())
            .collect();
        let sent: Vec<String> = finished.iter().map(|l| l.id.clone()).collect();
        let mut req = tonic::Request::new(bots::UpdateBotSessionRequest {
            name: session.name.clone(),
            bot_session: Some(outgoing),
        });
        // With leases running the poll is short, so a finished run is reported soon.
        req.set_timeout(if running.is_empty() {
            POLL
        } else {
            heartbeat(&session)
        });
        let update = bots_client.update_bot_session(req);
        let answer = tokio::select! {
            r = update => Some(r),
            // A run ended during a long poll: report it now; the server assigns again
            // whatever the dropped answer would have carried.
            f = done_rx.recv(), if !running.is_empty() => {
                if let Some(f) = f {
                    ended(f, &mut running, &mut dropped, &mut finished);
                }
                None
            }
        };
        match answer {
            None => {}
            Some(Ok(s)) => {
                finished.retain(|l| !sent.contains(&l.id));
                session = s;
            }
            Some(Err(s)) if s.code() == Code::DeadlineExceeded => {}
            Some(Err(s)) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => {
                // The server forgot the session (it expired, or the server restarted):
                // runs in progress are not ours to report any more.
                return Err(format!(
                    "the scheduler dropped this worker's session ({}); start it again",
                    describe(&s)
                ));
            }
            Some(Err(s)) => wait_for_server(&s, stop).await?,
        }
    }
}

/// A run ended: report it, unless its lease was cancelled meanwhile.
fn ended(
    f: Finished,
    running: &mut HashMap<String, lease::Cancel>,
    dropped: &mut HashSet<String>,
    finished: &mut Vec<Lease>,
) {
    if dropped.remove(&f.lease.id) {
        return;
    }
    running.remove(&f.lease.id);
    finished.push(f.lease);
}

fn new_session(cfg: &WorkerConfig) -> BotSession {
    let platform = crate::exec::platform();
    BotSession {
        bot_id: cfg.bot_id.clone(),
        status: BotStatus::Ok as i32,
        worker: Some(bots::Worker {
            devices: vec![bots::Device {
                handle: cfg.bot_id.clone(),
                properties: platform
                    .properties
                    .into_iter()
                    .map(|p| bots::KeyValue {
                        key: p.name,
                        value: p.value,
                    })
                    .collect(),
            }],
            properties: Vec::new(),
            configs: vec![bots::KeyValue {
                key: "capacity".into(),
                value: cfg.jobs.max(1).to_string(),
            }],
        }),
        ..Default::default()
    }
}

/// Half the time the session has left (what the server's keepalive allows), within
/// 100 ms and 10 s.
fn heartbeat(s: &BotSession) -> Duration {
    let left = s
        .expire_time
        .as_ref()
        .and_then(|t| {
            let at = SystemTime::UNIX_EPOCH
                + Duration::new(u64::try_from(t.seconds).ok()?, t.nanos.max(0) as u32);
            at.duration_since(SystemTime::now()).ok()
        })
        .unwrap_or(Duration::from_secs(2));
    (left / 2).clamp(Duration::from_millis(100), Duration::from_secs(10))
}

/// A server that cannot be reached is waited for; one that refuses the worker ends it.
async fn wait_for_server(s: &Status, stop: &AtomicBool) -> Result<(), String> {
    match s.code() {
        Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented => Err(format!(
            "the scheduler refuses this worker: {}",
            describe(s)
        )),
        _ => {
            eprintln!("batuta worker: {}; trying again", describe(s));
            for _ in 0..10 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazel_remote_apis::google::protobuf::Timestamp;

    #[test]
    fn the_heartbeat_follows_the_sessions_expiry() {
        let mut s = BotSession::default();
        assert_eq!(
            heartbeat(&s),
            Duration::from_secs(1),
            "no expiry: 2 s left assumed"
        );
        let in_4s = SystemTime::now() + Duration::from_secs(4);
        let secs = in_4s
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        s.expire_time = Some(Timestamp {
            seconds: secs as i64,
            nanos: 0,
        });
        let b = heartbeat(&s);
        assert!(
            b <= Duration::from_secs(2) && b >= Duration::from_millis(1400),
            "{b:?}"
        );
    }
}
