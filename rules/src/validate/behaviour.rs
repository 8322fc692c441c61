//! From raw per-process trace events to a program's observable behaviour: a set of
//! operations with pids, fds, addresses and timing gone, paths relative to the working
//! copy, and the noise of interpreters, loaders and launchers left out.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};

use globset::GlobSet;

use super::strace::Event;

/// One thing a program did that another program could notice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// Opened for reading (inside the working copy only: outside it, reads are the
    /// interpreter's libraries, locale files and the like).
    Read(String),
    /// Opened for writing.
    Write(String),
    /// Created: opened with O_CREAT where no such file existed before the run.
    Create(String),
    Delete(String),
    Rename(String, String),
    Mkdir(String),
    /// A program started by the traced one (its name, not its path: `/usr/bin/ls` and
    /// `/bin/ls` are the same program).
    Exec(String),
    Connect(String),
    Bind(String),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Read(p) => write!(f, "read {p}"),
            Op::Write(p) => write!(f, "write {p}"),
            Op::Create(p) => write!(f, "create {p}"),
            Op::Delete(p) => write!(f, "delete {p}"),
            Op::Rename(a, b) => write!(f, "rename {a} -> {b}"),
            Op::Mkdir(p) => write!(f, "mkdir {p}"),
            Op::Exec(p) => write!(f, "exec {p}"),
            Op::Connect(a) => write!(f, "connect {a}"),
            Op::Bind(a) => write!(f, "bind {a}"),
        }
    }
}

/// What a run looks like from outside.
pub struct Context<'a> {
    /// The working copy, canonical.
    pub root: &'a Path,
    /// Files present before the run (the task's inputs), relative to `root`.
    pub existing: &'a HashSet<String>,
    /// Paths (relative inside the copy, absolute outside) to leave out.
    pub ignore: &'a GlobSet,
}

/// The observable operations of the process tree rooted at the one process no other
/// started.
pub fn behaviour(
    procs: &BTreeMap<u32, Vec<Event>>,
    cx: &Context<'_>,
) -> Result<BTreeSet<Op>, String> {
    let children: HashSet<u32> = procs
        .values()
        .flatten()
        .filter_map(|e| {
            if let Event::Spawn(p) = e {
                Some(*p)
            } else {
                None
            }
        })
        .collect();
    let roots: Vec<u32> = procs
        .keys()
        .copied()
        .filter(|p| !children.contains(p))
        .collect();
    let [root] = roots[..] else {
        return Err(format!(
            "expected one traced program, found {} processes nobody started",
            roots.len()
        ));
    };
    let mut ops = BTreeSet::new();
    let mut created = HashSet::new();
    // (pid, its cwd when it started, whether it is the traced program itself)
    let mut stack = vec![(root, cx.root.to_path_buf(), true)];
    while let Some((pid, mut cwd, is_root)) = stack.pop() {
        let Some(events) = procs.get(&pid) else {
            continue;
        };
        // A launcher (a pyenv shim, `env`, `sh -c 'exec …'`) ends by exec'ing the real
        // program in the same process: what came before the last exec, and the helpers it
        // spawned meanwhile, belong to the launcher, not to the program.
        let last_exec = events.iter().rposition(|e| matches!(e, Event::Exec(_)));
        if !is_root
            && let Some(Event::Exec(first)) = events.iter().find(|e| matches!(e, Event::Exec(_)))
        {
            ops.insert(Op::Exec(file_name(first)));
        }
        let start = last_exec.map_or(0, |i| i + 1);
        for e in &events[start..] {
            match e {
                Event::Exec(_) => {}
                Event::Spawn(child) => stack.push((*child, cwd.clone(), false)),
                Event::Chdir { base, path } => cwd = resolve(&cwd, base.as_deref(), path),
                Event::Open { path, flags } => {
                    if flags.contains("O_DIRECTORY") {
                        // Listing a folder is how interpreters find modules: noise.
                        continue;
                    }
                    let Some(p) = cx.place(Path::new(path)) else {
                        continue;
                    };
                    let writes = flags.contains("O_WRONLY") || flags.contains("O_RDWR");
                    if flags.contains("O_CREAT")
                        && !cx.existing.contains(&p)
                        && created.insert(p.clone())
                    {
                        ops.insert(Op::Create(p.clone()));
                    }
                    if writes {
                        ops.insert(Op::Write(p));
                    } else if !Path::new(&p).is_absolute() {
                        ops.insert(Op::Read(p));
                    }
                }
                Event::Delete { base, path } => {
                    if let Some(p) = cx.place(&resolve(&cwd, base.as_deref(), path)) {
                        ops.insert(Op::Delete(p));
                    }
                }
                Event::Mkdir { base, path } => {
                    if let Some(p) = cx.place(&resolve(&cwd, base.as_deref(), path)) {
                        ops.insert(Op::Mkdir(p));
                    }
                }
                Event::Rename { from, to } => {
                    let a = cx.place(&resolve(&cwd, from.0.as_deref(), &from.1));
                    let b = cx.place(&resolve(&cwd, to.0.as_deref(), &to.1));
                    if let (Some(a), Some(b)) = (a, b) {
                        ops.insert(Op::Rename(a, b));
                    }
                }
                Event::Connect(a) => {
                    ops.insert(Op::Connect(a.clone()));
                }
                Event::Bind(a) => {
                    ops.insert(Op::Bind(a.clone()));
                }
            }
        }
    }
    Ok(ops)
}

impl Context<'_> {
    /// A path as it appears in the behaviour: relative inside the working copy, absolute
    /// outside it, `None` for pseudo-files (/dev, /proc, /sys, pipes, sockets) and
    /// ignored paths.
    fn place(&self, abs: &Path) -> Option<String> {
        const PSEUDO: [&str; 3] = ["/dev", "/proc", "/sys"];
        if !abs.is_absolute() || PSEUDO.iter().any(|p| abs.starts_with(p)) {
            return None;
        }
        let shown = match abs.strip_prefix(self.root) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => abs.to_string_lossy().into_owned(),
        };
        (!shown.is_empty() && !self.ignore.is_match(&shown)).then_some(shown)
    }
}

/// `path` from `base` (a directory fd's path) or else the process's cwd, with `.` and
/// `..` folded lexically.
fn resolve(cwd: &Path, base: Option<&str>, path: &str) -> PathBuf {
    let joined = base
        .map_or_else(|| cwd.to_path_buf(), PathBuf::from)
        .join(path);
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// What one side did that the other did not: `(missing, extra)` from the migrated
/// program's point of view.
pub fn divergence(original: &BTreeSet<Op>, migrated: &BTreeSet<Op>) -> (Vec<Op>, Vec<Op>) {
    (
        original.difference(migrated).cloned().collect(),
        migrated.difference(original).cloned().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::strace::parse;
    use super::*;

    fn ignore(globs: &[&str]) -> GlobSet {
        let mut b = globset::GlobSetBuilder::new();
        for g in globs {
            b.add(globset::Glob::new(g).unwrap());
        }
        b.build().unwrap()
    }

    fn ops(procs: &[(u32, &str)], existing: &[&str], ign: &[&str]) -> Vec<String> {
        let procs: BTreeMap<u32, Vec<Event>> = procs.iter().map(|(p, t)| (*p, parse(t))).collect();
        let existing: HashSet<String> = existing.iter().map(|s| (*s).to_owned()).collect();
        let ignore = ignore(ign);
        let cx = Context {
            root: Path::new("/tmp/wc"),
            existing: &existing,
            ignore: &ignore,
        };
        behaviour(&procs, &cx)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn files_relative_to_the_working_copy_and_noise_dropped() {
        let root = r#"execve("/usr/bin/python3", ["python3", "p.py"], 0x7 /* 3 vars */) = 0
openat(AT_FDCWD</tmp/wc>, "/usr/lib/python3.11/os.py", O_RDONLY|O_CLOEXEC) = 3</usr/lib/python3.11/os.py>
openat(AT_FDCWD</tmp/wc>, "/tmp/wc", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 3</tmp/wc>
openat(AT_FDCWD</tmp/wc>, "/dev/null", O_WRONLY) = 3</dev/null>
openat(AT_FDCWD</tmp/wc>, "data/in.csv", O_RDONLY|O_CLOEXEC) = 3</tmp/wc/data/in.csv>
openat(AT_FDCWD</tmp/wc>, "out.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 4</tmp/wc/out.txt>
openat(AT_FDCWD</tmp/wc>, "data/in.csv", O_RDWR|O_CREAT, 0666) = 4</tmp/wc/data/in.csv>
openat(AT_FDCWD</tmp/wc>, "__pycache__/p.pyc", O_WRONLY|O_CREAT, 0666) = 4</tmp/wc/__pycache__/p.pyc>
unlink("out.txt") = 0
openat(AT_FDCWD</tmp/wc>, "/var/log/app.log", O_WRONLY|O_APPEND) = 5</var/log/app.log>"#;
        assert_eq!(
            ops(&[(100, root)], &["data/in.csv"], &["**/__pycache__/**"]),
            [
                "read data/in.csv",
                "write /var/log/app.log",
                "write data/in.csv",
                "write out.txt",
                "create out.txt",
                "delete out.txt",
            ]
        );
    }

    #[test]
    fn launchers_are_skipped_and_children_named() {
        // A shim forks a helper (pid 2), then execs the real interpreter, which spawns `ls`
        // in pid 3 after a failed PATH lookup.
        let root = r#"execve("/root/.pyenv/shims/python3", ["python3"], 0x1 /* 3 vars */) = 0
clone(child_stack=NULL, flags=SIGCHLD) = 2
openat(AT_FDCWD</tmp/wc>, "/root/.pyenv/version", O_WRONLY) = 3</root/.pyenv/version>
execve("/usr/bin/python3.11", ["python3"], 0x1 /* 3 vars */) = 0
vfork() = 3
chdir("sub") = 0
unlink("x") = 0"#;
        let helper = r#"execve("/usr/bin/head", ["head"], 0x1 /* 3 vars */) = 0"#;
        let child = r#"execve("/usr/local/bin/ls", ["ls"], 0x1 /* 3 vars */) = -1 ENOENT (No such file or directory)
execve("/usr/bin/ls", ["ls"], 0x1 /* 3 vars */) = 0"#;
        assert_eq!(
            ops(&[(1, root), (2, helper), (3, child)], &[], &[]),
            ["delete sub/x", "exec ls"]
        );
    }

    #[test]
    fn one_root_is_required() {
        let procs: BTreeMap<u32, Vec<Event>> = [(1, vec![]), (2, vec![])].into_iter().collect();
        let existing = HashSet::new();
        let ignore = ignore(&[]);
        let cx = Context {
            root: Path::new("/tmp/wc"),
            existing: &existing,
            ignore: &ignore,
        };
        assert!(behaviour(&procs, &cx).unwrap_err().contains("found 2"));
    }

    #[test]
    fn divergence_lists_missing_and_extra() {
        let a: BTreeSet<Op> = [Op::Read("a".into()), Op::Write("b".into())].into();
        let b: BTreeSet<Op> = [Op::Read("a".into()), Op::Exec("sh".into())].into();
        assert_eq!(
            divergence(&a, &b),
            (vec![Op::Write("b".into())], vec![Op::Exec("sh".into())])
        );
    }
}
