use std::process::Command;

use proptest::prelude::*;

use super::*;

fn args(a: &[&str]) -> Vec<Option<&'static str>> {
    a.iter()
        .map(|s| (!s.contains('{')).then(|| &*s.to_string().leak()))
        .collect()
}

#[test]
fn finds_the_script_a_shell_runs() {
    let cases: &[(&[&str], Option<Script>)] = &[
        (&["sh", "-c", "cat {in}"], Some(Script::Shell(2))),
        (&["/bin/bash", "-ec", "x"], Some(Script::Shell(2))),
        (
            &["bash", "-e", "-o", "pipefail", "-c", "x"],
            Some(Script::Shell(5)),
        ),
        (
            &["bash", "--norc", "-c", "x", "name", "{in}"],
            Some(Script::Shell(3)),
        ),
        (
            &["env", "-i", "A=1", "dash", "-c", "{in}"],
            Some(Script::Shell(5)),
        ),
        (&["busybox", "sh", "-c", "x"], Some(Script::Shell(3))),
        (&["sh", "script.sh", "{in}"], None),
        (&["sh", "-c"], None),
        (&["cp", "-c", "{in}"], None),
        (&["{in}", "-c", "x"], None),
        (
            &["python3", "-c", "print({in})"],
            Some(Script::Other {
                arg: 2,
                interpreter: "python",
            }),
        ),
        (
            &["python3.11", "-u", "-c", "x"],
            Some(Script::Other {
                arg: 3,
                interpreter: "python",
            }),
        ),
        (&["pythonista", "-c", "x"], None),
        (
            &["fish", "-c", "x"],
            Some(Script::Other {
                arg: 2,
                interpreter: "fish",
            }),
        ),
    ];
    for (argv, want) in cases {
        assert_eq!(script(&args(argv)), *want, "{argv:?}");
    }
}

fn run_sh(shell: &str, script: &str) -> (String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(shell)
        .args(["-c", script])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let pwned = dir.path().join("PWNED").exists();
    (String::from_utf8_lossy(&out.stdout).into_owned(), pwned)
}

fn fill(script: &str, value: &str) -> String {
    let t = Template::parse(script).unwrap();
    let argv = expand_command(
        &[
            &Template::parse("sh").unwrap(),
            &Template::parse("-c").unwrap(),
            &t,
        ],
        |_| value.to_owned(),
    )
    .unwrap();
    argv[2].clone()
}

/// Scripts with `{in}` in every place a value can be quoted, and what each prints for `v`.
fn shapes(v: &str) -> Vec<(&'static str, String)> {
    let opt = if v.starts_with('-') {
        format!("./{v}")
    } else {
        v.to_owned()
    };
    // `$(…)` drops the trailing line breaks of what it captures.
    let sub = opt.trim_end_matches('\n').to_owned();
    vec![
        ("printf '%s\\n' {in}", opt.clone()),
        ("printf '%s\\n' \"{in}\"", opt.clone()),
        ("printf '%s\\n' '{in}'", opt.clone()),
        ("printf '%s\\n' x{in}y", format!("x{v}y")),
        ("printf '%s\\n' \"x{in}\"'y'", format!("x{v}y")),
        ("printf '%s\\n' \"$(printf '%s' \"{in}\")\"", sub.clone()),
        ("printf '%s\\n' \"$(printf '%s' {in})\"", sub.clone()),
        ("case a in a) printf '%s\\n' \"{in}\";; esac", opt.clone()),
        (
            "printf '%s\\n' \"$(case a in (a) printf '%s' \"{in}\";; esac)\"",
            sub.clone(),
        ),
        (
            "printf '%s\\n' \"$(case a in a) printf '%s' \"{in}\";; esac)\"",
            sub.clone(),
        ),
        ("# {in}\nprintf '%s\\n' {in}", opt.clone()),
        (
            "cat <<EOF\nline {{\nEOF\nprintf '%s\\n' {in}",
            format!("line {{\n{opt}"),
        ),
        ("printf '%s\\n' $(echo \")\") {in}", format!(")\n{opt}")),
    ]
}

const NASTY: &[&str] = &[
    "$(touch PWNED).py",
    "`touch PWNED`.py",
    "a;touch PWNED",
    "a'b",
    "a\"b",
    "a\\b",
    "it's \"$(touch PWNED)\"",
    "a b",
    "-rf.py",
    "*",
    "~root",
    "x=1",
    "#c",
    "a\ntouch PWNED",
    "$HOME",
    "'\\''",
    "\\",
    "a&&touch PWNED",
    "a|touch PWNED",
    ")",
    "esac",
    "EOF",
];

fn shells() -> Vec<&'static str> {
    ["sh", "bash", "dash"]
        .into_iter()
        .filter(|s| Command::new(s).args(["-c", "true"]).status().is_ok())
        .collect()
}

#[test]
fn a_shell_sees_each_value_as_it_is_and_runs_none() {
    for shell in shells() {
        for v in NASTY {
            for (script, want) in shapes(v) {
                let filled = fill(script, v);
                let (out, pwned) = run_sh(shell, &filled);
                assert!(!pwned, "{shell} ran a command from {v:?} in {filled:?}");
                assert_eq!(
                    out,
                    format!("{want}\n"),
                    "{shell}: {script:?} with {v:?} became {filled:?}"
                );
            }
        }
    }
}

#[test]
fn plain_values_stay_readable() {
    assert_eq!(
        fill("cat {in} > {out}", "legacy/a_b-1.py"),
        "cat legacy/a_b-1.py > legacy/a_b-1.py"
    );
    assert_eq!(fill("cat {in}", "a b.py"), "cat 'a b.py'");
}

#[test]
fn a_leading_dash_is_never_an_option() {
    let run = ["cp", "{in}", "out/{stem}.rs", "--name={stem}"].map(|a| Template::parse(a).unwrap());
    let run: Vec<&Template> = run.iter().collect();
    let argv = expand_command(&run, |p| match p {
        Placeholder::In => "-rf.py".into(),
        _ => "-rf".into(),
    })
    .unwrap();
    assert_eq!(argv, ["cp", "./-rf.py", "out/-rf.rs", "--name=-rf"]);
}

#[test]
fn places_no_quoting_can_make_safe_are_refused() {
    for (script, place) in [
        ("cat <<EOF\n{in}\nEOF", "inside a here-document"),
        ("cat <<-'X'\n\tok\n\t{in}\nX", "inside a here-document"),
        ("cat <<{in}\nx", "in a here-document's delimiter"),
        ("echo `cat {in}`", "inside backticks (use $(…))"),
        ("echo ${{x:-{in}}}", "inside ${…}"),
        ("echo $(( {in} + 1 ))", "inside $((…))"),
        ("echo ${in}", "right after '$'"),
        ("echo \"${in}\"", "right after '$'"),
        ("echo $'{in}'", "inside $'…'"),
    ] {
        let t = Template::parse(script).unwrap();
        assert_eq!(places(&t).unwrap_err().1, place, "{script:?}");
    }
    // After the document ends, quoting works again.
    let t = Template::parse("cat <<EOF\n$x {{\nEOF\necho {in}").unwrap();
    assert_eq!(
        places(&t).unwrap(),
        [Place {
            quotes: Quotes::Bare,
            word_start: true
        }]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_value_survives_any_quoting(v in "[-a-z $'\"`\\\\;&|()<>*?#~=\n{}]{1,12}") {
        let shell = "sh";
        for (script, want) in shapes(&v) {
            let filled = fill(script, &v);
            let (out, pwned) = run_sh(shell, &filled);
            prop_assert!(!pwned);
            prop_assert_eq!(out, format!("{want}\n"), "{:?} became {:?}", script, filled);
        }
    }
}
