//! The release folder: the artifacts cargo built, copied under the names the task
//! declares, and `manifest.json` listing each one's size and BLAKE3 digest.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use batuta_engine::fsutil::{self, Durability};
use serde::{Deserialize, Serialize};

/// `dist/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The crate's folder, relative to the workspace.
    #[serde(rename = "crate")]
    pub crate_dir: String,
    pub profile: String,
    pub artifacts: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The file name, as cargo named it.
    pub name: String,
    /// Where it is, relative to the workspace.
    pub path: String,
    /// The target triple it was built for, when the task names targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub size: u64,
    pub blake3: String,
}

/// One artifact and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub from: PathBuf,
    pub name: String,
    pub target: Option<String>,
    /// Relative to the workspace.
    pub to: String,
}

/// Why the artifacts and the task's `outputs` do not agree.
#[derive(Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The task has no `…/manifest.json` output (or several).
    NoManifest(Vec<String>),
    /// cargo built files the task does not list.
    Undeclared(Vec<String>),
    /// The task lists files cargo did not build.
    NotBuilt {
        missing: Vec<String>,
        built: Vec<String>,
    },
}

/// The declared output named `manifest.json`: its folder is the release folder.
pub fn manifest_output(outputs: &[String]) -> Result<&str, Mismatch> {
    let found: Vec<&String> = outputs
        .iter()
        .filter(|o| o.rsplit('/').next() == Some("manifest.json"))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.as_str()),
        _ => Err(Mismatch::NoManifest(found.into_iter().cloned().collect())),
    }
}

/// Where each artifact goes: `<dist>/<name>`, or `<dist>/<target>/<name>` when targets are
/// named. The target of an artifact is the target folder its path runs through.
pub fn place(artifacts: &[PathBuf], dist: &str, targets: &[String]) -> Vec<Placed> {
    artifacts
        .iter()
        .map(|from| {
            let name = from
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let target = targets
                .iter()
                .find(|t| from.components().any(|c| c.as_os_str() == t.as_str()))
                .cloned();
            let mut to = String::new();
            if !dist.is_empty() {
                to.push_str(dist);
                to.push('/');
            }
            if let Some(t) = &target {
                to.push_str(t);
                to.push('/');
            }
            to.push_str(&name);
            Placed {
                from: from.clone(),
                name,
                target,
                to,
            }
        })
        .collect()
}

/// Every artifact must be declared, and every declared output (but the manifest) built.
pub fn check(placed: &[Placed], outputs: &[String], manifest: &str) -> Result<(), Mismatch> {
    let built: BTreeSet<&str> = placed.iter().map(|p| p.to.as_str()).collect();
    let declared: BTreeSet<&str> = outputs
        .iter()
        .map(String::as_str)
        .filter(|o| *o != manifest)
        .collect();
    let undeclared: Vec<String> = built
        .difference(&declared)
        .map(|s| (*s).to_owned())
        .collect();
    if !undeclared.is_empty() {
        return Err(Mismatch::Undeclared(undeclared));
    }
    let missing: Vec<String> = declared
        .difference(&built)
        .map(|s| (*s).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(Mismatch::NotBuilt {
            missing,
            built: built.into_iter().map(str::to_owned).collect(),
        });
    }
    Ok(())
}

/// Copy the artifacts (each atomically, keeping its permissions) and write the manifest.
pub fn write(
    root: &Path,
    placed: &[Placed],
    manifest_path: &str,
    crate_dir: &str,
    profile: &str,
) -> io::Result<Manifest> {
    let mut artifacts = Vec::new();
    for p in placed {
        let to = root.join(&p.to);
        copy_atomic(&p.from, &to)?;
        let bytes = std::fs::read(&to)?;
        artifacts.push(Entry {
            name: p.name.clone(),
            path: p.to.clone(),
            target: p.target.clone(),
            size: bytes.len() as u64,
            blake3: blake3::hash(&bytes).to_hex().to_string(),
        });
    }
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    let m = Manifest {
        crate_dir: crate_dir.to_owned(),
        profile: profile.to_owned(),
        artifacts,
    };
    let mut json = serde_json::to_vec_pretty(&m).map_err(io::Error::other)?;
    json.push(b'\n');
    let to = root.join(manifest_path);
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(&mut tmp, &json)?;
    // Shipped with the artifacts: readable like them, not private like a temporary file.
    #[cfg(unix)]
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )?;
    fsutil::persist(tmp, &to, Durability::Now)?;
    Ok(m)
}

fn copy_atomic(from: &Path, to: &Path) -> io::Result<()> {
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    io::copy(&mut std::fs::File::open(from)?, &mut tmp.as_file())?;
    // An executable stays executable (a temporary file starts private).
    std::fs::set_permissions(tmp.path(), std::fs::metadata(from)?.permissions())?;
    fsutil::persist(tmp, to, Durability::Now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn artifacts_go_under_their_target() {
        let a = [
            PathBuf::from("/w/rust/target/release/demo"),
            PathBuf::from("/w/rust/target/wasm32-unknown-unknown/release/demo.wasm"),
        ];
        let p = place(&a, "dist", &outs(&["wasm32-unknown-unknown"]));
        assert_eq!(p[0].to, "dist/demo");
        assert_eq!(p[1].to, "dist/wasm32-unknown-unknown/demo.wasm");
        assert_eq!(p[1].target.as_deref(), Some("wasm32-unknown-unknown"));
    }

    #[test]
    fn outputs_and_artifacts_must_agree() {
        let p = place(&[PathBuf::from("/t/release/demo")], "dist", &[]);
        let m = "dist/manifest.json";
        assert_eq!(check(&p, &outs(&["dist/demo", m]), m), Ok(()));
        assert_eq!(
            check(&p, &outs(&[m]), m),
            Err(Mismatch::Undeclared(outs(&["dist/demo"])))
        );
        assert_eq!(
            check(&p, &outs(&["dist/demo", "dist/other", m]), m),
            Err(Mismatch::NotBuilt {
                missing: outs(&["dist/other"]),
                built: outs(&["dist/demo"])
            })
        );
        assert_eq!(manifest_output(&outs(&["dist/demo", m])), Ok(m));
        assert!(manifest_output(&outs(&["dist/demo"])).is_err());
    }

    #[test]
    fn written_files_match_their_digests_and_keep_the_exec_bit() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("demo");
        std::fs::write(&from, b"\x7fELF binary").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let p = place(std::slice::from_ref(&from), "dist", &[]);
        let m = write(dir.path(), &p, "dist/manifest.json", "rust", "release").unwrap();
        let copy = std::fs::read(dir.path().join("dist/demo")).unwrap();
        assert_eq!(
            m.artifacts[0].blake3,
            blake3::hash(&copy).to_hex().to_string()
        );
        assert_eq!(m.artifacts[0].size, 11);
        let read: Manifest =
            serde_json::from_slice(&std::fs::read(dir.path().join("dist/manifest.json")).unwrap())
                .unwrap();
        assert_eq!(read, m);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("dist/demo"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }
}
