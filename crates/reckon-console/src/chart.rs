//! Charts drawn on the server as inline SVG: horizontal bars with their labels and values as
//! text, so the figures read without the drawing (and by a screen reader, through the title),
//! and columns of amounts per day, each chart beside a table of its figures.
//! Bar lengths are whole pixels computed from counts or from decimals (truncated, never through
//! a float); the amounts shown are the decimals themselves.

use crate::html::escape;
use reckon_core::Decimal;
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

/// One day's columns: the label under them and one amount per series.
pub struct DayColumns {
    pub label: String,
    pub amounts: Vec<Decimal>,
}

/// A series of a column chart: its legend and its CSS class (`cost`, `revenue`, `margin`).
pub struct Series {
    pub legend: String,
    pub class: &'static str,
}

const PLOT_LEFT: u64 = 8;
const PLOT_TOP: u64 = 30;
const PLOT_HEIGHT: u64 = 180;
const COLUMN_WIDTH: u64 = 7;
const DAY_GAP: u64 = 5;

/// Pixels of `amount` on a scale where `range` is [`PLOT_HEIGHT`]: truncated, at least one for
/// an amount that is not zero (so a small day still shows).
fn pixels(amount: Decimal, range: Decimal) -> u64 {
    use rust_decimal::prelude::ToPrimitive;
    if amount.is_zero() || range.is_zero() {
        return 0;
    }
    let scaled = amount.abs().checked_mul(Decimal::from(PLOT_HEIGHT)).and_then(|product| product.checked_div(range));
    scaled.and_then(|scaled| scaled.trunc().to_u64()).unwrap_or(PLOT_HEIGHT).clamp(1, PLOT_HEIGHT)
}

/// Columns per day, one per series, up from a zero line (down for a negative amount), scaled
/// so that the largest positive and negative amounts fill the plot.
pub fn day_columns(title: &str, series: &[Series], days: &[DayColumns]) -> String {
    let amounts = || days.iter().flat_map(|day| day.amounts.iter().copied());
    let highest = amounts().max().unwrap_or(Decimal::ZERO).max(Decimal::ZERO);
    let lowest = amounts().min().unwrap_or(Decimal::ZERO).min(Decimal::ZERO);
    let range = highest.checked_sub(lowest).unwrap_or(Decimal::MAX);
    let zero_y = PLOT_TOP + pixels(highest, range).min(PLOT_HEIGHT);
    let day_width = COLUMN_WIDTH * series.len() as u64 + DAY_GAP;
    let width = PLOT_LEFT + day_width * days.len() as u64 + 8;
    let height = PLOT_TOP + PLOT_HEIGHT + 24;
    let mut svg = format!(
        "<svg class=\"chart days\" role=\"img\" aria-labelledby=\"days-title\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"days-title\">{}</title>",
        escape(title)
    );
    let mut legend_x = PLOT_LEFT;
    for each in series {
        let _ = write!(
            svg,
            "<rect class=\"{}\" x=\"{legend_x}\" y=\"6\" width=\"12\" height=\"12\"></rect>\
             <text x=\"{}\" y=\"17\">{}</text>",
            each.class,
            legend_x + 16,
            escape(&each.legend)
        );
        legend_x += 16 + 8 * each.legend.chars().count() as u64 + 24;
    }
    for (index, day) in days.iter().enumerate() {
        let day_x = PLOT_LEFT + day_width * index as u64;
        for (position, (amount, each)) in day.amounts.iter().zip(series).enumerate() {
            let length = pixels(*amount, range);
            let y = if amount.is_sign_negative() { zero_y } else { zero_y - length };
            let negative = if amount.is_sign_negative() && !amount.is_zero() { " negative" } else { "" };
            let _ = write!(
                svg,
                "<rect class=\"{}{negative}\" x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{length}\"></rect>",
                each.class,
                day_x + COLUMN_WIDTH * position as u64,
                COLUMN_WIDTH - 1,
            );
        }
        let _ = write!(
            svg,
            "<text class=\"day\" x=\"{}\" y=\"{}\">{}</text>",
            day_x,
            PLOT_TOP + PLOT_HEIGHT + 18,
            escape(&day.label)
        );
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{PLOT_LEFT}\" y1=\"{zero_y}\" x2=\"{}\" y2=\"{zero_y}\"></line></svg>",
        width - 8
    );
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

    #[test]
    fn day_columns_scale_amounts_without_floats_and_go_below_zero() {
        use std::str::FromStr;
        let d = |text: &str| reckon_core::Decimal::from_str(text).unwrap();
        let series = [
            super::Series { legend: "cost EUR".into(), class: "cost" },
            super::Series { legend: "margin EUR".into(), class: "margin" },
        ];
        let days = [
            super::DayColumns { label: "1".into(), amounts: vec![d("0.9"), d("-0.3")] },
            super::DayColumns { label: "2".into(), amounts: vec![d("0.45"), d("0")] },
        ];
        let svg = super::day_columns("Per day", &series, &days);
        // Range 0.9 - (-0.3) = 1.2 over 180 px: 0.9 -> 135 px, 0.3 -> 45 px, 0.45 -> 67.5 -> 67 px.
        assert!(svg.contains("height=\"135\""), "{svg}");
        assert!(svg.contains("class=\"margin negative\" x=\"15\" y=\"165\" width=\"6\" height=\"45\""), "{svg}");
        assert!(svg.contains("height=\"67\""), "{svg}");
        // The zero line is 135 px below the top of the plot (30 + 135).
        assert!(svg.contains("y1=\"165\""), "{svg}");
    }
}
