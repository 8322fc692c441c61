//! The shapes the transpilers' error output takes, read without knowing which tool wrote
//! it: rustc-style diagnostics (`error[tag]: message`, ` --> file:line:col`, a numbered
//! snippet), anyhow's `Error: …` with its `Caused by:` chain, and Rust panics. Each tool's
//! module picks from these what that tool means.

use std::sync::OnceLock;

use regex::Regex;

/// Tools colour their output even into a pipe; what people read is plain text.
pub fn strip_ansi(s: &str) -> String {
    static ANSI: OnceLock<Regex> = OnceLock::new();
    let re = ANSI.get_or_init(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("valid pattern"));
    re.replace_all(s, "").into_owned()
}

/// A place a tool printed, as it printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Location {
    /// `file`, `file:line` or `file:line:col`.
    pub fn parse(s: &str) -> Location {
        let s = s.trim();
        let mut numbers = Vec::new();
        let mut rest = s;
        // At most two trailing `:N` (line, then column); a file name may hold colons.
        while numbers.len() < 2 {
            match rest.rsplit_once(':') {
                Some((head, n)) if !head.is_empty() && n.parse::<u32>().is_ok() => {
                    numbers.push(n.parse::<u32>().expect("checked"));
                    rest = head;
                }
                _ => break,
            }
        }
        numbers.reverse();
        Location {
            file: rest.to_owned(),
            line: numbers.first().copied(),
            column: numbers.get(1).copied(),
        }
    }
}

/// One numbered line of a diagnostic's snippet: the source line as the tool showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnippetLine {
    pub number: u32,
    pub text: String,
}

/// One rustc-style diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// `error`, `warning`, `fatal`, `note`.
    pub severity: String,
    /// The tool's category in the brackets: `syntax`, `unsupported`, `semantic`…
    pub tag: String,
    pub message: String,
    pub location: Option<Location>,
    pub snippet: Vec<SnippetLine>,
    /// Its lines of the output, from the header to the blank line that ends it.
    pub lines: Vec<String>,
}

impl Block {
    pub fn is_error(&self) -> bool {
        matches!(self.severity.as_str(), "error" | "fatal")
    }
}

/// Every rustc-style diagnostic in `output` (already without colour), in order.
/// `pad` is what the tool puts between a snippet's `|` and the source text.
pub fn blocks(output: &str, pad: &str) -> Vec<Block> {
    static HEADER: OnceLock<Regex> = OnceLock::new();
    static SNIPPET: OnceLock<Regex> = OnceLock::new();
    let header = HEADER.get_or_init(|| {
        Regex::new(r"^(error|warning|fatal|note)\[([A-Za-z0-9_-]+)\]: (.*)$").expect("valid")
    });
    let snippet = SNIPPET.get_or_init(|| Regex::new(r"^\s*(\d+)\s*\|(.*)$").expect("valid"));
    let mut out: Vec<Block> = Vec::new();
    let mut open = false;
    for line in output.lines() {
        if let Some(c) = header.captures(line) {
            out.push(Block {
                severity: c[1].to_owned(),
                tag: c[2].to_owned(),
                message: c[3].trim().to_owned(),
                location: None,
                snippet: Vec::new(),
                lines: vec![line.to_owned()],
            });
            open = true;
            continue;
        }
        if !open {
            continue;
        }
        let Some(b) = out.last_mut() else { continue };
        if line.trim().is_empty() {
            open = false;
            continue;
        }
        b.lines.push(line.to_owned());
        if let Some(loc) = line.trim_start().strip_prefix("--> ") {
            if b.location.is_none() {
                b.location = Some(Location::parse(loc));
            }
        } else if let Some(c) = snippet.captures(line) {
            let text = c[2].strip_prefix(pad).unwrap_or(&c[2]);
            b.snippet.push(SnippetLine {
                number: c[1].parse().unwrap_or(0),
                text: text.to_owned(),
            });
        }
    }
    out
}

/// anyhow's report of an error: `Error: what`, then the causes under `Caused by:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub error: String,
    pub causes: Vec<String>,
    pub lines: Vec<String>,
}

impl Report {
    /// The innermost cause: what actually went wrong.
    pub fn root(&self) -> &str {
        self.causes.last().unwrap_or(&self.error)
    }
}

pub fn anyhow_report(output: &str) -> Option<Report> {
    static NUMBERED: OnceLock<Regex> = OnceLock::new();
    let numbered = NUMBERED.get_or_init(|| Regex::new(r"^\s*\d+: (.*)$").expect("valid"));
    let mut lines = output.lines().skip_while(|l| !l.starts_with("Error: "));
    let first = lines.next()?;
    let mut report = Report {
        error: first["Error: ".len()..].trim().to_owned(),
        causes: Vec::new(),
        lines: vec![first.to_owned()],
    };
    let mut in_causes = false;
    for line in lines {
        if line.starts_with("Stack backtrace:") {
            break;
        }
        if line.trim() == "Caused by:" {
            in_causes = true;
            report.lines.push(line.to_owned());
            continue;
        }
        if line.trim().is_empty() {
            if in_causes {
                break;
            }
            continue;
        }
        report.lines.push(line.to_owned());
        if in_causes {
            let cause = match numbered.captures(line) {
                Some(c) => c[1].to_owned(),
                None => line.trim().to_owned(),
            };
            report.causes.push(cause);
        } else {
            // An error message of several lines (decy adds "Try: …" advice to its own).
            report.error.push('\n');
            report.error.push_str(line.trim());
        }
    }
    Some(report)
}

/// A Rust panic: the tool crashed. Its `at file:line` is in the tool's own source, never
/// in the file being transpiled, so only the message is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    pub message: String,
    pub lines: Vec<String>,
}

pub fn panic(output: &str) -> Option<Panic> {
    static HEAD: OnceLock<Regex> = OnceLock::new();
    let head = HEAD.get_or_init(|| {
        Regex::new(r"^thread '[^']*'(?: \(\d+\))? panicked at .*:\d+:\d+:$").expect("valid")
    });
    let mut lines = output.lines().skip_while(|l| !head.is_match(l));
    let first = lines.next()?;
    let message: Vec<&str> = lines
        .take_while(|l| {
            !l.starts_with("stack backtrace:")
                && !l.starts_with("note: run with `RUST_BACKTRACE")
                && !l.trim().is_empty()
        })
        .collect();
    let mut all = vec![first.to_owned()];
    all.extend(message.iter().map(|l| (*l).to_owned()));
    Some(Panic {
        message: message.join("\n"),
        lines: all,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_keep_colons_in_names() {
        assert_eq!(
            Location::parse("a/b.py"),
            Location {
                file: "a/b.py".into(),
                line: None,
                column: None
            }
        );
        assert_eq!(
            Location::parse("input.c:252:35"),
            Location {
                file: "input.c".into(),
                line: Some(252),
                column: Some(35)
            }
        );
        assert_eq!(
            Location::parse("/usr/sbin/addgnupghome:5"),
            Location {
                file: "/usr/sbin/addgnupghome".into(),
                line: Some(5),
                column: None
            }
        );
        assert_eq!(Location::parse("c:weird:name.py:3").file, "c:weird:name.py");
    }

    #[test]
    fn blocks_end_at_a_blank_line() {
        let out = "noise\nwarning[parse]: w\n --> input.c:1:2\n 1|    x\n\nerror[semantic]: e\n --> input.c:3:4\n 2|    a\n 3|    b\n  |    ^\n  note: n\nafter\n\ntrailing";
        let b = blocks(out, "    ");
        assert_eq!(b.len(), 2);
        assert!(!b[0].is_error());
        assert_eq!(b[1].message, "e");
        assert_eq!(b[1].snippet.len(), 2);
        assert_eq!(
            b[1].snippet[1],
            SnippetLine {
                number: 3,
                text: "b".into()
            }
        );
        assert_eq!(b[1].lines.len(), 7, "{:?}", b[1].lines);
    }

    #[test]
    fn anyhow_causes_and_backtrace() {
        let out = "x\nError: Failed to parse input\n\nCaused by:\n    Expected RightBrace, found EOF\n\nStack backtrace:\n   0: anyhow";
        let r = anyhow_report(out).unwrap();
        assert_eq!(r.error, "Failed to parse input");
        assert_eq!(r.root(), "Expected RightBrace, found EOF");
        let out = "Error: a\n\nCaused by:\n    0: b\n    1: c\n";
        assert_eq!(anyhow_report(out).unwrap().causes, ["b", "c"]);
        assert!(anyhow_report("nothing").is_none());
    }

    #[test]
    fn panics_drop_the_tools_own_location() {
        let out = "\nthread 'main' (1345) panicked at /r/depyler-core-4.1.1/src/x.rs:388:28:\nunexpected token\nstack backtrace:\n   0: x";
        let p = panic(out).unwrap();
        assert_eq!(p.message, "unexpected token");
        assert_eq!(p.lines.len(), 2);
    }

    #[test]
    fn colours_are_stripped() {
        assert_eq!(
            strip_ansi("\x1b[1;31merror[syntax]\x1b[0m: x"),
            "error[syntax]: x"
        );
    }
}
