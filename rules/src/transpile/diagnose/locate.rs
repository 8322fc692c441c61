//! Where depyler's error is when it names only the file: the construct its message names,
//! found in the file's syntax tree by python3 (`pysource.py`). Each message depyler 4
//! printed on real files (docopt, python-slugify, the standard library) that names a
//! construct has a query here; the first such construct in the file is the one shown,
//! and the message says batuta located it.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Value, json};

/// A message pattern and the query its captures make.
type Pattern = (Regex, fn(&regex::Captures<'_>) -> Value);

/// The query for depyler's message, or `None` when it names no findable construct
/// ("Complex tuple unpacking not yet supported").
pub fn query(message: &str) -> Option<Value> {
    static PATTERNS: OnceLock<Vec<Pattern>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        let p = |re: &str| Regex::new(re).expect("valid pattern");
        vec![
            // "sum() requires exactly one argument", "list.get() requires exactly one argument"
            (p(r"^(?:\w+\.)*(\w+)\(\) requires exactly one argument"), |c| {
                json!({"kind": "call", "name": &c[1], "not_in": [1]})
            }),
            // "get() requires 1 or 2 arguments"
            (p(r"^(?:\w+\.)*(\w+)\(\) requires (\d+) or (\d+) arguments"), |c| {
                let a: u32 = c[2].parse().unwrap_or(0);
                let b: u32 = c[3].parse().unwrap_or(0);
                json!({"kind": "call", "name": &c[1], "not_in": [a, b]})
            }),
            // "bytes() takes at most 1 argument (3 given)"
            (p(r"^(?:\w+\.)*(\w+)\(\) takes at most \d+ arguments? \((\d+) given\)"), |c| {
                let given: u32 = c[2].parse().unwrap_or(0);
                json!({"kind": "call", "name": &c[1], "exactly": given})
            }),
            // "rstrip() with arguments not supported"
            (p(r"^(?:\w+\.)*(\w+)\(\) with arguments not supported"), |c| {
                json!({"kind": "call", "name": &c[1], "over": 0})
            }),
            // "getattr() requires dynamic attribute access not fully supported yet"
            (p(r"^getattr\(\) requires dynamic attribute access"), |_| {
                json!({"kind": "call", "name": "getattr", "dynamic_arg": 1})
            }),
            // "sys.maxsize is not a recognized attribute", "sys.audit not implemented yet"
            (p(r"^(\w+)\.(\w+) (?:is not a recognized attribute|not implemented yet)"), |c| {
                json!({"kind": "attr", "base": &c[1], "attr": &c[2]})
            }),
            // "Statement type not yet supported: Global"
            (p(r"^Statement type not yet supported: (\w+)"), |c| {
                json!({"kind": "node", "name": &c[1], "what": format!("{} statement", c[1].to_lowercase())})
            }),
            // "Expression type not yet supported: Yield { … }"
            (p(r"^Expression type not yet supported: (Yield|NamedExpr|Await|Lambda)\b"), |c| {
                json!({"kind": "node", "name": &c[1], "what": format!("{} expression", c[1].to_lowercase())})
            }),
            (p(r"^Dict unpacking not supported"), |_| json!({"kind": "dict_unpack"})),
        ]
    });
    patterns
        .iter()
        .find_map(|(re, make)| re.captures(message).map(|c| make(&c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_queries() {
        assert_eq!(
            query("sum() requires exactly one argument").unwrap(),
            json!({"kind": "call", "name": "sum", "not_in": [1]})
        );
        assert_eq!(
            query("list.get() requires exactly one argument").unwrap()["name"],
            "get"
        );
        assert_eq!(
            query("bytes() takes at most 1 argument (3 given)").unwrap()["exactly"],
            3
        );
        assert_eq!(
            query("sys.maxsize is not a recognized attribute").unwrap()["attr"],
            "maxsize"
        );
        assert_eq!(
            query("Statement type not yet supported: Global").unwrap()["name"],
            "Global"
        );
        assert!(query("Complex tuple unpacking not yet supported").is_none());
    }
}
