//! The built-in profiles: TOML files under `profiles/`, embedded in the binary.

use crate::profile::{Profile, ProfileError};

/// Each built-in profile's name and TOML text.
const BUILTIN: &[(&str, &str)] = &[
    ("asterisk", include_str!("../profiles/asterisk.toml")),
    ("freeswitch", include_str!("../profiles/freeswitch.toml")),
    ("kannel", include_str!("../profiles/kannel.toml")),
    ("jasmin", include_str!("../profiles/jasmin.toml")),
    // Rate decks (rates.csv).
    ("az-deck", include_str!("../profiles/az-deck.toml")),
    ("jerasoft", include_str!("../profiles/jerasoft.toml")),
    ("astpp", include_str!("../profiles/astpp.toml")),
    ("magnusbilling", include_str!("../profiles/magnusbilling.toml")),
    ("a2billing", include_str!("../profiles/a2billing.toml")),
    ("yeti", include_str!("../profiles/yeti.toml")),
    ("cgrates", include_str!("../profiles/cgrates.toml")),
    // Carrier exports (invoice.csv).
    ("twilio-calls", include_str!("../profiles/twilio-calls.toml")),
    ("twilio-messages", include_str!("../profiles/twilio-messages.toml")),
    ("telnyx-voice", include_str!("../profiles/telnyx-voice.toml")),
    ("telnyx-messaging", include_str!("../profiles/telnyx-messaging.toml")),
    ("vonage-sms", include_str!("../profiles/vonage-sms.toml")),
    ("vonage-voice", include_str!("../profiles/vonage-voice.toml")),
    ("sinch-voice", include_str!("../profiles/sinch-voice.toml")),
    ("infobip-sms", include_str!("../profiles/infobip-sms.toml")),
    ("didww", include_str!("../profiles/didww.toml")),
];

/// The names of the built-in profiles, in listing order.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(name, _)| *name)
}

/// Every built-in profile, read and checked.
///
/// # Errors
/// A built-in profile that does not check (a defect: a test reads them all).
pub fn all() -> Result<Vec<Profile>, ProfileError> {
    BUILTIN.iter().map(|(name, text)| read(name, text)).collect()
}

/// The TOML text of a built-in profile (`reckon profiles --show NAME`), to copy and adapt.
pub fn text(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(builtin, _)| *builtin == name).map(|(_, text)| *text)
}

pub(crate) fn find(name: &str) -> Option<Result<Profile, ProfileError>> {
    BUILTIN.iter().find(|(builtin, _)| *builtin == name).map(|(name, text)| read(name, text))
}

fn read(name: &str, text: &str) -> Result<Profile, ProfileError> {
    Profile::from_toml(&format!("built-in profile {name}"), text)
}
