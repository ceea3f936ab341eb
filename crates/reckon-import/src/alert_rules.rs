//! `alerts.csv`: the service's alert rules, `rule,subject,threshold`, one per row:
//! `margin_below,customer:bigco,5` (percent), `spend_over,carrier:acme,10000` (the deck's
//! currency), `unrated_share_over,carrier:*,1` (percent), `overbilled_share_over,carrier:*,2`
//! (percent of an invoice).

use crate::csv_table::{ColumnSpec, CsvTable};
use crate::error::{ImportError, ImportErrorKind};
use crate::NoProgress;
use reckon_core::alert::{AlertKind, AlertRule};
use std::path::Path;

/// Loads alert rules. A bad row fails the file: a rule that silently does not watch is worse
/// than none.
///
/// # Errors
/// A file-level error or a bad value (unknown rule, subject the rule cannot watch, threshold).
pub fn load_alert_rules(path: &Path) -> Result<Vec<AlertRule>, ImportError> {
    let mut table = CsvTable::open(path)?;
    let [rule, subject, threshold] = table.resolve([
        ColumnSpec { name: "rule", required: true },
        ColumnSpec { name: "subject", required: true },
        ColumnSpec { name: "threshold", required: true },
    ])?;
    let mut rules = Vec::new();
    while let Some(row) = table.next_row(&mut NoProgress)? {
        let row = row?;
        let rule_text = row.required(rule)?;
        let kind = AlertKind::parse(rule_text).ok_or_else(|| {
            let known: Vec<&str> = AlertKind::ALL.iter().map(|kind| kind.as_str()).collect();
            row.invalid(rule, rule_text, &format!("one of {}", known.join(", ")))
        })?;
        let amount = row.decimal(threshold)?;
        let parsed = AlertRule::new(kind, row.required(subject)?, amount)
            .map_err(|reason| row.error(subject, ImportErrorKind::Rule(reason)))?;
        rules.push(parsed);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<AlertRule>, ImportError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.csv");
        std::fs::write(&path, text).unwrap();
        load_alert_rules(&path)
    }

    #[test]
    fn rules_load_and_bad_ones_are_named() {
        let rules =
            load("rule,subject,threshold\nmargin_below,customer:*,5\nspend_over,carrier:acme,100.50\n").unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].label(), "spend_over carrier:acme 100.5");
        let error = load("rule,subject,threshold\nmargin_under,customer:*,5\n").unwrap_err().to_string();
        assert!(error.contains("alerts.csv:2:") && error.contains("margin_below"), "{error}");
        let error = load("rule,subject,threshold\nspend_over,customer:bigco,5\n").unwrap_err().to_string();
        assert!(error.contains("alerts.csv:2:") && error.contains("watches carrier"), "{error}");
        // Issue 13, item 8: valid CSV with a wrong rule is not called "not valid CSV".
        assert!(!error.contains("not valid CSV"), "{error}");
        let error = load("rule,subject,threshold\nspend_over,carrier:acme,lots\n").unwrap_err().to_string();
        assert!(error.contains("threshold"), "{error}");
    }
}
