//! Dependency manifests: what a project pulls in, by name, version constraint and manager.
//! Each parser reads one file statically; nothing is executed (`setup.py` included).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::syntax::{self, Grammar, text};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    /// As written (`^2.0`, `*`), or for PEP 508 requirements as pep508_rs writes them back
    /// (`>=1.21, <2`, `@ https://…`); empty when none.
    pub constraint: String,
    /// pip, pyproject, poetry, setuptools, pipenv, conda, cmake, make, npm, cargo.
    pub manager: String,
    /// runtime, dev, build or optional.
    pub scope: String,
}

/// Whether `rel` names a file this module reads.
pub fn is_manifest(rel: &str) -> bool {
    kind(rel).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Requirements,
    Pyproject,
    SetupCfg,
    SetupPy,
    Pipfile,
    Conda,
    CMake,
    Make,
    PackageJson,
    Cargo,
}

fn kind(rel: &str) -> Option<Kind> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let in_req_dir = rel.split('/').rev().nth(1) == Some("requirements");
    Some(match name {
        "pyproject.toml" => Kind::Pyproject,
        "setup.cfg" => Kind::SetupCfg,
        "setup.py" => Kind::SetupPy,
        "Pipfile" => Kind::Pipfile,
        "environment.yml" | "environment.yaml" => Kind::Conda,
        "CMakeLists.txt" => Kind::CMake,
        "Makefile" | "makefile" | "GNUmakefile" => Kind::Make,
        "package.json" => Kind::PackageJson,
        "Cargo.toml" => Kind::Cargo,
        n if n.ends_with(".cmake") => Kind::CMake,
        n if n.ends_with(".mk") => Kind::Make,
        n if n.starts_with("requirements") && (n.ends_with(".txt") || n.ends_with(".in")) => {
            Kind::Requirements
        }
        n if in_req_dir && n.ends_with(".txt") => Kind::Requirements,
        _ => return None,
    })
}

/// What a manifest says: its dependencies, and notes on what could not be read as one (a
/// computed `install_requires`, a line that is no PEP 508 requirement).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub dependencies: Vec<Dependency>,
    pub notes: Vec<String>,
}

impl Parsed {
    /// A PEP 508 requirement (`name[extras] constraint ; marker`, or `name @ url`), read by
    /// pep508_rs; a string that is none is noted, never guessed at.
    fn pep508(&mut self, spec: &str, manager: &str, scope: &str) {
        let spec = spec.trim();
        if spec.is_empty() {
            return;
        }
        match pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(spec) {
            Ok(r) => {
                let constraint = match &r.version_or_url {
                    Some(pep508_rs::VersionOrUrl::VersionSpecifier(v)) => v.to_string(),
                    Some(pep508_rs::VersionOrUrl::Url(u)) => format!("@ {u}"),
                    None => String::new(),
                };
                self.dependencies
                    .push(dep(r.name.as_ref(), &constraint, manager, scope));
            }
            Err(e) => self.notes.push(format!(
                "'{spec}' is not a PEP 508 requirement: {}",
                e.message
            )),
        }
    }
}

/// The dependencies a manifest declares; `Err` says why the file could not be read.
pub fn parse(rel: &str, src: &str) -> Result<Parsed, String> {
    let Some(k) = kind(rel) else {
        return Ok(Parsed::default());
    };
    let dev = rel.contains("dev") || rel.contains("test");
    let mut p = Parsed::default();
    let plain = |deps: Vec<Dependency>| Parsed {
        dependencies: deps,
        notes: Vec::new(),
    };
    match k {
        Kind::Requirements => requirements(src, if dev { "dev" } else { "runtime" }, &mut p),
        Kind::Pyproject => pyproject(src, &mut p)?,
        Kind::SetupCfg => setup_cfg(src, &mut p),
        Kind::SetupPy => setup_py(src, &mut p)?,
        Kind::Pipfile => p = plain(pipfile(src)?),
        Kind::Conda => conda(src, &mut p)?,
        Kind::CMake => p = plain(cmake(src)),
        Kind::Make => p = plain(make(src)),
        Kind::PackageJson => p = plain(package_json(src)?),
        Kind::Cargo => p = plain(cargo(src)?),
    }
    p.dependencies.sort();
    p.dependencies.dedup();
    Ok(p)
}

fn dep(name: &str, constraint: &str, manager: &str, scope: &str) -> Dependency {
    Dependency {
        name: name.trim().to_owned(),
        constraint: constraint.trim().to_owned(),
        manager: manager.to_owned(),
        scope: scope.to_owned(),
    }
}

/// A requirements file: one requirement a line; pip's options (`-r`, `--hash=…` after a
/// requirement) and bare URLs are pip's business, not dependencies by name.
fn requirements(src: &str, scope: &str, p: &mut Parsed) {
    for l in src.lines() {
        let l = l.split(" #").next().unwrap_or("");
        let l = l.split(" --").next().unwrap_or("").trim();
        if l.is_empty()
            || l.starts_with('#')
            || l.starts_with('-')
            || l.contains("://") && !l.contains(" @ ")
        {
            continue;
        }
        p.pep508(l, "pip", scope);
    }
}

fn toml_table(src: &str) -> Result<toml::Table, String> {
    src.parse::<toml::Table>()
        .map_err(|e| format!("invalid TOML: {}", e.message()))
}

/// Poetry, Pipfile and Cargo write `name = "constraint"` or `name = { version = "…" }`.
fn table_deps(t: Option<&toml::Value>, manager: &str, scope: &str, out: &mut Vec<Dependency>) {
    let Some(t) = t.and_then(|v| v.as_table()) else {
        return;
    };
    for (name, v) in t {
        if manager == "poetry" && name == "python" {
            continue;
        }
        let constraint = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Table(t) => t
                .get("version")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .or_else(|| {
                    t.get("path")
                        .and_then(|p| p.as_str())
                        .map(|p| format!("path {p}"))
                })
                .or_else(|| {
                    t.get("git")
                        .and_then(|g| g.as_str())
                        .map(|g| format!("git {g}"))
                })
                .or_else(|| {
                    t.get("workspace")
                        .and_then(|w| w.as_bool())
                        .filter(|w| *w)
                        .map(|_| "workspace".to_owned())
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        out.push(dep(name, &constraint, manager, scope));
    }
}

fn get<'a>(v: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = v.get(*first)?;
    for k in rest {
        cur = cur.as_table()?.get(*k)?;
    }
    Some(cur)
}

fn pyproject(src: &str, p: &mut Parsed) -> Result<(), String> {
    let t = toml_table(src)?;
    let out = &mut p.dependencies;
    let mut specs: Vec<(String, &str)> = Vec::new();
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    for s in strings(get(&t, &["project", "dependencies"])) {
        specs.push((s, "runtime"));
    }
    if let Some(opt) = get(&t, &["project", "optional-dependencies"]).and_then(|v| v.as_table()) {
        for v in opt.values() {
            for s in strings(Some(v)) {
                specs.push((s, "optional"));
            }
        }
    }
    for s in strings(get(&t, &["build-system", "requires"])) {
        specs.push((s, "build"));
    }
    table_deps(
        get(&t, &["tool", "poetry", "dependencies"]),
        "poetry",
        "runtime",
        out,
    );
    table_deps(
        get(&t, &["tool", "poetry", "dev-dependencies"]),
        "poetry",
        "dev",
        out,
    );
    if let Some(groups) = get(&t, &["tool", "poetry", "group"]).and_then(|g| g.as_table()) {
        for g in groups.values() {
            table_deps(g.get("dependencies"), "poetry", "dev", out);
        }
    }
    for (s, scope) in specs {
        p.pep508(&s, "pyproject", scope);
    }
    Ok(())
}

fn setup_cfg(src: &str, p: &mut Parsed) {
    let mut section = String::new();
    let mut key: Option<(String, String)> = None; // (key, scope)
    for raw in src.lines() {
        let line = raw.split(['#', ';']).next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        if let Some(s) = line.trim().strip_prefix('[') {
            section = s.trim_end_matches(']').to_owned();
            key = None;
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if !indented {
            key = None;
            if let Some((k, v)) = line.split_once(['=', ':']) {
                let k = k.trim();
                let scope = match (section.as_str(), k) {
                    ("options", "install_requires") => Some("runtime"),
                    ("options", "setup_requires") => Some("build"),
                    ("options", "tests_require") => Some("dev"),
                    ("options.extras_require", _) => Some("optional"),
                    _ => None,
                };
                if let Some(scope) = scope {
                    key = Some((k.to_owned(), scope.to_owned()));
                    p.pep508(v, "setuptools", scope);
                }
            }
        } else if let Some((_, scope)) = &key {
            p.pep508(line, "setuptools", scope);
        }
    }
}

/// `setup(install_requires=[...])`, the list written inline or as a module-level name. A
/// list setup.py computes (`min_deps.tag_to_packages["install"]`, a comprehension, a name
/// bound to something else) is noted as computed: nothing is executed, so nothing is read.
fn setup_py(src: &str, p: &mut Parsed) -> Result<(), String> {
    let tree = syntax::parse(Grammar::Python, src)?;
    let root = tree.root_node();
    let mut lists = std::collections::HashMap::new();
    let mut c = root.walk();
    for stmt in root.named_children(&mut c) {
        if stmt.kind() == "expression_statement"
            && let Some(a) = stmt.named_child(0)
            && a.kind() == "assignment"
            && let (Some(l), Some(r)) = (
                a.child_by_field_name("left"),
                a.child_by_field_name("right"),
            )
            && l.kind() == "identifier"
        {
            lists.insert(text(l, src).to_owned(), r);
        }
    }
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if n.kind() == "keyword_argument"
            && let (Some(k), Some(v)) = (
                n.child_by_field_name("name"),
                n.child_by_field_name("value"),
            )
        {
            let key = text(k, src);
            let scope = match key {
                "install_requires" => Some("runtime"),
                "setup_requires" => Some("build"),
                "tests_require" => Some("dev"),
                _ => None,
            };
            if let Some(scope) = scope {
                let list = if v.kind() == "identifier" {
                    lists.get(text(v, src)).copied().unwrap_or(v)
                } else {
                    v
                };
                literal_list(list, src, scope, p).unwrap_or_else(|| {
                    p.notes.push(format!(
                        "line {}: {key} is computed, not read: {}",
                        v.start_position().row + 1,
                        text(v, src)
                    ))
                });
            }
        }
        let mut nc = n.walk();
        stack.extend(n.named_children(&mut nc));
    }
    Ok(())
}

/// The requirements of a list or tuple of string literals, or `None` when it is anything
/// else (any item that is not a plain string makes the whole list computed).
fn literal_list(list: tree_sitter::Node<'_>, src: &str, scope: &str, p: &mut Parsed) -> Option<()> {
    if !matches!(list.kind(), "list" | "tuple") {
        return None;
    }
    let mut c = list.walk();
    let items: Vec<_> = list
        .named_children(&mut c)
        .filter(|i| i.kind() != "comment")
        .collect();
    let mut specs = Vec::new();
    for item in items {
        // A plain string: no f-string interpolation, no implicit concatenation.
        let mut ic = item.walk();
        let plain = item.kind() == "string"
            && item
                .named_children(&mut ic)
                .all(|ch| matches!(ch.kind(), "string_start" | "string_content" | "string_end"));
        if !plain {
            return None;
        }
        specs.push(text(item, src).trim_matches(|c| c == '"' || c == '\''));
    }
    for s in specs {
        p.pep508(s, "setuptools", scope);
    }
    Some(())
}

fn pipfile(src: &str) -> Result<Vec<Dependency>, String> {
    let t = toml_table(src)?;
    let mut out = Vec::new();
    table_deps(t.get("packages"), "pipenv", "runtime", &mut out);
    table_deps(t.get("dev-packages"), "pipenv", "dev", &mut out);
    Ok(out)
}

fn conda(src: &str, p: &mut Parsed) -> Result<(), String> {
    let v: serde_json::Value =
        serde_saphyr::from_str(src).map_err(|e| format!("invalid YAML: {e}"))?;
    for d in v
        .get("dependencies")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
    {
        match d {
            serde_json::Value::String(s) => {
                // conda specs: `numpy=1.21`, `numpy >=1.21`, `conda-forge::numpy`.
                let s = s.rsplit("::").next().unwrap_or(s);
                let end = s.find(['=', '<', '>', '!', ' ']).unwrap_or(s.len());
                p.dependencies
                    .push(dep(&s[..end], &s[end..], "conda", "runtime"));
            }
            serde_json::Value::Object(m) => {
                for pip in m
                    .get("pip")
                    .and_then(|p| p.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(s) = pip.as_str() {
                        p.pep508(s, "pip", "runtime");
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// CMake commands as (name, arguments), comments removed.
fn cmake_commands(src: &str) -> Vec<(String, Vec<String>)> {
    let clean: String = src
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let mut rest = clean.as_str();
    while let Some(open) = rest.find('(') {
        let name = rest[..open]
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut depth = 0;
        let mut close = rest.len();
        for (i, ch) in rest[open..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = rest[open + 1..close.min(rest.len())]
            .split_whitespace()
            .map(|a| a.trim_matches('"').to_owned())
            .collect();
        out.push((name, args));
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out
}

fn cmake(src: &str) -> Vec<Dependency> {
    const KEYWORDS: &[&str] = &[
        "PUBLIC",
        "PRIVATE",
        "INTERFACE",
        "REQUIRED",
        "QUIET",
        "CONFIG",
        "MODULE",
        "COMPONENTS",
        "OPTIONAL_COMPONENTS",
        "EXACT",
        "NO_MODULE",
        "debug",
        "optimized",
        "general",
        "LINK_PUBLIC",
        "LINK_PRIVATE",
    ];
    let mut out = Vec::new();
    for (name, args) in cmake_commands(src) {
        match name.as_str() {
            "find_package" => {
                if let Some(pkg) = args.first() {
                    let version = args
                        .get(1)
                        .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
                        .map_or("", String::as_str);
                    out.push(dep(pkg, version, "cmake", "runtime"));
                }
            }
            "target_link_libraries" => {
                for lib in args.iter().skip(1) {
                    if KEYWORDS.contains(&lib.as_str())
                        || lib.starts_with("${")
                        || lib.starts_with('$')
                    {
                        continue;
                    }
                    out.push(dep(lib.trim_start_matches("-l"), "", "cmake", "runtime"));
                }
            }
            _ => {}
        }
    }
    out
}

fn make(src: &str) -> Vec<Dependency> {
    let mut out = Vec::new();
    for line in src.lines() {
        let line = line.split('#').next().unwrap_or("");
        for word in line.split_whitespace() {
            let word = word.trim_matches(|c| c == '"' || c == '\'');
            if let Some(lib) = word.strip_prefix("-l")
                && !lib.is_empty()
                && lib
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'))
            {
                out.push(dep(lib, "", "make", "runtime"));
            }
        }
    }
    out
}

fn package_json(src: &str) -> Result<Vec<Dependency>, String> {
    let v: serde_json::Value =
        serde_json::from_str(src).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut out = Vec::new();
    for (key, scope) in [
        ("dependencies", "runtime"),
        ("devDependencies", "dev"),
        ("peerDependencies", "runtime"),
        ("optionalDependencies", "optional"),
    ] {
        for (name, c) in v.get(key).and_then(|d| d.as_object()).into_iter().flatten() {
            out.push(dep(name, c.as_str().unwrap_or(""), "npm", scope));
        }
    }
    Ok(out)
}

fn cargo(src: &str) -> Result<Vec<Dependency>, String> {
    let t = toml_table(src)?;
    let mut out = Vec::new();
    table_deps(t.get("dependencies"), "cargo", "runtime", &mut out);
    table_deps(t.get("dev-dependencies"), "cargo", "dev", &mut out);
    table_deps(t.get("build-dependencies"), "cargo", "build", &mut out);
    table_deps(
        get(&t, &["workspace", "dependencies"]),
        "cargo",
        "runtime",
        &mut out,
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(rel: &str, src: &str) -> Vec<(String, String, String, String)> {
        parse(rel, src)
            .unwrap()
            .dependencies
            .into_iter()
            .map(|d| (d.name, d.constraint, d.manager, d.scope))
            .collect()
    }

    fn d(n: &str, c: &str, m: &str, s: &str) -> (String, String, String, String) {
        (n.into(), c.into(), m.into(), s.into())
    }

    #[test]
    fn requirements_txt() {
        let src = "# pinned\nnumpy>=1.21,<2  # math\nrequests[socks]==2.31 ; python_version>'3.8'\n-r other.txt\n--index-url x\ngit+https://x/y.git\n\nscikit-learn\n";
        assert_eq!(
            names("requirements.txt", src),
            [
                d("numpy", ">=1.21, <2", "pip", "runtime"),
                d("requests", "==2.31", "pip", "runtime"),
                d("scikit-learn", "", "pip", "runtime")
            ]
        );
        assert_eq!(
            names("requirements-dev.txt", "pytest\n"),
            [d("pytest", "", "pip", "dev")]
        );
        assert!(is_manifest("requirements/base.txt"));
        assert!(!is_manifest("notes.txt"));
    }

    #[test]
    fn pyproject_pep621_and_poetry() {
        let src = r#"
[build-system]
requires = ["setuptools>=61"]
[project]
name = "x"
dependencies = ["numpy (>=1.2)", "torch"]
[project.optional-dependencies]
plot = ["matplotlib>=3"]
[tool.poetry.dependencies]
python = "^3.10"
pandas = "^2.0"
scipy = { version = ">=1.11", optional = true }
[tool.poetry.group.test.dependencies]
pytest = "*"
"#;
        assert_eq!(
            names("pyproject.toml", src),
            [
                d("matplotlib", ">=3", "pyproject", "optional"),
                d("numpy", ">=1.2", "pyproject", "runtime"),
                d("pandas", "^2.0", "poetry", "runtime"),
                d("pytest", "*", "poetry", "dev"),
                d("scipy", ">=1.11", "poetry", "runtime"),
                d("setuptools", ">=61", "pyproject", "build"),
                d("torch", "", "pyproject", "runtime"),
            ]
        );
        assert!(
            parse("pyproject.toml", "[project\n")
                .unwrap_err()
                .contains("TOML")
        );
    }

    #[test]
    fn setup_cfg_and_setup_py() {
        let cfg = "[metadata]\nname = x\n[options]\ninstall_requires =\n    numpy>=1.0\n    requests\npython_requires = >=3.8\n";
        assert_eq!(
            names("setup.cfg", cfg),
            [
                d("numpy", ">=1.0", "setuptools", "runtime"),
                d("requests", "", "setuptools", "runtime")
            ]
        );
        let py = "from setuptools import setup\nREQS = ['click>=8', \"rich\"]\nsetup(name='x', install_requires=REQS, tests_require=['pytest'])\n";
        assert_eq!(
            names("setup.py", py),
            [
                d("click", ">=8", "setuptools", "runtime"),
                d("pytest", "", "setuptools", "dev"),
                d("rich", "", "setuptools", "runtime")
            ]
        );
    }

    #[test]
    fn a_computed_install_requires_is_noted_not_read() {
        // scikit-learn's setup.py: the list comes from a module it imports.
        let py = "import sklearn._min_dependencies as min_deps\nsetup(name='scikit-learn',\n      install_requires=min_deps.tag_to_packages[\"install\"],\n      setup_requires=[f'numpy>={V}'],\n      tests_require=['pytest', EXTRA])\n";
        let p = parse("setup.py", py).unwrap();
        assert_eq!(p.dependencies, []);
        assert_eq!(
            p.notes,
            [
                "line 5: tests_require is computed, not read: ['pytest', EXTRA]",
                "line 4: setup_requires is computed, not read: [f'numpy>={V}']",
                "line 3: install_requires is computed, not read: min_deps.tag_to_packages[\"install\"]",
            ]
        );
    }

    #[test]
    fn pep508_names_extras_markers_urls_and_pip_options() {
        let src = "Scikit_Learn[alldeps] >= 1.0 ; python_version >= '3.9'\nnumpy==2.0 --hash=sha256:00\npkg @ https://example.org/pkg-1.0.whl\nnot a requirement!\n";
        let p = parse("requirements.txt", src).unwrap();
        let got: Vec<_> = p
            .dependencies
            .iter()
            .map(|d| (d.name.as_str(), d.constraint.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("numpy", "==2.0"),
                ("pkg", "@ https://example.org/pkg-1.0.whl"),
                ("scikit-learn", ">=1.0")
            ]
        );
        assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
        assert!(
            p.notes[0].starts_with("'not a requirement!' is not a PEP 508 requirement"),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn pipfile_and_conda() {
        let pf = "[packages]\nflask = \"==2.0\"\nnumpy = \"*\"\n[dev-packages]\npytest = { version = \">=7\" }\n";
        assert_eq!(
            names("Pipfile", pf),
            [
                d("flask", "==2.0", "pipenv", "runtime"),
                d("numpy", "*", "pipenv", "runtime"),
                d("pytest", ">=7", "pipenv", "dev")
            ]
        );
        let env = "name: x\ndependencies:\n  - python=3.11\n  - conda-forge::numpy>=1.24\n  - pip:\n      - torch==2.1\n";
        assert_eq!(
            names("environment.yml", env),
            [
                d("numpy", ">=1.24", "conda", "runtime"),
                d("python", "=3.11", "conda", "runtime"),
                d("torch", "==2.1", "pip", "runtime")
            ]
        );
    }

    #[test]
    fn cmake_and_make() {
        let cm = "cmake_minimum_required(VERSION 3.10)\nfind_package(OpenCV 4.2 REQUIRED)  # vision\nfind_package(Threads)\nadd_executable(app main.cpp)\ntarget_link_libraries(app PRIVATE ${OpenCV_LIBS} Threads::Threads m)\n";
        assert_eq!(
            names("CMakeLists.txt", cm),
            [
                d("OpenCV", "4.2", "cmake", "runtime"),
                d("Threads", "", "cmake", "runtime"),
                d("Threads::Threads", "", "cmake", "runtime"),
                d("m", "", "cmake", "runtime")
            ]
        );
        let mk =
            "LDLIBS = -lm -lpthread # -lignored\napp: main.o\n\t$(CC) -o $@ $^ -lz -L/usr/lib\n";
        assert_eq!(
            names("Makefile", mk),
            [
                d("m", "", "make", "runtime"),
                d("pthread", "", "make", "runtime"),
                d("z", "", "make", "runtime")
            ]
        );
    }

    #[test]
    fn package_json_and_cargo() {
        let pj = r#"{"dependencies": {"react": "^18.0.0"}, "devDependencies": {"jest": "29"}}"#;
        assert_eq!(
            names("package.json", pj),
            [
                d("jest", "29", "npm", "dev"),
                d("react", "^18.0.0", "npm", "runtime")
            ]
        );
        let ct = "[package]\nname='x'\n[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\nlocal = { path = \"../l\" }\n[dev-dependencies]\ninsta = \"1.4\"\n";
        assert_eq!(
            names("Cargo.toml", ct),
            [
                d("insta", "1.4", "cargo", "dev"),
                d("local", "path ../l", "cargo", "runtime"),
                d("serde", "1", "cargo", "runtime")
            ]
        );
        assert!(parse("package.json", "{").is_err());
    }
}
