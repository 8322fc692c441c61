//! End-to-end tests of the transpile phase through the real binary: the built-in templates
//! with the real tools (depyler, bashrs, decy, ruchy: a test fails when its tool is not on
//! PATH), tool versions in the cache key, failures with the book's codes, a missing tool,
//! `batuta transpile --modules`, and the assembly of a Cargo package.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::{events, outcomes, summary};

struct Ws {
    files: common::Files,
    /// PATH for batuta: stand-in tools first, then the caller's PATH (unless replaced).
    path: String,
}

impl std::ops::Deref for Ws {
    type Target = common::Files;
    fn deref(&self) -> &common::Files {
        &self.files
    }
}

/// Where a real tool is, or a failure that says how to install it.
fn real_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not on PATH: these tests need the real tool (cargo install --locked {name})")
        })
}

impl Ws {
    fn new(manifest: &str, files: &[(&str, &str)]) -> Ws {
        let files = common::Files::new(manifest, files);
        let bin = files.path("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Ws { files, path }
    }

    /// A stand-in (or wrapper) tool in the workspace's bin/, first on PATH.
    fn tool(&self, name: &str, script: &str) {
        let p = self.path(&format!("bin/{name}"));
        std::fs::write(&p, script).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("batuta").unwrap();
        c.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("PATH", &self.path)
            .env("BATUTA_CACHE_DIR", self.path("cache"))
            .env_remove("BATUTA_CONFIG")
            .env_remove("RUST_LOG");
        c
    }

    /// `batuta transpile --format json ARGS`.
    fn transpile(&self, args: &[&str]) -> (i32, Vec<Value>) {
        let out = self
            .cmd()
            .args(["transpile", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), events(&out))
    }

    /// `batuta transpile` for people: exit code, stdout, stderr.
    fn transpile_text(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().arg("transpile").args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn failure<'a>(events: &'a [Value], id: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == "action" && e["id"] == id && e["outcome"] == "failed")
        .unwrap_or_else(|| panic!("{id} did not fail: {events:#?}"))
}

fn exists(ws: &Ws, rel: &str) -> bool {
    Path::new(&ws.path(rel)).exists()
}

/// A stand-in depyler: `--version`, and `transpile IN -o OUT` writing a small Rust module,
/// or failing as a parser does on a file that says SYNTAX. It logs each file it transpiles.
const STANDIN_DEPYLER: &str = r#"#!/bin/sh
case "$1" in
  --version) echo "depyler 0.0.1-standin" ;;
  transpile)
    echo "$2" >> spawned.log
    if grep -q SYNTAX "$2"; then
      # depyler 4.1.1's own format for a file python3 rejects too.
      echo "error[syntax]: invalid syntax. Got unexpected token 'SYNTAX' at byte offset 10" >&2
      echo " --> $2:2:3" >&2
      echo "" >&2
      echo "Error: transpilation failed" >&2
      exit 1
    fi
    printf '// transpiled from %s\npub fn value() -> i64 { 1 }\n' "$2" > "$4" ;;
  *) echo "unexpected arguments: $*" >&2; exit 2 ;;
esac
"#;

const PY_CRATE: &str = r#"version: 1
project: { name: t, source: legacy, output: rust }
stages:
  transpile:
    tasks:
      python: { rule: depyler, each: "**/*.py", out: "src/{dir}/{stem}.rs" }
      crate:
        builtin: assemble
        inputs: ["rust/src/**/*.rs", ".batuta/transpile/**/*.toml"]
        outputs: [rust/Cargo.toml, rust/src/lib.rs]
        with: { name: migrated }
"#;

fn spawned(ws: &Ws) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(ws.path("spawned.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[test]
fn a_missing_tool_is_t001_with_the_files_that_need_it_and_the_install_command() {
    let ws = Ws::new(
        PY_CRATE,
        &[("legacy/a.py", "x = 1\n"), ("legacy/pkg/b.py", "y = 2\n")],
    );
    // A PATH without depyler.
    let mut ws = ws;
    ws.path = ws.path("bin").display().to_string();
    let (code, ev) = ws.transpile(&["-k"]);
    assert_eq!(code, 1);
    let f = failure(&ev, "transpile/python:a.py");
    assert_eq!(f["code"], "BATUTA-T-001");
    assert!(f["message"].as_str().unwrap().contains("depyler"), "{f}");
    let hints: Vec<&str> = f["hints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(
        hints.contains(&"install it with: cargo install --locked depyler"),
        "{hints:?}"
    );
    assert!(hints.contains(&"legacy/a.py needs it"), "{hints:?}");
    // Nothing else was attempted for them. The crate, which reads modules through a glob,
    // goes on without them, and needs cargo to check what it assembled: this PATH has
    // none either.
    assert_eq!(
        outcomes(&ev, "failed"),
        [
            "transpile/crate",
            "transpile/python:a.py",
            "transpile/python:pkg/b.py"
        ]
    );
    let krate = failure(&ev, "transpile/crate");
    assert_eq!(krate["code"], "BATUTA-T-001", "{krate}");
    assert!(
        krate["message"].as_str().unwrap().contains("cargo"),
        "{krate}"
    );

    let (code, _, err) = ws.transpile_text(&[]);
    assert_eq!(code, 1);
    assert!(err.contains("❌ Transpilation failed!"), "{err}");
    assert!(
        err.contains("[BATUTA-T-001] depyler is not installed; 2 files need it:"),
        "{err}"
    );
    assert!(err.contains("  legacy/a.py\n  legacy/pkg/b.py\n"), "{err}");
    assert!(
        err.contains("Install it with: cargo install --locked depyler"),
        "{err}"
    );
}

#[test]
fn a_rejected_file_fails_with_its_code_location_and_stderr_and_the_crate_goes_on_without_it() {
    let ws = Ws::new(
        PY_CRATE,
        &[
            ("legacy/a.py", "x = 1\n"),
            ("legacy/bad.py", "def f(:\n  SYNTAX\n"),
        ],
    );
    ws.tool("depyler", STANDIN_DEPYLER);
    let (code, ev) = ws.transpile(&["-k"]);
    assert_eq!(code, 1);
    let f = failure(&ev, "transpile/python:bad.py");
    assert_eq!(f["code"], "BATUTA-T-002", "{f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("at legacy/bad.py:2:3: invalid syntax"),
        "{f}"
    );
    assert!(
        f["stderr"]
            .as_str()
            .unwrap()
            .contains("python3 rejects it too, at line 1"),
        "{f}"
    );
    // The good file ran, and the crate was assembled without the bad one.
    assert_eq!(
        outcomes(&ev, "executed"),
        ["transpile/crate", "transpile/python:a.py"]
    );
    let lib = ws.read("rust/src/lib.rs");
    assert!(lib.contains("pub mod a;") && !lib.contains("bad"), "{lib}");

    let (code, _, err) = ws.transpile_text(&[]);
    assert_eq!(code, 1);
    assert!(err.contains("error[syntax]: invalid syntax"), "{err}");
    assert!(
        err.contains("[BATUTA-T-002] syntax error in source"),
        "{err}"
    );
    assert!(err.contains("💡 Troubleshooting:"), "{err}");
    assert!(
        err.contains("Fix the syntax error at legacy/bad.py:2:3"),
        "{err}"
    );
    let status = ws.cmd().arg("status").output().unwrap();
    let board = String::from_utf8_lossy(&status.stdout);
    assert!(board.contains("✗ Transpilation"), "{board}");
    assert!(board.contains("← Fix this!"), "{board}");
}

#[test]
fn modules_select_which_files_are_transpiled() {
    let ws = Ws::new(
        PY_CRATE,
        &[
            ("legacy/a.py", "x = 1\n"),
            ("legacy/pkg/b.py", "y = 2\n"),
            ("legacy/pkg/c.py", "z = 3\n"),
        ],
    );
    ws.tool("depyler", STANDIN_DEPYLER);
    let (code, _) = ws.transpile(&[]);
    assert_eq!(code, 0);
    std::fs::remove_file(ws.path("spawned.log")).unwrap();
    for f in ["a", "pkg/b", "pkg/c"] {
        ws.write(&format!("legacy/{f}.py"), "changed = 1\n");
    }
    let (code, ev) = ws.transpile(&["--modules", "a,pkg/c.py"]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(spawned(&ws), ["legacy/a.py", "legacy/pkg/c.py"]);
    // A module the build was not asked for is left as it was.
    assert!(ws.read("rust/src/pkg/b.rs").contains("legacy/pkg/b.py"));
}

#[test]
fn assemble_writes_a_package_that_compiles_and_keeps_hand_written_modules() {
    let ws = Ws::new(
        &format!(
            "{}      deps_file: {{ run: [cp, deps.toml, rust/deps/extra.toml], inputs: [deps.toml], outputs: [rust/deps/extra.toml] }}\n",
            PY_CRATE.replace(
                "inputs: [\"rust/src/**/*.rs\"]",
                "inputs: [\"rust/src/**/*.rs\", \"rust/deps/*.toml\"]"
            )
        ),
        &[
            ("legacy/a.py", "x = 1\n"),
            ("legacy/my-pkg/b.py", "y = 2\n"),
            ("deps.toml", "[dependencies]\n"),
            // Ported by hand: batuta takes it in and never writes it.
            ("rust/src/ported.rs", "pub fn by_hand() -> i64 { 42 }\n"),
        ],
    );
    ws.tool("depyler", STANDIN_DEPYLER);
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    let lib = ws.read("rust/src/lib.rs");
    assert!(lib.contains("pub mod a;\npub mod ported;\n#[path = \"my-pkg\"]\npub mod my_pkg {\n    pub mod b;\n}\n"), "{lib}");
    let toml = ws.read("rust/Cargo.toml");
    assert!(toml.contains("name = \"migrated\""), "{toml}");
    assert_eq!(
        ws.read("rust/src/ported.rs"),
        "pub fn by_hand() -> i64 { 42 }\n"
    );

    // It compiles.
    let check = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(["check", "--offline", "--quiet", "--manifest-path"])
        .arg(ws.path("rust/Cargo.toml"))
        .env("CARGO_TARGET_DIR", ws.path("target"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // A new hand-written module joins the tree; nothing else runs again.
    ws.write("rust/src/ported2.rs", "pub fn more() {}\n");
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0);
    assert_eq!(outcomes(&ev, "executed"), ["transpile/crate"]);
    assert!(ws.read("rust/src/lib.rs").contains("pub mod ported2;"));
    // And a no-op build does nothing.
    let (_, ev) = ws.transpile(&[]);
    assert_eq!(summary(&ev)["executed"], 0);
}

#[test]
fn unknown_rule_names_the_built_in_templates() {
    let ws = Ws::new(
        &PY_CRATE.replace("rule: depyler", "rule: depyle"),
        &[("legacy/a.py", "")],
    );
    let out = ws.cmd().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean 'depyler'?"), "{err}");
}

const SHELL: &str = r#"version: 1
project: { name: t, source: legacy, output: rust }
stages:
  transpile:
    tasks:
      shell: { rule: bashrs, each: "**/*.sh", out: "scripts/{path}" }
"#;

/// A helper script bashrs can purify into lint-clean POSIX shell.
const CLEAN_SH: &str = "#!/bin/bash\nset -eu\nname=${1:-world}\nprintf 'hello %s\\n' \"$name\"\n";

#[test]
fn bashrs_purifies_real_scripts_and_lints_them_as_a_gate() {
    real_tool("bashrs");
    let ws = Ws::new(
        SHELL,
        &[
            ("legacy/greet.sh", CLEAN_SH),
            ("legacy/tools/other.sh", CLEAN_SH),
        ],
    );
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(
        outcomes(&ev, "executed"),
        [
            "transpile/shell#gate:greet.sh",
            "transpile/shell#gate:tools/other.sh",
            "transpile/shell:greet.sh",
            "transpile/shell:tools/other.sh",
        ]
    );
    let purified = ws.read("rust/scripts/greet.sh");
    assert!(purified.starts_with("#!/bin/sh"), "{purified}");
    assert!(purified.contains("\"${1:-world}\""), "{purified}");
    let run = std::process::Command::new("sh")
        .arg(ws.path("rust/scripts/greet.sh"))
        .arg("batuta")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello batuta\n");

    // Editing one script re-runs only its purify and its gate.
    ws.write("legacy/greet.sh", &CLEAN_SH.replace("world", "there"));
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0);
    assert_eq!(
        outcomes(&ev, "executed"),
        ["transpile/shell#gate:greet.sh", "transpile/shell:greet.sh"]
    );
    assert_eq!(summary(&ev)["up_to_date"], 2);
}

#[test]
fn bashrs_rejects_a_broken_script_with_t002_and_the_line() {
    real_tool("bashrs");
    let ws = Ws::new(
        SHELL,
        &[
            ("legacy/ok.sh", CLEAN_SH),
            (
                "legacy/broken.sh",
                "#!/bin/sh\nif [ x = y ; then\n echo \"unterminated\n",
            ),
        ],
    );
    let (code, ev) = ws.transpile(&["-k"]);
    assert_eq!(code, 1);
    let f = failure(&ev, "transpile/shell:broken.sh");
    assert_eq!(f["code"], "BATUTA-T-002", "{f}");
    let stderr = f["stderr"].as_str().unwrap();
    assert!(stderr.contains("Unterminated string"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "colours are stripped: {stderr:?}");
    assert!(
        f["message"].as_str().unwrap().contains("broken.sh:3"),
        "{f}"
    );
    // Its gate never ran; the other script's did.
    assert!(
        !ev.iter()
            .any(|e| e["id"] == "transpile/shell#gate:broken.sh")
    );
    assert!(outcomes(&ev, "executed").contains(&"transpile/shell#gate:ok.sh"));
}

#[test]
fn bashrs_lint_errors_in_the_purified_script_fail_the_gate_with_q003() {
    real_tool("bashrs");
    // Purifies, but the result writes a timestamp into a file: lint error DET002.
    let ws = Ws::new(
        SHELL,
        &[(
            "legacy/stamp.sh",
            "#!/bin/sh\nset -eu\nout=${1:-stamp.txt}\necho \"built at $(date)\" > \"$out\"\n",
        )],
    );
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 1, "{ev:#?}");
    assert!(outcomes(&ev, "executed").contains(&"transpile/shell:stamp.sh"));
    let f = failure(&ev, "transpile/shell#gate:stamp.sh");
    assert_eq!(f["code"], "BATUTA-Q-003", "{f}");
    assert!(f["stderr"].as_str().unwrap().contains("DET002"), "{f}");
}

/// A wrapper on PATH in front of the real tool that reports another version: an upgrade.
fn upgrade(ws: &Ws, name: &str, version: &str) {
    let real = real_tool(name);
    ws.tool(
        name,
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{name} {version}'; exit 0; fi\nexec '{}' \"$@\"\n",
            real.display()
        ),
    );
}

#[test]
fn a_tool_upgrade_reruns_its_actions_and_only_those() {
    real_tool("bashrs");
    let ws = Ws::new(
        &format!(
            "{SHELL}      copy: {{ run: [cp, '{{in}}', '{{out}}'], each: '**/*.txt', out: 'notes/{{path}}' }}\n"
        ),
        &[
            ("legacy/a.sh", CLEAN_SH),
            ("legacy/b.sh", CLEAN_SH),
            ("legacy/readme.txt", "notes\n"),
        ],
    );
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(summary(&ev)["executed"], 5);
    let (_, ev) = ws.transpile(&[]);
    assert_eq!(summary(&ev)["executed"], 0);

    upgrade(&ws, "bashrs", "99.0.0-upgraded");
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    // Every bashrs action ran again, through the wrapper; the copy did not.
    assert_eq!(
        outcomes(&ev, "executed"),
        [
            "transpile/shell#gate:a.sh",
            "transpile/shell#gate:b.sh",
            "transpile/shell:a.sh",
            "transpile/shell:b.sh",
        ]
    );
    assert_eq!(outcomes(&ev, "up_to_date"), ["transpile/copy:readme.txt"]);
    let (_, ev) = ws.transpile(&[]);
    assert_eq!(summary(&ev)["executed"], 0);
}

const C_CRATE: &str = r#"version: 1
project: { name: t, source: legacy, output: rust }
stages:
  transpile:
    tasks:
      c: { rule: decy, each: "**/*.c", out: "src/{dir}/{stem}.rs" }
      crate:
        builtin: assemble
        inputs: ["rust/src/**/*.rs"]
        outputs: [rust/Cargo.toml, rust/src/lib.rs]
        with: { name: from-c }
"#;

const CHECKSUM_C: &str = "int checksum(const unsigned char *data, int len) {\n    int sum = 0;\n    int i;\n    for (i = 0; i < len; i++) {\n        sum = (sum * 31 + data[i]) % 65521;\n    }\n    return sum;\n}\n";

#[test]
fn decy_transpiles_real_c_and_rejects_a_syntax_error() {
    real_tool("decy");
    let ws = Ws::new(
        C_CRATE,
        &[
            ("legacy/native/checksum.c", CHECKSUM_C),
            (
                "legacy/add.c",
                "int add(int a, int b) {\n    return a + b;\n}\n",
            ),
        ],
    );
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    let rs = ws.read("rust/src/native/checksum.rs");
    assert!(rs.contains("fn checksum"), "{rs}");
    assert!(ws.read("rust/src/add.rs").contains("fn add"));
    // decy's checksum adds a u8 to an i32, which Rust refuses: the module is quarantined
    // (left out of the crate, its errors recorded), and the crate builds without it.
    let lib = ws.read("rust/src/lib.rs");
    assert!(lib.contains("//   native/checksum.rs\n"), "{lib}");
    assert!(lib.ends_with("pub mod add;\n"), "{lib}");
    let record: serde_json::Value =
        serde_json::from_str(&ws.read(".batuta/transpile/rust/assembly.json")).unwrap();
    let modules = record["modules"].as_array().unwrap();
    assert_eq!(modules[0]["file"], "rust/src/add.rs");
    assert_eq!(modules[0]["quarantined"], false);
    assert_eq!(modules[1]["file"], "rust/src/native/checksum.rs");
    assert_eq!(modules[1]["quarantined"], true);
    let first = &modules[1]["errors"][0];
    assert_eq!(first["code"], "E0308", "{first}");
    assert_eq!(first["line"], 7, "{first}");

    // Edit one file: only its action (and the crate) runs again.
    ws.write(
        "legacy/add.c",
        "int add(int a, int b) {\n    return b + a;\n}\n",
    );
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0);
    assert_eq!(
        outcomes(&ev, "executed"),
        ["transpile/c:add.c", "transpile/crate"]
    );

    ws.write(
        "legacy/add.c",
        "int add(int a, int b) {\n    return a +;\n}\n",
    );
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 1);
    let f = failure(&ev, "transpile/c:add.c");
    assert_eq!(f["code"], "BATUTA-T-002", "{f}");
    assert!(
        f["stderr"]
            .as_str()
            .unwrap()
            .contains("expected expression"),
        "{f}"
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("at legacy/add.c:2:15: expected expression"),
        "{f}"
    );
    assert!(
        !ev.iter()
            .any(|e| e["id"] == "transpile/crate" && e["outcome"] != "up_to_date")
    );
}

/// A C file that compiles only with the macros its build defines: decy (which takes no
/// `-D`) is given them through a prelude, from the task's `with` or from the project's
/// compilation database; without them the file is what cc calls it, a syntax error.
#[test]
fn decy_is_given_the_macros_the_project_compiles_with() {
    real_tool("decy");
    let manifest = |with: &str| {
        format!(
            "version: 1\nproject: {{ name: t, source: legacy, output: rust }}\nstages:\n  transpile:\n    tasks:\n      c: {{ rule: decy, each: \"*.c\", out: \"src/{{stem}}.rs\"{with} }}\n"
        )
    };
    let scale =
        "#include \"scale.h\"\n\nint scale(int x)\n{\n    return x * FACTOR + VER_REVISION;\n}\n";
    let ws = Ws::new(
        &manifest(", with: { defines: { FACTOR: 3, VER_REVISION: \"2\" } }"),
        &[
            ("legacy/scale.c", scale),
            ("legacy/scale.h", "int scale(int x);\n"),
        ],
    );
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    let rs = ws.read("rust/src/scale.rs");
    assert!(rs.contains("(x * 3) + 2"), "{rs}");

    // The project's own flags, as bear writes them, win over nothing declared.
    ws.write("batuta.yaml", &manifest(""));
    let db = format!(
        "[{{\"directory\": \"{}\", \"file\": \"scale.c\", \"arguments\": [\"cc\", \"-DFACTOR=5\", \"-DVER_REVISION=7\", \"-c\", \"scale.c\"]}}]",
        ws.path("legacy").display()
    );
    ws.write("legacy/compile_commands.json", &db);
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    let rs = ws.read("rust/src/scale.rs");
    assert!(rs.contains("(x * 5) + 7"), "{rs}");

    // Without either, the file does not compile, and that is what the failure says.
    std::fs::remove_file(ws.path("legacy/compile_commands.json")).unwrap();
    // Settled, so that this build's database trusts what it saw of the tree.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 1);
    let f = failure(&ev, "transpile/c:scale.c");
    assert_eq!(f["code"], "BATUTA-T-002", "{f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("legacy/scale.c:5:16"),
        "{f}"
    );

    // One written at the workspace's top after that build (as `bear -- make` run there
    // would) is found by the next: the build's database notes that it looked for it.
    let db = db.replace("-DFACTOR=5", "-DFACTOR=4");
    ws.write("compile_commands.json", &db);
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0, "{ev:#?}");
    let rs = ws.read("rust/src/scale.rs");
    assert!(rs.contains("(x * 4) + 7"), "{rs}");
}

/// Copy a folder (the example's sources, not its outputs).
fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["rust", ".batuta", ".batuta-state.json", "build"].contains(&name.to_str().unwrap()) {
            continue;
        }
        let dest = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

#[test]
fn the_legacy_mixed_example_transpiles_with_the_real_tools() {
    for t in ["depyler", "decy", "bashrs"] {
        real_tool(t);
    }
    let ws = Ws::new("", &[]);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/legacy-mixed"),
        ws.dir.path(),
    );
    let (code, _, err) = ws.transpile_text(&[]);
    assert_eq!(code, 0, "{err}");
    for f in [
        "rust/Cargo.toml",
        "rust/src/lib.rs",
        "rust/src/main.rs",
        "rust/src/stats.rs",
        "rust/src/native/checksum.rs",
        "rust/scripts/fetch.sh",
    ] {
        assert!(exists(&ws, f), "{f} was not written:\n{err}");
    }
    // Neither depyler's stats.rs nor decy's checksum.rs compiles (as of depyler 4.1.1 and
    // decy 2.2.0): both are quarantined, and the crate is the program without them.
    let lib = ws.read("rust/src/lib.rs");
    assert!(
        lib.contains("//   native/checksum.rs\n//   stats.rs\n"),
        "{lib}"
    );
    assert!(!lib.contains("pub mod"), "{lib}");
    // Nothing to do the second time.
    let (code, out, _) = ws.transpile_text(&[]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to do"), "{out}");
    // Without depyler: T-001, the Python files, the install command.
    let mut ws = ws;
    let bashrs = real_tool("bashrs");
    let decy = real_tool("decy");
    let only = ws.path("only-some-tools");
    std::fs::create_dir_all(&only).unwrap();
    std::os::unix::fs::symlink(bashrs, only.join("bashrs")).unwrap();
    std::os::unix::fs::symlink(decy, only.join("decy")).unwrap();
    ws.path = only.display().to_string();
    ws.write(
        "legacy/stats.py",
        &ws.read("legacy/stats.py").replace("0.0", "0.5"),
    );
    let (code, _, err) = ws.transpile_text(&["-k"]);
    assert_eq!(code, 1);
    assert!(err.contains("[BATUTA-T-001] depyler is not installed; 2 files need it:\n  legacy/main.py\n  legacy/stats.py\nInstall it with: cargo install --locked depyler"), "{err}");
}

const STATS_PY: &str = "from typing import List\n\n\ndef total(values: List[float]) -> float:\n    result: float = 0.0\n    for v in values:\n        result = result + v\n    return result\n";

#[test]
fn depyler_transpiles_real_python_and_reruns_only_what_changed() {
    real_tool("depyler");
    let ws = Ws::new(
        PY_CRATE,
        &[
            ("legacy/stats.py", STATS_PY),
            (
                "legacy/util/clamp.py",
                "def clamp(x: int, lo: int, hi: int) -> int:\n    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n    return x\n",
            ),
        ],
    );
    let (code, ev) = ws.transpile(&["-j", "2"]);
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(summary(&ev)["executed"], 3);
    assert!(ws.read("rust/src/stats.rs").contains("pub fn total("));
    assert!(ws.read("rust/src/util/clamp.rs").contains("pub fn clamp("));
    // depyler's Cargo.toml beside each .rs is kept per file, for the assembly to merge,
    // not left in the crate's source folders where two files would race for it.
    for f in ["stats.rs", "util/clamp.rs"] {
        let side = ws.read(&format!(".batuta/transpile/rust/src/{f}.Cargo.toml"));
        assert!(side.contains("[package]"), "{f}: {side}");
    }
    assert!(!exists(&ws, "rust/src/Cargo.toml") && !exists(&ws, "rust/src/util/Cargo.toml"));
    assert!(
        ws.read("rust/src/lib.rs")
            .contains("pub mod stats;\npub mod util {\n    pub mod clamp;\n}\n")
    );

    // The assembled package compiles.
    let check = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(["check", "--offline", "--quiet", "--lib", "--manifest-path"])
        .arg(ws.path("rust/Cargo.toml"))
        .env("CARGO_TARGET_DIR", ws.path("target"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Editing one file re-runs its action and the assembly, nothing else.
    ws.write(
        "legacy/stats.py",
        &STATS_PY.replace("result + v", "v + result"),
    );
    let (code, ev) = ws.transpile(&["-j", "2"]);
    assert_eq!(code, 0);
    assert_eq!(
        outcomes(&ev, "executed"),
        ["transpile/crate", "transpile/python:stats.py"]
    );
    assert_eq!(
        outcomes(&ev, "up_to_date"),
        ["transpile/python:util/clamp.py"]
    );

    // An upgrade of depyler re-runs every depyler action.
    upgrade(&ws, "depyler", "4.999.0");
    let (code, ev) = ws.transpile(&[]);
    assert_eq!(code, 0);
    assert_eq!(
        outcomes(&ev, "executed"),
        [
            "transpile/python:stats.py",
            "transpile/python:util/clamp.py"
        ],
        "the outputs are the same, so the assembly is up to date"
    );
}

#[test]
fn depyler_rejects_a_syntax_error_with_t002_and_the_crate_is_assembled_without_it() {
    real_tool("depyler");
    let ws = Ws::new(
        PY_CRATE,
        &[
            ("legacy/stats.py", STATS_PY),
            ("legacy/broken.py", "def f(x:\n    return x\n"),
        ],
    );
    let (code, ev) = ws.transpile(&["-k"]);
    assert_eq!(code, 1);
    let f = failure(&ev, "transpile/python:broken.py");
    assert_eq!(f["code"], "BATUTA-T-002", "{f}");
    let stderr = f["stderr"].as_str().unwrap();
    assert!(stderr.contains("invalid syntax"), "{stderr}");
    assert!(!stderr.contains("Stack backtrace"), "{stderr}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("at legacy/broken.py:2:5: invalid syntax"),
        "{f}"
    );
    assert_eq!(
        outcomes(&ev, "executed"),
        ["transpile/crate", "transpile/python:stats.py"]
    );
    let lib = ws.read("rust/src/lib.rs");
    assert!(
        lib.contains("pub mod stats;") && !lib.contains("broken"),
        "{lib}"
    );

    let (_, _, err) = ws.transpile_text(&[]);
    assert!(err.contains("❌ Transpilation failed!"), "{err}");
    assert!(
        err.contains("invalid syntax. Got unexpected token 'return'"),
        "{err}"
    );
    assert!(err.contains("--> legacy/broken.py:2:5"), "{err}");
    assert!(
        err.contains("[BATUTA-T-002] syntax error in source"),
        "{err}"
    );
}

#[test]
fn ruchy_transpiles_real_ruchy_and_rejects_a_parse_error() {
    real_tool("ruchy");
    let ws = Ws::new(
        r#"version: 1
project: { name: t, source: legacy, output: rust }
stages:
  transpile:
    tasks:
      ruchy: { rule: ruchy, each: "**/*.ruchy", out: "src/{dir}/{stem}.rs" }
"#,
        &[
            (
                "legacy/calc.ruchy",
                "fun add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
            ),
            (
                "legacy/bad.ruchy",
                "fun add(a: i32, b: i32 -> i32 {\n    a +\n}\n",
            ),
        ],
    );
    let (code, ev) = ws.transpile(&["-k"]);
    assert_eq!(code, 1);
    assert_eq!(outcomes(&ev, "executed"), ["transpile/ruchy:calc.ruchy"]);
    let rs = ws.read("rust/src/calc.rs");
    assert!(rs.contains("fn add(a: i32, b: i32) -> i32"), "{rs}");
    let f = failure(&ev, "transpile/ruchy:bad.ruchy");
    assert_eq!(f["code"], "BATUTA-T-002", "{f}");
    let stderr = f["stderr"].as_str().unwrap();
    assert!(stderr.contains("Failed to parse input"), "{stderr}");
    assert!(!stderr.contains("Stack backtrace"), "{stderr}");
}

#[test]
fn a_manifests_own_rule_running_depyler_gets_its_cargo_toml_kept_too() {
    // MANIFEST.md's example: its own `tools:` and `rules:` for depyler, not the template.
    real_tool("depyler");
    let ws = Ws::new(
        r#"version: 1
project: { name: t, source: legacy, output: rust }
tools:
  py2rs: { command: depyler, version: ["--version"], install: "cargo install depyler" }
rules:
  py-to-rust:
    tool: py2rs
    run: ["{tool}", "transpile", "{in}", "-o", "{out}"]
stages:
  transpile:
    tasks:
      python: { rule: py-to-rust, each: "**/*.py", out: "src/{dir}/{stem}.rs" }
"#,
        &[("legacy/a.py", STATS_PY), ("legacy/b.py", STATS_PY)],
    );
    let (code, ev) = ws.transpile(&["-j", "2"]);
    assert_eq!(code, 0, "{ev:#?}");
    for f in ["a", "b"] {
        assert!(
            ws.read(&format!("rust/src/{f}.rs"))
                .contains("pub fn total(")
        );
        let side = ws.read(&format!(".batuta/transpile/rust/src/{f}.rs.Cargo.toml"));
        assert!(side.contains("[package]"), "{side}");
    }
    assert!(!exists(&ws, "rust/src/Cargo.toml"));
}
