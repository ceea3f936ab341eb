//! Sign-in with an API key, the session cookie, sign-out, and the checks of every action: a
//! session, the CSRF token of its forms, and the key's `admin` scope (a `read` key sees only).

use crate::html::{csrf_field, document, escape};
use crate::{Console, PageResult, Refusal};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use reckon_core::Timestamp;

/// The name of the session cookie.
const COOKIE: &str = "reckon_session";
/// How long a session lasts: a working day.
const SESSION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(8 * 3600);
/// The scope every action needs, as in the API.
const ACTION_SCOPE: &str = "admin";

/// The fields of a submitted form, in order (a name may repeat).
pub type Fields = Vec<(String, String)>;

/// The value of a form field, trimmed; `None` when absent.
pub fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim())
}

/// A signed-in visitor.
pub struct Signed {
    pub key_id: String,
    pub csrf_token: String,
    /// The key has the scope actions need: the action forms are shown.
    pub can_act: bool,
}

impl Signed {
    /// The actor recorded in dispute histories and the audit log.
    pub fn actor(&self) -> String {
        format!("console:{}", self.key_id)
    }
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The visitor's session, or a refusal that sends them to sign in.
pub async fn signed_in(console: &Console, headers: &HeaderMap) -> Result<Signed, Refusal> {
    let id = session_id(headers).ok_or(Refusal::SignIn)?;
    let session = console.ledger.console_session(id, Timestamp::now()).await?.ok_or(Refusal::SignIn)?;
    let can_act = session.scopes.iter().any(|scope| scope == ACTION_SCOPE);
    Ok(Signed { key_id: session.key_id, csrf_token: session.csrf_token, can_act })
}

/// Checks a form that changes something: sent from this site, with the session's CSRF token,
/// by a key with the `admin` scope.
pub fn check_action(signed: &Signed, headers: &HeaderMap, fields: &Fields, action: &str) -> Result<(), Refusal> {
    check_origin(headers)?;
    let sent = field(fields, "csrf").unwrap_or("");
    if !same_secret(sent, &signed.csrf_token) {
        return Err(Refusal::Forbidden(
            "the form's security token does not match this session: reload the page and try again".into(),
        ));
    }
    if !signed.can_act {
        return Err(Refusal::Forbidden(format!(
            "{action} is refused: key {} has read access only; the admin scope is needed",
            signed.key_id
        )));
    }
    Ok(())
}

/// A POST whose `Origin` names another site is refused (browsers send it on every POST).
fn check_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let origin = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok());
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            if origin_host == host {
                Ok(())
            } else {
                Err(Refusal::Forbidden(format!("a form from {origin} is refused: forms are taken from this site only")))
            }
        }
        _ => Ok(()),
    }
}

/// Compares two secrets in a time that does not depend on where they differ.
fn same_secret(sent: &str, kept: &str) -> bool {
    sent.len() == kept.len() && sent.bytes().zip(kept.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn sign_in_form(message: Option<&str>) -> String {
    let message = message
        .map(|text| format!("<p class=\"message refused\" role=\"alert\" id=\"refusal\">{}</p>", escape(text)))
        .unwrap_or_default();
    format!(
        "<main class=\"signin\"><section class=\"card\"><h1>Sign in to Reckon</h1>{message}\
         <form method=\"post\" action=\"/sign-in\" class=\"stacked\">\
         <label for=\"api-key\">API key<input id=\"api-key\" name=\"api_key\" type=\"password\" \
         autocomplete=\"current-password\" required placeholder=\"rk_...\"></label>\
         <button type=\"submit\" id=\"sign-in\">Sign in</button></form>\
         <p class=\"muted\">Create a key with <code>reckon apikey create --scope read</code> (or admin to act).</p>\
         </section></main>"
    )
}

pub async fn sign_in_page() -> impl IntoResponse {
    document("Sign in", &sign_in_form(None))
}

pub async fn sign_in(State(console): State<Console>, headers: HeaderMap, Form(fields): Form<Fields>) -> PageResult {
    check_origin(&headers)?;
    let token = field(&fields, "api_key").unwrap_or("");
    let started = console.ledger.start_console_session(token, SESSION_LIFETIME, Timestamp::now()).await?;
    let Some(started) = started else {
        let page = document("Sign in", &sign_in_form(Some("this API key is unknown, revoked or expired")));
        return Ok((axum::http::StatusCode::UNAUTHORIZED, page).into_response());
    };
    let secure = if console.settings.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        started.session_id,
        SESSION_LIFETIME.as_secs()
    );
    let mut response = Redirect::to("/").into_response();
    let cookie = HeaderValue::from_str(&cookie).map_err(|error| Refusal::Internal(error.to_string()))?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

pub async fn sign_out(State(console): State<Console>, headers: HeaderMap, Form(fields): Form<Fields>) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    check_origin(&headers)?;
    // Signing out needs the token but no scope: a read key may end its own session.
    if !same_secret(field(&fields, "csrf").unwrap_or(""), &signed.csrf_token) {
        return Err(Refusal::Forbidden("the form's security token does not match this session".into()));
    }
    if let Some(id) = session_id(&headers) {
        console.ledger.end_console_session(id).await?;
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("reckon_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

/// A form's opening tag with its CSRF field, for actions the key may take; `None` for a read key
/// (the form is then not shown).
pub fn action_form(signed: &Signed, action: &str, id: &str) -> Option<String> {
    signed.can_act.then(|| {
        format!(
            "<form method=\"post\" action=\"{}\" id=\"{id}\" class=\"stacked\">{}",
            escape(action),
            csrf_field(signed)
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, "theme=dark; reckon_session=abc123; x=y".parse().unwrap());
        assert_eq!(super::session_id(&headers), Some("abc123"));
        assert!(super::same_secret("abc", "abc"));
        assert!(!super::same_secret("abc", "abd"));
        assert!(!super::same_secret("ab", "abc"));
    }
}
