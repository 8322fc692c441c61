//! `batuta init` on a tree of several components: one project per Python package (a folder
//! with setup.py or pyproject.toml), C program or library (a folder with a Makefile or
//! CMakeLists.txt and C files) and scripts folder, written as a workspace (`projects:`)
//! that shares the analyze stage, each project with the stages of its languages.

use std::fmt::Write as _;
use std::path::Path;

use batuta_rules::analyze::FileReport;
use batuta_rules::analyze::report;

/// A project init proposes: its folder (relative to the source, `.` for it), its name, and
/// why it is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub name: String,
    pub dir: String,
    pub why: String,
}

/// The folders that look like components of their own, outermost first. A tree with one
/// (or none) is one migration.
pub fn propose(files: &[FileReport], top: &str) -> Vec<Proposal> {
    let mut found: Vec<(String, String)> = Vec::new();
    fn add(found: &mut Vec<(String, String)>, dir: &str, why: String) {
        if !found.iter().any(|(d, _)| d == dir) {
            found.push((dir.to_owned(), why));
        }
    }
    let parent = |path: &str| path.rsplit_once('/').map_or(".", |(d, _)| d).to_owned();
    let under = |dir: &str, path: &str| dir == "." || path.starts_with(&format!("{dir}/"));
    let has = |dir: &str, lang: &str| {
        files
            .iter()
            .any(|f| f.language.as_deref() == Some(lang) && under(dir, &f.path))
    };
    for f in files {
        let name = f.path.rsplit('/').next().unwrap_or(&f.path);
        let dir = parent(&f.path);
        match name {
            "setup.py" | "pyproject.toml" if has(&dir, "Python") => {
                add(
                    &mut found,
                    &dir,
                    format!("a Python package: {} is in it", f.path),
                );
            }
            "Makefile" | "makefile" | "GNUmakefile" | "CMakeLists.txt" if has(&dir, "C") => {
                add(&mut found, &dir, format!("C code built by {}", f.path));
            }
            _ => {}
        }
    }
    // Scripts folders: shell scripts in a folder named for them, outside the packages.
    for f in files
        .iter()
        .filter(|f| f.language.as_deref() == Some("Shell"))
    {
        let dir = parent(&f.path);
        let named = matches!(
            dir.rsplit('/').next(),
            Some("scripts" | "bin" | "tools" | "sbin")
        );
        if named && !found.iter().any(|(d, _)| under(d, &f.path)) {
            add(
                &mut found,
                &dir,
                format!("shell scripts: {dir}/ holds them"),
            );
        }
    }
    // Language roots: the code no package, program or scripts folder holds, by top folder.
    for f in files {
        let Some(lang) = f.language.as_deref().filter(|_| is_code(f)) else {
            continue;
        };
        if found.iter().any(|(d, _)| under(d, &f.path)) {
            continue;
        }
        let top_dir = match f.path.split_once('/') {
            Some((top, _)) => top.to_owned(),
            None => ".".to_owned(),
        };
        add(
            &mut found,
            &top_dir,
            format!("{lang} code: {top_dir}/ holds it"),
        );
    }
    found.sort_by_key(|(d, _)| (d != ".", d.matches('/').count(), d.clone()));
    let mut out: Vec<Proposal> = Vec::new();
    for (dir, why) in found {
        let base = if dir == "." {
            top
        } else {
            dir.rsplit('/').next().unwrap_or(&dir)
        };
        let mut name: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if name.is_empty() {
            name = "project".to_owned();
        }
        let stem = name.clone();
        let mut n = 2;
        while out.iter().any(|p| p.name == name) {
            name = format!("{stem}-{n}");
            n += 1;
        }
        out.push(Proposal { name, dir, why });
    }
    out
}

/// Code of a language batuta migrates.
fn is_code(f: &FileReport) -> bool {
    matches!(f.language.as_deref(), Some("Python" | "C" | "Shell"))
}

/// The workspace manifest: each project with the stages of its own languages, the analyze
/// stage shared, every choice commented.
pub fn manifest_text(
    root: &Path,
    source: &str,
    files: &[FileReport],
    proposals: &[Proposal],
) -> String {
    let mut o = String::new();
    let all = report::aggregate(files.to_vec(), &[]);
    let _ = writeln!(
        o,
        "# batuta.yaml: the migration of this code to Rust, written by `batuta init`.\n\
         # Every key is explained in batuta.yaml.example; check this file with `batuta check`.\n\
         #\n\
         # Found in {source}: {} files, {} lines of code, in {} components that move at their\n\
         # own pace, so each is a project of its own: its own crate, its own board in\n\
         # `batuta status`, and with --keep-going one failing does not stop the others.",
        all.files,
        all.code,
        proposals.len()
    );
    let under = |dir: &str, path: &str| dir == "." || path.starts_with(&format!("{dir}/"));
    let join = |dir: &str| match (source, dir) {
        (".", d) => d.to_owned(),
        (s, ".") => s.to_owned(),
        (s, d) => format!("{s}/{d}"),
    };
    // Each file belongs to the innermost project that holds it.
    let owner = |path: &str| {
        proposals
            .iter()
            .rposition(|p| under(&p.dir, path))
            .map(|i| &proposals[i])
    };
    let outside: Vec<&FileReport> = files
        .iter()
        .filter(|f| is_code(f) && owner(&f.path).is_none())
        .collect();
    if !outside.is_empty() {
        let _ = writeln!(
            o,
            "# {} file(s) outside every project are left out (add a project for them, or\n\
             # widen one's source): {}",
            outside.len(),
            outside
                .iter()
                .take(5)
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(o, "\nversion: 1\n\nprojects:");
    for p in proposals {
        let mine: Vec<FileReport> = files
            .iter()
            .filter(|f| owner(&f.path).is_some_and(|q| q.name == p.name))
            .map(|f| {
                let mut f = f.clone();
                if p.dir != "." {
                    f.path = f.path[p.dir.len() + 1..].to_owned();
                }
                f
            })
            .collect();
        let dir = root.join(if p.dir == "." { "" } else { &p.dir });
        let scripts = super::scripts(&mine);
        let c = super::c_program(&dir, &mine);
        let a = report::aggregate(mine, &[]);
        let langs: Vec<String> = a
            .languages
            .iter()
            .take(3)
            .map(|l| format!("{} {}", l.files, l.name))
            .collect();
        let _ = writeln!(o, "  # {} ({}).", p.why, langs.join(", "));
        let _ = writeln!(o, "  {}:", p.name);
        let _ = writeln!(o, "    source: {}", super::yaml_str(&join(&p.dir)));
        let _ = writeln!(
            o,
            "    output: {}",
            super::yaml_str(&format!("rust/{}", p.name))
        );
        // The projects inside this one are theirs, not its.
        let inner: Vec<String> = proposals
            .iter()
            .filter(|q| q.dir != p.dir && under(&p.dir, &q.dir))
            .map(|q| {
                let rel = if p.dir == "." {
                    q.dir.clone()
                } else {
                    q.dir[p.dir.len() + 1..].to_owned()
                };
                super::yaml_str(&format!("{rel}/**"))
            })
            .collect();
        let exclude: Vec<String> = super::EXCLUDE
            .iter()
            .map(|e| super::yaml_str(e))
            .chain(inner)
            .collect();
        let _ = writeln!(o, "    exclude: [{}]", exclude.join(", "));
        let mut stages = String::new();
        let output = format!("rust/{}", p.name);
        super::stages_text(
            &mut stages,
            &p.name,
            &join(&p.dir),
            &output,
            &a,
            &scripts,
            c.as_ref(),
            false,
        );
        for line in stages.lines() {
            if line.is_empty() {
                o.push('\n');
            } else {
                let _ = writeln!(o, "    {line}");
            }
        }
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "# Shared by every project (a project's own stage of the same name replaces it)."
    );
    let _ = writeln!(o, "stages:");
    super::analyze_stage(&mut o);
    let _ = writeln!(
        o,
        "\n# What `batuta build TARGET` runs: a stage name means that stage of every project,\n\
         # `project:stage` one project's, and a project's name all of its stages.\n\
         targets:\n  analysis: [analyze]"
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, language: &str) -> FileReport {
        FileReport {
            path: path.to_owned(),
            language: Some(language.to_owned()),
            ..FileReport::default()
        }
    }

    #[test]
    fn a_package_a_c_program_and_scripts_are_three_projects() {
        let files = [
            file("service/setup.py", "Python"),
            file("service/service/app.py", "Python"),
            file("libcodec/Makefile", "Makefile"),
            file("libcodec/codec.c", "C"),
            file("scripts/deploy.sh", "Shell"),
            file("README", "Text"),
        ];
        let p = propose(&files, "repo");
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libcodec", "scripts", "service"]);
        assert!(p[0].why.contains("libcodec/Makefile"), "{:?}", p[0]);
    }

    #[test]
    fn one_package_is_one_migration() {
        let files = [
            file("setup.py", "Python"),
            file("pkg/a.py", "Python"),
            file("scripts/release.sh", "Shell"),
        ];
        assert_eq!(propose(&files, "repo").len(), 1);
    }

    #[test]
    fn loose_code_is_a_project_per_top_folder() {
        let files = [
            file("docopt/docopt.py", "Python"),
            file("sl/Makefile", "Makefile"),
            file("sl/sl.c", "C"),
        ];
        let p = propose(&files, "repo");
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].why, "Python code: docopt/ holds it");
    }
}
