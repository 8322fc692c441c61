//! Whether the language's own interpreter or compiler rejects the file: only then is a
//! transpiler's failure a syntax error in the source (BATUTA-T-002). python3 compiles
//! Python, `sh -n`/`bash -n` (as the shebang says) parses shell, the C compiler runs with
//! `-fsyntax-only` and the project's flags, and `ruchy check` is ruchy's own.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use wait_timeout::ChildExt;

use super::Tool;
use super::cflags::CFlags;

/// A check of a file that takes longer than this is given up on.
const LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `by` (the checker's command) rejects the file, at this line and column when it said.
    Rejects {
        by: String,
        line: Option<u32>,
        column: Option<u32>,
        message: String,
    },
    Accepts {
        by: String,
    },
    /// The checker could not say: why.
    Unknown(String),
}

/// What python3 says of a Python file: its verdict, and where the construct `query`
/// describes first appears (line, column, what it is).
pub struct PythonFacts {
    pub verdict: Verdict,
    pub found: Option<(u32, u32, String)>,
}

/// The verdict of the file's own language on `input` (relative to `root`).
pub fn verdict(tool: Tool, root: &Path, input: &str, cflags: Option<&CFlags>) -> Verdict {
    match tool {
        Tool::Depyler => python(root, input, None).verdict,
        Tool::Bashrs => shell(root, input),
        Tool::Decy => c(root, input, cflags),
        Tool::Ruchy => ruchy(root, input),
    }
}

pub fn python(root: &Path, input: &str, query: Option<&Value>) -> PythonFacts {
    const SCRIPT: &str = include_str!("pysource.py");
    let mut cmd = Command::new("python3");
    cmd.current_dir(root).args(["-c", SCRIPT, input]);
    if let Some(q) = query {
        cmd.arg(q.to_string());
    }
    let unknown = |why: String| PythonFacts {
        verdict: Verdict::Unknown(why),
        found: None,
    };
    let out = match run(cmd) {
        Ok(o) if o.ok => o.stdout,
        Ok(o) => {
            return unknown(format!(
                "python3 could not read it: {}",
                first_line(&o.stderr)
            ));
        }
        Err(e) => return unknown(format!("python3 cannot run: {e}")),
    };
    let Ok(v) = serde_json::from_str::<Value>(&out) else {
        return unknown("python3 printed no verdict".to_owned());
    };
    let num = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    let verdict = match &v["syntax"] {
        Value::Null => Verdict::Accepts {
            by: "python3".to_owned(),
        },
        s => Verdict::Rejects {
            by: "python3".to_owned(),
            line: num(&s["line"]),
            column: num(&s["col"]),
            message: s["msg"].as_str().unwrap_or_default().to_owned(),
        },
    };
    let f = &v["found"];
    let found = match (num(&f["line"]), num(&f["col"]), f["what"].as_str()) {
        (Some(l), Some(c), Some(w)) => Some((l, c, w.to_owned())),
        _ => None,
    };
    PythonFacts { verdict, found }
}

/// `sh -n` or `bash -n`, as the script's shebang says (sh without one).
fn shell(root: &Path, input: &str) -> Verdict {
    let first = std::fs::read(root.join(input))
        .ok()
        .and_then(|b| {
            b.split(|c| *c == b'\n')
                .next()
                .map(|l| String::from_utf8_lossy(l).into_owned())
        })
        .unwrap_or_default();
    let shell = if !first.starts_with("#!") {
        "sh"
    } else if first.contains("bash") {
        "bash"
    } else if first.contains("zsh") {
        "zsh"
    } else if first.contains("ksh") {
        "ksh"
    } else {
        "sh"
    };
    let mut cmd = Command::new(shell);
    cmd.current_dir(root).args(["-n", input]);
    let by = format!("{shell} -n");
    let out = match run(cmd) {
        Ok(o) => o,
        Err(e) => return Verdict::Unknown(format!("{shell} cannot run: {e}")),
    };
    if out.ok {
        return Verdict::Accepts { by };
    }
    // dash: "FILE: 94: Syntax error: …"; bash: "FILE: line 94: syntax error near …".
    static LINE: OnceLock<Regex> = OnceLock::new();
    let re = LINE.get_or_init(|| Regex::new(r"^.*?: (?:line )?(\d+): (.*)$").expect("valid"));
    let first = first_line(&out.stderr);
    match re.captures(&first) {
        Some(c) => Verdict::Rejects {
            by,
            line: c[1].parse().ok(),
            column: None,
            message: c[2].to_owned(),
        },
        None => Verdict::Rejects {
            by,
            line: None,
            column: None,
            message: first,
        },
    }
}

/// The C compiler (`$CC`, else `cc`) with `-fsyntax-only` and the project's flags.
fn c(root: &Path, input: &str, flags: Option<&CFlags>) -> Verdict {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let mut cmd = Command::new(&cc);
    let file = root.join(input);
    match flags {
        Some(f) => cmd.current_dir(&f.directory).args(&f.args),
        None => cmd.current_dir(root),
    };
    cmd.arg("-fsyntax-only").arg(&file);
    let by = format!("{cc} -fsyntax-only");
    let out = match run(cmd) {
        Ok(o) => o,
        Err(e) => return Verdict::Unknown(format!("{cc} cannot run: {e}")),
    };
    if out.ok {
        return Verdict::Accepts { by };
    }
    static ERROR: OnceLock<Regex> = OnceLock::new();
    let re = ERROR.get_or_init(|| {
        Regex::new(r"^(.*?):(\d+):(\d+): (fatal error|error): (.*)$").expect("valid")
    });
    let Some(c) = out.stderr.lines().find_map(|l| re.captures(l)) else {
        return Verdict::Unknown(format!("{cc} failed: {}", first_line(&out.stderr)));
    };
    // A system header this machine lacks says nothing about the source.
    if &c[4] == "fatal error" && c[5].contains("No such file or directory") {
        return Verdict::Unknown(format!("{cc} cannot check it here: {}", &c[5]));
    }
    Verdict::Rejects {
        by,
        line: c[2].parse().ok(),
        column: c[3].parse().ok(),
        message: c[5].to_owned(),
    }
}

/// `ruchy check FILE`: "✓ Syntax is valid", or "✗ FILE:LINE: Syntax error: …".
fn ruchy(root: &Path, input: &str) -> Verdict {
    let mut cmd = Command::new("ruchy");
    cmd.current_dir(root).args(["check", input]);
    let by = "ruchy check".to_owned();
    let out = match run(cmd) {
        Ok(o) => o,
        Err(e) => return Verdict::Unknown(format!("ruchy cannot run: {e}")),
    };
    static BAD: OnceLock<Regex> = OnceLock::new();
    let re =
        BAD.get_or_init(|| Regex::new(r"✗ .*?:(\d+): (?:Syntax error: )?(.*)$").expect("valid"));
    let text = format!("{}\n{}", out.stdout, out.stderr);
    if let Some(c) = text.lines().find_map(|l| re.captures(l)) {
        return Verdict::Rejects {
            by,
            line: c[1].parse().ok(),
            column: None,
            message: c[2].to_owned(),
        };
    }
    if text.contains("Syntax is valid") {
        return Verdict::Accepts { by };
    }
    Verdict::Unknown(format!("ruchy check said: {}", first_line(&text)))
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Run a checker, bounded by [`LIMIT`], its output captured (without colour).
fn run(mut cmd: Command) -> Result<Ran, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1");
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let mut err = Vec::new();
    let _ = stderr.read_to_end(&mut err);
    let status = match child.wait_timeout(LIMIT).map_err(|e| e.to_string())? {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no answer within {} s", LIMIT.as_secs()));
        }
    };
    let out = reader.join().unwrap_or_default();
    let text = |b: &[u8]| super::output::strip_ansi(&String::from_utf8_lossy(b));
    Ok(Ran {
        ok: status.success(),
        stdout: text(&out),
        stderr: text(&err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, t) in files {
            std::fs::write(d.path().join(p), t).unwrap();
        }
        d
    }

    #[test]
    fn python3_judges_python_and_finds_the_call() {
        let d = ws(&[
            ("ok.py", "x = 1\ny = sum([1], [])\nz = sum([2])\n"),
            ("bad.py", "def f(:\n    pass\n"),
        ]);
        let q = serde_json::json!({"kind": "call", "name": "sum", "not_in": [1]});
        let facts = python(d.path(), "ok.py", Some(&q));
        assert_eq!(
            facts.verdict,
            Verdict::Accepts {
                by: "python3".into()
            }
        );
        assert_eq!(
            facts.found,
            Some((2, 5, "sum() call with 2 arguments".into()))
        );
        match python(d.path(), "bad.py", None).verdict {
            Verdict::Rejects { line, .. } => assert_eq!(line, Some(1)),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn the_shebang_chooses_the_shell() {
        let d = ws(&[
            ("a.sh", "#!/bin/sh\nx=`echo hi`\n"),
            ("b.sh", "#!/bin/bash\nif then\n"),
            ("c.sh", "#!/bin/sh\nx=$((1 +\n"),
        ]);
        assert_eq!(
            shell(d.path(), "a.sh"),
            Verdict::Accepts { by: "sh -n".into() }
        );
        match shell(d.path(), "b.sh") {
            Verdict::Rejects { by, line, .. } => {
                assert_eq!(by, "bash -n");
                assert_eq!(line, Some(2));
            }
            v => panic!("{v:?}"),
        }
        assert!(matches!(shell(d.path(), "c.sh"), Verdict::Rejects { .. }));
    }

    #[test]
    fn the_c_compiler_judges_c_and_a_missing_header_is_unknown() {
        let d = ws(&[
            ("ok.c", "int main(void) { return 0; }\n"),
            ("bad.c", "int main( { return 0; }\n"),
            ("hdr.c", "#include <no_such_header_here.h>\n"),
        ]);
        assert!(matches!(c(d.path(), "ok.c", None), Verdict::Accepts { .. }));
        match c(d.path(), "bad.c", None) {
            Verdict::Rejects { line, column, .. } => {
                assert_eq!((line, column.is_some()), (Some(1), true))
            }
            v => panic!("{v:?}"),
        }
        assert!(matches!(c(d.path(), "hdr.c", None), Verdict::Unknown(_)));
    }

    #[test]
    fn a_missing_checker_is_unknown() {
        let mut cmd = Command::new("/nonexistent/checker");
        cmd.arg("x");
        assert!(run(cmd).is_err());
    }
}
