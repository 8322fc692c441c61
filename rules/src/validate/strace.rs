//! Reading strace's output (`-f -ff -y`, one file per process) into the few events that
//! make up observable behaviour: programs executed, files opened, created, removed and
//! renamed, folders changed into, processes started, sockets connected and bound.

use std::collections::BTreeMap;
use std::path::Path;

/// The system calls worth tracing; a leading '?' lets strace skip the ones an architecture
/// lacks (aarch64 has no open, unlink, rename, mkdir, fork…).
pub const TRACED: &str = "execve,execveat,?open,openat,?openat2,?creat,?unlink,unlinkat,?rmdir,?rename,renameat,?renameat2,\
                          ?mkdir,mkdirat,chdir,fchdir,clone,?clone3,?fork,?vfork,connect,bind";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A successful exec of this program path.
    Exec(String),
    /// A successful open; `path` is absolute as the kernel resolved it (strace's `-y`).
    Open {
        path: String,
        flags: String,
    },
    /// A path argument, relative to `base` (a directory fd's path) or to the cwd when `None`.
    Delete {
        base: Option<String>,
        path: String,
    },
    Mkdir {
        base: Option<String>,
        path: String,
    },
    Rename {
        from: (Option<String>, String),
        to: (Option<String>, String),
    },
    Chdir {
        base: Option<String>,
        path: String,
    },
    /// A new process or thread, by the id the parent got back.
    Spawn(u32),
    Connect(String),
    Bind(String),
}

/// Every traced process's events, by pid, from the files `strace -ff -o PREFIX` wrote.
pub fn read_dir(dir: &Path, prefix: &str) -> std::io::Result<BTreeMap<u32, Vec<Event>>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.strip_prefix('.'))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let bytes = std::fs::read(entry.path())?;
        out.insert(pid, parse(&String::from_utf8_lossy(&bytes)));
    }
    Ok(out)
}

/// The events of one process's trace, in order; lines that say nothing observable (failed
/// calls, signals, exit notices) are skipped.
pub fn parse(trace: &str) -> Vec<Event> {
    trace.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Event> {
    let call = Call::parse(line)?;
    if !call.ok() {
        // A failed open or exec changed nothing (PATH lookups, probing for config files) —
        // except a refused connection, which was still an attempt to reach an endpoint.
        return match call.name {
            "connect" => sockaddr(call.args.get(1)?).map(Event::Connect),
            _ => None,
        };
    }
    let a = &call.args;
    let at = |i: usize| -> Option<(Option<String>, String)> {
        Some((
            fd_path(a.get(i)?).map(str::to_owned),
            string(a.get(i + 1)?)?,
        ))
    };
    let cwd = |i: usize| -> Option<(Option<String>, String)> { Some((None, string(a.get(i)?)?)) };
    Some(match call.name {
        "execve" => Event::Exec(string(a.first()?)?),
        "execveat" => Event::Exec(string(a.get(1)?)?),
        "open" | "openat" | "openat2" | "creat" => {
            let flags = match call.name {
                "open" => a.get(1)?.clone(),
                "openat" | "openat2" => a.get(2)?.clone(),
                _ => "O_WRONLY|O_CREAT|O_TRUNC".to_owned(),
            };
            Event::Open {
                path: fd_path(call.ret)?.to_owned(),
                flags,
            }
        }
        "unlink" | "rmdir" => {
            let (base, path) = cwd(0)?;
            Event::Delete { base, path }
        }
        "unlinkat" => {
            let (base, path) = at(0)?;
            Event::Delete { base, path }
        }
        "mkdir" => {
            let (base, path) = cwd(0)?;
            Event::Mkdir { base, path }
        }
        "mkdirat" => {
            let (base, path) = at(0)?;
            Event::Mkdir { base, path }
        }
        "rename" => Event::Rename {
            from: cwd(0)?,
            to: cwd(1)?,
        },
        "renameat" | "renameat2" => Event::Rename {
            from: at(0)?,
            to: at(2)?,
        },
        "chdir" => {
            let (base, path) = cwd(0)?;
            Event::Chdir { base, path }
        }
        "fchdir" => Event::Chdir {
            base: None,
            path: fd_path(a.first()?)?.to_owned(),
        },
        "clone" | "clone3" | "fork" | "vfork" => Event::Spawn(call.ret.parse().ok()?),
        "connect" => Event::Connect(sockaddr(a.get(1)?)?),
        "bind" => Event::Bind(sockaddr(a.get(1)?)?),
        _ => return None,
    })
}

/// One line of strace: `name(arg, arg, …) = result`.
#[derive(Debug)]
struct Call<'a> {
    name: &'a str,
    args: Vec<String>,
    ret: &'a str,
}

impl<'a> Call<'a> {
    fn parse(line: &'a str) -> Option<Call<'a>> {
        let open = line.find('(')?;
        let name = &line[..open];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let (args, rest) = split_args(&line[open + 1..])?;
        let ret = rest.trim_start().strip_prefix('=')?.trim();
        Some(Call { name, args, ret })
    }

    fn ok(&self) -> bool {
        !self.ret.starts_with('-') && !self.ret.starts_with('?')
    }
}

/// Top-level arguments up to the closing ')', respecting quotes and brackets, and the text
/// after it.
fn split_args(s: &str) -> Option<(Vec<String>, &str)> {
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                cur.push(c);
                while let Some((_, c)) = chars.next() {
                    cur.push(c);
                    match c {
                        '\\' => cur.push(chars.next()?.1),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                cur.push(c);
            }
            ')' if depth == 0 => {
                if !cur.trim().is_empty() {
                    args.push(cur.trim().to_owned());
                }
                return Some((args, &s[i + 1..]));
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' if depth == 0 => args.push(std::mem::take(&mut cur).trim().to_owned()),
            _ => cur.push(c),
        }
    }
    None
}

/// A quoted C string as strace prints it, unescaped.
fn string(arg: &str) -> Option<String> {
    let body = arg.strip_prefix('"')?;
    let mut out = Vec::new();
    let mut bytes = body.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
            b'\\' => match bytes.next()? {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'v' => out.push(0x0b),
                b'f' => out.push(0x0c),
                b'x' => {
                    let hex = [bytes.next()?, bytes.next()?];
                    out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
                }
                d @ b'0'..=b'7' => {
                    // Up to three octal digits.
                    let mut v = u32::from(d - b'0');
                    let rest = bytes
                        .clone()
                        .take(2)
                        .take_while(|c| (b'0'..=b'7').contains(c))
                        .count();
                    for _ in 0..rest {
                        v = v * 8 + u32::from(bytes.next()? - b'0');
                    }
                    out.push(u8::try_from(v).ok()?);
                }
                other => out.push(other),
            },
            _ => out.push(b),
        }
    }
    None
}

/// The path strace's `-y` prints after a descriptor: `3</tmp/x>` or `AT_FDCWD</tmp>`.
fn fd_path(arg: &str) -> Option<&str> {
    let start = arg.find('<')?;
    let inner = arg[start + 1..].strip_suffix('>')?;
    Some(inner)
}

/// A socket address as `inet 1.2.3.4:80`, `inet6 [::1]:80` or `unix /path`; netlink
/// (how libc asks the kernel about interfaces) is noise.
fn sockaddr(arg: &str) -> Option<String> {
    let field = |key: &str| -> Option<&str> {
        let at = arg.find(key)? + key.len();
        let rest = &arg[at..];
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(&rest[..end])
    };
    let quoted = |after: &str| -> Option<String> {
        let at = arg.find(after)? + after.len();
        string(&arg[at..])
    };
    let port = || field("port=htons(").map(|p| p.trim_end_matches(')').to_owned());
    match field("sa_family=")? {
        "AF_INET" => Some(format!("inet {}:{}", quoted("inet_addr(")?, port()?)),
        "AF_INET6" => Some(format!(
            "inet6 [{}]:{}",
            quoted("inet_pton(AF_INET6, ")?,
            port()?
        )),
        "AF_UNIX" => match arg.find("sun_path=@") {
            Some(_) => Some(format!("unix @{}", quoted("sun_path=@")?)),
            None => Some(format!("unix {}", quoted("sun_path=")?)),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_use_the_resolved_descriptor_path() {
        let e = parse(
            r#"openat(AT_FDCWD</tmp/wc>, "data/in.csv", O_RDONLY|O_CLOEXEC) = 3</tmp/wc/data/in.csv>"#,
        );
        assert_eq!(
            e,
            [Event::Open {
                path: "/tmp/wc/data/in.csv".into(),
                flags: "O_RDONLY|O_CLOEXEC".into()
            }]
        );
        let e = parse(
            r#"openat(AT_FDCWD</tmp/wc>, "out.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 3</tmp/wc/out.txt>"#,
        );
        assert!(matches!(&e[0], Event::Open { flags, .. } if flags.contains("O_CREAT")));
    }

    #[test]
    fn failed_calls_signals_and_exits_are_skipped() {
        let t = r#"openat(AT_FDCWD</tmp>, "/etc/nope", O_RDONLY) = -1 ENOENT (No such file or directory)
execve("/usr/local/bin/true", ["true"], 0x7ffe /* 38 vars */) = -1 ENOENT (No such file or directory)
--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---
exit_group(0)                           = ?
+++ exited with 0 +++
execve("/usr/bin/true", ["true"], 0x7ffe99a2f518 /* 38 vars */) = 0"#;
        assert_eq!(parse(t), [Event::Exec("/usr/bin/true".into())]);
    }

    #[test]
    fn spawns_removals_renames_and_folders() {
        let t = r#"vfork()                                 = 11108
clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f4e) = 10564
clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f, stack_size=0x9000}, 88) = 4242
unlink("out.txt")                       = 0
unlinkat(AT_FDCWD</tmp/wc>, "old", AT_REMOVEDIR) = 0
renameat2(AT_FDCWD</tmp/wc>, "a.tmp", AT_FDCWD</tmp/wc>, "a", RENAME_NOREPLACE) = 0
rename("x, y", "z") = 0
mkdir("out", 0777) = 0
chdir("/tmp/wc/sub")                     = 0"#;
        assert_eq!(
            parse(t),
            [
                Event::Spawn(11108),
                Event::Spawn(10564),
                Event::Spawn(4242),
                Event::Delete {
                    base: None,
                    path: "out.txt".into()
                },
                Event::Delete {
                    base: Some("/tmp/wc".into()),
                    path: "old".into()
                },
                Event::Rename {
                    from: (Some("/tmp/wc".into()), "a.tmp".into()),
                    to: (Some("/tmp/wc".into()), "a".into())
                },
                Event::Rename {
                    from: (None, "x, y".into()),
                    to: (None, "z".into())
                },
                Event::Mkdir {
                    base: None,
                    path: "out".into()
                },
                Event::Chdir {
                    base: None,
                    path: "/tmp/wc/sub".into()
                },
            ]
        );
    }

    #[test]
    fn socket_addresses() {
        let t = r#"connect(3<socket:[1]>, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)
connect(3<socket:[2]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
connect(4<socket:[3]>, {sa_family=AF_UNIX, sun_path="/run/app.sock"}, 110) = 0
bind(3<socket:[4]>, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0
bind(5<socket:[5]>, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("0.0.0.0")}, 16) = 0"#;
        assert_eq!(
            parse(t),
            [
                Event::Connect("inet 127.0.0.1:8080".into()),
                Event::Connect("inet6 [::1]:443".into()),
                Event::Connect("unix /run/app.sock".into()),
                Event::Bind("inet 0.0.0.0:0".into()),
            ]
        );
    }

    #[test]
    fn escaped_strings() {
        assert_eq!(string(r#""a\"b\\c\n\x41\101""#).unwrap(), "a\"b\\c\nAA");
        assert_eq!(string(r#""/tmp/x"..."#).unwrap(), "/tmp/x");
        assert_eq!(string("0x1234"), None);
    }

    #[test]
    fn garbage_is_ignored_not_a_panic() {
        for t in [
            "",
            "(",
            "openat(",
            "x) = 3",
            "openat(AT_FDCWD, \"unterminated",
            "= 0",
            "\u{0}\u{ff}",
        ] {
            let _ = parse(t);
        }
    }
}
