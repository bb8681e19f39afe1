//! `sockhunt runbook`: not yet implemented.

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::GlobalOpts;

/// Subcommands of `sockhunt runbook`.
#[derive(Debug, Subcommand)]
pub(crate) enum RunbookCommand {
    /// Not implemented yet.
    List,
}

pub(crate) fn run(_command: RunbookCommand, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sockhunt runbook` is not implemented yet")
}
