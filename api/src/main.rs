//! The `lethe` binary. See `lethe --help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = lethe_api::cli::Cli::parse();
    match lethe_api::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lethe: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
