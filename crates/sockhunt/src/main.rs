//! `sockhunt`: discover, hunt, correlate and watch for ATT&CK T1049, System Network
//! Connections Discovery.
//!
//! The binary is a thin layer: `cli` holds the raw flags, each `cmd::*` module turns its
//! flags into a validated configuration for a library crate and renders the result.
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod escape;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_tracing(&cli.global);
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                // `sockhunt ... | head` closing the pipe is a normal way to stop reading.
                return ExitCode::SUCCESS;
            }
            eprintln!("sockhunt: error: {}", escape::terminal(&format!("{err:#}")));
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
