//! Adding a file to, or taking it from, a task's `hand_ported:` list in the manifest's own
//! text: the parser gives every key and value its byte span, and the edit touches only the
//! bytes of that list (or, when the list appears or empties, of its `hand_ported:` key).
//! Comments, quoting, layout and key order stay as the user wrote them: a manifest is never
//! re-serialised.
//!
//! Every edit is checked by parsing the result: its data must be the old data with only
//! that one list changed, or the edit is refused and the file left alone.

use batuta_engine::manifest::{Node, NodeKind, parse_yaml};
use serde_json::Value;

const KEY: &str = "hand_ported";

/// Add `entry` to the `hand_ported:` list of the task whose `each:` value starts at byte
/// `each_at`. Adding one that is there already is an error.
pub fn add(text: &str, each_at: usize, entry: &str) -> Result<String, String> {
    let root = parse_yaml(text).map_err(|d| d.message)?;
    let (task, path) = find_task(&root, each_at).ok_or_else(no_task)?;
    let NodeKind::Map(entries) = &task.kind else {
        return Err(no_task());
    };
    let new = match entries.iter().find(|(k, _)| k.name == KEY) {
        Some((key, list)) => {
            let NodeKind::Seq(items) = &list.kind else {
                return Err(format!("`{KEY}` is not a list"));
            };
            if items.iter().any(|i| scalar(i) == Some(entry)) {
                return Err(format!("{entry} is already in `{KEY}`"));
            }
            add_item(text, key.span.offset, items, entry)?
        }
        None => add_key(text, task, entries, entry)?,
    };
    verify(&root, &new, &path, |list| {
        list.push(Value::String(entry.to_owned()))
    })?;
    Ok(new)
}

/// Take `entry` out of the `hand_ported:` list of the task whose `each:` value starts at
/// byte `each_at`; a list left empty goes with its key.
pub fn remove(text: &str, each_at: usize, entry: &str) -> Result<String, String> {
    let root = parse_yaml(text).map_err(|d| d.message)?;
    let (task, path) = find_task(&root, each_at).ok_or_else(no_task)?;
    let NodeKind::Map(entries) = &task.kind else {
        return Err(no_task());
    };
    let at = entries.iter().position(|(k, _)| k.name == KEY);
    let Some((key, list)) = at.map(|i| &entries[i]) else {
        return Err(format!("the task has no `{KEY}` list"));
    };
    let NodeKind::Seq(items) = &list.kind else {
        return Err(format!("`{KEY}` is not a list"));
    };
    let Some(i) = items.iter().position(|n| scalar(n) == Some(entry)) else {
        return Err(format!("{entry} is not in `{KEY}`"));
    };
    let new = if items.len() == 1 {
        remove_key(text, entries, at.unwrap_or(0))?
    } else {
        remove_item(text, key.span.offset, items, i)
    };
    let emptied = items.len() == 1;
    let mut want = json_of(&root);
    let task_json = at_path(&mut want, &path).ok_or_else(no_task)?;
    if emptied {
        task_json.as_object_mut().map(|o| o.remove(KEY));
    } else if let Some(list) = task_json.get_mut(KEY).and_then(Value::as_array_mut) {
        list.retain(|v| v.as_str() != Some(entry));
    }
    check_same(&want, &new)?;
    Ok(new)
}

fn no_task() -> String {
    "the task's place in the manifest was not found".to_owned()
}

fn scalar(n: &Node) -> Option<&str> {
    match &n.kind {
        NodeKind::Str(s) => Some(s),
        _ => None,
    }
}

/// One step of a path into the document.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The mapping that holds a key `each` whose value starts at `each_at`, with its path.
fn find_task(root: &Node, each_at: usize) -> Option<(&Node, Vec<Step>)> {
    match &root.kind {
        NodeKind::Map(entries) => {
            if entries
                .iter()
                .any(|(k, v)| k.name == "each" && v.span.offset == each_at)
            {
                return Some((root, Vec::new()));
            }
            entries.iter().find_map(|(k, v)| {
                let (n, mut p) = find_task(v, each_at)?;
                p.insert(0, Step::Key(k.name.clone()));
                Some((n, p))
            })
        }
        NodeKind::Seq(items) => items.iter().enumerate().find_map(|(i, v)| {
            let (n, mut p) = find_task(v, each_at)?;
            p.insert(0, Step::Index(i));
            Some((n, p))
        }),
        _ => None,
    }
}

fn json_of(n: &Node) -> Value {
    n.to_json()
}

fn at_path<'v>(v: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |v, s| match s {
        Step::Key(k) => v.get_mut(k),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// The old data with the task's list changed by `change` (created when absent) must be
/// the new text's data.
fn verify(
    root: &Node,
    new: &str,
    path: &[Step],
    change: impl FnOnce(&mut Vec<Value>),
) -> Result<(), String> {
    let mut want = json_of(root);
    let task = at_path(&mut want, path)
        .and_then(Value::as_object_mut)
        .ok_or_else(no_task)?;
    let list = task.entry(KEY).or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = list.as_array_mut() {
        change(list);
    }
    check_same(&want, new)
}

fn check_same(want: &Value, new: &str) -> Result<(), String> {
    let got = parse_yaml(new).map_err(|d| {
        format!(
            "the edit would break the manifest ({}); edit `{KEY}` by hand",
            d.message
        )
    })?;
    if json_of(&got) == *want {
        Ok(())
    } else {
        Err(format!(
            "the manifest's layout defeated the edit (it would change more than `{KEY}`); edit `{KEY}` by hand"
        ))
    }
}

/// The entry as YAML: plain when it reads back as the same string, else double-quoted.
fn quoted(entry: &str) -> String {
    let plain = !entry.is_empty()
        && entry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+'))
        && !entry.starts_with(['-', '.'])
        && !matches!(
            entry,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off"
        )
        && entry.parse::<f64>().is_err();
    if plain {
        entry.to_owned()
    } else {
        serde_json::to_string(entry).unwrap_or_default()
    }
}

/// The byte after a scalar, or a flow collection, that starts at `start`.
fn value_end(text: &str, start: usize) -> usize {
    let b = text.as_bytes();
    let mut i = start;
    match b.get(i) {
        Some(b'"') => {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            (i + 1).min(b.len())
        }
        Some(b'\'') => {
            i += 1;
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return i + 1;
                }
                i += 1;
            }
            b.len()
        }
        Some(b'[' | b'{') => {
            let mut depth = 0usize;
            while i < b.len() {
                match b[i] {
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    b'"' | b'\'' => {
                        i = value_end(text, i);
                        continue;
                    }
                    b'#' if i > 0 && b[i - 1].is_ascii_whitespace() => {
                        while i < b.len() && b[i] != b'\n' {
                            i += 1;
                        }
                        continue;
                    }
                    _ => {}
                }
                i += 1;
            }
            b.len()
        }
        _ => {
            // A plain scalar: to the end of the line, a comment, or (in a flow collection)
            // the next separator; without trailing blanks.
            let mut end = i;
            while i < b.len() && b[i] != b'\n' {
                if matches!(b[i], b',' | b']' | b'}') {
                    break;
                }
                if b[i] == b'#' && i > start && b[i - 1] == b' ' {
                    break;
                }
                i += 1;
                if !b[i - 1].is_ascii_whitespace() {
                    end = i;
                }
            }
            end
        }
    }
}

/// Where the value of the key at `key_at` starts: past `key:` and blanks, or (a block
/// value) the end of the key's line.
fn value_start(text: &str, key_at: usize) -> usize {
    let colon = text[key_at..]
        .find(':')
        .map_or(text.len(), |i| key_at + i + 1);
    let rest = &text[colon..];
    colon + rest.len() - rest.trim_start_matches([' ', '\t']).len()
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The byte after the newline that ends the line holding `at` (or the text's end).
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

fn is_flow(text: &str, key_at: usize) -> bool {
    text.as_bytes().get(value_start(text, key_at)) == Some(&b'[')
}

fn add_item(text: &str, key_at: usize, items: &[Node], entry: &str) -> Result<String, String> {
    let e = quoted(entry);
    let mut out = text.to_owned();
    if is_flow(text, key_at) {
        match items.last() {
            Some(last) => {
                let end = value_end(text, last.span.offset);
                out.insert_str(end, &format!(", {e}"));
            }
            None => {
                let open = value_start(text, key_at) + 1;
                out.insert_str(open, &e);
            }
        }
        return Ok(out);
    }
    let last = items.last().ok_or("an empty block list")?;
    let start = line_start(text, last.span.offset);
    let indent = &text[start..last.span.offset];
    if !indent.trim_end().ends_with('-') {
        return Err(format!("`{KEY}` is laid out in a way batuta cannot extend"));
    }
    let end = line_end(text, last.span.offset);
    let newline = if text[..end].ends_with('\n') {
        ""
    } else {
        "\n"
    };
    out.insert_str(end, &format!("{newline}{indent}{e}\n"));
    if newline.is_empty() {
        Ok(out)
    } else {
        // The text had no final newline: keep it so.
        out.pop();
        Ok(out)
    }
}

fn remove_item(text: &str, key_at: usize, items: &[Node], i: usize) -> String {
    let mut out = text.to_owned();
    let this = items[i].span.offset;
    if is_flow(text, key_at) {
        let range = if i == 0 {
            this..items[1].span.offset
        } else {
            value_end(text, items[i - 1].span.offset)..value_end(text, this)
        };
        out.replace_range(range, "");
    } else {
        out.replace_range(
            whole_lines(text, line_start(text, this), line_end(text, this)),
            "",
        );
    }
    out
}

/// The byte after the last value of a mapping's entries.
fn entries_end(text: &str, entries: &[(batuta_engine::manifest::Key, Node)]) -> usize {
    fn deepest(n: &Node) -> usize {
        match &n.kind {
            NodeKind::Seq(items) => items.iter().map(deepest).max().unwrap_or(n.span.offset),
            NodeKind::Map(entries) => entries
                .iter()
                .map(|(_, v)| deepest(v))
                .max()
                .unwrap_or(n.span.offset),
            _ => n.span.offset,
        }
    }
    let Some((key, last)) = entries.last() else {
        return 0;
    };
    let start = value_start(text, key.span.offset);
    if matches!(text.as_bytes().get(start), Some(b'[' | b'{' | b'"' | b'\'')) {
        return value_end(text, start);
    }
    // A block value, or a plain scalar: the end of the last scalar within it.
    value_end(text, deepest(last).max(start))
}

fn add_key(
    text: &str,
    task: &Node,
    entries: &[(batuta_engine::manifest::Key, Node)],
    entry: &str,
) -> Result<String, String> {
    let e = quoted(entry);
    let first = entries.first().ok_or("an empty task")?;
    let mut out = text.to_owned();
    let end = entries_end(text, entries);
    let flow = text[..first.0.span.offset].trim_end().ends_with('{')
        && task.span.offset < first.0.span.offset;
    if flow {
        out.insert_str(end, &format!(", {KEY}: [{e}]"));
        return Ok(out);
    }
    let start = line_start(text, first.0.span.offset);
    let indent = &text[start..first.0.span.offset];
    if !indent.chars().all(|c| c == ' ') {
        return Err(format!(
            "the task is laid out in a way batuta cannot add `{KEY}` to"
        ));
    }
    let at = line_end(text, end);
    let had_newline = text[..at].ends_with('\n');
    let line = format!(
        "{}{indent}{KEY}: [{e}]{}",
        if had_newline { "" } else { "\n" },
        if had_newline { "\n" } else { "" }
    );
    out.insert_str(at, &line);
    Ok(out)
}

fn remove_key(
    text: &str,
    entries: &[(batuta_engine::manifest::Key, Node)],
    at: usize,
) -> Result<String, String> {
    let (key, _) = &entries[at];
    let value_end = {
        let start = value_start(text, key.span.offset);
        value_end(text, start)
    };
    let mut out = text.to_owned();
    let flow = text[..key.span.offset].trim_end().ends_with([',', '{']);
    if flow {
        let range = if at == 0 {
            match entries.get(1) {
                Some((next, _)) => key.span.offset..next.span.offset,
                None => key.span.offset..value_end,
            }
        } else {
            let before = text[..key.span.offset].trim_end();
            before.len() - 1..value_end
        };
        out.replace_range(range, "");
        return Ok(out);
    }
    let from = line_start(text, key.span.offset);
    if !text[from..key.span.offset].chars().all(|c| c == ' ') {
        return Err(format!("`{KEY}` is laid out in a way batuta cannot remove"));
    }
    // A block list runs to the end of its last item's line.
    let end = if is_flow(text, key.span.offset) {
        line_end(text, value_end)
    } else {
        let NodeKind::Seq(items) = &entries[at].1.kind else {
            return Err(format!("`{KEY}` is not a list"));
        };
        let last = items.last().map_or(key.span.offset, |n| n.span.offset);
        line_end(text, last)
    };
    out.replace_range(whole_lines(text, from, end), "");
    Ok(out)
}

/// The lines from `from` to `end`; when they end the text without a newline, with the
/// newline before them, so the text keeps ending as it did.
fn whole_lines(text: &str, from: usize, end: usize) -> std::ops::Range<usize> {
    if end == text.len() && !text.ends_with('\n') && from > 0 {
        from - 1..end
    } else {
        from..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte where the (only) `each:` value of `text` starts.
    fn each(text: &str) -> usize {
        let i = text.find("each:").unwrap() + 5;
        i + text[i..].len() - text[i..].trim_start().len()
    }

    fn round_trip(text: &str, entry: &str, want: &str) {
        let added = add(text, each(text), entry).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(added, want);
        let back = remove(&added, each(&added), entry).unwrap();
        assert_eq!(
            back, text,
            "port then undo gives the manifest back, byte for byte"
        );
    }

    const HEAD: &str = "version: 1 # the format\nproject: { name: p, source: legacy }\nstages:\n  transpile:\n    tasks:\n";

    #[test]
    fn a_block_task_gets_the_key_after_its_last_line() {
        let t = format!(
            "{HEAD}      # Python, file by file\n      python:\n        rule: depyler   # the built-in\n        each: \"**/*.py\"\n        out: \"src/{{stem}}.rs\"\n      crate: {{ builtin: assemble }}\n"
        );
        let want = t.replace(
            "out: \"src/{stem}.rs\"\n",
            "out: \"src/{stem}.rs\"\n        hand_ported: [stats.py]\n",
        );
        round_trip(&t, "stats.py", &want);
    }

    #[test]
    fn a_flow_task_gets_the_key_before_its_brace() {
        let t = format!(
            "{HEAD}      python: {{ rule: depyler, each: \"**/*.py\", out: \"src/{{stem}}.rs\" }}  # note\n"
        );
        let want = t.replace(".rs\" }", ".rs\", hand_ported: [stats.py] }");
        round_trip(&t, "stats.py", &want);
    }

    #[test]
    fn a_flow_list_grows_and_shrinks_in_place() {
        let t = format!(
            "{HEAD}      python:\n        each: '**/*.py'\n        rule: depyler\n        hand_ported: [main.py, 'util.py']   # ported\n        out: x\n"
        );
        let want = t.replace("'util.py']", "'util.py', stats.py]");
        round_trip(&t, "stats.py", &want);
        // Removing the first keeps the rest as they were written.
        let first = remove(&t, each(&t), "main.py").unwrap();
        assert!(
            first.contains("hand_ported: ['util.py']   # ported\n"),
            "{first}"
        );
    }

    #[test]
    fn a_block_list_gets_a_line_in_its_indentation() {
        let t = format!(
            "{HEAD}      python:\n        each: \"**/*.py\"\n        rule: depyler\n        hand_ported:\n          - main.py  # first\n          - \"a b.py\"\n        out: x\n"
        );
        let want = t.replace(
            "          - \"a b.py\"\n",
            "          - \"a b.py\"\n          - pkg/stats.py\n",
        );
        round_trip(&t, "pkg/stats.py", &want);
        let gone = remove(&t, each(&t), "a b.py").unwrap();
        assert_eq!(gone, t.replace("          - \"a b.py\"\n", ""));
    }

    #[test]
    fn the_last_entry_takes_its_key_with_it() {
        let t = format!(
            "{HEAD}      python:\n        each: \"**/*.py\"\n        hand_ported:\n          - main.py\n        rule: depyler\n"
        );
        let gone = remove(&t, each(&t), "main.py").unwrap();
        assert_eq!(
            gone,
            t.replace("        hand_ported:\n          - main.py\n", "")
        );
        let t = format!("{HEAD}      python: {{ hand_ported: [a.py], each: \"*.py\", rule: x }}\n");
        let gone = remove(&t, each(&t), "a.py").unwrap();
        assert!(
            gone.contains("python: { each: \"*.py\", rule: x }"),
            "{gone}"
        );
    }

    #[test]
    fn a_name_yaml_would_misread_is_quoted() {
        assert_eq!(quoted("a b.py"), "\"a b.py\"");
        assert_eq!(quoted("true"), "\"true\"");
        assert_eq!(quoted("1.5"), "\"1.5\"");
        assert_eq!(quoted("pkg/__init__.py"), "pkg/__init__.py");
        let t = format!("{HEAD}      python:\n        each: \"**/*.py\"\n        rule: depyler\n");
        let added = add(&t, each(&t), "my file #1.py").unwrap();
        assert!(
            added.ends_with("hand_ported: [\"my file #1.py\"]\n"),
            "{added}"
        );
    }

    #[test]
    fn twice_or_not_there_is_an_error_and_no_edit() {
        let t = format!("{HEAD}      python: {{ each: \"*.py\", hand_ported: [a.py] }}\n");
        assert!(add(&t, each(&t), "a.py").unwrap_err().contains("already"));
        assert!(remove(&t, each(&t), "b.py").unwrap_err().contains("not in"));
        assert!(add(&t, 3, "a.py").is_err(), "no task's each starts there");
    }

    #[test]
    fn a_manifest_without_a_final_newline_keeps_none() {
        let t = format!("{HEAD}      python:\n        each: \"**/*.py\"\n        rule: depyler");
        round_trip(&t, "a.py", &format!("{t}\n        hand_ported: [a.py]"));
    }
}
