//! A real BuildGrid serving the REAPI cache services (ActionCache, CAS, ByteStream,
//! Capabilities) on 127.0.0.1, for the remote cache tests. Cache-only: no database.
#![allow(dead_code)] // each test crate uses its own part

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod grid;

/// BuildGrid's `bgd`: `BATUTA_TEST_BGD`, else on PATH. Missing, the test fails and says
/// how to install it (`.ci/run` does).
pub fn bgd() -> PathBuf {
    if let Some(p) = std::env::var_os("BATUTA_TEST_BGD").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "BATUTA_TEST_BGD={} is not a file; install BuildGrid with: python3 -m venv DIR && DIR/bin/pip install buildgrid, then BATUTA_TEST_BGD=DIR/bin/bgd",
            p.display()
        );
        return p;
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("bgd"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "BATUTA-T-001: BuildGrid's bgd is needed by the remote cache tests and was not found. \
             Install it with: python3 -m venv DIR && DIR/bin/pip install buildgrid, \
             then run the tests with BATUTA_TEST_BGD=DIR/bin/bgd (.ci/run does this)"
        )
    })
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// TLS for the server: a key and a certificate (PEM files).
pub struct Tls<'a> {
    pub key: &'a Path,
    pub cert: &'a Path,
}

/// One BuildGrid at a time: a Python server's start-up takes seconds of CPU, and several
/// starting at once on a small machine would make the clients' 5 s handshake time out.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Wait for this test's turn to run a BuildGrid.
pub fn turn() -> std::sync::MutexGuard<'static, ()> {
    // A test that failed while holding the turn does not stop the others.
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The `!channel`'s TLS lines and the `authorization:` body of a BuildGrid configuration.
fn security(tls: Option<&Tls<'_>>, jwt_secret: Option<&Path>) -> (String, String) {
    let channel = match tls {
        None => "    insecure-mode: true\n".to_owned(),
        Some(t) => format!(
            "    insecure-mode: false\n    credentials:\n      tls-server-key: {}\n      tls-server-cert: {}\n",
            t.key.display(),
            t.cert.display()
        ),
    };
    let authorization = match jwt_secret {
        None => "  method: none\n".to_owned(),
        Some(s) => format!(
            "  method: jwt\n  algorithm: hs256\n  secret: {}\n",
            s.display()
        ),
    };
    (channel, authorization)
}

/// A running BuildGrid, stopped (its whole process group) when dropped.
pub struct Server {
    child: Option<Child>,
    _turn: std::sync::MutexGuard<'static, ()>,
    pub port: u16,
    /// Its CAS on disk: `cas/objects/HH/REST` per blob.
    pub storage: PathBuf,
    dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(None, None)
    }

    /// With TLS, and/or requiring a JWT (HS256) signed with the secret in `jwt_secret`.
    pub fn start_with(tls: Option<Tls<'_>>, jwt_secret: Option<&Path>) -> Server {
        Server::start_config(tls, jwt_secret, "", "")
    }

    /// The cache services (ActionCache `*ac`, CAS and ByteStream on `*cas`), with `more`
    /// top-level sections (after the storage and cache, so they can name them) and
    /// `services` for the default instance besides the cache ones.
    pub fn start_config(
        tls: Option<Tls<'_>>,
        jwt_secret: Option<&Path>,
        more: &str,
        services: &str,
    ) -> Server {
        let turn = turn();
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        let port = free_port();
        let (channel, authorization) = security(tls.as_ref(), jwt_secret);
        // A disk CAS, so a test can damage a blob the way a failing disk would.
        let config = format!(
            r#"server:
  - !channel
    address: "127.0.0.1:{port}"
{channel}authorization:
{authorization}storages:
  - !disk-storage &cas
    path: {storage}
caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 100000
    allow-updates: true
{more}instances:
  - name: ""
    services:
      - !action-cache
        cache: *ac
{services}      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
"#,
            storage = storage.display()
        );
        Server::launch(turn, dir, port, storage, &config)
    }

    /// Start `bgd` on `config` (written to `dir`), and wait until it listens on `port`.
    pub fn launch(
        turn: std::sync::MutexGuard<'static, ()>,
        dir: tempfile::TempDir,
        port: u16,
        storage: PathBuf,
        config: &str,
    ) -> Server {
        let bgd = bgd();
        let config_path = dir.path().join("bgd.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("bgd.log")).unwrap();
        let mut cmd = Command::new(&bgd);
        cmd.args(["server", "start"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bgd.display()));
        let mut server = Server {
            child: Some(child),
            _turn: turn,
            port,
            storage,
            dir,
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "BuildGrid exited ({status}) before listening:\n{}",
                    self.log()
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(90),
                "BuildGrid did not listen on {} within 90s:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bgd.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.port)
    }

    pub fn tls_url(&self) -> String {
        format!("grpcs://127.0.0.1:{}", self.port)
    }

    /// The blob files the server stores.
    pub fn blobs(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let objects = self.storage.join("cas/objects");
        for shard in std::fs::read_dir(objects).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(shard.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                found.push(f.path());
            }
        }
        found
    }

    /// Where the server keeps the blob with this SHA-256.
    pub fn blob_path(&self, sha256_hex: &str) -> PathBuf {
        self.storage
            .join("cas/objects")
            .join(&sha256_hex[..2])
            .join(&sha256_hex[2..])
    }

    /// Stop it now (its whole process group).
    pub fn kill(&mut self) {
        kill_group(&mut self.child);
    }
}

/// Kill a child started in its own process group, with everything it started, and reap it.
pub fn kill_group(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        // SAFETY: kill(2) on the process group of a child we spawned and not yet reaped.
        unsafe {
            libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A test CA and a server certificate for 127.0.0.1 it signed, made with openssl:
/// (server key, server certificate, CA certificate) as PEM files in `dir`.
pub fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |n: &str| dir.join(n);
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=batuta test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        p("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (p("server.key"), p("server.pem"), p("ca.pem"))
}

/// A JWT (HS256, valid for an hour) signed with `secret`, made by the PyJWT that BuildGrid
/// installs beside bgd.
pub fn jwt(secret: &str) -> String {
    let python = bgd().parent().unwrap().join("python");
    let out = Command::new(python)
        .args([
            "-c",
            "import jwt, sys, time; print(jwt.encode({'sub': 'batuta-test', 'exp': int(time.time()) + 3600}, sys.argv[1], algorithm='HS256'))",
            secret,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
