//! batuta's engine: the manifest, the action graph, digests, the cache, the scheduler and
//! the workflow state. It knows nothing about Python or Rust; rules plug in from
//! `batuta-rules`.

pub mod cache;
pub mod codes;
pub mod db;
pub mod digest;
pub mod exec;
pub mod fsutil;
pub mod graph;
pub mod history;
pub mod journal;
pub mod key;
pub mod lock;
pub mod manifest;
pub mod remote;
pub mod rule;
pub mod stale;
pub mod state;
pub mod watch;
