//! An action's cache key (MANIFEST.md, "Cache key"): BLAKE3 over everything that decides its
//! outputs. Made in two steps, each by one function: the [`fingerprint`], everything known
//! before the build (the command or rule and its version, the tool's version, the declared
//! environment, the input and output paths), which the database keeps between builds; and
//! the [`action_key`], the fingerprint with the digest of each input as it is when the
//! action is about to run.

use crate::digest::Digest;
use crate::graph::{Action, ActionKind};

/// Bumped whenever the recipe changes, so old cache entries stop matching.
const KEY_FORMAT: &[u8] = b"batuta-action-key-v3";

/// What the key needs besides the action itself and its inputs' contents.
pub struct Versions<'a> {
    /// The version output of the action's tool, for commands that name one.
    pub tool: Option<&'a str>,
    /// The version of the builtin or kernel; `None` when this batuta does not implement it.
    pub rule: Option<&'a str>,
    /// The value of each name in the action's `env`, in order (`None`: unset).
    pub env: &'a [Option<String>],
}

fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// Everything of the action's key that is known before its inputs are read.
pub fn fingerprint(a: &Action, v: &Versions<'_>) -> Digest {
    let mut h = blake3::Hasher::new();
    field(&mut h, KEY_FORMAT);
    match &a.kind {
        ActionKind::Command { argv, tool } => {
            field(&mut h, b"command");
            for arg in argv {
                field(&mut h, arg.as_bytes());
            }
            if tool.is_some() {
                field(&mut h, b"tool");
                field(&mut h, v.tool.unwrap_or_default().as_bytes());
            }
        }
        ActionKind::Builtin { name, with } | ActionKind::Kernel { name, with } => {
            let kind: &[u8] = if matches!(a.kind, ActionKind::Builtin { .. }) {
                b"builtin"
            } else {
                b"kernel"
            };
            field(&mut h, kind);
            field(&mut h, name.as_bytes());
            field(&mut h, v.rule.unwrap_or("unimplemented").as_bytes());
            let with = with.as_ref().map(|w| w.to_string()).unwrap_or_default();
            field(&mut h, with.as_bytes());
        }
    }
    for (name, value) in a.env.iter().zip(v.env) {
        field(&mut h, b"env");
        field(&mut h, name.as_bytes());
        field(&mut h, value.as_deref().unwrap_or_default().as_bytes());
    }
    // What a glob matched may come and go without the graph changing (a writer that
    // failed, a file deleted): those paths go in the key with their digests, as found.
    for input in a.inputs.iter().filter(|i| !a.is_matched(i)) {
        field(&mut h, b"in");
        field(&mut h, input.as_bytes());
    }
    for out in &a.outputs {
        field(&mut h, b"out");
        field(&mut h, out.as_bytes());
    }
    Digest(*h.finalize().as_bytes())
}

/// The action's key: its fingerprint and the digest of each of its inputs that is there,
/// in the action's order. An input a glob matched (see `Action::matched`) comes with its
/// path, as the fingerprint leaves it out; one that is absent now is left out of the key as
/// it is of what the action reads, so the key is that of the files that match.
pub fn action_key(fingerprint: &Digest, inputs: &[(Option<&str>, Digest)]) -> Digest {
    let mut h = blake3::Hasher::new();
    h.update(&fingerprint.0);
    h.update(&(inputs.len() as u64).to_le_bytes());
    for (matched, d) in inputs {
        match matched {
            None => {
                h.update(&[0]);
            }
            Some(path) => {
                h.update(&[1]);
                field(&mut h, path.as_bytes());
            }
        }
        h.update(&d.0);
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
