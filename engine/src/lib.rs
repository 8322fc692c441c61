//! batuta's engine: the manifest, the action graph, digests, the cache, the scheduler and
//! the workflow state. It knows nothing about Python or Rust; rules plug in from
//! `batuta-rules`.

#[cfg(unix)]
pub mod beneath;
pub mod cache;
pub mod codes;
pub mod db;
pub mod digest;
pub mod exec;
#[cfg(unix)]
pub mod folders;
pub mod fsutil;
pub mod graph;
pub mod history;
pub mod journal;
pub mod key;
pub mod lock;
pub mod manifest;
pub mod probe;
pub mod remote;
pub mod rule;
pub mod stale;
pub mod state;
pub mod watch;
