//! End-to-end tests of the remote cache against a real BuildGrid (REAPI v2): one checkout
//! fills it, a clean one restores from it; read-only clients upload nothing; a dead server
//! or a damaged blob never fails a build.

use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

mod common;
mod remote_server;

use common::{events, outcomes, summary};
use remote_server::Server;

/// Three transpile actions (one output over BuildGrid's 4 MiB batch limit, so it travels
/// by ByteStream) and one that joins two of them; each logs that it ran.
fn manifest(remote: &str) -> String {
    format!(
        r#"version: 1
project: {{ name: shared, source: src, output: out }}
{remote}
stages:
  transpile:
    tasks:
      copy:
        run: [sh, -c, "echo {{path}} >> spawned.log; cp {{in}} {{out}}; echo copied {{path}}"]
        each: "**/*.py"
        out: "{{dir}}/{{stem}}.txt"
  validate:
    needs: [transpile]
    tasks:
      join:
        run: [sh, -c, "echo join >> spawned.log; cat out/a.txt out/pkg/c.txt > out/joined.txt; chmod +x out/joined.txt"]
        inputs: [out/a.txt, out/pkg/c.txt]
        outputs: [out/joined.txt]
"#
    )
}

const OUTPUTS: [&str; 4] = [
    "out/a.txt",
    "out/pkg/c.txt",
    "out/big.txt",
    "out/joined.txt",
];

/// A checkout: the manifest and sources, its own empty local cache.
struct Checkout {
    files: common::Files,
}

impl Checkout {
    fn new(remote: &str) -> Checkout {
        let big: String = (0..600_000).map(|i| format!("{i:08}\n")).collect();
        let files = common::Files::new(
            &manifest(remote),
            &[
                ("src/a.py", "print('a')\n"),
                ("src/pkg/c.py", "print('c')\n"),
                ("src/big.py", &big),
            ],
        );
        Checkout { files }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("batuta").unwrap();
        c.current_dir(self.files.dir.path())
            .env("NO_COLOR", "1")
            .env("BATUTA_CACHE_DIR", self.files.path(".batuta/cache"))
            .env_remove("RUST_LOG");
        c
    }

    fn build(&self, args: &[&str]) -> (i32, Vec<Value>) {
        let (code, ev, _) = self.build_logged(args);
        (code, ev)
    }

    /// The build with the remote client's debug log, which names the ByteStream transfers.
    fn build_logged(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        let out = self
            .cmd()
            .env("RUST_LOG", "batuta_remote=debug")
            .args(["build", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), events(&out), log)
    }

    fn spawned(&self) -> usize {
        std::fs::read_to_string(self.files.path("spawned.log")).map_or(0, |s| s.lines().count())
    }

    fn bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.files.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

fn warnings(ev: &[Value]) -> Vec<&str> {
    ev.iter()
        .filter(|e| e["event"] == "warning")
        .map(|e| e["message"].as_str().unwrap())
        .collect()
}

fn remote_block(url: &str, extra: &str) -> String {
    format!("remote: {{ cache: \"{url}\"{extra} }}")
}

#[test]
fn a_clean_checkout_restores_everything_from_the_remote_cache() {
    let server = Server::start();
    let a = Checkout::new(&remote_block(&server.url(), ", upload: true"));
    let (code, ev, log) = a.build_logged(&[]);
    assert_eq!(code, 0, "{ev:?}\n{}", server.log());
    assert!(
        log.contains("ByteStream write"),
        "the big output is streamed up: {log}"
    );
    assert_eq!(summary(&ev)["executed"], 4);
    assert!(warnings(&ev).is_empty(), "{ev:?}");

    let b = Checkout::new(&remote_block(&server.url(), ""));
    let (code, ev, log) = b.build_logged(&[]);
    assert_eq!(code, 0, "{ev:?}");
    assert!(
        log.contains("ByteStream read"),
        "the big output is streamed down: {log}"
    );
    let s = summary(&ev);
    assert_eq!(
        (s["executed"].as_u64(), s["cached"].as_u64()),
        (Some(0), Some(4)),
        "{ev:?}"
    );
    assert_eq!(b.spawned(), 0, "nothing ran in the clean checkout");
    let remote: Vec<&Value> = ev.iter().filter(|e| e["remote"] == true).collect();
    assert_eq!(
        remote.len(),
        4,
        "each restore says it came from the remote: {ev:?}"
    );
    assert!(remote.iter().all(|e| e["outcome"] == "cached"));
    for out in OUTPUTS {
        assert_eq!(a.bytes(out), b.bytes(out), "{out} is byte-identical");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(b.files.path("out/joined.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_ne!(
            mode & 0o100,
            0,
            "the executable bit travels with the output"
        );
    }
    // Now local: a second build in B is up to date, with no remote involved.
    let (_, ev) = b.build(&[]);
    assert_eq!(summary(&ev)["up_to_date"], 4);
}

#[test]
fn a_read_only_client_uploads_nothing() {
    let server = Server::start();
    let a = Checkout::new(&remote_block(&server.url(), ", upload: false"));
    let (code, ev) = a.build(&[]);
    assert_eq!(code, 0, "{ev:?}");
    assert_eq!(summary(&ev)["executed"], 4);
    assert!(warnings(&ev).is_empty(), "{ev:?}");
    assert!(
        server.blobs().is_empty(),
        "the server's CAS stays empty: {:?}",
        server.blobs()
    );

    let b = Checkout::new(&remote_block(&server.url(), ""));
    let (_, ev) = b.build(&[]);
    assert_eq!(summary(&ev)["executed"], 4, "nothing to restore: {ev:?}");
    assert!(!server.blobs().is_empty(), "B, allowed to upload, did");
}

#[test]
fn a_dead_server_degrades_to_a_local_build_with_one_warning() {
    let mut server = Server::start();
    let url = server.url();
    server.kill();
    let a = Checkout::new(&remote_block(&url, ", token_env: BATUTA_TEST_TOKEN"));
    let t = Instant::now();
    let out = a
        .cmd()
        .env("BATUTA_TEST_TOKEN", "s3cret-token-value")
        .args(["build", "--format", "json"])
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    let ev = events(&out);
    assert_eq!(out.status.code(), Some(0), "{ev:?}");
    assert_eq!(summary(&ev)["executed"], 4);
    let w = warnings(&ev);
    assert_eq!(w.len(), 1, "one warning for the whole build: {w:?}");
    assert!(w[0].contains("unavailable") && w[0].contains(&url), "{w:?}");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("s3cret"), "the token is never printed: {all}");
    assert!(
        elapsed < Duration::from_secs(20),
        "a dead server does not slow the build: {elapsed:?}"
    );
}

#[test]
fn a_server_that_never_answers_costs_one_timeout_not_one_per_action() {
    // The kernel accepts the connection; nothing ever speaks HTTP/2 on it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("grpc://{}", silent.local_addr().unwrap());
    let a = Checkout::new("");
    let t = Instant::now();
    let (code, ev) = a.build(&["--remote-cache", &url, "-j", "1"]);
    let elapsed = t.elapsed();
    assert_eq!(code, 0, "{ev:?}");
    assert_eq!(summary(&ev)["executed"], 4);
    let w = warnings(&ev);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("unavailable"), "{w:?}");
    assert!(
        elapsed < Duration::from_secs(20),
        "one short timeout: {elapsed:?}"
    );
    drop(silent);
}

#[test]
fn a_server_stopped_between_lookup_and_upload_never_fails_the_build() {
    // Started, then killed while the build runs: the actions of the second stage find it gone.
    let mut server = Server::start();
    let remote = remote_block(&server.url(), "");
    let slow = manifest(&remote).replace("echo join >>", "sleep 2; echo join >>");
    let a = Checkout::new(&remote);
    a.files.write("batuta.yaml", &slow);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(a.files.dir.path())
        .env("BATUTA_CACHE_DIR", a.files.path(".batuta/cache"))
        .args(["build", "--format", "json", "-j", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for(&a.files.path("spawned.log"));
    let t = Instant::now();
    while !std::fs::read_to_string(a.files.path("spawned.log"))
        .unwrap()
        .contains("big.py")
    {
        assert!(t.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    let out = child.wait_with_output().unwrap();
    let ev = events(&out);
    assert_eq!(out.status.code(), Some(0), "{ev:?}");
    assert_eq!(summary(&ev)["failed"], 0);
    let w = warnings(&ev);
    assert_eq!(
        w.len(),
        1,
        "one warning, when the join's upload finds it gone: {w:?}"
    );
    assert!(w[0].contains("unavailable"), "{w:?}");
    assert!(a.files.path("out/joined.txt").is_file());
}

#[test]
fn a_corrupted_blob_on_the_server_is_rejected() {
    let server = Server::start();
    let a = Checkout::new(&remote_block(&server.url(), ""));
    let (code, ev, log) = a.build_logged(&[]);
    assert_eq!(code, 0);
    assert!(warnings(&ev).is_empty(), "{ev:?}\n{log}\n{}", server.log());
    // Damage the stored a.txt, keeping its size, as a failing disk would.
    let good = a.bytes("out/a.txt");
    let blob = server.blob_path(&batuta_remote::sha256(&good).hash);
    let mut bad = std::fs::read(&blob).unwrap_or_else(|e| panic!("{}: {e}", blob.display()));
    assert_eq!(bad, good);
    bad[0] ^= 0x20;
    std::fs::write(&blob, &bad).unwrap();

    // B names the server with the flag only.
    let b = Checkout::new("");
    let (code, ev) = b.build(&["--remote-cache", &server.url()]);
    assert_eq!(code, 0, "{ev:?}");
    assert_eq!(outcomes(&ev, "executed"), ["transpile/copy:a.py"], "{ev:?}");
    let w = warnings(&ev);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("transpile/copy:a.py") && w[0].contains("does not match its SHA-256"),
        "{w:?}"
    );
    assert_eq!(
        b.bytes("out/a.txt"),
        good,
        "the damaged bytes were never used"
    );
    assert_eq!(summary(&ev)["cached"], 3);
}

#[test]
fn tls_and_a_bearer_token_reach_a_server_that_requires_them() {
    let certs = tempfile::tempdir().unwrap();
    let (key, cert, ca) = remote_server::certificates(certs.path());
    let secret = certs.path().join("jwt.secret");
    std::fs::write(&secret, "batuta-test-secret").unwrap();
    let server = Server::start_with(
        Some(remote_server::Tls {
            key: &key,
            cert: &cert,
        }),
        Some(&secret),
    );
    let token = remote_server::jwt("batuta-test-secret");
    let remote = remote_block(
        &server.tls_url(),
        ", token_env: BATUTA_TEST_TOKEN, tls: { ca: ca.pem }",
    );
    let checkout = || {
        let c = Checkout::new(&remote);
        std::fs::copy(&ca, c.files.path("ca.pem")).unwrap();
        c
    };
    let build = |c: &Checkout, token: &str| {
        let out = c
            .cmd()
            .env("BATUTA_TEST_TOKEN", token)
            .args(["build", "--format", "json"])
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            token.is_empty() || !all.contains(token),
            "the token is never printed"
        );
        (out.status.code(), events(&out))
    };
    let a = checkout();
    let (code, ev) = build(&a, &token);
    assert_eq!(code, Some(0), "{ev:?}\n{}", server.log());
    assert!(warnings(&ev).is_empty(), "{ev:?}\n{}", server.log());
    let b = checkout();
    let (_, ev) = build(&b, &token);
    assert_eq!(
        summary(&ev)["cached"],
        4,
        "restored over TLS with the token: {ev:?}"
    );

    // A wrong token: refused, one warning, a local build.
    let c = checkout();
    let (code, ev) = build(&c, "not-a-jwt");
    assert_eq!(code, Some(0), "{ev:?}");
    assert_eq!(summary(&ev)["executed"], 4);
    let w = warnings(&ev);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("Unauthenticated") || w[0].contains("PermissionDenied"),
        "{w:?}"
    );

    // A CA it does not trust: the TLS handshake fails, one warning, a local build.
    let d = Checkout::new(&remote_block(
        &server.tls_url(),
        ", token_env: BATUTA_TEST_TOKEN",
    ));
    let (code, ev) = build(&d, &token);
    assert_eq!(code, Some(0), "{ev:?}");
    assert_eq!(summary(&ev)["executed"], 4);
    assert_eq!(warnings(&ev).len(), 1, "{ev:?}");
}

#[test]
fn the_remote_section_is_checked_like_the_rest_of_the_manifest() {
    let a = Checkout::new("remote: { cache: \"grpc://127.0.0.1:1\", uplaod: false }");
    let out = a.cmd().args(["build"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown key 'uplaod' in remote") && err.contains("did you mean 'upload'?"),
        "{err}"
    );

    let a = Checkout::new("remote: { cache: \"http://cache:80\" }");
    let out = a.cmd().args(["build"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must start with grpc:// or grpcs://"), "{err}");

    let out = a
        .cmd()
        .args(["build", "--remote-cache", "grpc://nohost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn no_remote_no_connection() {
    // Without `remote:` or the flag, a build opens no socket: strace sees no connect().
    let a = Checkout::new("");
    let out = std::process::Command::new("strace")
        .args(["-f", "-e", "trace=connect", "-o"])
        .arg(a.files.path("trace"))
        .arg(assert_cmd::cargo::cargo_bin("batuta"))
        .args(["build", "--format", "json"])
        .current_dir(a.files.dir.path())
        .env("BATUTA_CACHE_DIR", a.files.path(".batuta/cache"))
        .output()
        .expect("strace (apt-get install strace)");
    assert_eq!(out.status.code(), Some(0));
    let trace = a.files.read("trace");
    assert!(
        !trace
            .lines()
            .any(|l| l.contains("connect(") && (l.contains("AF_INET") || l.contains("AF_INET6"))),
        "{trace}"
    );
}

#[test]
fn watch_with_remote_cache_fills_it_for_a_clean_checkout() {
    use std::io::{BufRead, BufReader};
    let server = Server::start();
    // The flag, not the manifest, names the remote here.
    let a = Checkout::new("");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("batuta"))
        .current_dir(a.files.dir.path())
        .args(["watch", "--format", "json", "--remote-cache", &server.url()])
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", a.files.path(".batuta/cache"))
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let first: Value = loop {
        let left = Duration::from_secs(120).saturating_sub(started.elapsed());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no first build from watch ({e:?}); {}", server.log()));
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["event"] == "summary" {
            break v;
        }
    };
    // SAFETY: signalling a child we spawned and have not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(first["executed"], 4, "{first}");
    assert!(status.success() || status.code() == Some(130), "{status:?}");

    let b = Checkout::new("");
    let (code, ev) = b.build(&["--remote-cache", &server.url()]);
    assert_eq!(code, 0, "{ev:?}");
    let s = summary(&ev);
    assert_eq!(
        (s["executed"].as_u64(), s["cached"].as_u64()),
        (Some(0), Some(4)),
        "watch uploaded what it built: {ev:?}"
    );
    assert_eq!(b.spawned(), 0);
}
