//! What the service is started with besides the ledger: the reference data a reconciliation and
//! a margin need (FX rates, number-to-network table, tolerances, contracts and holidays), alert rules and
//! where alerts go. Loaded by `reckon serve` from the same files and flags as the CLI commands.

use reckon_core::alert::AlertRule;
use reckon_core::network::NetworkMap;
use reckon_core::time_band::HolidayCalendar;
use reckon_core::{FxTable, ReconcileConfig};
use std::collections::HashMap;
use std::time::Duration;

/// The service's settings.
#[derive(Debug, Default)]
pub struct ServiceSettings {
    /// FX rates for margins and reconciliations.
    pub fx: FxTable,
    /// Number-to-network table for rates priced per network.
    pub networks: NetworkMap,
    /// Tolerances, contracts and report currency of reconciliations run by the service; the
    /// contracts' rounding also shapes the decks it rates with.
    pub reconcile: ReconcileConfig,
    /// Holiday calendars per carrier or price plan (`holidays.csv`, `--holidays`), applied to
    /// every deck the service rates with, as the file commands apply them.
    pub holidays: HashMap<String, HolidayCalendar>,
    pub alerts: AlertSettings,
    pub connections: ConnectionLimits,
    pub replica: ReplicaSettings,
    /// Serve HTTPS with this certificate and key instead of plain HTTP.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Each API key's rate, per replica (`None`: unlimited).
    pub key_rate_limit: Option<crate::rate_limit::RateLimit>,
}

impl ServiceSettings {
    /// The reference data a run, an explanation or a settlement of the service uses, borrowed
    /// from these settings: the one place it is put together, for the API and the console.
    pub fn reference(&self) -> reckon_store::ExplainSettings<'_> {
        reckon_store::ExplainSettings {
            config: &self.reconcile,
            fx: &self.fx,
            networks: &self.networks,
            holidays: &self.holidays,
        }
    }
}

/// The console reads the same settings value as the API's handlers.
impl reckon_console::ServiceReference for ServiceSettings {
    fn reference(&self) -> reckon_store::ExplainSettings<'_> {
        ServiceSettings::reference(self)
    }
}

/// This process among the replicas of the service on one ledger.
#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    /// Names this process in leases and logs: its replica name, process id and start time, so
    /// that two processes never share one (a restarted replica waits for its old leases to
    /// lapse like any other).
    pub holder: String,
    /// How long a lease holds without renewal: a killed replica's duties (the alert checks, an
    /// alert's delivery) pass to another after at most this long.
    pub lease_ttl: Duration,
}

impl ReplicaSettings {
    /// The settings of a replica named `name` (the host's name, say) in this process.
    pub fn new(name: &str, lease_ttl: Duration) -> ReplicaSettings {
        let started = jiff::Timestamp::now().as_nanosecond();
        ReplicaSettings { holder: format!("{name}/{}/{started}", std::process::id()), lease_ttl }
    }
}

impl Default for ReplicaSettings {
    fn default() -> ReplicaSettings {
        ReplicaSettings::new("reckon", Duration::from_secs(15))
    }
}

/// What a client connection may hold: slow or idle clients cannot exhaust the server or hold
/// up its shutdown.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub connections_max: usize,
    /// A connection that has not sent a whole request head within this time is closed (an idle
    /// keep-alive connection too).
    pub header_read_timeout: Duration,
    /// After SIGTERM, connections still open after this long are closed.
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            connections_max: 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Alert rules and their delivery.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub rules: Vec<AlertRule>,
    /// `http://` or `https://` URL alerts are POSTed to as JSON (they always go to the log).
    /// Across replicas each alert is POSTed by one of them at a time (its lease), until one
    /// attempt succeeds.
    pub webhook: Option<String>,
    /// Signs each POST (`Reckon-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
    /// "<t>.<body>">`) so that the receiver can tell it comes from this service, unaltered.
    pub webhook_secret: Option<String>,
    /// Trust this CA (PEM) for an https webhook instead of the system's roots.
    pub webhook_ca: Option<std::path::PathBuf>,
    /// How often months with new usage are checked against the rules.
    pub check_interval: Duration,
    /// Attempts to deliver an alert before giving up (each recorded in the ledger).
    pub webhook_attempts: u32,
    /// Wait before the first retry; doubled after each failure, at most a minute.
    pub webhook_backoff: Duration,
}

impl Default for AlertSettings {
    fn default() -> AlertSettings {
        AlertSettings {
            rules: Vec::new(),
            webhook: None,
            webhook_secret: None,
            webhook_ca: None,
            check_interval: Duration::from_secs(5),
            webhook_attempts: 8,
            webhook_backoff: Duration::from_millis(500),
        }
    }
}
