//! What every section's markdown and HTML share: escaping, tables, the page around the
//! sections (inline CSS, print stylesheet) and the SVG charts. Nothing here fetches
//! anything: the page is one self-contained file.

use std::fmt::Write as _;

/// A markdown table cell: no line breaks, no stray column separators.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Text for HTML, in an element or an attribute.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A markdown table; cells are plain text (escaped here), or markdown the caller made.
pub fn md_table(s: &mut String, head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
}

/// An HTML table row: its class (empty for none) and cells that are already HTML.
pub struct Row {
    pub class: String,
    pub cells: Vec<String>,
}

impl Row {
    pub fn plain(cells: Vec<String>) -> Row {
        Row {
            class: String::new(),
            cells,
        }
    }
}

/// An HTML table with an id (empty for none).
pub fn html_table(s: &mut String, id: &str, head: &[&str], rows: impl IntoIterator<Item = Row>) {
    // A table wider than the page scrolls inside its box instead of being cut off.
    s.push_str("<div class=\"scroll\">");
    if id.is_empty() {
        s.push_str("<table>");
    } else {
        let _ = write!(s, "<table id=\"{id}\">");
    }
    s.push_str("<thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>\n");
    for r in rows {
        if r.class.is_empty() {
            s.push_str("<tr>");
        } else {
            let _ = write!(s, "<tr class=\"{}\">", r.class);
        }
        for c in &r.cells {
            let _ = write!(s, "<td>{c}</td>");
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
}

/// The page around the sections.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{CSS}</style></head><body>\n<h1>{t}</h1>\n{body}</body></html>\n",
        t = esc(title)
    )
}

/// Screen and print: on paper the page uses the full width, tables and charts are not cut
/// across pages, and each section starts with its heading on the same page as its content.
const CSS: &str = "body{font:15px/1.4 system-ui,sans-serif;max-width:62em;margin:2em auto;padding:0 1em;color:#222}\
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.num{text-align:right}tr.completed td:first-child,tr.ok .outcome{color:#1a7f37}\
tr.failed{background:#fdecea}tr.failed td:first-child,tr.failed .outcome{color:#c62828}tr.not-run .outcome{color:#777}\
tr.unmapped td{color:#8a5a00}.error{color:#c62828}.note{color:#555}code{font-size:85%}\
svg{display:block;margin:.5em 0}svg text{font:12px system-ui,sans-serif;fill:#222}\
@media print{body{margin:0;max-width:none;font-size:11pt}.scroll{overflow:visible}h2{break-after:avoid}\
table,svg,tr{break-inside:avoid}th{background:#eee;-webkit-print-color-adjust:exact;print-color-adjust:exact}\
svg,tr.failed{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/// One bar of a horizontal bar chart.
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// What the bar's end says, e.g. `72.5` or `2 files`.
    pub text: String,
    pub color: &'static str,
}

/// Horizontal bars, one per row, scaled to `max` (the largest value when `None`).
pub fn bar_chart(id: &str, label: &str, bars: &[Bar], max: Option<f64>) -> String {
    let (label_w, bar_w, row_h) = (180.0, 380.0, 22.0);
    let max = max
        .unwrap_or_else(|| bars.iter().map(|b| b.value).fold(0.0, f64::max))
        .max(f64::MIN_POSITIVE);
    let height = row_h * bars.len() as f64 + 4.0;
    let mut s = format!(
        "<svg id=\"{id}\" class=\"chart\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">\n",
        esc(label),
        w = label_w + bar_w + 170.0,
    );
    for (i, b) in bars.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        // A zero value still shows a sliver, so the row is seen to be there.
        let w = (bar_w * b.value.max(0.0) / max).clamp(1.0, bar_w);
        // The label column is narrow; the whole label is in the bar's tooltip.
        let short: String = if b.label.chars().count() > 26 {
            b.label.chars().take(25).chain(['…']).collect()
        } else {
            b.label.clone()
        };
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"{ty:.1}\">{short}</text>\
             <rect class=\"bar\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{c}\"><title>{l}: {t}</title></rect>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\">{t}</text>",
            ty = y + 14.0,
            l = esc(&b.label),
            h = row_h - 6.0,
            c = b.color,
            t = esc(&b.text),
            short = esc(&short),
            tx = label_w + w + 6.0,
        );
    }
    s.push_str("</svg>\n");
    s
}

/// One segment of a stacked bar.
pub struct Segment {
    pub label: &'static str,
    pub count: usize,
    pub color: &'static str,
}

/// One bar split into segments by count, with a legend under it.
pub fn stacked_bar(id: &str, label: &str, segments: &[Segment]) -> String {
    let (w, h) = (560.0, 22.0);
    let total: usize = segments.iter().map(|s| s.count).sum();
    let mut s = format!(
        "<svg id=\"{id}\" class=\"chart\" width=\"{w}\" height=\"50\" role=\"img\" aria-label=\"{}\">\n",
        esc(label)
    );
    let mut x = 0.0;
    let mut legend = 0.0;
    for seg in segments {
        if seg.count > 0 {
            let sw = w * seg.count as f64 / total.max(1) as f64;
            let _ = writeln!(
                s,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"2\" width=\"{sw:.1}\" height=\"{h}\" fill=\"{c}\"><title>{n} {l}</title></rect>",
                c = seg.color,
                n = seg.count,
                l = seg.label,
            );
            x += sw;
        }
        let _ = writeln!(
            s,
            "<rect x=\"{legend:.1}\" y=\"34\" width=\"10\" height=\"10\" fill=\"{c}\"/>\
             <text x=\"{tx:.1}\" y=\"43\">{n} {l}</text>",
            c = seg.color,
            tx = legend + 14.0,
            n = seg.count,
            l = seg.label,
        );
        legend += 130.0;
    }
    s.push_str("</svg>\n");
    s
}

/// The overall progress as a bar.
pub fn progress(percent: u32) -> String {
    let w = 400.0 * f64::from(percent.min(100)) / 100.0;
    format!(
        "<svg id=\"progress\" class=\"chart\" width=\"460\" height=\"26\" role=\"img\" aria-label=\"{percent}% complete\">\
         <rect x=\"0\" y=\"4\" width=\"400\" height=\"18\" fill=\"#e6e6e6\"/>\
         <rect class=\"bar\" x=\"0\" y=\"4\" width=\"{w:.1}\" height=\"18\" fill=\"{GREEN}\"/>\
         <text x=\"408\" y=\"18\">{percent}%</text></svg>\n"
    )
}

pub const GREEN: &str = "#1a7f37";
pub const RED: &str = "#c62828";
pub const GREY: &str = "#9e9e9e";
pub const BLUE: &str = "#2f6fb0";
pub const PURPLE: &str = "#7b4fa0";
pub const TEAL: &str = "#00838f";
pub const ORANGE: &str = "#e07b00";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(esc("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }

    #[test]
    fn bars_scale_to_the_largest_and_never_vanish() {
        let bars = [
            Bar {
                label: "a".into(),
                value: 10.0,
                text: "10".into(),
                color: BLUE,
            },
            Bar {
                label: "b".into(),
                value: 0.0,
                text: "0".into(),
                color: BLUE,
            },
        ];
        let svg = bar_chart("x", "x", &bars, None);
        assert!(svg.contains("width=\"380.0\""), "{svg}");
        assert!(svg.contains("width=\"1.0\""), "{svg}");
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 2);
    }

    #[test]
    fn stacked_segments_add_up_to_the_width() {
        let svg = stacked_bar(
            "s",
            "s",
            &[
                Segment {
                    label: "ok",
                    count: 3,
                    color: GREEN,
                },
                Segment {
                    label: "failed",
                    count: 1,
                    color: RED,
                },
                Segment {
                    label: "not run",
                    count: 0,
                    color: GREY,
                },
            ],
        );
        assert!(svg.contains("width=\"420.0\""), "{svg}");
        assert!(svg.contains("x=\"420.0\" y=\"2\" width=\"140.0\""), "{svg}");
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 2);
    }
}
