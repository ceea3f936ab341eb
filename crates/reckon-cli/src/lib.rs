//! The `reckon` command line, thin over `reckon-import`, `reckon-core` and `reckon-export`.
//!
//! Exit codes: 0 when a run completed, whatever it found; 1 when `--fail-on-discrepancy` was
//! given and discrepancies were found; 2 on an error (bad input, I/O). stdout carries reports
//! only; progress and errors go to stderr.

mod args;
mod commitments_command;
mod deck_commands;
mod demo;
mod explain_command;
mod generate_command;
mod jobs_command;
mod ledger_commands;
pub mod pipeline;
mod profile_commands;
pub mod progress;
pub mod rating_commands;
mod summary_command;

use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Runs the command line and returns the process exit code.
pub fn run(arguments: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match args::Cli::try_parse_from(arguments) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let outcome = match cli.command {
        args::Command::Reconcile(arguments) => pipeline::reconcile_command(&arguments),
        args::Command::Demo(arguments) => demo::demo_command(&arguments),
        args::Command::Generate(arguments) => generate_command::generate_command(&arguments),
        args::Command::Rate(arguments) => rating_commands::rate_command(&arguments),
        args::Command::Margin(arguments) => rating_commands::margin_command(&arguments),
        args::Command::Deck(args::DeckCommand::Update(arguments)) => deck_commands::update_command(&arguments),
        args::Command::Deck(args::DeckCommand::FromXlsx(arguments)) => deck_commands::from_xlsx_command(&arguments),
        args::Command::Import(command) => ledger_commands::import_command(&command),
        args::Command::Dispute(command) => ledger_commands::dispute_command(&command),
        args::Command::Settle(arguments) => ledger_commands::settle_command(&arguments),
        args::Command::Journal(arguments) => ledger_commands::journal_command(&arguments),
        args::Command::Serve(arguments) => ledger_commands::serve_command(&arguments),
        args::Command::Apikey(args::ApikeyCommand::Create(arguments)) => {
            ledger_commands::apikey_create_command(&arguments)
        }
        args::Command::Apikey(args::ApikeyCommand::List(arguments)) => ledger_commands::apikey_list_command(&arguments),
        args::Command::Convert(arguments) => profile_commands::convert_command(&arguments),
        args::Command::Profiles(arguments) => profile_commands::profiles_command(&arguments),
        args::Command::Apikey(args::ApikeyCommand::Revoke(arguments)) => {
            ledger_commands::apikey_revoke_command(&arguments)
        }
        args::Command::Explain(arguments) => explain_command::explain_command(&arguments),
        args::Command::Commitments(arguments) => commitments_command::commitments_command(&arguments),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            // A closed pipe on stdout (`reckon ... | head`) is not a failure.
            if error.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {}", error_chain_text(&error));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, like `{:#}`, but each cause once: many errors already
/// end with their source's text (`#[error("...: {0}")]` beside `#[source]`), which `{:#}` would
/// print again after it, two or three times down a chain.
pub fn error_chain_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if message.is_empty() || text.ends_with(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

/// Writes a report to stdout (the only place that does).
fn print_report(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

#[cfg(test)]
mod tests {
    use super::error_chain_text;
    use std::fmt;

    /// An error that repeats its source's text in its own, as `#[error("...: {0}")]` does.
    #[derive(Debug)]
    struct Wrapping(&'static str, Option<Box<Wrapping>>);

    impl fmt::Display for Wrapping {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match &self.1 {
                Some(source) => write!(f, "{}: {source}", self.0),
                None => f.write_str(self.0),
            }
        }
    }

    impl std::error::Error for Wrapping {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|source| source as _)
        }
    }

    #[test]
    fn each_cause_is_printed_once() {
        // `{:#}` printed "connection refused" three times down this chain.
        let refused = Wrapping("connection refused", None);
        let database = Wrapping("database", Some(Box::new(Wrapping("pool", Some(Box::new(refused))))));
        let error = anyhow::Error::new(database).context("opening the ledger");
        assert_eq!(format!("{error:#}").matches("connection refused").count(), 3);
        assert_eq!(error_chain_text(&error), "opening the ledger: database: pool: connection refused");
        // Causes that add something are all kept.
        let plain = anyhow::anyhow!("no such file").context("reading usage.csv");
        assert_eq!(error_chain_text(&plain), "reading usage.csv: no such file");
    }
}
