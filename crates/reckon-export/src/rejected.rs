//! `rejected.csv`: input rows set aside under `--skip-bad-rows`, each with its reason.

use reckon_import::Rejection;
use std::io::Write;

/// Writes the rejections with a header: `file,line,column,value,reason`.
///
/// # Errors
/// When the writer fails.
pub fn write_rejected<W: Write>(writer: W, rejections: &[Rejection]) -> csv::Result<()> {
    let mut csv_writer = csv::Writer::from_writer(writer);
    csv_writer.write_record(["file", "line", "column", "value", "reason"])?;
    for rejection in rejections {
        csv_writer.write_record([
            rejection.path.display().to_string().as_str(),
            &rejection.line_number.to_string(),
            rejection.column.as_deref().unwrap_or(""),
            rejection.value.as_deref().unwrap_or(""),
            &rejection.reason,
        ])?;
    }
    csv_writer.flush()?;
    Ok(())
}
