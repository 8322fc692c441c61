//! batuta's remote cache: a client of the Bazel Remote Execution API v2 (ActionCache,
//! ContentAddressableStorage, ByteStream, Capabilities), so a team shares one cache through
//! any REAPI server (BuildGrid, Buildbarn, BuildBuddy, NativeLink…).
//!
//! The engine asks it through `batuta_engine::remote::RemoteCache`; nothing here runs unless
//! the manifest's `remote:` or `--remote-cache` asks for it. The generated REAPI types come
//! from the `bazel-remote-apis` crate (see README.md in this folder).

mod bots;
mod digests;
mod exec;
mod grpc;
mod tree;
pub mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use batuta_engine::cache::{ActionResult, Cache, CacheError};
use batuta_engine::digest::Digest as Blake3;
use batuta_engine::remote::{RemoteCache, RemoteError};
use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use tonic::{Code, Status};

pub use digests::{action_for, sha256};

/// What the manifest or the command line asked for.
#[derive(Clone, Default)]
pub struct Config {
    /// The cache: `grpc://HOST:PORT` or `grpcs://HOST:PORT`.
    pub url: String,
    /// Where actions are executed (`remote.execute`), when they are; same form. Its CAS
    /// takes the inputs and gives back the outputs.
    pub execute: Option<String>,
    pub instance: String,
    /// `false`: look up only, never write (a read-only, untrusted client).
    pub upload: bool,
    /// A bearer token's value (from the variable `remote.token_env` names).
    pub token: Option<String>,
    /// A PEM certificate authority to trust besides the system's, for `grpcs://`.
    pub ca_pem: Option<Vec<u8>>,
    /// The name the server's certificate carries, when not the URL's host.
    pub domain: Option<String>,
}

impl std::fmt::Debug for Config {
    // The token stays out of every log and message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.url)
            .field("execute", &self.execute)
            .field("instance", &self.instance)
            .field("upload", &self.upload)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("ca_pem", &self.ca_pem.is_some())
            .field("domain", &self.domain)
            .finish()
    }
}

/// A connection to a REAPI cache, made on first use.
pub struct Remote {
    config: Config,
    runtime: tokio::runtime::Runtime,
    /// The handshake's outcome, once: the connection, or why there is none.
    conn: tokio::sync::OnceCell<Result<grpc::Conn, String>>,
    /// The same for the execution server, when it is another address.
    exec_conn: tokio::sync::OnceCell<Result<grpc::Conn, String>>,
    /// BLAKE3 → SHA-256 of the blobs this build moved (the mapping between the local
    /// cache's names and the server's).
    sha_of: Mutex<HashMap<Blake3, re::Digest>>,
    /// Uploads running in the background, and the first that failed.
    pending: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    upload_error: Arc<Mutex<Option<RemoteError>>>,
    uploads: Arc<tokio::sync::Semaphore>,
}

/// Background uploads at once; past this a worker waits before queueing another.
const UPLOADS_IN_FLIGHT: usize = 16;

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("config", &self.config)
            .finish()
    }
}

impl Remote {
    /// Set up the client. Nothing connects yet; a wrong address or TLS setup is an error.
    pub fn new(config: Config) -> Result<Remote, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("batuta-remote")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the remote cache client: {e}"))?;
        // The channel is made inside the runtime (its buffer task lives there); its
        // validity is checked now so a bad address fails before the build starts.
        {
            let _in = runtime.enter();
            grpc::channel(&target(&config, &config.url))?;
            if let Some(url) = &config.execute {
                grpc::channel(&target(&config, url))?;
            }
        }
        Ok(Remote {
            config,
            runtime,
            conn: tokio::sync::OnceCell::new(),
            exec_conn: tokio::sync::OnceCell::new(),
            sha_of: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
            upload_error: Arc::new(Mutex::new(None)),
            uploads: Arc::new(tokio::sync::Semaphore::new(UPLOADS_IN_FLIGHT)),
        })
    }

    async fn conn(&self) -> Result<grpc::Conn, RemoteError> {
        connect(&self.conn, &self.config, &self.config.url).await
    }

    /// The execution server's connection (the cache's when they are one address).
    async fn exec_conn(&self) -> Result<grpc::Conn, RemoteError> {
        match &self.config.execute {
            Some(url) if *url != self.config.url => {
                connect(&self.exec_conn, &self.config, url).await
            }
            _ => self.conn().await,
        }
    }

    pub(crate) fn remember(&self, b: Blake3, s: re::Digest) {
        self.sha_of.lock().expect("sha map").insert(b, s);
    }

    async fn fetch_async(
        &self,
        key: &Blake3,
        outputs: &[String],
        cache: &Cache,
    ) -> Result<Option<ActionResult>, RemoteError> {
        let mut conn = self.conn().await?;
        let action = digests::action_for(key, outputs);
        let Some(result) = conn
            .get_action_result(&action.digest, outputs)
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let wanted = digests::decode_result(&result, outputs)
            .map_err(|e| RemoteError::Unusable(format!("its result cannot be used: {e}")))?;
        let mut all: Vec<re::Digest> = wanted.outputs.iter().map(|o| o.1.clone()).collect();
        all.push(wanted.stdout.clone());
        all.push(wanted.stderr.clone());
        let blobs = conn
            .read_blobs(&all, wanted.inline)
            .await
            .map_err(unavailable)?;
        let mut local = Vec::with_capacity(all.len());
        for (d, bytes) in all.iter().zip(blobs) {
            let Some(bytes) = bytes else {
                // The server kept the result but evicted a blob: an ordinary miss.
                tracing::debug!(blob = %digests::show(d), "remote result names a missing blob");
                return Ok(None);
            };
            if !digests::matches(d, &bytes) {
                return Err(RemoteError::Unusable(format!(
                    "blob {} from the server does not match its SHA-256 digest; it was not used",
                    digests::show(d)
                )));
            }
            let b3 = cache
                .put_bytes(&bytes)
                .map_err(|e| RemoteError::Unusable(format!("cannot store a fetched blob: {e}")))?;
            self.remember(b3, d.clone());
            local.push(b3);
        }
        let n = wanted.outputs.len();
        Ok(Some(ActionResult {
            outputs: wanted
                .outputs
                .into_iter()
                .zip(&local)
                .map(|((path, _, exec), b3)| (path, *b3, exec))
                .collect(),
            exit_code: 0,
            stdout: local[n],
            stderr: local[n + 1],
            inline: Vec::new(),
        }))
    }

    /// What an upload sends, read from the local cache (which verifies each blob's BLAKE3)
    /// and named by SHA-256: the outputs, stdout, stderr, and the Action and Command
    /// themselves, so the entry is complete for any REAPI tool that reads it.
    fn prepare_upload(
        &self,
        key: &Blake3,
        outputs: &[String],
        result: &ActionResult,
        cache: &Cache,
    ) -> Result<Upload, RemoteError> {
        let action = digests::action_for(key, outputs);
        let mut blobs: Vec<(re::Digest, Vec<u8>)> = Vec::new();
        let mut sha_of: HashMap<Blake3, re::Digest> = HashMap::new();
        let locals = result
            .outputs
            .iter()
            .map(|o| o.1)
            .chain([result.stdout, result.stderr]);
        for b3 in locals {
            if sha_of.contains_key(&b3) {
                continue;
            }
            let bytes = cache.read_output(result, &b3).map_err(|e: CacheError| {
                RemoteError::Unusable(format!("cannot read its result to upload: {e}"))
            })?;
            let sha = digests::sha256(&bytes);
            self.remember(b3, sha.clone());
            sha_of.insert(b3, sha.clone());
            blobs.push((sha, bytes));
        }
        blobs.push((digests::sha256(&action.command), action.command));
        blobs.push((action.digest.clone(), action.action));
        blobs.sort_by(|a, b| a.0.hash.cmp(&b.0.hash));
        blobs.dedup_by(|a, b| a.0 == b.0);
        Ok(Upload {
            action: action.digest,
            result: digests::encode_result(result, |b| sha_of[b].clone()),
            blobs,
        })
    }

    /// The first failure of a background upload, once.
    fn upload_failure(&self) -> Option<RemoteError> {
        self.upload_error.lock().expect("upload error").take()
    }
}

/// One action's result on its way to the server.
struct Upload {
    action: re::Digest,
    result: re::ActionResult,
    blobs: Vec<(re::Digest, Vec<u8>)>,
}

impl Upload {
    /// The blobs the server lacks, then the ActionResult that names them.
    async fn send(self, mut conn: grpc::Conn) -> Result<(), RemoteError> {
        let digests_: Vec<re::Digest> = self.blobs.iter().map(|b| b.0.clone()).collect();
        let missing = conn.find_missing(&digests_).await.map_err(unavailable)?;
        let to_send: Vec<(re::Digest, Vec<u8>)> = self
            .blobs
            .into_iter()
            .filter(|b| missing.contains(&b.0))
            .collect();
        tracing::debug!(blobs = to_send.len(), "uploading to the remote cache");
        conn.write_blobs(to_send).await.map_err(unavailable)?;
        conn.update_action_result(&self.action, self.result)
            .await
            .map_err(unavailable)
    }
}

impl RemoteCache for Remote {
    fn describe(&self) -> String {
        let mut s = self.config.url.clone();
        if let Some(e) = self
            .config
            .execute
            .as_ref()
            .filter(|e| **e != self.config.url)
        {
            s = format!("{s} (executing on {e})");
        }
        if !self.config.instance.is_empty() {
            s = format!("{s} (instance '{}')", self.config.instance);
        }
        s
    }

    fn executes(&self) -> bool {
        self.config.execute.is_some()
    }

    fn execute(
        &self,
        cmd: &batuta_engine::remote::RemoteCommand<'_>,
        cache: &Cache,
    ) -> Result<batuta_engine::remote::Executed, RemoteError> {
        self.runtime.block_on(self.execute_async(cmd, cache))
    }

    fn fetch(
        &self,
        key: &Blake3,
        outputs: &[String],
        cache: &Cache,
    ) -> Result<Option<ActionResult>, RemoteError> {
        self.runtime.block_on(self.fetch_async(key, outputs, cache))
    }

    /// The result is read and hashed here; the network part runs in the background (at
    /// most `UPLOADS_IN_FLIGHT` at once) so a worker does not wait for the server.
    /// [`RemoteCache::finish`] waits for them all.
    fn upload(
        &self,
        key: &Blake3,
        outputs: &[String],
        result: &ActionResult,
        cache: &Cache,
    ) -> Result<(), RemoteError> {
        if !self.config.upload {
            return Ok(());
        }
        if let Some(e) = self.upload_failure() {
            return Err(e);
        }
        let upload = self.prepare_upload(key, outputs, result, cache)?;
        let (conn, permit) = self.runtime.block_on(async {
            let conn = self.conn().await?;
            let permit = self
                .uploads
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            Ok::<_, RemoteError>((conn, permit))
        })?;
        let failed = self.upload_error.clone();
        let task = self.runtime.spawn(async move {
            if let Err(e) = upload.send(conn).await {
                failed.lock().expect("upload error").get_or_insert(e);
            }
            drop(permit);
        });
        self.pending.lock().expect("pending uploads").push(task);
        Ok(())
    }

    fn finish(&self) -> Result<(), RemoteError> {
        let tasks = std::mem::take(&mut *self.pending.lock().expect("pending uploads"));
        self.runtime.block_on(async {
            for t in tasks {
                let _ = t.await;
            }
        });
        self.upload_failure().map_or(Ok(()), Err)
    }
}

/// Connect once (handshake included); every later call gets the same outcome.
async fn connect(
    cell: &tokio::sync::OnceCell<Result<grpc::Conn, String>>,
    config: &Config,
    url: &str,
) -> Result<grpc::Conn, RemoteError> {
    let made = cell
        .get_or_init(|| async {
            let (channel, auth) = grpc::channel(&target(config, url))?;
            let mut c = grpc::Conn::new(channel, auth, config.instance.clone());
            c.handshake().await.map_err(|s| describe(&s))?;
            Ok(c)
        })
        .await;
    made.clone().map_err(RemoteError::Unavailable)
}

fn target<'c>(c: &'c Config, url: &'c str) -> grpc::Target<'c> {
    grpc::Target {
        url,
        token: c.token.as_deref(),
        ca_pem: c.ca_pem.clone(),
        domain: c.domain.as_deref(),
    }
}

/// A failed call means the server cannot serve this build: stop asking it.
fn unavailable(s: Status) -> RemoteError {
    RemoteError::Unavailable(describe(&s))
}

/// A status in words (the server's message, and the transport's cause when there is one).
pub(crate) fn describe(s: &Status) -> String {
    let what = match s.code() {
        Code::Unavailable => "cannot reach it",
        Code::DeadlineExceeded => "it did not answer in time",
        Code::Unauthenticated => "it wants credentials (set remote.token_env)",
        Code::PermissionDenied => "it refused the credentials",
        _ => "it failed",
    };
    let mut msg = s.message().to_owned();
    let mut source = std::error::Error::source(s);
    while let Some(e) = source {
        let cause = e.to_string();
        if !msg.contains(&cause) {
            msg = format!("{msg}: {cause}");
        }
        source = e.source();
    }
    format!("{what}: {:?}: {msg}", s.code())
}
