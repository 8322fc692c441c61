//! Remote execution, the client's side: a command action becomes a REAPI Action (its
//! Command, and an input root holding exactly its declared inputs), its blobs go to the
//! CAS, the Execution service runs it on a worker, and what the worker wrote comes back
//! through the CAS, verified, into the local cache.

use batuta_engine::cache::{Cache, is_executable};
use batuta_engine::digest::Digest as Blake3;
use batuta_engine::remote::{Executed, RemoteCommand, RemoteError};
use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use prost::Message;
use tonic::{Code, Status};

use crate::digests::{matches, sha256, show, well_formed};
use crate::tree::{self, InputFile};
use crate::{Remote, describe};

/// The platform an action asks for and a worker offers: BuildGrid matches the two keys it
/// always knows, so a worker only gets commands built for its own system.
pub fn platform() -> re::Platform {
    re::Platform {
        properties: vec![
            re::platform::Property {
                name: "ISA".into(),
                value: std::env::consts::ARCH.replace('_', "-"),
            },
            re::platform::Property {
                name: "OSFamily".into(),
                value: std::env::consts::OS.into(),
            },
        ],
    }
}

/// The Action and its blobs for one command: what is sent, and the Action's digest.
pub struct Prepared {
    pub action: re::Digest,
    pub blobs: Vec<(re::Digest, Vec<u8>)>,
}

/// Read the inputs (each must still have the BLAKE3 digest its key was made from), build
/// the input root, the Command and the Action.
pub fn prepare(remote: &Remote, cmd: &RemoteCommand<'_>) -> Result<Prepared, RemoteError> {
    let unusable = |m: String| RemoteError::Unusable(m);
    let mut files = Vec::with_capacity(cmd.inputs.len());
    let mut blobs = Vec::with_capacity(cmd.inputs.len() + 4);
    for (rel, b3) in cmd.inputs {
        let path = cmd.root.join(rel);
        let bytes = std::fs::read(&path)
            .map_err(|e| unusable(format!("cannot read input '{rel}': {e}")))?;
        if Blake3::of(&bytes) != *b3 {
            return Err(unusable(format!("input '{rel}' changed during the build")));
        }
        let executable = std::fs::metadata(&path).is_ok_and(|m| is_executable(&m));
        let sha = sha256(&bytes);
        remote.remember(*b3, sha.clone());
        files.push(InputFile {
            path: rel.clone(),
            digest: sha.clone(),
            executable,
        });
        blobs.push((sha, bytes));
    }
    let root = tree::build(&files).map_err(unusable)?;
    let mut env: Vec<re::command::EnvironmentVariable> = cmd
        .env
        .iter()
        .map(|(name, value)| re::command::EnvironmentVariable {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    env.sort_by(|a, b| a.name.cmp(&b.name));
    let mut output_paths = cmd.outputs.to_vec();
    output_paths.sort();
    output_paths.dedup();
    let command = re::Command {
        arguments: cmd.argv.to_vec(),
        environment_variables: env,
        output_paths,
        ..Default::default()
    }
    .encode_to_vec();
    let action = re::Action {
        command_digest: Some(sha256(&command)),
        input_root_digest: Some(root.root.clone()),
        platform: Some(platform()),
        ..Default::default()
    }
    .encode_to_vec();
    let action_digest = sha256(&action);
    blobs.extend(root.directories);
    blobs.push((sha256(&command), command));
    blobs.push((action_digest.clone(), action));
    blobs.sort_by(|a, b| a.0.hash.cmp(&b.0.hash));
    blobs.dedup_by(|a, b| a.0 == b.0);
    Ok(Prepared {
        action: action_digest,
        blobs,
    })
}

impl Remote {
    pub(crate) async fn execute_async(
        &self,
        cmd: &RemoteCommand<'_>,
        cache: &Cache,
    ) -> Result<Executed, RemoteError> {
        let prepared = prepare(self, cmd)?;
        let mut conn = self.exec_conn().await?;
        let all: Vec<re::Digest> = prepared.blobs.iter().map(|b| b.0.clone()).collect();
        let missing = conn.find_missing(&all).await.map_err(unavailable)?;
        let send = prepared
            .blobs
            .into_iter()
            .filter(|b| missing.contains(&b.0))
            .collect();
        conn.write_blobs(send).await.map_err(unavailable)?;
        // A cancelled build stops waiting (the stream is dropped); the server may still
        // finish the run, and its result then serves a later build from the cache.
        let response = tokio::select! {
            r = conn.execute(&prepared.action) => r.map_err(execution_failed)?,
            () = cancelled(cmd.cancel) => {
                return Err(RemoteError::Unusable("the build was cancelled".into()));
            }
        };
        if let Some(s) = response.status.as_ref().filter(|s| s.code != 0) {
            return Err(execution_failed(Status::new(
                Code::from(s.code),
                s.message.clone(),
            )));
        }
        let result = response
            .result
            .ok_or_else(|| RemoteError::Unusable("the server sent no result".into()))?;
        self.bring_back(&mut conn, &result, cmd.outputs, cache)
            .await
    }

    /// Fetch what the run wrote (declared outputs only), stdout and stderr, verify each
    /// blob against its SHA-256 and store it in the local cache.
    async fn bring_back(
        &self,
        conn: &mut crate::grpc::Conn,
        r: &re::ActionResult,
        declared: &[String],
        cache: &Cache,
    ) -> Result<Executed, RemoteError> {
        let empty = sha256(b"");
        let mut wanted: Vec<re::Digest> = Vec::new();
        let mut inline: Vec<Option<Vec<u8>>> = Vec::new();
        let mut files = Vec::new();
        for f in &r.output_files {
            if !declared.contains(&f.path) {
                continue;
            }
            let d = f.digest.clone().unwrap_or_else(|| empty.clone());
            files.push((f.path.clone(), f.is_executable));
            inline.push((!f.contents.is_empty()).then(|| f.contents.clone()));
            wanted.push(d);
        }
        let stdout = r.stdout_digest.clone().unwrap_or_else(|| empty.clone());
        let stderr = r.stderr_digest.clone().unwrap_or(empty);
        inline.push((!r.stdout_raw.is_empty()).then(|| r.stdout_raw.clone()));
        inline.push((!r.stderr_raw.is_empty()).then(|| r.stderr_raw.clone()));
        wanted.push(stdout);
        wanted.push(stderr);
        if !wanted.iter().all(well_formed) {
            return Err(RemoteError::Unusable(
                "its result names a malformed digest".into(),
            ));
        }
        let blobs = conn
            .read_blobs(&wanted, inline)
            .await
            .map_err(unavailable)?;
        let mut got = Vec::with_capacity(blobs.len());
        for (d, bytes) in wanted.iter().zip(blobs) {
            let bytes = bytes.ok_or_else(|| {
                RemoteError::Unusable(format!("the server lost blob {} of the result", show(d)))
            })?;
            if !matches(d, &bytes) {
                return Err(RemoteError::Unusable(format!(
                    "blob {} from the server does not match its SHA-256 digest; it was not used",
                    show(d)
                )));
            }
            got.push(bytes);
        }
        let stderr = got.pop().expect("stderr was asked for");
        let stdout = got.pop().expect("stdout was asked for");
        let mut outputs = Vec::with_capacity(files.len());
        for ((path, executable), (bytes, sha)) in files.into_iter().zip(got.iter().zip(&wanted)) {
            let b3 = cache
                .put_bytes(bytes)
                .map_err(|e| RemoteError::Unusable(format!("cannot store a fetched blob: {e}")))?;
            self.remember(b3, sha.clone());
            outputs.push((path, b3, executable));
        }
        let worker = r
            .execution_metadata
            .as_ref()
            .map(|m| m.worker.clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "(unnamed)".into());
        Ok(Executed {
            exit_code: r.exit_code,
            stdout,
            stderr,
            outputs,
            worker,
        })
    }
}

/// Resolves once `flag` is set (checked every 50 ms).
async fn cancelled(flag: &std::sync::atomic::AtomicBool) {
    while !flag.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn unavailable(s: Status) -> RemoteError {
    RemoteError::Unavailable(describe(&s))
}

/// The server could not run the action: down or overloaded, the build goes on without it;
/// refused for this action only (a missing input, a command no worker can start), this
/// action runs here.
fn execution_failed(s: Status) -> RemoteError {
    match s.code() {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Unauthenticated
        | Code::PermissionDenied
        | Code::Unimplemented
        | Code::Cancelled => RemoteError::Unavailable(describe(&s)),
        _ => RemoteError::Unusable(describe(&s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_names_this_system() {
        let p = platform();
        let names: Vec<&str> = p.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["ISA", "OSFamily"],
            "sorted by name, as REAPI requires"
        );
        assert!(!p.properties[0].value.contains('_'));
    }

    #[test]
    fn a_refused_action_runs_here_a_dead_server_is_left_alone() {
        assert!(matches!(
            execution_failed(Status::unavailable("down")),
            RemoteError::Unavailable(_)
        ));
        assert!(matches!(
            execution_failed(Status::failed_precondition("missing blob")),
            RemoteError::Unusable(_)
        ));
    }
}
