//! `batuta explain CODE`: what an error code means, its common causes and fixes.
//!
//! The text is `docs/src/error-codes.md`, the guide's chapter on error codes, built into the
//! binary, so the explanation a user reads offline is the one the guide shows.

use crate::Exit;

const BOOK: &str = include_str!("../../docs/src/error-codes.md");

/// One code's section: its heading line and body.
struct Section<'a> {
    code: &'a str,
    title: &'a str,
    body: &'a str,
}

fn sections() -> impl Iterator<Item = Section<'static>> {
    BOOK.split("\n## ").skip(1).filter_map(|s| {
        let (heading, body) = s.split_once('\n')?;
        let (code, title) = heading.split_once(" — ")?;
        Some(Section {
            code: code.trim(),
            title: title.trim(),
            body: body.trim(),
        })
    })
}

/// `BATUTA-T-001`, `T-001`, `t001` and `T1` all name the same code.
fn normalise(query: &str) -> Option<String> {
    let q = query.trim().to_ascii_uppercase();
    let q = q.strip_prefix("BATUTA-").unwrap_or(&q);
    let family = q.chars().next().filter(char::is_ascii_alphabetic)?;
    let digits = q[1..].trim_start_matches('-');
    let n: u32 = digits.parse().ok()?;
    Some(format!("BATUTA-{family}-{n:03}"))
}

pub fn run(code: Option<&str>) -> Exit {
    let Some(query) = code else {
        for s in sections() {
            println!("{}  {}", s.code, s.title);
        }
        println!("\nRun `batuta explain CODE` for the causes and fixes of one.");
        return Exit::Success;
    };
    let wanted = normalise(query);
    match sections().find(|s| Some(s.code) == wanted.as_deref()) {
        Some(s) => {
            // Bold marks are for the repository's rendering of the file, not a terminal.
            println!("{}: {}\n\n{}", s.code, s.title, s.body.replace("**", ""));
            Exit::Success
        }
        None => {
            eprintln!("error: '{query}' is not a batuta error code");
            eprintln!("  help: codes look like BATUTA-T-001; `batuta explain` lists them all");
            Exit::Usage
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use batuta_engine::codes;
    use batuta_engine::manifest::Code;

    #[test]
    fn every_code_batuta_prints_is_explained_once() {
        let explained: Vec<&str> = sections().map(|s| s.code).collect();
        let printed = codes::ALL
            .iter()
            .map(|c| c.code)
            .chain(Code::ALL.iter().map(|c| c.as_str()));
        for code in printed {
            let n = explained.iter().filter(|e| **e == code).count();
            assert_eq!(n, 1, "{code} is explained {n} times");
        }
        assert_eq!(explained.len(), codes::ALL.len() + Code::ALL.len());
    }

    #[test]
    fn the_book_meanings_head_their_sections() {
        for c in codes::ALL {
            let s = sections().find(|s| s.code == c.code).unwrap();
            assert_eq!(s.title, c.meaning, "{}", c.code);
            assert!(s.body.contains("**Causes.**") && s.body.contains("**Fixes.**"));
        }
    }

    #[test]
    fn short_forms_name_the_same_code() {
        for q in ["BATUTA-T-001", "T-001", "t001", "T1", " batuta-t-001 "] {
            assert_eq!(normalise(q).as_deref(), Some("BATUTA-T-001"), "{q}");
        }
        assert_eq!(normalise("1-001"), None);
        assert_eq!(normalise("T-"), None);
        assert_eq!(normalise(""), None);
    }
}
