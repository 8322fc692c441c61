//! A BuildGrid that executes: its scheduler in a PostgreSQL of the test's own (BuildGrid
//! refuses SQLite for it), the Execution and Bots services beside the cache ones, and
//! `batuta worker` processes as its bots.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Server, Tls, free_port, kill_group};

/// PostgreSQL's programs: `BATUTA_TEST_PG_BIN`, else the newest under
/// /usr/lib/postgresql. Missing, the test fails and says how to install it.
fn pg_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("BATUTA_TEST_PG_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("postgres").is_file())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "BATUTA-T-001: PostgreSQL is needed by the remote execution tests (BuildGrid's \
             scheduler database) and was not found. Install it with: apt-get install postgresql \
             (.ci/run does this), or set BATUTA_TEST_PG_BIN to the folder of its programs"
        )
    })
}

/// A throwaway PostgreSQL on 127.0.0.1, trusting local connections, stopped when dropped.
pub struct Postgres {
    child: Option<Child>,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user.
fn as_db_user(program: PathBuf) -> Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = pg_bin();
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(
                ok,
                "cannot give {} to the postgres user",
                dir.path().display()
            );
        }
        let data = dir.path().join("data");
        let out = as_db_user(bin.join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args(["-U", "bgd", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("postgres.log")).unwrap();
        let mut cmd = as_db_user(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().unwrap();
        let pg = Postgres {
            child: Some(child),
            port,
            _dir: dir,
        };
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "PostgreSQL did not listen on {port}: {}",
                std::fs::read_to_string(pg._dir.path().join("postgres.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pg
    }

    pub fn url(&self) -> String {
        // psycopg2 by name: BuildGrid listens for its notifications through it, and
        // SQLAlchemy may pick psycopg 3 for a bare postgresql:// address.
        format!("postgresql+psycopg2://bgd@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// A BuildGrid with Execution and Bots, its scheduler in `pg`. Bots whose session is not
/// renewed within `keepalive_s` seconds are dropped and their leases given to others.
pub fn executing_server(pg: &Postgres, keepalive_s: u32) -> Server {
    executing_server_with(pg, keepalive_s, None, None)
}

/// The same, with TLS and/or requiring a JWT signed with the secret in `jwt_secret`.
pub fn executing_server_with(
    pg: &Postgres,
    keepalive_s: u32,
    tls: Option<Tls<'_>>,
    jwt_secret: Option<&Path>,
) -> Server {
    let out = Command::new(super::bgd())
        .args(["migrate", "apply", &pg.url()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bgd migrate apply failed (is BuildGrid installed with its [database] extra?): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let more = format!(
        r#"thread-pool-size: 64
connections:
  - !sql-connection &sql
    connection-string: {db}
    pool-size: 20
    max-overflow: 40
schedulers:
  - !sql-scheduler &state
    sql: *sql
    storage: *cas
    action-cache: *ac
    bot-session-keepalive-timeout: {keepalive_s}
    session-expiry-timer-interval: 0.5
    poll-interval: 0.05
    bot-poll-interval: 0.05
    assigners:
      - !priority-age-assigner
        count: 1
        interval: 0.02
        jitter-factor: 0.1
        failure-backoff: 0.1
"#,
        db = pg.url()
    );
    let execution = "      - !execution\n        scheduler: *state\n        operation-stream-keepalive-timeout: 2\n";
    Server::start_config(tls, jwt_secret, &more, execution)
}

/// A `batuta worker` process, killed when dropped.
pub struct Worker {
    child: Option<Child>,
    pub id: String,
    log: PathBuf,
}

impl Worker {
    pub fn start(server: &Server, id: &str, jobs: u32, dir: &Path) -> Worker {
        Worker::start_with(&server.url(), id, jobs, dir, &[], &[])
    }

    /// At `url`, with more arguments (`--tls-ca`, `--token-env`) and environment.
    pub fn start_with(
        url: &str,
        id: &str,
        jobs: u32,
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Worker {
        let log = dir.join(format!("{id}.log"));
        let f = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_batuta"));
        cmd.args(["worker", "--server", url, "--id", id, "-j"])
            .arg(jobs.to_string())
            .args(args)
            .envs(env.iter().copied())
            .arg("--work-dir")
            .arg(dir.join(id))
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().unwrap();
        let w = Worker {
            child: Some(child),
            id: id.to_owned(),
            log,
        };
        // Registered once it says so (after CreateBotSession).
        let t = Instant::now();
        while !w.log().contains("serving") {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "worker {id} did not register: {}",
                w.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        w
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kill it at once, as a crash would.
    pub fn kill(&mut self) {
        kill_group(&mut self.child);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
