//! `remote:`: where a shared cache is and how to reach it.

use super::super::diagnostic::{Code, Diagnostic};
use super::super::model::{Remote, Sp};
use super::super::yaml::{Node, NodeKind};
use super::{Lower, keys};

impl Lower<'_> {
    pub(super) fn remote(&mut self, node: &Node) -> Option<Remote> {
        if matches!(node.kind, NodeKind::Null) {
            return None;
        }
        let f = self.fields(node, "remote", &[keys::REMOTE])?;
        let execute = f
            .get("execute")
            .and_then(|n| self.string(n, "remote.execute"));
        // An execution server has a CAS and an action cache: it is the cache unless
        // another is named.
        let cache = match (f.get("cache"), &execute) {
            (Some(n), _) => self.string(n, "remote.cache"),
            (None, Some(e)) => Some(e.clone()),
            (None, None) => {
                self.missing(
                    f.span,
                    "cache",
                    "remote",
                    "add `cache: grpc://HOST:PORT` (or grpcs:// for TLS), or `execute:` for a server that also runs actions",
                );
                None
            }
        }?;
        // A cache that is the execution server is reported once, as `execute`.
        let own_cache = f.get("cache").is_some().then_some(&cache);
        for (key, url) in [("cache", own_cache), ("execute", execute.as_ref())] {
            let Some(url) = url else { continue };
            if let Err(why) = check_url(&url.value) {
                self.push(
                    Diagnostic::new(
                        Code::WrongType,
                        format!("remote.{key} '{}' {why}", url.value),
                    )
                    .at(url.span)
                    .label("not a grpc:// or grpcs:// address")
                    .help(
                        "write `grpc://HOST:PORT`, or `grpcs://HOST:PORT` for a server that needs TLS",
                    ),
                );
            }
        }
        let instance = f
            .get("instance")
            .and_then(|n| self.string(n, "remote.instance"))
            .map(|s| s.value)
            .unwrap_or_default();
        let upload = f
            .get("upload")
            .and_then(|n| self.bool(n, "remote.upload"))
            .unwrap_or(true);
        let token_env = f
            .get("token_env")
            .and_then(|n| self.string(n, "remote.token_env"));
        let (mut ca, mut domain) = (None, None);
        if let Some(tls) = f.get("tls")
            && let Some(t) = self.fields(tls, "remote.tls", &[keys::REMOTE_TLS])
        {
            ca = t.get("ca").and_then(|n| self.string(n, "remote.tls.ca"));
            domain = t
                .get("domain")
                .and_then(|n| self.string(n, "remote.tls.domain"));
            if !cache.value.starts_with("grpcs://") {
                self.push(
                    Diagnostic::new(
                        Code::Conflict,
                        "remote.tls is set but remote.cache is not a grpcs:// address",
                    )
                    .at(cache.span)
                    .label("plain gRPC, no TLS")
                    .help(format!(
                        "write `cache: grpcs://{}`",
                        cache.value.trim_start_matches("grpc://")
                    )),
                );
            }
        }
        Some(Remote {
            cache: Sp::new(cache.value, cache.span),
            execute,
            instance,
            upload,
            token_env,
            ca,
            domain,
        })
    }
}

/// Whether `url` is `grpc://HOST:PORT` or `grpcs://HOST:PORT`; the reason when not.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("grpc://")
        .or_else(|| url.strip_prefix("grpcs://"))
        .ok_or("must start with grpc:// or grpcs://")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = rest.rsplit_once(':').ok_or("has no :PORT")?;
    if host.is_empty() || host.contains('/') {
        return Err("has no host, or a path after it");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err("has a port that is not a number from 1 to 65535"),
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;
    use crate::manifest::{Catalog, Code, Manifest, load_str};

    const EMPTY: Catalog = Catalog::EMPTY;

    fn load(remote: &str) -> Result<Manifest, Vec<(Code, String)>> {
        let text = format!(
            "version: 1\nproject: {{ name: r }}\n{remote}\nstages:\n  build: {{ run: [true] }}\n"
        );
        load_str(&text, std::path::Path::new("batuta.yaml"), &EMPTY)
            .map_err(|d| d.items.into_iter().map(|i| (i.code, i.message)).collect())
    }

    #[test]
    fn remote_defaults_and_fields() {
        let m = load("remote: { cache: \"grpc://h:1\" }").unwrap();
        let r = m.remote.unwrap();
        assert_eq!(
            (r.cache.value.as_str(), r.instance.as_str(), r.upload),
            ("grpc://h:1", "", true)
        );
        assert!(r.token_env.is_none() && r.ca.is_none() && r.domain.is_none());
        let m = load(
            "remote: { cache: \"grpcs://h:1\", instance: main, upload: false, token_env: T, tls: { ca: c.pem, domain: d } }",
        )
        .unwrap();
        let r = m.remote.unwrap();
        assert_eq!((r.instance.as_str(), r.upload), ("main", false));
        assert_eq!(r.token_env.unwrap().value, "T");
        assert_eq!(
            (r.ca.unwrap().value, r.domain.unwrap().value),
            ("c.pem".into(), "d".into())
        );
        assert!(load("").unwrap().remote.is_none(), "no remote unless asked");
        let m = load("remote: { execute: \"grpc://e:2\" }").unwrap();
        let r = m.remote.unwrap();
        assert_eq!(r.execute.unwrap().value, "grpc://e:2");
        assert_eq!(
            r.cache.value, "grpc://e:2",
            "the execution server is the cache"
        );
        let r = load("remote: { cache: \"grpc://c:1\", execute: \"grpc://e:2\" }")
            .unwrap()
            .remote
            .unwrap();
        assert_eq!(
            (r.cache.value.as_str(), r.execute.unwrap().value.as_str()),
            ("grpc://c:1", "grpc://e:2")
        );
        let e = load("remote: { execute: \"http://e:2\" }").unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("remote.execute"), "{e:?}");
    }

    #[test]
    fn remote_mistakes_are_reported() {
        let e = load("remote: { cache: \"grpc://h:1\", instnace: x }").unwrap_err();
        assert_eq!(e[0].0, Code::UnknownKey);
        let e = load("remote: { cache: \"grpc://h:1\", tls: { ca: c.pem } }").unwrap_err();
        assert_eq!(e[0].0, Code::Conflict, "TLS settings on a plain address");
        let e = load("remote: { upload: false }").unwrap_err();
        assert_eq!(e[0].0, Code::MissingKey);
        let e = load("remote: { cache: \"grpc://h:1\", upload: \"no\" }").unwrap_err();
        assert_eq!(e[0].0, Code::WrongType);
        let e = load("remote: { cache: \"grpc://h\" }").unwrap_err();
        assert!(e[0].1.contains("has no :PORT"), "{e:?}");
    }

    #[test]
    fn urls() {
        assert!(check_url("grpc://127.0.0.1:50051").is_ok());
        assert!(check_url("grpcs://cache.example.com:443").is_ok());
        assert!(check_url("grpc://[::1]:8980").is_ok());
        assert!(check_url("http://host:1").is_err());
        assert!(check_url("grpc://host").is_err());
        assert!(check_url("grpc://host:0").is_err());
        assert!(check_url("grpc://:80").is_err());
        assert!(check_url("grpc://host/x:80").is_err());
    }
}
