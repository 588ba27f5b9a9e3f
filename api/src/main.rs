//! The `lethe` binary. See `lethe --help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Whatever the process creates is its owner's alone (SQLite's side files, temporary files).
    lethe_worker::private_fs::restrict_umask();
    let cli = lethe_api::cli::Cli::parse();
    match lethe_api::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lethe: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
