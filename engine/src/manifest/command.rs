//! Filling in a command's placeholders so that a value is always exactly one value.
//!
//! An argument goes to the program as it is, so a value needs no quoting there; a value that
//! starts with `-` at the start of an argument becomes `./-…`, so that no program reads a
//! file named `-rf.py` as an option. A shell script is different: `sh -c "cat {in} > {out}"`
//! hands the script to a shell, which would run a file named `$(touch PWNED).py`. So the
//! argument a POSIX shell takes as its script gets each value quoted for the place it stands
//! in (bare, inside '…', inside "…"), as ninja quotes `$in`. Places where no quoting is safe
//! (a here-document, backticks, `${…}`, `$((…))`, right after `$`) are refused when the
//! manifest loads; so are other interpreters' programs, whose quoting batuta does not know,
//! which get a warning instead.

use std::path::Path;

use super::template::{Placeholder, Segment, Template};

/// A placeholder that stands where no quoting can make its value safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unquotable {
    /// The index of the argument (the script) that holds it.
    pub arg: usize,
    pub placeholder: Placeholder,
    /// Where it stands: "inside a here-document", …
    pub place: &'static str,
}

/// Which argument of a command is a program for an interpreter, and which interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// The script of a POSIX shell (`sh -c SCRIPT`): values are quoted for it.
    Shell(usize),
    /// The program of an interpreter batuta cannot quote for (`python3 -c PROGRAM`):
    /// values are pasted in as they are, which `check` warns about.
    Other {
        arg: usize,
        interpreter: &'static str,
    },
}

/// Shells whose quoting is POSIX's (fish and csh quote otherwise).
const POSIX_SHELLS: &[&str] = &[
    "sh", "bash", "dash", "ash", "ksh", "ksh93", "mksh", "pdksh", "zsh", "yash", "posh",
];

/// Interpreters that run a program given as an argument, with the flag that precedes it.
const OTHER_INTERPRETERS: &[(&str, &str)] = &[
    ("python", "-c"),
    ("perl", "-e"),
    ("ruby", "-e"),
    ("node", "-e"),
    ("php", "-r"),
    ("lua", "-e"),
    ("Rscript", "-e"),
    ("fish", "-c"),
    ("csh", "-c"),
    ("tcsh", "-c"),
];

/// The script argument of a command, if it runs one. `args` are the arguments with `{tool}`
/// filled in, `None` for one that holds another placeholder (it is then no option).
pub fn script(args: &[Option<&str>]) -> Option<Script> {
    let arg = |i: usize| args.get(i).copied().flatten();
    let program = |i: usize| arg(i).and_then(|a| Path::new(a).file_name()?.to_str());
    // Wrappers that run the command that follows them.
    let mut i = 0;
    loop {
        match program(i) {
            Some("env") => {
                i += 1;
                while let Some(a) = arg(i) {
                    if matches!(a, "-u" | "--unset" | "-C" | "--chdir") {
                        i += 2;
                    } else if a.starts_with('-') || a.contains('=') {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            Some("busybox" | "exec" | "command" | "nohup" | "setsid") => i += 1,
            _ => break,
        }
    }
    let name = program(i)?;
    if POSIX_SHELLS.contains(&name) {
        return shell_script(args, i + 1).map(Script::Shell);
    }
    let (interpreter, flag) = OTHER_INTERPRETERS.iter().find(|(n, _)| {
        name == *n
            || name
                .strip_prefix(n)
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    })?;
    let at = (i + 1..args.len()).find(|&j| arg(j) == Some(flag))?;
    (at + 1 < args.len()).then_some(Script::Other {
        arg: at + 1,
        interpreter,
    })
}

/// The index of the script a POSIX shell's options (from `from` on) ask it to run with
/// `-c`: the first operand after them.
fn shell_script(args: &[Option<&str>], from: usize) -> Option<usize> {
    let mut c = false;
    let mut j = from;
    while let Some(Some(a)) = args.get(j) {
        if *a == "--" || *a == "-" {
            j += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            j += if matches!(long, "rcfile" | "init-file") {
                2
            } else {
                1
            };
            continue;
        }
        match a.strip_prefix('-').or_else(|| a.strip_prefix('+')) {
            Some(flags) if !flags.is_empty() => {
                c |= a.starts_with('-') && flags.contains('c');
                // `-o NAME` (and `-eo NAME`) take the option's name as the next argument.
                j += if flags.contains(['o', 'O']) { 2 } else { 1 };
            }
            _ => break,
        }
    }
    (c && j < args.len()).then_some(j)
}

/// `run`'s arguments with their placeholders filled in by `value`, each value made safe for
/// the place it stands in (see the module's documentation).
pub fn expand_command(
    run: &[&Template],
    mut value: impl FnMut(Placeholder) -> String,
) -> Result<Vec<String>, Unquotable> {
    let script = script_of(run, &mut value);
    run.iter()
        .enumerate()
        .map(|(i, t)| match script {
            Some(Script::Shell(s)) if s == i => {
                let places = places(t).map_err(|(placeholder, place)| Unquotable {
                    arg: i,
                    placeholder,
                    place,
                })?;
                let mut places = places.into_iter();
                Ok(t.expand(|p| {
                    let at = places.next().expect("one place per placeholder");
                    quote(&value(p), at)
                }))
            }
            _ => {
                let mut first = true;
                let mut out = String::new();
                for segment in t.segments() {
                    match segment {
                        Segment::Text(text) => out.push_str(text),
                        Segment::Var(p) => out.push_str(&not_an_option(value(p), first)),
                    }
                    first = false;
                }
                Ok(out)
            }
        })
        .collect()
}

/// What [`script`] finds in `run`, with `{tool}` filled in by `value`.
pub fn script_of(
    run: &[&Template],
    mut value: impl FnMut(Placeholder) -> String,
) -> Option<Script> {
    let fixed: Vec<Option<String>> = run
        .iter()
        .map(|t| {
            t.placeholders()
                .all(|p| p == Placeholder::Tool)
                .then(|| t.expand(&mut value))
        })
        .collect();
    let fixed: Vec<Option<&str>> = fixed.iter().map(Option::as_deref).collect();
    script(&fixed)
}

/// Where a placeholder stands in a shell script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub quotes: Quotes,
    /// Nothing of the word it is in comes before it, so a value starting with `-` would be
    /// read as an option.
    pub word_start: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quotes {
    Bare,
    Single,
    Double,
    Comment,
}

/// The value as the shell must read it at `place` to see exactly `value`.
pub fn quote(value: &str, place: Place) -> String {
    let value = not_an_option(value.to_owned(), place.word_start);
    match place.quotes {
        Quotes::Bare if !value.is_empty() && value.chars().all(plain) => value,
        Quotes::Bare => format!("'{}'", value.replace('\'', r"'\''")),
        Quotes::Single => value.replace('\'', r"'\''"),
        Quotes::Double => {
            let mut out = String::with_capacity(value.len());
            for c in value.chars() {
                if matches!(c, '\\' | '"' | '$' | '`') {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
        // A comment ends at a line break, and at nothing else.
        Quotes::Comment => value.replace(['\n', '\r'], " "),
    }
}

/// Characters a shell reads as themselves anywhere in a word (`=` is left out: a first word
/// with one is an assignment).
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+' | ',' | ':' | '@' | '%')
}

fn not_an_option(value: String, word_start: bool) -> String {
    if word_start && value.starts_with('-') {
        format!("./{value}")
    } else {
        value
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Atom {
    Char(char),
    Var(Placeholder),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// The script itself, or a `$( … )` inside it: its open parentheses, and its open
    /// `case`s (whose patterns end in a `)` that closes nothing).
    Commands {
        sub: bool,
        depth: u32,
        cases: u32,
    },
    Double,
    Backtick,
    Param {
        depth: u32,
    },
    Arith {
        depth: u32,
    },
}

struct Heredoc {
    delimiter: String,
    strip_tabs: bool,
}

/// Where each placeholder of `script` stands, in order; or the first that stands where no
/// quoting is safe, and where that is.
pub fn places(script: &Template) -> Result<Vec<Place>, (Placeholder, &'static str)> {
    let atoms: Vec<Atom> = script
        .segments()
        .flat_map(|s| match s {
            Segment::Text(t) => t.chars().map(Atom::Char).collect::<Vec<_>>(),
            Segment::Var(p) => vec![Atom::Var(p)],
        })
        .collect();
    let at = |i: usize| atoms.get(i).copied();
    let mut places = Vec::new();
    let mut frames = vec![Frame::Commands {
        sub: false,
        depth: 0,
        cases: 0,
    }];
    let mut word = String::new();
    let (mut single, mut ansi, mut comment, mut escaped) = (false, false, false, false);
    let mut word_empty = true;
    let mut heredocs: Vec<Heredoc> = Vec::new();
    let mut after_dollar = false;
    let mut i = 0;
    while i < atoms.len() {
        let atom = atoms[i];
        i += 1;
        let Atom::Char(c) = atom else {
            let Atom::Var(p) = atom else { unreachable!() };
            let quotes = if comment {
                Quotes::Comment
            } else if single {
                if ansi {
                    return Err((p, "inside $'…'"));
                }
                Quotes::Single
            } else if after_dollar {
                return Err((p, "right after '$'"));
            } else {
                match frames.last().copied() {
                    Some(Frame::Double) => Quotes::Double,
                    Some(Frame::Backtick) => return Err((p, "inside backticks (use $(…))")),
                    Some(Frame::Param { .. }) => return Err((p, "inside ${…}")),
                    Some(Frame::Arith { .. }) => return Err((p, "inside $((…))")),
                    _ => Quotes::Bare,
                }
            };
            places.push(Place {
                quotes,
                word_start: word_empty,
            });
            word_empty = false;
            continue;
        };
        after_dollar = false;
        if escaped {
            escaped = false;
            if c != '\n' {
                word_empty = false;
            }
            continue;
        }
        if comment {
            if c == '\n' {
                comment = false;
                word_empty = true;
                i = skip_heredocs(&atoms, i, &mut heredocs)?;
            }
            continue;
        }
        if single {
            match c {
                '\'' => (single, ansi) = (false, false),
                '\\' if ansi => escaped = true,
                _ => word_empty = false,
            }
            continue;
        }
        let top = frames
            .last_mut()
            .expect("the script's own frame is never popped");
        match top {
            Frame::Double => match c {
                '\\' => escaped = true,
                '"' => {
                    frames.pop();
                }
                '`' => frames.push(Frame::Backtick),
                '$' => after_dollar = dollar(&atoms, &mut i, &mut frames),
                _ => word_empty = false,
            },
            Frame::Backtick => match c {
                '\\' => escaped = true,
                '`' => {
                    frames.pop();
                }
                _ => word_empty = false,
            },
            Frame::Param { depth } => match c {
                '\\' => escaped = true,
                '{' => *depth += 1,
                '}' if *depth == 0 => {
                    frames.pop();
                }
                '}' => *depth -= 1,
                '\'' => single = true,
                '"' => frames.push(Frame::Double),
                _ => {}
            },
            Frame::Arith { depth } => match c {
                '(' => *depth += 1,
                ')' if *depth == 0 && at(i) == Some(Atom::Char(')')) => {
                    i += 1;
                    frames.pop();
                }
                ')' => *depth = depth.saturating_sub(1),
                _ => {}
            },
            Frame::Commands { sub, depth, cases } => {
                let delimits =
                    c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')');
                if delimits {
                    match word.as_str() {
                        "case" => *cases += 1,
                        "esac" => *cases = cases.saturating_sub(1),
                        _ => {}
                    }
                    word.clear();
                }
                match c {
                    '\\' => escaped = true,
                    '\'' => single = true,
                    '"' => frames.push(Frame::Double),
                    '`' => frames.push(Frame::Backtick),
                    '$' if at(i) == Some(Atom::Char('\'')) => {
                        i += 1;
                        (single, ansi) = (true, true);
                    }
                    '$' => after_dollar = dollar(&atoms, &mut i, &mut frames),
                    '#' if word_empty => comment = true,
                    '\n' => {
                        word_empty = true;
                        i = skip_heredocs(&atoms, i, &mut heredocs)?;
                    }
                    '(' => {
                        *depth += u32::from(*sub);
                        word_empty = true;
                    }
                    ')' => {
                        if *cases > 0 {
                            // A pattern's end: `case $x in a) …`.
                        } else if *sub && *depth == 0 {
                            frames.pop();
                        } else {
                            *depth = depth.saturating_sub(1);
                        }
                        word_empty = true;
                    }
                    '<' if at(i) == Some(Atom::Char('<')) => {
                        if at(i + 1) == Some(Atom::Char('<')) {
                            i += 2; // a here-string: `<<<` is an operator like any other
                        } else {
                            i = heredoc(&atoms, i + 1, &mut heredocs)?;
                        }
                        word_empty = true;
                    }
                    _ if delimits => word_empty = true,
                    _ => {
                        word_empty = false;
                        word.push(c);
                    }
                }
            }
        }
    }
    Ok(places)
}

/// After an unescaped `$` (at `i - 1`): enter `$(`, `$((` or `${`. Says whether the `$`
/// stands bare (a name may follow, and a placeholder must not).
fn dollar(atoms: &[Atom], i: &mut usize, frames: &mut Vec<Frame>) -> bool {
    match (atoms.get(*i), atoms.get(*i + 1)) {
        (Some(Atom::Char('(')), Some(Atom::Char('('))) => {
            *i += 2;
            frames.push(Frame::Arith { depth: 0 });
        }
        (Some(Atom::Char('(')), _) => {
            *i += 1;
            frames.push(Frame::Commands {
                sub: true,
                depth: 0,
                cases: 0,
            });
        }
        (Some(Atom::Char('{')), _) => {
            *i += 1;
            frames.push(Frame::Param { depth: 0 });
        }
        _ => return true,
    }
    false
}

/// Read a here-document's delimiter word after `<<` (at `i`, just past it), and queue the
/// document for the next line.
fn heredoc(
    atoms: &[Atom],
    mut i: usize,
    queue: &mut Vec<Heredoc>,
) -> Result<usize, (Placeholder, &'static str)> {
    let strip_tabs = atoms.get(i) == Some(&Atom::Char('-'));
    if strip_tabs {
        i += 1;
    }
    while matches!(atoms.get(i), Some(Atom::Char(' ' | '\t'))) {
        i += 1;
    }
    let mut delimiter = String::new();
    let mut quote = None;
    while let Some(&atom) = atoms.get(i) {
        match atom {
            Atom::Var(p) => return Err((p, "in a here-document's delimiter")),
            Atom::Char(c) if Some(c) == quote => quote = None,
            Atom::Char(c) if quote.is_some() => delimiter.push(c),
            Atom::Char(c @ ('\'' | '"')) => quote = Some(c),
            Atom::Char('\\') => {}
            Atom::Char(c)
                if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')') =>
            {
                break;
            }
            Atom::Char(c) => delimiter.push(c),
        }
        i += 1;
    }
    queue.push(Heredoc {
        delimiter,
        strip_tabs,
    });
    Ok(i)
}

/// At the start of a line (`i`): skip the bodies of the here-documents queued on the line
/// before. A placeholder in a body is refused: no quoting survives a line that happens to
/// equal the delimiter.
fn skip_heredocs(
    atoms: &[Atom],
    mut i: usize,
    queue: &mut Vec<Heredoc>,
) -> Result<usize, (Placeholder, &'static str)> {
    for doc in queue.drain(..) {
        loop {
            if i >= atoms.len() {
                return Ok(i);
            }
            let end = atoms[i..]
                .iter()
                .position(|a| *a == Atom::Char('\n'))
                .map_or(atoms.len(), |n| i + n);
            let mut line = String::new();
            for atom in &atoms[i..end] {
                match atom {
                    Atom::Var(p) => return Err((*p, "inside a here-document")),
                    Atom::Char(c) => line.push(*c),
                }
            }
            i = (end + 1).min(atoms.len());
            let line = if doc.strip_tabs {
                line.trim_start_matches('\t')
            } else {
                &line
            };
            if line == doc.delimiter {
                break;
            }
        }
    }
    Ok(i)
}

#[cfg(test)]
mod tests;
