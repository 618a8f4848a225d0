//! `resonantgen`: the scheduler CLI. Validates and enqueues generation requests in Postgres,
//! and serves results back (status, response JSON, output files).

mod api;
mod batch;
mod cli;
mod connect;
mod flags;
mod retrieve;
mod scenes;
mod submit;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Cli::parse();
    match cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
