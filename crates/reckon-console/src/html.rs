//! HTML by hand: one escaping function, the page frame, and the cells every table shares.
//! Every value from the ledger or a request goes through [`escape`] before it is written.

use crate::session::Signed;
use axum::http::StatusCode;
use axum::response::Html;
use reckon_core::Decimal;
use std::fmt::Write;

/// Text safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(character),
        }
    }
    escaped
}

/// Text as one component of a URL path or query.
pub fn url_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// An amount as `Decimal` writes it (never through a float), without trailing zeros.
pub fn amount(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A right-aligned money cell with its currency; over- and underbilling coloured.
pub fn money_cell(value: Decimal, currency: &str) -> String {
    let class = if value > Decimal::ZERO {
        "money over"
    } else if value < Decimal::ZERO {
        "money under"
    } else {
        "money"
    };
    format!("<td class=\"{class}\">{} {}</td>", escape(&amount(value)), escape(currency))
}

/// A right-aligned money cell without colour (totals, billed amounts).
pub fn plain_money_cell(value: Decimal, currency: &str) -> String {
    format!("<td class=\"money\">{} {}</td>", escape(&amount(value)), escape(currency))
}

/// A right-aligned margin cell with its currency: a loss (below zero) in the warning colour.
pub fn margin_cell(value: Decimal, currency: &str) -> String {
    let class = if value < Decimal::ZERO { "money over" } else { "money" };
    format!("<td class=\"{class}\">{} {}</td>", escape(&amount(value)), escape(currency))
}

/// The hidden field carrying the session's CSRF token, for every form that changes something.
pub fn csrf_field(signed: &Signed) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&signed.csrf_token))
}

/// The sections of the navigation, by path.
const SECTIONS: [(&str, &str); 5] = [
    ("/", "Overview"),
    ("/disputes", "Disputes"),
    ("/settlements", "Settlements"),
    ("/margin", "Margin"),
    ("/alerts", "Alerts"),
];

/// A whole page: header with navigation and sign-out, then `body`.
pub fn page(title: &str, section: &str, signed: &Signed, body: &str) -> Html<String> {
    let mut navigation = String::new();
    for (path, name) in SECTIONS {
        let current = if path == section { " aria-current=\"page\"" } else { "" };
        let _ = write!(navigation, "<a href=\"{path}\"{current}>{name}</a>");
    }
    let scope_note = if signed.can_act { "" } else { " (read only)" };
    let header = format!(
        "<header><span class=\"brand\">Reckon</span><nav aria-label=\"Sections\">{navigation}</nav>\
         <div class=\"who\"><span>key {}{scope_note}</span><form method=\"post\" action=\"/sign-out\">{}\
         <button type=\"submit\" class=\"secondary\">Sign out</button></form></div></header>",
        escape(&signed.key_id),
        csrf_field(signed)
    );
    document(title, &format!("{header}<main><h1>{}</h1>{body}</main>", escape(title)))
}

/// A page without the signed-in header (sign-in, refusals).
pub fn document(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Reckon</title><link rel=\"stylesheet\" href=\"/console.css\"></head><body>{body}</body></html>",
        escape(title)
    ))
}

/// The page of a refusal: what was refused and why, in the ledger's own words.
pub fn refusal_page(status: StatusCode, message: &str) -> Html<String> {
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::CONFLICT => "Refused",
        StatusCode::BAD_REQUEST => "Not understood",
        _ => "Something went wrong",
    };
    document(
        title,
        &format!(
            "<main><h1>{title}</h1><p class=\"message refused\" role=\"alert\" id=\"refusal\">{}</p>\
             <p><a href=\"/\">Back to the overview</a></p></main>",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_urls_are_escaped() {
        assert_eq!(super::escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
        assert_eq!(super::url_component("acme/ä b"), "acme%2F%C3%A4%20b");
    }

    #[test]
    fn money_is_written_by_decimal_never_a_float() {
        use std::str::FromStr;
        let amount = reckon_core::Decimal::from_str("0.100000000000000001").unwrap();
        assert_eq!(super::money_cell(amount, "EUR"), "<td class=\"money over\">0.100000000000000001 EUR</td>");
        let credit = reckon_core::Decimal::from_str("-3.500").unwrap();
        assert_eq!(super::plain_money_cell(credit, "EUR"), "<td class=\"money\">-3.5 EUR</td>");
    }
}
