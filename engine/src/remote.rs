//! The seam to a shared, remote action cache and, when it has workers, remote execution.
//! The engine knows only this trait; the gRPC client that speaks the Remote Execution API
//! lives in the `batuta-remote` crate, so the engine core carries no network code.
//!
//! The scheduler asks the remote cache after a local miss and before running an action,
//! and hands it the result after a successful run. A remote that executes is handed the
//! command actions to run instead of running them here. A remote that cannot be reached is
//! reported once and not asked again for the rest of the build: the build goes on locally.

use std::fmt;
use std::path::Path;

use crate::cache::{ActionResult, Cache};
use crate::digest::Digest;

/// Why the remote cache could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// The server is down, refused us, or took too long: stop asking it in this build.
    Unavailable(String),
    /// One entry could not be used (a blob that does not match its digest, a malformed
    /// result): this action is a miss, the next one may still hit.
    Unusable(String),
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteError::Unavailable(m) | RemoteError::Unusable(m) => f.write_str(m),
        }
    }
}

/// A command action as a remote worker runs it: in a folder holding only its declared
/// inputs, at the same relative paths, with only its declared environment.
pub struct RemoteCommand<'a> {
    pub argv: &'a [String],
    /// The declared variables and their values here (`PATH` and `HOME` are the worker's).
    pub env: &'a [(String, String)],
    /// Every declared input, relative to the workspace, with its BLAKE3 digest now.
    pub inputs: &'a [(String, Digest)],
    pub outputs: &'a [String],
    /// The workspace, where the inputs' bytes are read from.
    pub root: &'a Path,
    /// Set when the build is cancelled: stop waiting for the remote run.
    pub cancel: &'a std::sync::atomic::AtomicBool,
}

/// What a remote run of a command gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The declared outputs it wrote, already verified and stored in the local cache:
    /// path, BLAKE3 digest, executable.
    pub outputs: Vec<(String, Digest, bool)>,
    /// Which worker ran it, as the server says.
    pub worker: String,
}

/// A remote action cache, keyed by batuta's action key.
pub trait RemoteCache: Send + Sync + fmt::Debug {
    /// Where it is, for messages (never holds a credential).
    fn describe(&self) -> String;

    /// Look the action up. On a hit every output blob (and stdout, stderr) has been fetched,
    /// verified and stored in `cache`, and the result names them by their BLAKE3 digests,
    /// ready for a local restore. `outputs` are the action's declared outputs.
    fn fetch(
        &self,
        key: &Digest,
        outputs: &[String],
        cache: &Cache,
    ) -> Result<Option<ActionResult>, RemoteError>;

    /// Share the result of a successful local run (its blobs are in `cache`). A read-only
    /// remote does nothing. It may finish in the background: see `finish`. An error may be
    /// one of an earlier upload's.
    fn upload(
        &self,
        key: &Digest,
        outputs: &[String],
        result: &ActionResult,
        cache: &Cache,
    ) -> Result<(), RemoteError>;

    /// Wait for uploads still in flight, at the end of a build; the first failure among
    /// them not yet reported.
    fn finish(&self) -> Result<(), RemoteError> {
        Ok(())
    }

    /// Whether command actions are sent to remote workers (`remote.execute`).
    fn executes(&self) -> bool {
        false
    }

    /// Run the command on a remote worker and bring back what it wrote. An error means it
    /// did not run there (or its result cannot be used): the caller runs it locally.
    fn execute(&self, cmd: &RemoteCommand<'_>, cache: &Cache) -> Result<Executed, RemoteError> {
        let _ = (cmd, cache);
        Err(RemoteError::Unavailable(
            "this remote does not execute actions".into(),
        ))
    }
}
