//! A readable line diff of the original's and the migrated program's text: where the first
//! difference is, how many lines differ, and a few hunks with context. Lines compare with
//! a numeric tolerance when one is set, so the diff shows only real differences.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use similar::algorithms::{Capture, Replace, myers};
use similar::{DiffOp, DiffTag, group_diff_ops};

use super::numbers::{Token, Tolerance, lines_close, tokens};

/// How two texts differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDiff {
    pub original_lines: usize,
    pub migrated_lines: usize,
    /// Lines only the original has, and lines only the migrated program has.
    pub removed: usize,
    pub added: usize,
    /// 1-based line numbers of the first difference in each text.
    pub first: (usize, usize),
    /// Hunks for people, at most the requested number of lines.
    pub shown: String,
}

impl TextDiff {
    pub fn summary(&self) -> String {
        format!(
            "first difference at line {} (original {} lines, migrated {}; {} only in the original, {} only in the migrated)",
            self.first.0, self.original_lines, self.migrated_lines, self.removed, self.added
        )
    }
}

/// A line of the original (the reference for tolerances).
struct Old<'a> {
    text: &'a str,
    tokens: Vec<Token<'a>>,
}

/// A line of the migrated program's text, compared against an original one.
struct New<'a> {
    text: &'a str,
    tokens: Vec<Token<'a>>,
    tol: Option<Tolerance>,
}

impl<'a> PartialEq<Old<'a>> for New<'a> {
    fn eq(&self, old: &Old<'a>) -> bool {
        match &self.tol {
            Some(t) => lines_close(&old.tokens, &self.tokens, t),
            None => self.text == old.text,
        }
    }
}

/// Compares line by line; `None` when they agree. `max_lines` bounds the hunks shown.
pub fn compare(
    original: &[String],
    migrated: &[String],
    tol: Option<Tolerance>,
    max_lines: usize,
) -> Option<TextDiff> {
    fn tok(s: &str, numeric: bool) -> Vec<Token<'_>> {
        if numeric { tokens(s) } else { Vec::new() }
    }
    let numeric = tol.is_some();
    let old: Vec<Old<'_>> = original
        .iter()
        .map(|t| Old {
            text: t,
            tokens: tok(t, numeric),
        })
        .collect();
    let new: Vec<New<'_>> = migrated
        .iter()
        .map(|t| New {
            text: t,
            tokens: tok(t, numeric),
            tol,
        })
        .collect();
    if old.len() == new.len() && new.iter().zip(&old).all(|(n, o)| n == o) {
        return None;
    }
    // Myers needs only equality, which a tolerance keeps (hashing would not); the deadline
    // bounds the cost on huge outputs, where it settles for a coarser diff.
    let mut hook = Replace::new(Capture::new());
    let deadline = Instant::now() + Duration::from_secs(2);
    let Ok(()) = myers::diff_deadline_raw(
        &mut hook,
        &old,
        0..old.len(),
        &new,
        0..new.len(),
        Some(deadline),
    );
    let ops = hook.into_inner().into_ops();
    let (mut removed, mut added) = (0, 0);
    let mut first = None;
    for op in &ops {
        let (tag, o, n) = op.as_tag_tuple();
        if tag != DiffTag::Equal {
            removed += o.len();
            added += n.len();
            first.get_or_insert((o.start + 1, n.start + 1));
        }
    }
    let first = first?;
    Some(TextDiff {
        original_lines: old.len(),
        migrated_lines: new.len(),
        removed,
        added,
        first,
        shown: render(ops, original, migrated, max_lines),
    })
}

fn render(ops: Vec<DiffOp>, original: &[String], migrated: &[String], max_lines: usize) -> String {
    let mut out = String::new();
    let mut lines = 0;
    let mut hidden = 0;
    for group in group_diff_ops(ops, 2) {
        let (Some(head), Some(tail)) = (group.first(), group.last()) else {
            continue;
        };
        if lines + 2 > max_lines {
            hidden += group
                .iter()
                .filter(|o| o.tag() != DiffTag::Equal)
                .map(|o| o.old_range().len() + o.new_range().len())
                .sum::<usize>();
            continue;
        }
        let _ = writeln!(
            out,
            "@@ original lines {}-{}, migrated lines {}-{} @@",
            head.old_range().start + 1,
            tail.old_range().end,
            head.new_range().start + 1,
            tail.new_range().end
        );
        lines += 1;
        for op in &group {
            let (tag, o, n) = op.as_tag_tuple();
            let mut emit = |mark: char, text: &str| {
                if lines < max_lines {
                    let _ = writeln!(out, "{mark} {text}");
                    lines += 1;
                } else if mark != ' ' {
                    hidden += 1;
                }
            };
            match tag {
                DiffTag::Equal => o.for_each(|i| emit(' ', &original[i])),
                DiffTag::Delete => o.for_each(|i| emit('-', &original[i])),
                DiffTag::Insert => n.for_each(|i| emit('+', &migrated[i])),
                // Paired lines read best next to each other.
                DiffTag::Replace if o.len() == n.len() => o.zip(n).for_each(|(i, j)| {
                    emit('-', &original[i]);
                    emit('+', &migrated[j]);
                }),
                DiffTag::Replace => {
                    o.for_each(|i| emit('-', &original[i]));
                    n.for_each(|i| emit('+', &migrated[i]));
                }
            }
        }
    }
    if hidden > 0 {
        let _ = writeln!(out, "… {hidden} more changed lines not shown");
    }
    out
}

/// For content that is not text: sizes and the first differing byte.
pub fn bytes(original: &[u8], migrated: &[u8]) -> Option<String> {
    if original == migrated {
        return None;
    }
    let at = original
        .iter()
        .zip(migrated)
        .position(|(a, b)| a != b)
        .unwrap_or(original.len().min(migrated.len()));
    Some(format!(
        "binary content differs: original {} bytes, migrated {} bytes, first difference at byte {at}",
        original.len(),
        migrated.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_owned).collect()
    }

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(compare(&lines("a\nb"), &lines("a\nb"), None, 10), None);
    }

    #[test]
    fn first_difference_counts_and_context() {
        let d = compare(
            &lines("a\nb\nc\nd\ne\nf"),
            &lines("a\nb\nc\nX\ne\nf\ng"),
            None,
            20,
        )
        .unwrap();
        assert_eq!(d.first, (4, 4));
        assert_eq!((d.removed, d.added), (1, 2));
        assert_eq!((d.original_lines, d.migrated_lines), (6, 7));
        assert!(d.shown.contains("- d\n+ X\n"), "{}", d.shown);
        assert!(d.shown.contains("  c\n"), "context line: {}", d.shown);
        assert!(d.summary().starts_with("first difference at line 4"));
    }

    #[test]
    fn tolerance_hides_formatting_but_not_real_differences() {
        let tol = Some(Tolerance {
            rtol: 0.0,
            atol: 1e-9,
        });
        assert_eq!(
            compare(&lines("x 2.625\ny 1"), &lines("x 2.625000\ny 1.0"), tol, 10),
            None
        );
        let d = compare(&lines("x 2.625\ny 1"), &lines("x 2.625000\ny 1.5"), tol, 10).unwrap();
        assert_eq!(d.first, (2, 2));
        assert_eq!((d.removed, d.added), (1, 1));
    }

    #[test]
    fn long_diffs_are_cut_with_a_count() {
        let a: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let b: Vec<String> = (0..100).map(|i| format!("{i}!")).collect();
        let d = compare(&a, &b, None, 8).unwrap();
        assert!(d.shown.lines().count() <= 9, "{}", d.shown);
        assert!(
            d.shown.contains("more changed lines not shown"),
            "{}",
            d.shown
        );
    }

    #[test]
    fn binary_differences() {
        assert_eq!(bytes(b"ab", b"ab"), None);
        assert_eq!(
            bytes(b"abc", b"abd").unwrap(),
            "binary content differs: original 3 bytes, migrated 3 bytes, first difference at byte 2"
        );
        assert!(bytes(b"ab", b"abc").unwrap().contains("at byte 2"));
    }
}
