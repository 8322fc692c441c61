//! The validation cases a `compare-outputs` task declares, one definition for
//! compare-outputs itself and for whatever else runs the original program on them (the
//! shape tracer): with `cases:`, one case per entry (`{ name, args: [...], stdin: FILE,
//! files: [...] }`, a case without `stdin` takes the task's); without, one case with no
//! extra arguments and the task's own `stdin` and `files`.

use serde::Deserialize;
use serde_json::Value;

use super::error::WithError;
use super::with;

/// One run of the original program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What reports call it (default: its number and arguments).
    pub name: Option<String>,
    /// Arguments after the task's `original` command.
    #[serde(default)]
    pub args: Vec<String>,
    /// A file of the working copy fed to standard input.
    pub stdin: Option<String>,
    /// Files the case writes, compared by compare-outputs.
    #[serde(default)]
    pub files: Vec<String>,
}

/// The original program and its cases, read from a compare-outputs `with`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cases {
    pub original: Vec<String>,
    pub cases: Vec<Case>,
    /// `timeout:` in seconds, when given.
    pub timeout: Option<f64>,
}

/// Reads `original`, `cases` (or the single case `stdin` and `files` make), and `timeout`
/// from a compare-outputs `with`; the other keys are compare-outputs' own and not read here.
pub fn validation_cases(rule: &'static str, with: &Value) -> Result<Cases, WithError> {
    let map = with
        .as_object()
        .ok_or_else(|| WithError::new(rule, "`with` must be a mapping with `original`"))?;
    let original: Vec<String> = match map.get("original") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| WithError::new(rule, format!("`original`: {e}")))?,
        None => return Err(WithError::new(rule, "missing field `original`")),
    };
    with::argv(rule, "original", &original)?;
    let field = |key: &str| -> Result<Option<Value>, WithError> { Ok(map.get(key).cloned()) };
    let cases: Vec<Case> = match field("cases")? {
        Some(v) => {
            let mut cases: Vec<Case> = serde_json::from_value(v)
                .map_err(|e| WithError::new(rule, format!("`cases`: {e}")))?;
            let stdin: Option<String> = field("stdin")?
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| WithError::new(rule, format!("`stdin`: {e}")))?;
            for c in &mut cases {
                if c.stdin.is_none() {
                    c.stdin = stdin.clone();
                }
            }
            cases
        }
        None => vec![Case {
            name: None,
            args: Vec::new(),
            stdin: field("stdin")?
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| WithError::new(rule, format!("`stdin`: {e}")))?,
            files: field("files")?
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| WithError::new(rule, format!("`files`: {e}")))?
                .unwrap_or_default(),
        }],
    };
    if cases.is_empty() {
        return Err(WithError::new(rule, "`cases` is empty: nothing would run"));
    }
    for c in &cases {
        if let Some(s) = &c.stdin {
            with::inside(rule, "stdin", s)?;
        }
        for f in &c.files {
            with::inside(rule, "files", f)?;
        }
    }
    let timeout = match map.get("timeout") {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .ok_or_else(|| WithError::new(rule, format!("`timeout: {v}` is not a number")))?,
        ),
    };
    Ok(Cases {
        original,
        cases,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn without_cases_one_case_with_the_task_stdin() {
        let c = validation_cases(
            "t",
            &json!({"original": ["python3", "main.py"], "migrated": ["x"], "stdin": "in.txt", "files": ["out.csv"]}),
        )
        .unwrap();
        assert_eq!(c.original, ["python3", "main.py"]);
        assert_eq!(
            c.cases,
            [Case {
                name: None,
                args: vec![],
                stdin: Some("in.txt".into()),
                files: vec!["out.csv".into()]
            }]
        );
    }

    #[test]
    fn with_cases_one_per_entry() {
        let c = validation_cases(
            "t",
            &json!({"original": ["python3", "main.py"], "timeout": 5, "cases": [
                {"args": ["--n", "3"]}, {"args": ["--n", "1000"], "stdin": "big.txt"}
            ]}),
        )
        .unwrap();
        assert_eq!(c.cases.len(), 2);
        assert_eq!(c.cases[1].args, ["--n", "1000"]);
        assert_eq!(c.cases[1].stdin.as_deref(), Some("big.txt"));
        assert_eq!(c.timeout, Some(5.0));
    }

    #[test]
    fn a_case_without_stdin_takes_the_tasks() {
        let c = validation_cases(
            "t",
            &json!({"original": ["p"], "stdin": "a", "cases": [{"name": "one"}, {"stdin": "b"}]}),
        )
        .unwrap();
        assert_eq!(c.cases[0].stdin.as_deref(), Some("a"));
        assert_eq!(c.cases[0].name.as_deref(), Some("one"));
        assert_eq!(c.cases[1].stdin.as_deref(), Some("b"));
    }

    #[test]
    fn bad_cases_are_errors() {
        for bad in [
            json!({"migrated": ["x"]}),
            json!({"original": []}),
            json!({"original": ["p"], "cases": []}),
            json!({"original": ["p"], "cases": [{"argz": []}]}),
            json!({"original": ["p"], "cases": [{"stdin": "../x"}]}),
        ] {
            assert!(validation_cases("t", &bad).is_err(), "{bad}");
        }
    }
}
