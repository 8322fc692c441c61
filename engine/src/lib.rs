//! batuta's engine: the manifest, the action graph, and (later) digests, cache, scheduler
//! and state. It knows nothing about Python or Rust; rules plug in from `batuta-rules`.

pub mod graph;
pub mod manifest;
