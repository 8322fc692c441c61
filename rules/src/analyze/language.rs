//! Which language a file is written in: by file name, extension, shebang, and for `.h`
//! headers by content (C++ constructs make a header C++).

use serde::{Deserialize, Serialize};
use tokei::LanguageType;

/// How a language was recognised, shown so a user can see why a file counts as what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detection {
    Filename,
    Extension,
    Shebang,
    Content,
}

/// A recognised file: tokei's language (which counts its lines) and the family it is
/// reported under (`C Header` counts as C, `BASH` as Shell…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub tokei: LanguageType,
    pub family: &'static str,
    pub by: Detection,
}

/// The family a tokei language is reported under.
pub fn family(t: LanguageType) -> &'static str {
    use LanguageType as L;
    match t {
        L::Python => "Python",
        L::C | L::CHeader => "C",
        L::Cpp | L::CppHeader => "C++",
        L::Sh | L::Bash | L::Zsh => "Shell",
        L::JavaScript | L::Jsx => "JavaScript",
        L::TypeScript | L::Tsx => "TypeScript",
        other => other.name(),
    }
}

/// Detect the language of `rel` (a `/`-separated path) whose first bytes are `head`.
pub fn detect(rel: &str, head: &[u8]) -> Option<Detected> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let config = tokei::Config::default();
    // tokei reads the shebang of an extension-less file from disk; a folder that cannot
    // exist keeps it from opening anything, since the content is at hand.
    let probe = std::path::Path::new("/nonexistent-batuta-probe").join(name);
    let by_path = LanguageType::from_path(&probe, &config);
    let has_ext = name
        .rsplit_once('.')
        .is_some_and(|(stem, _)| !stem.is_empty());
    let (t, by) = match by_path {
        Some(t)
            if has_ext
                && name.rsplit_once('.').and_then(|(_, e)| {
                    LanguageType::from_file_extension(&e.to_ascii_lowercase())
                }) == Some(t) =>
        {
            (t, Detection::Extension)
        }
        // A known file name (Makefile, CMakeLists.txt) or tokei's own shebang probe.
        Some(t) if !head.starts_with(b"#!") => (t, Detection::Filename),
        _ => (shebang(head)?, Detection::Shebang),
    };
    if t == LanguageType::CHeader && looks_like_cpp(head) {
        return Some(Detected {
            tokei: LanguageType::CppHeader,
            family: "C++",
            by: Detection::Content,
        });
    }
    Some(Detected {
        tokei: t,
        family: family(t),
        by,
    })
}

/// The interpreter named by a `#!` line: `#!/bin/sh`, `#!/usr/bin/env bash`, `#!/usr/bin/python3 -u`.
pub fn shebang(head: &[u8]) -> Option<LanguageType> {
    let line = head.strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    let mut prog = words.next()?.rsplit('/').next()?;
    if prog == "env" {
        prog = words.find(|w| !w.starts_with('-'))?;
    }
    let base = prog.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    use LanguageType as L;
    Some(match base {
        "python" | "pypy" => L::Python,
        "sh" | "dash" | "ash" | "ksh" => L::Sh,
        "bash" => L::Bash,
        "zsh" => L::Zsh,
        "node" | "nodejs" => L::JavaScript,
        "deno" | "ts-node" => L::TypeScript,
        "perl" => L::Perl,
        "ruby" => L::Ruby,
        "make" => L::Makefile,
        _ => return None,
    })
}

/// C++-only constructs in a header: classes with access specifiers, namespaces, templates,
/// the standard library, references to `std::`.
pub fn looks_like_cpp(text: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(text) else {
        return false;
    };
    s.lines().any(|l| {
        let l = l.trim_start();
        !l.starts_with("//")
            && (l.starts_with("namespace ")
                || l.starts_with("template<")
                || l.starts_with("template <")
                || l.starts_with("public:")
                || l.starts_with("private:")
                || l.starts_with("protected:")
                || l.starts_with("using namespace")
                || l.contains("std::")
                || (l.starts_with("class ") && !l.ends_with(';'))
                || l.starts_with("#include <iostream>")
                || l.starts_with("#include <string>")
                || l.starts_with("#include <vector>")
                || l.starts_with("extern \"C++\""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fam(rel: &str, text: &str) -> Option<(&'static str, Detection)> {
        detect(rel, text.as_bytes()).map(|d| (d.family, d.by))
    }

    #[test]
    fn by_extension_and_name() {
        assert_eq!(fam("a/b.py", ""), Some(("Python", Detection::Extension)));
        assert_eq!(fam("x.c", ""), Some(("C", Detection::Extension)));
        assert_eq!(fam("x.cc", ""), Some(("C++", Detection::Extension)));
        assert_eq!(fam("x.hpp", ""), Some(("C++", Detection::Extension)));
        assert_eq!(fam("run.sh", ""), Some(("Shell", Detection::Extension)));
        assert_eq!(fam("m.rs", ""), Some(("Rust", Detection::Extension)));
        assert_eq!(fam("m.ts", ""), Some(("TypeScript", Detection::Extension)));
        assert_eq!(fam("m.go", ""), Some(("Go", Detection::Extension)));
        assert_eq!(
            fam("src/Makefile", ""),
            Some(("Makefile", Detection::Filename))
        );
        assert_eq!(
            fam("CMakeLists.txt", ""),
            Some(("CMake", Detection::Filename))
        );
        assert_eq!(fam("README", "hello"), None);
    }

    #[test]
    fn by_shebang() {
        assert_eq!(
            fam("bin/deploy", "#!/usr/bin/env bash\necho"),
            Some(("Shell", Detection::Shebang))
        );
        assert_eq!(
            fam("tool", "#!/usr/bin/python3 -u\n"),
            Some(("Python", Detection::Shebang))
        );
        assert_eq!(
            fam("t", "#!/usr/bin/env -S python3.11\n"),
            Some(("Python", Detection::Shebang))
        );
        assert_eq!(fam("t", "#!/bin/sh\n"), Some(("Shell", Detection::Shebang)));
        assert_eq!(fam("t", "#!/usr/bin/env unknown\n"), None);
    }

    #[test]
    fn header_by_content() {
        assert_eq!(
            fam("a.h", "int f(void);\n"),
            Some(("C", Detection::Extension))
        );
        assert_eq!(
            fam("a.h", "namespace geo {\nclass P {\npublic:\n};\n}\n"),
            Some(("C++", Detection::Content))
        );
        assert_eq!(
            fam("a.h", "// std:: in a comment\nint f(void);\n"),
            Some(("C", Detection::Extension))
        );
    }
}
