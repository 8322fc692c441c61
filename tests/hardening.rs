//! End-to-end tests of what an adversarial workspace tries: file names that are shell code or
//! options, through the real binary.

mod common;

use common::{events, summary};

/// File names that a shell would run, or a program would read as an option.
const NAMES: &[&str] = &[
    "$(touch PWNED).py",
    "`touch PWNED`.py",
    "a;touch PWNED;.py",
    "it's \"quoted\".py",
    "-rf.py",
    "$HOME.py",
];

#[test]
fn a_file_name_is_never_shell_code() {
    let manifest = r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      bare:
        run: [sh, -c, "cat {in} > {out}"]
        each: "*.py"
        out: "bare/{stem}.txt"
      double:
        run: [bash, -ec, "cat \"{in}\" > \"{out}\""]
        each: "*.py"
        out: "double/{stem}.txt"
      single:
        run: [sh, -c, "cat '{in}' > '{out}'"]
        each: "*.py"
        out: "single/{stem}.txt"
      plain:
        run: [cp, "{in}", "{out}"]
        each: "*.py"
        out: "{stem}.txt"
"#;
    let files: Vec<(String, String)> = NAMES
        .iter()
        .map(|n| (format!("src/{n}"), format!("contents of {n}\n")))
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let ws = common::Files::new(manifest, &files);

    let out = ws
        .batuta()
        .args(["build", "--format", "json"])
        .output()
        .unwrap();
    let ev = events(&out);
    assert_eq!(
        summary(&ev)["failed"],
        0,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    for pwned in ["PWNED", "src/PWNED", "out/PWNED"] {
        assert!(!ws.path(pwned).exists(), "a file name ran `touch {pwned}`");
    }
    for name in NAMES {
        let stem = name.strip_suffix(".py").unwrap();
        for dir in ["out/bare", "out/double", "out/single", "out"] {
            assert_eq!(
                ws.read(&format!("{dir}/{stem}.txt")),
                format!("contents of {name}\n"),
                "{dir} for {name:?}"
            );
        }
    }
    // Scripts built from placeholders are advice for `check`, not noise in every build.
    assert!(!ev.iter().any(|e| e["event"] == "diagnostic"), "{ev:?}");
}

#[test]
fn check_warns_about_scripts_built_from_placeholders_and_passes() {
    let ws = common::Files::new(
        r#"version: 1
project: { name: t, source: src, output: out }
stages:
  transpile:
    tasks:
      shell:
        run: [sh, -c, "cat {in} > {out}"]
        each: "*.py"
        out: "{stem}.txt"
      args:
        run: [sh, -c, 'cat "$1" > "$2"', sh, "{in}", "{out}"]
        each: "*.py"
        out: "{stem}.rs"
      python:
        run: [python3, -c, "open('{out}', 'w').write(open('{in}').read())"]
        each: "*.py"
        out: "{stem}.py.txt"
"#,
        &[("src/a.py", "x\n")],
    );
    let out = ws.batuta().args(["check"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
    assert!(
        stderr.contains("task 'transpile.shell' builds a shell script from placeholders"),
        "{stderr}"
    );
    assert!(
        stderr.contains("task 'transpile.python' pastes {out} into a python program as it is"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("transpile.args"),
        "an argument list is fine: {stderr}"
    );
    assert!(
        stderr.contains("warning: batuta.yaml has 1 warning and 1 suggestion"),
        "{stderr}"
    );

    let out = ws
        .batuta()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let ev = events(&out);
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[0]["severity"], "advice");
    assert_eq!(ev[0]["line"], 7);
    assert_eq!(ev[2]["event"], "check");
    assert_eq!(ev[2]["ok"], true);
    assert_eq!(ev[1]["severity"], "warning");
    assert_eq!(ev[2]["warnings"], 1);
    assert_eq!(ev[2]["advice"], 1);
}

#[test]
fn a_placeholder_no_quoting_can_make_safe_is_refused() {
    let ws = common::Files::new(
        "version: 1\nproject: { name: t, source: src, output: out }\nstages:\n  transpile:\n    tasks:\n      t:\n        run: [sh, -c, \"echo `cat {in}` > {out}\"]\n        each: \"*.py\"\n        out: \"{stem}.txt\"\n",
        &[("src/a.py", "x\n")],
    );
    let out = ws.batuta().args(["build"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("BATUTA-M-007"), "{stderr}");
    assert!(
        stderr.contains("{in} stands inside backticks (use $(…)) in a shell script"),
        "{stderr}"
    );
    assert!(!ws.path("out").exists(), "nothing ran");
}
