//! Charts drawn on the server as inline SVG: horizontal bars with their labels and values as
//! text, so the figures read without the drawing (and by a screen reader, through the title).
//! Bar lengths are whole pixels computed from counts, never from money.

use crate::html::escape;
use std::fmt::Write;

/// One bar: its label, its length's count, and the text written after it.
pub struct Bar {
    pub label: String,
    pub count: u64,
    pub value_text: String,
}

const LABEL_WIDTH: u64 = 190;
const BAR_WIDTH_MAX: u64 = 420;
const ROW_HEIGHT: u64 = 26;

/// Horizontal bars scaled to the largest count.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let largest = bars.iter().map(|bar| bar.count).max().unwrap_or(0).max(1);
    let height = ROW_HEIGHT * bars.len() as u64 + 8;
    let width = LABEL_WIDTH + BAR_WIDTH_MAX + 360;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"chart-title\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-title\">{}</title>",
        escape(title)
    );
    for (index, bar) in bars.iter().enumerate() {
        let y = ROW_HEIGHT * index as u64 + 4;
        // At least a pixel, so a kind with few rows still shows.
        let length = (bar.count.saturating_mul(BAR_WIDTH_MAX) / largest).max(1);
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{}</text><rect class=\"bar\" x=\"{LABEL_WIDTH}\" y=\"{y}\" width=\"{length}\" \
             height=\"{}\"></rect><text x=\"{}\" y=\"{}\">{}</text>",
            y + 15,
            escape(&bar.label),
            ROW_HEIGHT - 8,
            LABEL_WIDTH + length + 8,
            y + 15,
            escape(&bar.value_text)
        );
    }
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"{LABEL_WIDTH}\" y1=\"0\" x2=\"{LABEL_WIDTH}\" y2=\"{height}\"></line></svg>"
    ));
    svg
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars_scale_to_the_largest_count_and_escape_labels() {
        let svg = super::bars(
            "By kind",
            &[
                super::Bar { label: "rate_mismatch".into(), count: 8, value_text: "8 · 0.24 EUR".into() },
                super::Bar { label: "<x>".into(), count: 2, value_text: "2".into() },
            ],
        );
        assert!(svg.contains("width=\"420\""), "{svg}");
        assert!(svg.contains("width=\"105\""), "{svg}");
        assert!(svg.contains("&lt;x&gt;"), "{svg}");
    }
}
