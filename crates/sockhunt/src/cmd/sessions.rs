//! `sockhunt sessions`: not yet implemented.

use std::process::ExitCode;

use clap::Args;

use crate::cli::GlobalOpts;

/// Flags of `sockhunt sessions`.
#[derive(Debug, Args)]
pub(crate) struct SessionsArgs {}

pub(crate) fn run(_args: SessionsArgs, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sockhunt sessions` is not implemented yet")
}
