//! `sockhunt connections`: not yet implemented.

use std::process::ExitCode;

use clap::Args;

use crate::cli::GlobalOpts;

/// Flags of `sockhunt connections`.
#[derive(Debug, Args)]
pub(crate) struct ConnectionsArgs {}

pub(crate) fn run(_args: ConnectionsArgs, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sockhunt connections` is not implemented yet")
}
