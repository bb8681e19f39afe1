//! `sockhunt shares`: not yet implemented.

use std::process::ExitCode;

use clap::Args;

use crate::cli::GlobalOpts;

/// Flags of `sockhunt shares`.
#[derive(Debug, Args)]
pub(crate) struct SharesArgs {}

pub(crate) fn run(_args: SharesArgs, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sockhunt shares` is not implemented yet")
}
