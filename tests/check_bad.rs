//! Every bad manifest is refused with exit code 2 and the diagnostic it deserves, never a
//! panic: the committed corpus under `tests/manifests/bad/` and the cases that are built at
//! test time (too big, not UTF-8, symbolic links, ...). Each diagnostic is an insta snapshot,
//! named after its file, so a change in wording or position shows up in review.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::cargo::cargo_bin_cmd;
use tempfile::TempDir;

/// One bad manifest: `batuta check -f FILE` runs in `dir`.
struct Case {
    /// Also the snapshot's name.
    name: String,
    dir: PathBuf,
    file: String,
    /// The code the diagnostics must include.
    expect: String,
    /// The temporary folders of a generated case (its workspace first); removed when the
    /// case is dropped.
    temps: Vec<TempDir>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/bad")
}

/// The code a corpus file declares on its first line, `# expect: BATUTA-M-0NN`.
fn expected_code(text: &str) -> Result<String, String> {
    let first = text.lines().next().unwrap_or_default();
    let code = first
        .strip_prefix("# expect: ")
        .ok_or_else(|| format!("first line is {first:?}, not `# expect: BATUTA-M-0NN`"))?;
    let valid = code.len() == 12
        && code.starts_with("BATUTA-M-0")
        && code[10..].bytes().all(|b| b.is_ascii_digit());
    if valid {
        Ok(code.to_owned())
    } else {
        Err(format!("`{code}` is not a code of the form BATUTA-M-0NN"))
    }
}

fn corpus() -> Vec<Case> {
    let dir = corpus_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("tests/manifests/bad exists")
        .map(|e| e.expect("readable entry").file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|file| {
            let text = fs::read_to_string(dir.join(&file)).expect("corpus files are UTF-8");
            let expect = expected_code(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            Case {
                name: file.trim_end_matches(".yaml").to_owned(),
                dir: dir.clone(),
                file,
                expect,
                temps: Vec::new(),
            }
        })
        .collect()
}

/// A temporary workspace with `files` (path, contents), checked as `-f file`.
fn generated(name: &str, expect: &str, file: &str, files: &[(&str, &[u8])]) -> Case {
    let temp = tempfile::Builder::new()
        .prefix("batuta-bad-")
        .tempdir()
        .expect("temp dir");
    for (path, contents) in files {
        let path = temp.path().join(path);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("create folder");
        fs::write(&path, contents).expect("write file");
    }
    Case {
        name: format!("gen-{name}"),
        dir: temp.path().to_path_buf(),
        file: file.to_owned(),
        expect: expect.to_owned(),
        temps: vec![temp],
    }
}

/// A valid manifest head, for generated cases that break something further down.
const HEAD: &str = "version: 1\nproject:\n  name: demo\n  source: legacy\n";

fn generated_cases() -> Vec<Case> {
    let mut cases = Vec::new();

    // Bytes that are not UTF-8 in the middle of a value.
    let mut bad_utf8 = b"version: 1\nproject:\n  name: caf\xc3\xa9-".to_vec();
    bad_utf8.extend_from_slice(b"\xff\xfe-pipeline\nstages:\n  analyze:\n    builtin: analyze\n");
    cases.push(generated(
        "malformed-utf8",
        "BATUTA-M-011",
        "batuta.yaml",
        &[("batuta.yaml", &bad_utf8)],
    ));
    // Saved as UTF-16 by an editor: a byte-order mark and NUL bytes everywhere.
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("version: 1\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    cases.push(generated(
        "utf16",
        "BATUTA-M-011",
        "batuta.yaml",
        &[("batuta.yaml", &utf16)],
    ));
    cases.push(generated(
        "empty",
        "BATUTA-M-011",
        "batuta.yaml",
        &[("batuta.yaml", b"")],
    ));
    cases.push(generated(
        "comments-only",
        "BATUTA-M-011",
        "batuta.yaml",
        &[(
            "batuta.yaml",
            b"# batuta.yaml for the sensor pipeline\n\n   \n# TODO: write the stages\n\t\n",
        )],
    ));
    // More than 10 MB of otherwise valid YAML.
    let mut big = String::from("version: 1\nproject:\n  name: demo\n  exclude:\n");
    let line = format!("    - \"{}/**\"\n", "x".repeat(90));
    while big.len() <= 10 * 1024 * 1024 {
        big.push_str(&line);
    }
    big.push_str("stages:\n  analyze:\n    builtin: analyze\n");
    cases.push(generated(
        "ten-megabytes",
        "BATUTA-M-011",
        "batuta.yaml",
        &[("batuta.yaml", big.as_bytes())],
    ));
    // 10,000 nested flow sequences on one line.
    let deep_flow = format!("version: 1\nproject: {}\n", "[".repeat(10_000));
    cases.push(generated(
        "deep-flow-nesting",
        "BATUTA-M-012",
        "batuta.yaml",
        &[("batuta.yaml", deep_flow.as_bytes())],
    ));
    // A key past column 65,535, where miette cannot draw a label: the snippet shows a
    // window of the line around it.
    let long_line = format!(
        "version: 1\nproject: {{ name: \"{}\", nope: 1 }}\nstages:\n  analyze:\n    builtin: analyze\n",
        "a".repeat(65_600)
    );
    cases.push(generated(
        "long-line",
        "BATUTA-M-002",
        "batuta.yaml",
        &[("batuta.yaml", long_line.as_bytes())],
    ));
    // 1,000 nested block mappings.
    let mut deep_block = String::from("version: 1\nproject:\n");
    for level in 1..=1000 {
        deep_block.push_str(&"  ".repeat(level));
        deep_block.push_str("name:\n");
    }
    cases.push(generated(
        "deep-block-nesting",
        "BATUTA-M-012",
        "batuta.yaml",
        &[("batuta.yaml", deep_block.as_bytes())],
    ));
    // Billion laughs: nine levels of nine aliases each, 9^9 strings once expanded.
    let mut bomb = String::from(HEAD);
    bomb.push_str(
        "  exclude: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    bomb.push_str("stages:\n  analyze:\n    builtin: analyze\n    with:\n");
    let mut previous = 'a';
    for anchor in 'b'..='i' {
        let aliases = vec![format!("*{previous}"); 9].join(", ");
        bomb.push_str(&format!("      {anchor}: &{anchor} [{aliases}]\n"));
        previous = anchor;
    }
    cases.push(generated(
        "alias-bomb",
        "BATUTA-M-012",
        "batuta.yaml",
        &[("batuta.yaml", bomb.as_bytes())],
    ));
    cases.push(generated(
        "missing-file",
        "BATUTA-M-011",
        "batuta.yaml",
        &[("legacy/main.py", b"print('hi')\n")],
    ));
    cases.push(generated(
        "file-is-a-folder",
        "BATUTA-M-011",
        "legacy",
        &[("legacy/main.py", b"print('hi')\n")],
    ));
    // `project.source` names a file, and a task needs it to be a folder.
    let source_file = format!(
        "{HEAD}stages:\n  transpile:\n    run: [\"depyler\", \"{{in}}\", \"-o\", \"{{out}}\"]\n    each: \"**/*.py\"\n    out: \"src/{{stem}}.rs\"\n"
    );
    cases.push(generated(
        "source-is-a-file",
        "BATUTA-M-013",
        "batuta.yaml",
        &[
            ("batuta.yaml", source_file.as_bytes()),
            ("legacy", b"print('hi')\n"),
        ],
    ));
    // Two tasks whose outputs collide: app.py and app.pyx both become src/app.rs.
    let two_writers = format!(
        "{HEAD}stages:
  transpile:
    tasks:
      python:
        run: [\"depyler\", \"transpile\", \"{{in}}\", \"-o\", \"{{out}}\"]
        each: \"**/*.py\"
        out: \"src/{{stem}}.rs\"
      cython:
        run: [\"cython-rs\", \"{{in}}\", \"-o\", \"{{out}}\"]
        each: \"**/*.pyx\"
        out: \"src/{{stem}}.rs\"
"
    );
    cases.push(generated(
        "same-output-two-tasks",
        "BATUTA-M-010",
        "batuta.yaml",
        &[
            ("batuta.yaml", two_writers.as_bytes()),
            ("legacy/app.py", b"import fastmath\n"),
            ("legacy/app.pyx", b"cdef int x = 1\n"),
        ],
    ));
    // One task whose `out` drops the folder: a/util.py and b/util.py both become src/util.rs.
    let flattened = format!(
        "{HEAD}stages:
  transpile:
    tasks:
      python:
        run: [\"depyler\", \"transpile\", \"{{in}}\", \"-o\", \"{{out}}\"]
        each: \"**/*.py\"
        out: \"src/{{stem}}.rs\"
"
    );
    cases.push(generated(
        "same-output-one-task",
        "BATUTA-M-010",
        "batuta.yaml",
        &[
            ("batuta.yaml", flattened.as_bytes()),
            ("legacy/a/util.py", b"def f(): pass\n"),
            ("legacy/b/util.py", b"def g(): pass\n"),
        ],
    ));
    #[cfg(unix)]
    cases.extend(symlink_cases());
    #[cfg(unix)]
    cases.push(fifo_manifest());
    cases
}

/// A FIFO given as the manifest: opening it for reading would wait for a writer forever.
#[cfg(unix)]
fn fifo_manifest() -> Case {
    let case = generated("manifest-is-a-fifo", "BATUTA-M-011", "batuta.yaml", &[]);
    let path = std::ffi::CString::new(
        case.dir
            .join("batuta.yaml")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .expect("no NUL in a temporary path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0, "mkfifo");
    case
}

/// Symbolic links that point out of the workspace: a matched input, the output folder, and
/// the source folder itself. Each needs a real folder outside the workspace.
#[cfg(unix)]
fn symlink_cases() -> Vec<Case> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;

    let transpile = format!(
        "{HEAD}stages:
  transpile:
    run: [\"depyler\", \"transpile\", \"{{in}}\", \"-o\", \"{{out}}\"]
    each: \"**/*.py\"
    out: \"src/{{dir}}/{{stem}}.rs\"
"
    );
    let mut cases = Vec::new();
    // A folder beside the workspace, with a file a link can point at.
    let outside = |case: &mut Case| {
        let o = tempfile::Builder::new()
            .prefix("batuta-outside-")
            .tempdir()
            .expect("temp dir");
        fs::write(o.path().join("secret.py"), "TOKEN = 'do not read me'\n").expect("outside file");
        let path = o.path().to_path_buf();
        case.temps.push(o);
        path
    };

    let mut case = generated(
        "symlink-input-outside",
        "BATUTA-M-009",
        "batuta.yaml",
        &[
            ("batuta.yaml", transpile.as_bytes()),
            ("legacy/main.py", b"print('hi')\n"),
        ],
    );
    let o = outside(&mut case);
    symlink(o.join("secret.py"), case.dir.join("legacy/vendored.py")).expect("symlink");
    cases.push(case);

    let mut case = generated(
        "symlink-output-outside",
        "BATUTA-M-009",
        "batuta.yaml",
        &[
            ("batuta.yaml", transpile.as_bytes()),
            ("legacy/main.py", b"print('hi')\n"),
        ],
    );
    let o = outside(&mut case);
    symlink(&o, case.dir.join("rust")).expect("symlink");
    cases.push(case);

    // Matched files that cannot be read: a dangling link, a name that is not UTF-8, a FIFO.
    let case = generated(
        "matched-files-unreadable",
        "BATUTA-M-013",
        "batuta.yaml",
        &[
            ("batuta.yaml", transpile.as_bytes()),
            ("legacy/main.py", b"print('hi')\n"),
        ],
    );
    symlink("gone.py", case.dir.join("legacy/dangling.py")).expect("symlink");
    let not_utf8 = std::ffi::OsStr::from_bytes(b"legacy/caf\xe9.py");
    fs::write(case.dir.join(not_utf8), "x = 1\n").expect("a file with a Latin-1 name");
    let fifo = std::ffi::CString::new(
        case.dir
            .join("legacy/pipe.py")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .expect("no NUL in a temporary path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
    cases.push(case);

    let mut case = generated(
        "symlink-source-outside",
        "BATUTA-M-009",
        "batuta.yaml",
        &[("batuta.yaml", transpile.as_bytes())],
    );
    let o = outside(&mut case);
    symlink(&o, case.dir.join("legacy")).expect("symlink");
    cases.push(case);
    cases
}

fn check(case: &Case, args: &[&str]) -> Output {
    cargo_bin_cmd!("batuta")
        .current_dir(&case.dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args(["check", "-f", &case.file])
        .args(args)
        // A case that makes batuta hang fails instead of stopping the tests.
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("batuta runs")
}

/// Stable text for a snapshot: no temporary paths, and no 10,000-character lines.
fn stable(case: &Case, text: &str) -> String {
    let mut text = text.to_owned();
    for (i, temp) in case.temps.iter().enumerate() {
        let name = if i == 0 { "[TEMP]" } else { "[OUTSIDE]" };
        for dir in [
            temp.path().canonicalize().ok(),
            Some(temp.path().to_path_buf()),
        ]
        .into_iter()
        .flatten()
        {
            text = text.replace(&dir.display().to_string(), name);
        }
    }
    collapse_runs(&text)
}

/// Runs of more than 200 of one character become `c…(N×c)…`, so the deep-nesting snapshot
/// stays readable.
fn collapse_runs(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut n = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            n += 1;
        }
        if n > 200 {
            out.push_str(&format!("{c}…({n}×{c:?})…"));
        } else {
            out.extend(std::iter::repeat_n(c, n));
        }
    }
    out
}

/// Everything wrong with one case, or nothing.
fn verify(case: &Case) -> Vec<String> {
    let output = check(case, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut problems = Vec::new();
    if output.status.code() != Some(2) {
        problems.push(format!("exit code {:?}, expected 2", output.status.code()));
    }
    if stderr.contains("panicked") {
        problems.push("batuta panicked".to_owned());
    }
    if !stderr.contains(&case.expect) {
        problems.push(format!("no {} in the diagnostics", case.expect));
    }
    if !stdout.is_empty() {
        problems.push(format!("unexpected stdout: {stdout}"));
    }
    let snapshot = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        insta::with_settings!({
            description => format!("batuta check -f {}", case.file),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(case.name.as_str(), stable(case, &stderr));
        });
    }));
    if snapshot.is_err() {
        problems.push("the diagnostics differ from the snapshot".to_owned());
    }
    if !problems.is_empty() {
        problems.push(format!("stderr was:\n{stderr}"));
    }
    problems
}

fn verify_all(cases: &[Case]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let problems = verify(case);
            (!problems.is_empty()).then(|| format!("{}: {}", case.name, problems.join("; ")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad manifests failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn corpus_is_refused_with_the_expected_diagnostics() {
    let cases = corpus();
    assert!(
        cases.len() >= 32,
        "the corpus has {} files, fewer than 32",
        cases.len()
    );
    verify_all(&cases);
}

#[test]
fn generated_cases_are_refused_with_the_expected_diagnostics() {
    verify_all(&generated_cases());
}

#[test]
fn every_code_has_a_bad_manifest() {
    let mut covered: Vec<String> = corpus()
        .into_iter()
        .map(|c| c.expect)
        .chain(generated_cases().into_iter().map(|c| c.expect))
        .collect();
    covered.sort();
    covered.dedup();
    let all: Vec<String> = (1..=13).map(|n| format!("BATUTA-M-{n:03}")).collect();
    let missing: Vec<&String> = all.iter().filter(|c| !covered.contains(c)).collect();
    assert!(missing.is_empty(), "no bad manifest expects {missing:?}");
}

#[test]
fn many_problems_as_json() {
    let dir = corpus_dir();
    let case = Case {
        name: "58-many-problems".to_owned(),
        dir,
        file: "58-many-problems.yaml".to_owned(),
        expect: "BATUTA-M-002".to_owned(),
        temps: Vec::new(),
    };
    let output = check(&case, &["--format", "json"]);
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let diagnostics = events.iter().filter(|e| e["event"] == "diagnostic").count();
    assert!(
        diagnostics >= 10,
        "only {diagnostics} diagnostics: {stdout}"
    );
    assert_eq!(events.last().unwrap()["problems"], diagnostics);
    insta::assert_snapshot!("58-many-problems-json", stdout);
}

/// Text mode draws a snippet in `check` and in `build`; a line too long to draw whole is
/// shown in part, with the file's own line and column, and never panics.
#[test]
fn long_lines_are_shown_in_part_by_check_and_build() {
    let text = format!(
        "version: 1\nproject: {{ name: \"{}\", nope: 1 }}\n",
        "é".repeat(70_000)
    );
    let case = generated(
        "long-line-build",
        "BATUTA-M-002",
        "batuta.yaml",
        &[("batuta.yaml", text.as_bytes())],
    );
    for command in ["check", "build"] {
        let output = cargo_bin_cmd!("batuta")
            .current_dir(&case.dir)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .args([command, "-f", &case.file])
            .output()
            .expect("batuta runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(!stderr.contains("panicked"), "{command}: {stderr}");
        // `nope` starts after `project: { name: "`, 70,000 two-byte characters and `", `:
        // miette's columns count bytes.
        let column = 18 + 2 * 70_000 + 3 + 1;
        assert!(
            stderr.contains(&format!("[batuta.yaml:2:{column}]")),
            "{command}: {stderr}"
        );
        let longest = stderr.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(longest < 300, "{command}: a line of {longest} characters");
        assert!(stderr.contains("…ééé"), "{command}: {stderr}");
    }
}

/// With `BATUTA_CACHE_DIR` inside the workspace, an output in it is batuta's own.
#[test]
fn an_output_in_the_cache_folder_is_refused() {
    let case = generated(
        "output-in-the-cache",
        "BATUTA-M-009",
        "batuta.yaml",
        &[(
            "batuta.yaml",
            b"version: 1\nproject: { name: t }\nstages:\n  build:\n    run: [touch, shared-cache/ac/x]\n    outputs: [shared-cache/ac/x]\n",
        )],
    );
    let output = cargo_bin_cmd!("batuta")
        .current_dir(&case.dir)
        .env("NO_COLOR", "1")
        .env("BATUTA_CACHE_DIR", "shared-cache")
        .args(["check", "-f", "batuta.yaml", "--format", "json"])
        .output()
        .expect("batuta runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    let first: serde_json::Value =
        serde_json::from_str(stdout.lines().next().unwrap_or_default()).expect("JSON");
    assert_eq!(first["code"], "BATUTA-M-009", "{stdout}");
    assert_eq!(
        first["message"],
        "task 'build.build': output 'shared-cache/ac/x' is batuta's own: it is in the cache folder (BATUTA_CACHE_DIR)"
    );
    // Elsewhere, the same manifest is fine.
    let output = cargo_bin_cmd!("batuta")
        .current_dir(&case.dir)
        .env("BATUTA_CACHE_DIR", case.dir.join(".batuta/cache"))
        .args(["check", "-f", "batuta.yaml"])
        .output()
        .expect("batuta runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
