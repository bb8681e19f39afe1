//! `sockhunt rules`: not yet implemented.

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::GlobalOpts;

/// Subcommands of `sockhunt rules`.
#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Not implemented yet.
    List,
}

pub(crate) fn run(_command: RulesCommand, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sockhunt rules` is not implemented yet")
}
