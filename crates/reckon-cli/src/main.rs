//! The `reckon` binary: parses the command line and turns the outcome into an exit code.

fn main() -> std::process::ExitCode {
    reckon_cli::run(std::env::args_os())
}
