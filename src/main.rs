//! The `harmony` binary: parse the command line, start tracing, dispatch: `serve` to
//! startup, the administrative subcommands to the command line's front end.
#![forbid(unsafe_code)]

use clap::Parser;
use harmony::cli::Command;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = harmony::cli::Cli::parse();
    if let Err(e) = harmony::config::init_tracing(&cli.log) {
        return fail(&e);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("harmony: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let json = cli.json;
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve(config) => harmony::startup::serve(*config, json).await,
            Command::Manage(command) => harmony::cli::run(command, json).await,
        }
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// One line on stderr, as the contract asks (the chain joined by ": "), and a failure.
fn fail(e: &anyhow::Error) -> std::process::ExitCode {
    eprintln!("harmony: {}", format!("{e:#}").replace('\n', " "));
    std::process::ExitCode::FAILURE
}
