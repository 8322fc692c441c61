//! The remote a build asks: the manifest's `remote:`, with `--remote-cache URL` and
//! `--remote-executor URL` in place of its addresses. None given: no remote, no connection.

use std::sync::Arc;

use batuta_engine::manifest::Manifest;
use batuta_engine::remote::RemoteCache;
use batuta_remote::{Config, Remote};

/// The remote to use, `None` when none is asked for, or why it cannot be set up (a bad
/// address, an unreadable CA file).
pub fn for_build(
    cache_flag: Option<&str>,
    executor_flag: Option<&str>,
    m: &Manifest,
) -> Result<Option<Arc<dyn RemoteCache>>, String> {
    let spec = m.remote.as_ref();
    let execute = executor_flag.map(str::to_owned).or_else(|| {
        spec.and_then(|r| r.execute.as_ref())
            .map(|e| e.value.clone())
    });
    let url = match (cache_flag, spec, &execute) {
        (Some(u), _, _) => u.to_owned(),
        // The executor given on the command line is the cache too, unless one is named.
        (None, _, Some(e)) if executor_flag.is_some() => e.clone(),
        (None, Some(r), _) => r.cache.value.clone(),
        // No manifest remote and no flag: `execute` can only have come from the flag.
        (None, None, _) => return Ok(None),
    };
    let token = match spec.and_then(|r| r.token_env.as_ref()) {
        Some(var) => match std::env::var(&var.value) {
            Ok(t) if !t.is_empty() => Some(t),
            _ => {
                eprintln!(
                    "warning: remote.token_env names {}, which is not set; asking the remote cache without a token",
                    var.value
                );
                None
            }
        },
        None => None,
    };
    let ca_pem = match spec.and_then(|r| r.ca.as_ref()) {
        Some(ca) => {
            let path = m.root.join(&ca.value);
            Some(
                std::fs::read(&path)
                    .map_err(|e| format!("cannot read remote.tls.ca '{}': {e}", path.display()))?,
            )
        }
        None => None,
    };
    let config = Config {
        url,
        execute,
        instance: spec.map(|r| r.instance.clone()).unwrap_or_default(),
        upload: spec.is_none_or(|r| r.upload),
        token,
        ca_pem,
        domain: spec
            .and_then(|r| r.domain.as_ref())
            .map(|d| d.value.clone()),
    };
    tracing::debug!(?config, "remote cache");
    Ok(Some(Arc::new(Remote::new(config)?)))
}
