//! The seam to a shared, remote action cache. The engine knows only this trait; the gRPC
//! client that speaks the Remote Execution API lives in the `batuta-remote` crate, so the
//! engine core carries no network code.
//!
//! The scheduler asks the remote cache after a local miss and before running an action,
//! and hands it the result after a successful run. A remote that cannot be reached is
//! reported once and not asked again for the rest of the build: the build goes on locally.

use std::fmt;

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
}
