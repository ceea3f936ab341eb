//! The services Reckon rates and the base unit each one is counted in.

use rust_decimal::Decimal;
use std::fmt;

/// A kind of traffic. Quantities of a service are always in its base unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// Seconds of call duration.
    Voice,
    /// Participant-seconds.
    Video,
    /// Message segments.
    Sms,
    /// Messages.
    Mms,
    /// Messages.
    Email,
    /// Bytes.
    Data,
}

impl Service {
    /// Every service, in a fixed order (the index of a service is its position here).
    pub const ALL: [Service; 6] =
        [Service::Voice, Service::Video, Service::Sms, Service::Mms, Service::Email, Service::Data];

    /// Parses a service name, case-insensitively (`SMS` is `sms`).
    pub fn parse(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|service| service.as_str().eq_ignore_ascii_case(name))
    }

    /// The canonical, lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Voice => "voice",
            Service::Video => "video",
            Service::Sms => "sms",
            Service::Mms => "mms",
            Service::Email => "email",
            Service::Data => "data",
        }
    }

    /// The number of base units a rate is usually priced per (the `rate_unit` default).
    pub fn default_rate_unit(self) -> Decimal {
        match self {
            Service::Voice | Service::Video => Decimal::from(60),
            Service::Sms | Service::Mms => Decimal::ONE,
            Service::Email => Decimal::from(1000),
            Service::Data => Decimal::from(1_048_576),
        }
    }

    /// Position of this service in [`Service::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_case_insensitive_and_strict() {
        assert_eq!(Service::parse("SMS"), Some(Service::Sms));
        assert_eq!(Service::parse("Voice"), Some(Service::Voice));
        assert_eq!(Service::parse("fax"), None);
        assert_eq!(Service::parse(""), None);
        for service in Service::ALL {
            assert_eq!(Service::parse(service.as_str()), Some(service));
            assert_eq!(Service::ALL[service.index()], service);
        }
    }
}
