//! From batuta's BLAKE3 world to REAPI's SHA-256 one, without the network: blob digests,
//! the REAPI Action that stands for a batuta action key, and the ActionResult both ways.
//!
//! The local cache names blobs by BLAKE3; REAPI requires SHA-256 (and the size). A blob
//! crossing over is hashed both ways: on the way in, its SHA-256 must match what the server
//! promised before its bytes go to the local cache (which names them by BLAKE3 and checks
//! that again on restore); on the way out, its SHA-256 is computed from the verified local
//! bytes.

use batuta_engine::cache::ActionResult;
use batuta_engine::digest::Digest as Blake3;
use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use prost::Message;
use sha2::{Digest as _, Sha256};

/// Bumped if the way an action key becomes a REAPI Action changes, so old entries miss.
const ACTION_SCHEME: &str = "batuta-action-key-v1";

/// The REAPI digest (SHA-256 and size) of some bytes.
pub fn sha256(bytes: &[u8]) -> re::Digest {
    re::Digest {
        hash: hex(&Sha256::digest(bytes)),
        size_bytes: bytes.len() as i64,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Whether `bytes` are what `digest` names: same size, same SHA-256.
pub fn matches(digest: &re::Digest, bytes: &[u8]) -> bool {
    digest.size_bytes == bytes.len() as i64 && sha256(bytes).hash == digest.hash
}

/// A digest as people and resource names write it: `HASH/SIZE`.
pub fn show(d: &re::Digest) -> String {
    format!("{}/{}", d.hash, d.size_bytes)
}

/// Whether a digest a server sent is well formed (64 lowercase hex digits, size ≥ 0), so
/// it is safe to put in a resource name.
pub fn well_formed(d: &re::Digest) -> bool {
    d.size_bytes >= 0
        && d.hash.len() == 64
        && d.hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The REAPI Action (with its Command) that stands for a batuta action key.
///
/// batuta's key already covers everything that decides an action's outputs (command,
/// input contents, tool and rule versions, environment), so the Command only carries the
/// key and the output paths, and the input root is the empty directory: the Action's digest
/// is a deterministic function of the key, the same on every machine.
pub struct ReAction {
    pub action: Vec<u8>,
    pub command: Vec<u8>,
    pub digest: re::Digest,
}

pub fn action_for(key: &Blake3, outputs: &[String]) -> ReAction {
    let mut output_paths = outputs.to_vec();
    output_paths.sort();
    let command = re::Command {
        arguments: vec!["batuta".into(), ACTION_SCHEME.into(), key.to_hex()],
        output_paths,
        ..Default::default()
    }
    .encode_to_vec();
    let action = re::Action {
        command_digest: Some(sha256(&command)),
        input_root_digest: Some(sha256(&re::Directory::default().encode_to_vec())),
        ..Default::default()
    }
    .encode_to_vec();
    ReAction {
        digest: sha256(&action),
        action,
        command,
    }
}

/// The REAPI ActionResult for a local result whose blobs' SHA-256 digests are known.
/// `sha_of` maps each BLAKE3 digest of `result` to its SHA-256 one.
pub fn encode_result(
    result: &ActionResult,
    sha_of: impl Fn(&Blake3) -> re::Digest,
) -> re::ActionResult {
    let mut output_files: Vec<re::OutputFile> = result
        .outputs
        .iter()
        .map(|(path, d, exec)| re::OutputFile {
            path: path.clone(),
            digest: Some(sha_of(d)),
            is_executable: *exec,
            ..Default::default()
        })
        .collect();
    output_files.sort_by(|a, b| a.path.cmp(&b.path));
    re::ActionResult {
        output_files,
        exit_code: result.exit_code,
        stdout_digest: Some(sha_of(&result.stdout)),
        stderr_digest: Some(sha_of(&result.stderr)),
        execution_metadata: Some(re::ExecutedActionMetadata {
            worker: "batuta".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Why a server's ActionResult cannot stand for this action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    #[error("the cached run exited with code {0}")]
    Failed(i32),
    #[error("it holds output directories or symlinks, which batuta actions do not make")]
    NotFiles,
    #[error("its outputs ({got}) are not the action's declared outputs ({want})")]
    Outputs { got: String, want: String },
    #[error("it names a malformed digest")]
    BadDigest,
}

/// What a server's ActionResult asks to fetch: each output (path, SHA-256, executable),
/// stdout and stderr (the empty blob when absent). Checked against the declared outputs.
pub struct Wanted {
    pub outputs: Vec<(String, re::Digest, bool)>,
    pub stdout: re::Digest,
    pub stderr: re::Digest,
    /// Per blob (outputs, then stdout, stderr): the bytes the server sent inline, if it did.
    /// Unverified, like any other bytes from the server.
    pub inline: Vec<Option<Vec<u8>>>,
}

pub fn decode_result(r: &re::ActionResult, declared: &[String]) -> Result<Wanted, ResultError> {
    if r.exit_code != 0 {
        return Err(ResultError::Failed(r.exit_code));
    }
    // The deprecated symlink fields are still filled by older servers.
    #[allow(deprecated)]
    let links = !r.output_file_symlinks.is_empty() || !r.output_directory_symlinks.is_empty();
    if links || !r.output_directories.is_empty() || !r.output_symlinks.is_empty() {
        return Err(ResultError::NotFiles);
    }
    let mut got: Vec<&str> = r.output_files.iter().map(|f| f.path.as_str()).collect();
    let mut want: Vec<&str> = declared.iter().map(String::as_str).collect();
    got.sort_unstable();
    want.sort_unstable();
    if got != want {
        return Err(ResultError::Outputs {
            got: got.join(", "),
            want: want.join(", "),
        });
    }
    let empty = sha256(b"");
    let mut outputs = Vec::with_capacity(r.output_files.len());
    let mut inline = Vec::with_capacity(r.output_files.len() + 2);
    let sent = |bytes: &[u8], d: &re::Digest| {
        (!bytes.is_empty() || d.size_bytes == 0).then(|| bytes.to_vec())
    };
    for f in &r.output_files {
        let d = f.digest.clone().ok_or(ResultError::BadDigest)?;
        inline.push(sent(&f.contents, &d));
        outputs.push((f.path.clone(), d, f.is_executable));
    }
    let stdout = r.stdout_digest.clone().unwrap_or_else(|| empty.clone());
    let stderr = r.stderr_digest.clone().unwrap_or(empty);
    inline.push(sent(&r.stdout_raw, &stdout));
    inline.push(sent(&r.stderr_raw, &stderr));
    let all_ok = outputs.iter().map(|o| &o.1).chain([&stdout, &stderr]);
    if !all_ok.into_iter().all(well_formed) {
        return Err(ResultError::BadDigest);
    }
    Ok(Wanted {
        outputs,
        stdout,
        stderr,
        inline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_the_apis_digest() {
        let d = sha256(b"");
        assert_eq!(
            d.hash,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(d.size_bytes, 0);
        let d = sha256(b"abc");
        assert_eq!(
            d.hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches(&d, b"abc"));
        assert!(!matches(&d, b"abd"), "same size, other content");
        assert!(!matches(&d, b"abcd"));
        assert!(well_formed(&d));
        assert!(!well_formed(&re::Digest {
            hash: "../etc".into(),
            size_bytes: 1
        }));
    }

    #[test]
    fn the_action_digest_depends_on_the_key_and_outputs_only() {
        let k = Blake3::of(b"key");
        let a = action_for(&k, &["b".into(), "a".into()]);
        let b = action_for(&k, &["a".into(), "b".into()]);
        assert_eq!(a.digest, b.digest, "output order does not matter");
        assert_eq!(a.digest, sha256(&a.action));
        let decoded = re::Action::decode(a.action.as_slice()).unwrap();
        assert_eq!(decoded.command_digest, Some(sha256(&a.command)));
        let command = re::Command::decode(a.command.as_slice()).unwrap();
        assert_eq!(command.arguments[2], k.to_hex());
        assert_eq!(command.output_paths, ["a", "b"]);
        assert_ne!(
            action_for(&Blake3::of(b"other"), &["a".into()]).digest,
            a.digest
        );
        assert_ne!(action_for(&k, &["a".into()]).digest, a.digest);
    }

    #[test]
    fn results_round_trip_between_the_digest_worlds() {
        let (x, out, err) = (b"x".as_slice(), b"said".as_slice(), b"".as_slice());
        let local = ActionResult {
            outputs: vec![("o/x".into(), Blake3::of(x), true)],
            exit_code: 0,
            stdout: Blake3::of(out),
            stderr: Blake3::of(err),
            inline: Vec::new(),
        };
        let table = [
            (Blake3::of(x), x),
            (Blake3::of(out), out),
            (Blake3::of(err), err),
        ];
        let sha_of = |d: &Blake3| sha256(table.iter().find(|(b, _)| b == d).unwrap().1);
        let remote = encode_result(&local, sha_of);
        let wire = remote.encode_to_vec();
        let back = re::ActionResult::decode(wire.as_slice()).unwrap();
        let w = decode_result(&back, &["o/x".into()]).unwrap();
        assert_eq!(w.outputs, vec![("o/x".into(), sha256(x), true)]);
        assert_eq!((w.stdout, w.stderr), (sha256(out), sha256(err)));
    }

    #[test]
    fn results_for_other_outputs_or_failures_are_refused() {
        let ok = re::ActionResult {
            output_files: vec![re::OutputFile {
                path: "a".into(),
                digest: Some(sha256(b"a")),
                ..Default::default()
            }],
            ..Default::default()
        };
        let w = decode_result(&ok, &["a".into()]).unwrap();
        assert_eq!(
            w.inline,
            [None, Some(vec![]), Some(vec![])],
            "not inlined; empty std streams"
        );
        let mut inlined = ok.clone();
        inlined.output_files[0].contents = b"a".to_vec();
        let w = decode_result(&inlined, &["a".into()]).unwrap();
        assert_eq!(w.inline[0].as_deref(), Some(b"a".as_slice()));
        assert!(matches!(
            decode_result(&ok, &["b".into()]),
            Err(ResultError::Outputs { .. })
        ));
        let failed = re::ActionResult {
            exit_code: 2,
            ..ok.clone()
        };
        assert_eq!(
            decode_result(&failed, &["a".into()]).err(),
            Some(ResultError::Failed(2))
        );
        let mut bad = ok.clone();
        bad.output_files[0].digest = Some(re::Digest {
            hash: "zz".into(),
            size_bytes: 1,
        });
        assert_eq!(
            decode_result(&bad, &["a".into()]).err(),
            Some(ResultError::BadDigest)
        );
        let dirs = re::ActionResult {
            output_directories: vec![re::OutputDirectory::default()],
            ..ok
        };
        assert_eq!(
            decode_result(&dirs, &["a".into()]).err(),
            Some(ResultError::NotFiles)
        );
    }
}
