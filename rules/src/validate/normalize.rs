//! Normalisers applied to both programs' text before comparing it: what the manifest
//! declares irrelevant (timestamps, temporary paths, line order, trailing blanks).

use regex::Regex;
use serde::Deserialize;

use super::error::WithError;

/// `normalize:` as written in the manifest.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeWith {
    #[serde(default)]
    pub trailing_whitespace: bool,
    #[serde(default)]
    pub sort_lines: bool,
    #[serde(default)]
    pub replace: Vec<ReplaceWith>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceWith {
    pub regex: String,
    /// The replacement; `$1` and `${name}` refer to capture groups.
    pub with: String,
}

#[derive(Debug, Default)]
pub struct Normalize {
    trailing_whitespace: bool,
    sort_lines: bool,
    replace: Vec<(Regex, String)>,
}

impl Normalize {
    pub fn new(rule: &'static str, w: &NormalizeWith) -> Result<Normalize, WithError> {
        let mut replace = Vec::with_capacity(w.replace.len());
        for r in &w.replace {
            let re = Regex::new(&r.regex).map_err(|e| {
                WithError::new(
                    rule,
                    format!("`normalize.replace`: bad regex '{}': {e}", r.regex),
                )
            })?;
            replace.push((re, r.with.clone()));
        }
        Ok(Normalize {
            trailing_whitespace: w.trailing_whitespace,
            sort_lines: w.sort_lines,
            replace,
        })
    }

    /// The text as lines after every normaliser, in this order: replacements (which may span
    /// lines), trailing whitespace, line order.
    pub fn lines(&self, text: &str) -> Vec<String> {
        let mut text = text.to_owned();
        for (re, with) in &self.replace {
            text = re.replace_all(&text, with.as_str()).into_owned();
        }
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| {
                if self.trailing_whitespace {
                    l.trim_end().to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect();
        if self.trailing_whitespace {
            while lines.last().is_some_and(|l| l.is_empty()) {
                lines.pop();
            }
        }
        if self.sort_lines {
            lines.sort();
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(w: NormalizeWith) -> Normalize {
        Normalize::new("t", &w).unwrap()
    }

    #[test]
    fn nothing_asked_keeps_the_text() {
        assert_eq!(
            n(NormalizeWith::default()).lines("a  \nb\n\n"),
            ["a  ", "b", ""]
        );
    }

    #[test]
    fn trailing_whitespace_and_blank_tail_lines() {
        let w = NormalizeWith {
            trailing_whitespace: true,
            ..Default::default()
        };
        assert_eq!(n(w).lines("a  \r\nb\t\n\n\n"), ["a", "b"]);
    }

    #[test]
    fn sorted_lines() {
        let w = NormalizeWith {
            sort_lines: true,
            ..Default::default()
        };
        assert_eq!(n(w).lines("b\na\nc\n"), ["a", "b", "c"]);
    }

    #[test]
    fn regex_replacements_with_groups() {
        let w = NormalizeWith {
            replace: vec![
                ReplaceWith {
                    regex: r"\d{4}-\d\d-\d\dT[\d:.]+Z?".into(),
                    with: "<time>".into(),
                },
                ReplaceWith {
                    regex: r"/tmp/(\w+)-\w+".into(),
                    with: "/tmp/$1-X".into(),
                },
            ],
            ..Default::default()
        };
        assert_eq!(
            n(w).lines("at 2025-11-19T14:21:32Z wrote /tmp/out-a8f3\n"),
            ["at <time> wrote /tmp/out-X"]
        );
    }

    #[test]
    fn a_bad_regex_is_a_clear_error() {
        let w = NormalizeWith {
            replace: vec![ReplaceWith {
                regex: "(".into(),
                with: "".into(),
            }],
            ..Default::default()
        };
        let e = Normalize::new("compare-outputs", &w).unwrap_err();
        assert!(e.to_string().contains("bad regex '('"), "{e}");
    }
}
