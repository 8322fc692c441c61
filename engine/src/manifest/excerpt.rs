//! The few lines of a manifest a diagnostic's snippet shows, cut down where a line is long.
//!
//! miette draws a snippet from the whole source it is given, scanning it from the start for
//! every diagnostic, and it cannot draw a label past column 65,535 (it panics with
//! "Formatting argument out of range"). So each diagnostic gets an excerpt: the lines of
//! its span and two on each side, found through a line index built once. A line longer than
//! [`LONG_LINE`] characters shows only a window around the span, with `…` where it is cut.
//! Line numbers and the column in the snippet's header stay those of the file.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::diagnostic::Span;

/// Lines longer than this (in characters) are shown in part. No manifest a person wrote has
/// one; a generated value or a pasted blob can.
pub const LONG_LINE: usize = 512;
/// How much of a long line a window keeps before and after the character it is about.
const BEFORE: usize = 60;
const AFTER: usize = 100;
/// Lines of context an excerpt keeps on each side of its span (miette shows one).
const CONTEXT: usize = 2;
const ELLIPSIS: &str = "…";

/// Where each line of a text starts, with miette's line breaks (`\n`, `\r\n`, a lone `\r`),
/// and how many characters come before every [`STRIDE`]th byte: a line and column in
/// O(log n + STRIDE), however many diagnostics ask.
#[derive(Debug)]
pub struct Lines {
    starts: Vec<usize>,
    chars_before: Vec<usize>,
    len: usize,
}

const STRIDE: usize = 512;

impl Lines {
    pub fn of(text: &str) -> Lines {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => i += 1,
                b'\r' | b'\n' => {}
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += 1;
            starts.push(i);
        }
        let mut chars_before = Vec::with_capacity(bytes.len() / STRIDE + 1);
        let mut count = 0;
        for chunk in bytes.chunks(STRIDE) {
            chars_before.push(count);
            count += char_starts(chunk);
        }
        chars_before.push(count);
        Lines {
            starts,
            chars_before,
            len: text.len(),
        }
    }

    /// The 0-based line that holds byte `offset` (a line break belongs to its line).
    fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    /// Byte range of line `n`, its break included.
    fn range(&self, n: usize) -> (usize, usize) {
        let end = self.starts.get(n + 1).copied().unwrap_or(self.len);
        (self.starts[n], end)
    }

    /// 1-based line and column (in characters) of byte `offset` of `text`, the text this
    /// index was made of.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.len);
        let line = self.line_of(offset);
        let chars_upto = |x: usize| {
            let k = x / STRIDE;
            self.chars_before[k] + char_starts(&text.as_bytes()[k * STRIDE..x])
        };
        (
            line + 1,
            chars_upto(offset) - chars_upto(self.starts[line]) + 1,
        )
    }
}

/// How many characters start in `bytes` (UTF-8 continuation bytes start none).
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xc0 != 0x80).count()
}

/// One line as the excerpt shows it. File offsets: the line starts at `line_start`, its
/// content ends at `content_end` (its break follows), and the excerpt shows `from..to` of
/// it (all the content, or a window), starting at excerpt offset `at`, then its break at
/// excerpt offset `break_at`.
#[derive(Debug, Clone, Copy)]
struct Shown {
    line_start: usize,
    content_end: usize,
    from: usize,
    to: usize,
    at: usize,
    break_at: usize,
}

/// The text miette draws a diagnostic from, and where the diagnostic's span is in it.
#[derive(Debug)]
pub struct Excerpt {
    name: String,
    text: String,
    /// The file's 0-based number of the excerpt's first line.
    first_line: usize,
    lines: Vec<Shown>,
}

impl Excerpt {
    /// The excerpt of `text` around `span`, and the span within it.
    pub fn around(name: &str, text: &str, lines: &Lines, span: Span) -> (Excerpt, Span) {
        let start = floor_char(text, span.offset.min(text.len()));
        let end = ceil_char(text, span.offset.saturating_add(span.len).min(text.len())).max(start);
        let first = lines.line_of(start);
        let last = if end > start {
            lines.line_of(end - 1)
        } else {
            first
        };
        let top = first.saturating_sub(CONTEXT);
        let bottom = (last + CONTEXT).min(lines.starts.len() - 1);
        let mut excerpt = Excerpt {
            name: name.to_owned(),
            text: String::new(),
            first_line: top,
            lines: Vec::with_capacity(bottom - top + 1),
        };
        for n in top..=bottom {
            // The character a cut line is about: the span's start on its first line, its
            // end on its last; other lines show their beginning.
            let focus = if n == first {
                Some(start)
            } else if n == last {
                Some(end)
            } else {
                None
            };
            excerpt.push_line(text, lines.range(n), focus);
        }
        let (a, b) = (excerpt.map(start), excerpt.map(end));
        (excerpt, Span::new(a, b - a))
    }

    fn push_line(
        &mut self,
        text: &str,
        (line_start, line_end): (usize, usize),
        focus: Option<usize>,
    ) {
        let line = &text[line_start..line_end];
        let content_end = line_start + line.trim_end_matches(['\r', '\n']).len();
        let content = &text[line_start..content_end];
        let (from, to) = if content.len() > LONG_LINE && content.chars().nth(LONG_LINE).is_some() {
            window(content, focus.map_or(0, |f| f - line_start))
        } else {
            (0, content.len())
        };
        let (from, to) = (line_start + from, line_start + to);
        if from > line_start {
            self.text.push_str(ELLIPSIS);
        }
        let at = self.text.len();
        self.text.push_str(&text[from..to]);
        if to < content_end {
            self.text.push_str(ELLIPSIS);
        }
        let break_at = self.text.len();
        self.text.push_str(&text[content_end..line_end]);
        self.lines.push(Shown {
            line_start,
            content_end,
            from,
            to,
            at,
            break_at,
        });
    }

    /// Where file offset `offset` is shown: in the window as itself, before or after it at
    /// the window's edge, in the line break in the copied break.
    fn map(&self, offset: usize) -> usize {
        let i = self
            .lines
            .partition_point(|l| l.line_start <= offset)
            .saturating_sub(1);
        let l = &self.lines[i];
        if offset < l.from {
            l.at
        } else if offset <= l.to {
            l.at + (offset - l.from)
        } else if offset <= l.content_end {
            l.at + (l.to - l.from)
        } else {
            l.break_at + (offset - l.content_end)
        }
    }

    /// The file's byte column of excerpt offset `at`, on the line that shows it.
    fn column(&self, at: usize) -> usize {
        let i = self.lines.partition_point(|l| l.at <= at).saturating_sub(1);
        let l = &self.lines[i];
        if at <= l.at + (l.to - l.from) {
            l.from - l.line_start + at.saturating_sub(l.at)
        } else if at >= l.break_at {
            l.content_end - l.line_start + (at - l.break_at)
        } else {
            l.to - l.line_start
        }
    }
}

/// The byte range of a long line's `content` that a window around byte `focus` keeps.
fn window(content: &str, focus: usize) -> (usize, usize) {
    let focus = floor_char(content, focus.min(content.len()));
    let from = content[..focus]
        .char_indices()
        .rev()
        .take(BEFORE)
        .last()
        .map_or(focus, |(i, _)| i);
    let to = content[focus..]
        .char_indices()
        .nth(AFTER)
        .map_or(content.len(), |(i, _)| focus + i);
    (from, to)
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let c = self
            .text
            .as_str()
            .read_span(span, context_lines_before, context_lines_after)?;
        let column = if context_lines_before == 0 {
            self.column(c.span().offset())
        } else {
            0
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            c.data(),
            *c.span(),
            c.line() + self.first_line,
            column,
            c.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excerpt(text: &str, offset: usize, len: usize) -> (Excerpt, Span) {
        Excerpt::around("m.yaml", text, &Lines::of(text), Span::new(offset, len))
    }

    /// The file's 1-based line and column miette puts in the snippet's header.
    fn header(e: &Excerpt, span: Span) -> (usize, usize) {
        let c = e.read_span(&span.into(), 0, 0).unwrap();
        (c.line() + 1, c.column() + 1)
    }

    fn shown(e: &Excerpt, span: Span) -> &str {
        &e.text[span.offset..span.offset + span.len]
    }

    #[test]
    fn short_lines_are_shown_as_they_are_with_two_lines_of_context() {
        let text = "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7\n";
        let at = text.find("e: 5").unwrap();
        let (e, span) = excerpt(text, at, 1);
        assert_eq!(e.text, "c: 3\nd: 4\ne: 5\nf: 6\ng: 7\n");
        assert_eq!(shown(&e, span), "e");
        assert_eq!(header(&e, span), (5, 1));
        let c = e.read_span(&span.into(), 1, 1).unwrap();
        assert_eq!(
            c.line(),
            3,
            "the first line of context is the file's fourth"
        );
        assert_eq!(std::str::from_utf8(c.data()).unwrap(), "d: 4\ne: 5\nf: 6\n");
    }

    #[test]
    fn a_long_line_shows_a_window_around_the_span() {
        let text = format!(
            "version: 1\nname: \"{}\", nope: 1\nnext: 2\n",
            "x".repeat(70_000)
        );
        let at = text.find("nope").unwrap();
        let (e, span) = excerpt(&text, at, 4);
        assert_eq!(shown(&e, span), "nope");
        assert_eq!(
            header(&e, span),
            (2, at - 11 + 1),
            "the file's column, in bytes"
        );
        let line = e.text.lines().nth(1).unwrap();
        assert!(
            line.starts_with("…xxx") && line.ends_with("\", nope: 1"),
            "{line}"
        );
        assert_eq!(line.chars().count(), 1 + BEFORE + "nope: 1".len());
        assert!(e.text.starts_with("version: 1\n") && e.text.ends_with("next: 2\n"));
    }

    #[test]
    fn a_span_longer_than_its_window_is_cut_at_the_window() {
        let text = format!("key: {}\n", "é".repeat(1000));
        let at = text.find('é').unwrap();
        let (e, span) = excerpt(&text, at, 2000);
        assert_eq!(shown(&e, span), "é".repeat(AFTER));
        assert!(e.text.ends_with("é…\n"));
        assert_eq!(header(&e, span), (1, 6));
    }

    #[test]
    fn long_lines_of_a_span_over_several_lines_show_their_start_or_end() {
        let long = "y".repeat(2000);
        let text = format!("top:\n  a: {long}\n  b: {long}\n  c: 1\n");
        let start = text.find("a:").unwrap();
        let end = text.find("c: 1").unwrap() + 4;
        let (e, span) = excerpt(&text, start, end - start);
        let lines: Vec<&str> = e.text.lines().collect();
        assert_eq!(lines[0], "top:");
        assert!(lines[1].starts_with("  a: yyy") && lines[1].ends_with("y…"));
        assert!(
            lines[2].starts_with("  b: yyy") && lines[2].ends_with("y…"),
            "its beginning"
        );
        assert_eq!(lines[3], "  c: 1");
        assert!(shown(&e, span).starts_with("a: ") && shown(&e, span).ends_with("c: 1"));
        assert_eq!(header(&e, span), (2, 3));
    }

    #[test]
    fn line_breaks_count_as_miette_counts_them() {
        let text = "a\r\nb\rc\nd";
        let (e, span) = excerpt(text, text.find('d').unwrap(), 1);
        assert_eq!(header(&e, span), (4, 1));
        assert_eq!(shown(&e, span), "d");
        let (e, span) = excerpt(text, text.len(), 0);
        assert_eq!(header(&e, span), (4, 2), "the end of the file");
        assert_eq!(span.len, 0);
    }
}
