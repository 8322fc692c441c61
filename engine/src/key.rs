//! An action's cache key (MANIFEST.md, "Cache key"): BLAKE3 over everything that decides its
//! outputs. One recipe, used by the scheduler as it runs and by the incremental database
//! (`db`) between builds, so the two can never disagree.

use crate::digest::Digest;
use crate::graph::{Action, ActionKind};

/// Bumped whenever the recipe changes, so old cache entries stop matching.
const KEY_FORMAT: &[u8] = b"batuta-action-key-v1";

/// What the key needs besides the action itself.
pub struct KeyParts<'a> {
    /// The version output of the action's tool, for commands that name one.
    pub tool_version: Option<&'a str>,
    /// The version of the builtin or kernel; `None` when this batuta does not implement it.
    pub rule_version: Option<&'a str>,
    /// The value of each name in the action's `env`, in order (`None`: unset).
    pub env: &'a [Option<String>],
    /// Each input path with the digest of its contents, in the action's order.
    pub inputs: &'a [(&'a str, Digest)],
}

pub fn action_key(a: &Action, parts: &KeyParts<'_>) -> Digest {
    let mut h = blake3::Hasher::new();
    let mut field = |bytes: &[u8]| {
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(KEY_FORMAT);
    match &a.kind {
        ActionKind::Command { argv, tool } => {
            field(b"command");
            for arg in argv {
                field(arg.as_bytes());
            }
            if tool.is_some() {
                field(b"tool");
                field(parts.tool_version.unwrap_or_default().as_bytes());
            }
        }
        ActionKind::Builtin { name, with } | ActionKind::Kernel { name, with } => {
            field(if matches!(a.kind, ActionKind::Builtin { .. }) {
                b"builtin"
            } else {
                b"kernel"
            });
            field(name.as_bytes());
            field(parts.rule_version.unwrap_or("unimplemented").as_bytes());
            field(
                with.as_ref()
                    .map(|w| w.to_string())
                    .unwrap_or_default()
                    .as_bytes(),
            );
        }
    }
    for (name, value) in a.env.iter().zip(parts.env) {
        field(b"env");
        field(name.as_bytes());
        field(value.as_deref().unwrap_or_default().as_bytes());
    }
    for (path, digest) in parts.inputs {
        field(b"in");
        field(path.as_bytes());
        field(&digest.0);
    }
    for out in &a.outputs {
        field(b"out");
        field(out.as_bytes());
    }
    Digest(*h.finalize().as_bytes())
}

/// The current value of each of the action's declared env names.
pub fn env_values(a: &Action) -> Vec<Option<String>> {
    a.env
        .iter()
        .map(|n| std::env::var_os(n).map(|v| v.to_string_lossy().into_owned()))
        .collect()
}
