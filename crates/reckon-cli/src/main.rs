//! The `reckon` binary: parses the command line and turns the outcome into an exit code.

// The service and the pipelines allocate many small, short-lived values (records, JSON, SQL
// binds); glibc's allocator spent a third of the service's time under load (bench/serve_load.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    reckon_cli::run(std::env::args_os())
}
