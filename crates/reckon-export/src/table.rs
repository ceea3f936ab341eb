//! Plain-text tables for people: aligned columns, readable without color.

use std::fmt::Write as _;

/// Left-aligns the first `text_columns` columns and right-aligns the rest (numbers), two spaces
/// apart, header first.
pub fn render_aligned(rows: &[Vec<String>], text_columns: usize) -> String {
    let column_count = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..column_count).map(|column| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column > 0 {
                line.push_str("  ");
            }
            if column < text_columns {
                let _ = write!(line, "{cell:<width$}", width = widths[column]);
            } else {
                let _ = write!(line, "{cell:>width$}", width = widths[column]);
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}
