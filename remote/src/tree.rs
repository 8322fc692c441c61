//! The input root of a remote action: its files as REAPI `Directory` messages, a Merkle
//! tree whose root digest names exactly these files, at these paths, with these contents.
//! The client builds it from the declared inputs; a worker checks every name in it before
//! writing anything, so a tree cannot place a file outside the worker's folder.

use std::collections::BTreeMap;

use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use prost::Message;

use crate::digests::sha256;

/// One input file: its path relative to the input root, its SHA-256, its executable bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: String,
    pub digest: re::Digest,
    pub executable: bool,
}

/// The root's digest and every `Directory` of the tree, encoded, with its digest.
pub struct InputRoot {
    pub root: re::Digest,
    pub directories: Vec<(re::Digest, Vec<u8>)>,
}

#[derive(Default)]
struct Dir {
    files: BTreeMap<String, (re::Digest, bool)>,
    dirs: BTreeMap<String, ()>,
}

/// Build the tree. Paths are `/`-separated and relative; a name used both as a file and as
/// a folder, or a path with an empty, `.` or `..` part, is refused.
pub fn build(files: &[InputFile]) -> Result<InputRoot, String> {
    let mut dirs: BTreeMap<String, Dir> = BTreeMap::new();
    dirs.insert(String::new(), Dir::default());
    for f in files {
        let parts: Vec<&str> = f.path.split('/').collect();
        if let Some(bad) = parts.iter().find(|p| !name_ok(p)) {
            return Err(format!("input path '{}' has a part '{bad}'", f.path));
        }
        let (name, parents) = parts.split_last().expect("split gives one part at least");
        let mut at = String::new();
        for p in parents {
            let child = join(&at, p);
            dirs.entry(at.clone())
                .or_default()
                .dirs
                .insert((*p).to_owned(), ());
            dirs.entry(child.clone()).or_default();
            at = child;
        }
        let dir = dirs.entry(at).or_default();
        if let Some((d, _)) = dir.files.get(*name)
            && *d != f.digest
        {
            return Err(format!(
                "input '{}' is listed twice with two contents",
                f.path
            ));
        }
        dir.files
            .insert((*name).to_owned(), (f.digest.clone(), f.executable));
    }
    for (path, d) in &dirs {
        if let Some(clash) = d.files.keys().find(|n| d.dirs.contains_key(*n)) {
            return Err(format!(
                "'{}' is both a file and a folder among the inputs",
                join(path, clash)
            ));
        }
    }
    // Children before parents: the deepest paths first.
    let mut order: Vec<&String> = dirs.keys().collect();
    order.sort_by_key(|p| std::cmp::Reverse(depth(p)));
    let mut digest_of: BTreeMap<String, re::Digest> = BTreeMap::new();
    let mut directories = Vec::with_capacity(order.len());
    for path in order {
        let d = &dirs[path];
        // BTreeMap iteration is by name, the order REAPI requires.
        let msg = re::Directory {
            files: d
                .files
                .iter()
                .map(|(name, (digest, executable))| re::FileNode {
                    name: name.clone(),
                    digest: Some(digest.clone()),
                    is_executable: *executable,
                    ..Default::default()
                })
                .collect(),
            directories: d
                .dirs
                .keys()
                .map(|name| re::DirectoryNode {
                    name: name.clone(),
                    digest: Some(digest_of[&join(path, name)].clone()),
                })
                .collect(),
            ..Default::default()
        };
        let bytes = msg.encode_to_vec();
        let digest = sha256(&bytes);
        digest_of.insert(path.clone(), digest.clone());
        directories.push((digest, bytes));
    }
    Ok(InputRoot {
        root: digest_of[""].clone(),
        directories,
    })
}

/// Whether a name from a tree may be written under a folder: one plain path component.
pub fn name_ok(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn depth(p: &str) -> usize {
    if p.is_empty() {
        0
    } else {
        p.matches('/').count() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, content: &[u8]) -> InputFile {
        InputFile {
            path: path.into(),
            digest: sha256(content),
            executable: false,
        }
    }

    #[test]
    fn the_root_names_the_files_and_their_places() {
        let a = build(&[
            file("src/a.py", b"a"),
            file("src/pkg/b.py", b"b"),
            file("x", b"x"),
        ])
        .unwrap();
        let b = build(&[
            file("x", b"x"),
            file("src/pkg/b.py", b"b"),
            file("src/a.py", b"a"),
        ])
        .unwrap();
        assert_eq!(a.root, b.root, "the order inputs come in does not matter");
        assert_eq!(a.directories.len(), 3, "root, src, src/pkg");
        let moved = build(&[
            file("src/a.py", b"a"),
            file("src/b.py", b"b"),
            file("x", b"x"),
        ])
        .unwrap();
        assert_ne!(
            a.root, moved.root,
            "a file in another folder is another tree"
        );
        let changed = build(&[
            file("src/a.py", b"A"),
            file("src/pkg/b.py", b"b"),
            file("x", b"x"),
        ])
        .unwrap();
        assert_ne!(a.root, changed.root);
        let root = re::Directory::decode(
            a.directories
                .iter()
                .find(|d| d.0 == a.root)
                .unwrap()
                .1
                .as_slice(),
        )
        .unwrap();
        assert_eq!(root.files[0].name, "x");
        assert_eq!(root.directories[0].name, "src");
    }

    #[test]
    fn the_empty_root_is_the_empty_directory() {
        let t = build(&[]).unwrap();
        assert_eq!(t.root, sha256(&re::Directory::default().encode_to_vec()));
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(build(&[file("../x", b"")]).is_err());
        assert!(build(&[file("a//b", b"")]).is_err());
        assert!(build(&[file("a/./b", b"")]).is_err());
        assert!(
            build(&[file("a", b""), file("a/b", b"")]).is_err(),
            "file and folder"
        );
        assert!(build(&[file("a", b"1"), file("a", b"2")]).is_err());
        assert!(
            build(&[file("a", b"1"), file("a", b"1")]).is_ok(),
            "the same file twice"
        );
    }
}
