//! The manifest reference chapter, rendered from `schemas/batuta.schema.json`: every key with
//! its type, default, whether it is required, and the schema's description; every builtin's
//! `with:` options. The chapter in `docs/src/` must be exactly this, so the guide and the
//! schema cannot drift.

use std::fmt::Write as _;

use serde_json::{Map, Value};

pub const CHAPTER: &str = "docs/src/manifest-reference.md";

pub fn render(schema: &Value) -> String {
    let defs = &schema["$defs"];
    let mut s = String::new();
    s.push_str("# Manifest reference\n\n");
    s.push_str(
        "<!-- Generated from schemas/batuta.schema.json by tests/book.rs; do not edit. After a change\n\
         to the schema, run `BATUTA_BLESS=1 cargo test --test book` to write it again. -->\n\n",
    );
    s.push_str(
        "Every key of `batuta.yaml` (version 1), as the JSON schema `schemas/batuta.schema.json`\n\
         declares it; [The manifest](manifest.md) says what they mean together. `<name>` stands\n\
         for a name of your choosing.\n",
    );
    let mut section = |title: &str, node: &Value| {
        let _ = write!(s, "\n## `{title}`\n\n");
        if let Some(d) = node["description"].as_str() {
            let _ = writeln!(s, "{d}\n");
        }
        table(&mut s, node, defs);
    };
    section("batuta.yaml", schema);
    section("project", &schema["properties"]["project"]);
    section("tools.<name>", &defs["tool"]);
    section("rules.<name>", &defs["rule"]);
    section("stages.<stage>", &defs["stage"]);
    section("stages.<stage>.tasks.<name>", &defs["task"]);
    section("targets.<name>", &defs["target"]);
    section("remote", &schema["properties"]["remote"]);
    section(
        "remote.tls",
        &schema["properties"]["remote"]["properties"]["tls"],
    );

    s.push_str("\n## `with:` of each builtin\n\n");
    s.push_str("What a `builtin:` task takes in `with:`; a key not listed is an error.\n");
    for rule in defs["withOptions"]["allOf"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(name) = rule["if"]["properties"]["builtin"]["const"].as_str() else {
            continue;
        };
        let with = &rule["then"]["properties"]["with"];
        let _ = write!(s, "\n### `builtin: {name}`\n\n");
        if with["properties"].as_object().is_none_or(Map::is_empty) {
            s.push_str("No options.\n");
        } else {
            table(&mut s, with, defs);
        }
    }
    s
}

fn table(s: &mut String, node: &Value, defs: &Value) {
    let Some(props) = node["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = node["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    s.push_str("| key | type | default | meaning |\n|---|---|---|---|\n");
    for (key, p) in props {
        let p = resolve(p, defs);
        let key = if required.contains(&key.as_str()) {
            format!("`{key}` (required)")
        } else {
            format!("`{key}`")
        };
        let default = p
            .get("default")
            .map_or_else(String::new, |d| format!("`{d}`"));
        let _ = writeln!(
            s,
            "| {key} | {} | {default} | {} |",
            cell(&type_of(p, defs)),
            cell(p["description"].as_str().unwrap_or(""))
        );
    }
}

/// A `$ref` into `$defs` (one level: the schema's properties point at a task's own), with
/// the referring node's description kept when it has one.
fn resolve<'a>(p: &'a Value, defs: &'a Value) -> &'a Value {
    match p["$ref"].as_str() {
        Some(r) if p.get("description").is_none() => lookup(r, defs).unwrap_or(p),
        _ => p,
    }
}

fn lookup<'a>(r: &str, defs: &'a Value) -> Option<&'a Value> {
    let path = r.strip_prefix("#/$defs/")?;
    path.split('/').try_fold(defs, |v, k| v.get(k))
}

/// The value's type in words: `string`, `list of strings`, one of its values…
fn type_of(p: &Value, defs: &Value) -> String {
    if let Some(c) = p.get("const") {
        return format!("`{c}`");
    }
    if let Some(values) = p["enum"].as_array() {
        let v: Vec<String> = values.iter().map(|v| format!("`{}`", plain(v))).collect();
        return format!("one of {}", v.join(", "));
    }
    if let Some(r) = p["$ref"].as_str() {
        return match r.rsplit('/').next() {
            Some("strings") => "list of strings".to_owned(),
            Some("command") => "command: list of arguments".to_owned(),
            Some("argument") => "string, number or boolean".to_owned(),
            _ => lookup(r, defs).map_or_else(|| "see above".to_owned(), |d| type_of(d, defs)),
        };
    }
    let types: Vec<String> = match &p["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let words: Vec<String> = types
        .iter()
        .filter(|t| *t != "null")
        .map(|t| match t.as_str() {
            "array" => match p.get("items") {
                Some(items) => format!("list of {}", plural(&type_of(items, defs))),
                None => "list".to_owned(),
            },
            "object" => "mapping".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    let mut out = if words.is_empty() {
        "any".to_owned()
    } else {
        words.join(" or ")
    };
    if let Some(pat) = p["pattern"].as_str() {
        let _ = write!(out, " matching `{pat}`");
    }
    match (p.get("minimum"), p.get("maximum")) {
        (Some(lo), Some(hi)) => {
            let _ = write!(out, " from {lo} to {hi}");
        }
        (Some(lo), None) => {
            let _ = write!(out, " ≥ {lo}");
        }
        _ => {}
    }
    out
}

fn plural(t: &str) -> String {
    match t {
        "string" => "strings".to_owned(),
        "number" => "numbers".to_owned(),
        "integer" => "integers".to_owned(),
        "boolean" => "booleans".to_owned(),
        other => other.to_owned(),
    }
}

fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// A markdown table cell: one line, no stray column separators, and no `<` outside a code
/// span that markdown would read as an HTML tag (`<target>` in a description).
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_code = false;
    for c in s.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
