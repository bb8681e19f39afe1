//! `sockhunt watch`: not yet implemented.

use std::process::ExitCode;

use clap::Args;

use crate::cli::GlobalOpts;

/// Flags of `sockhunt watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {}

pub(crate) fn run(_args: WatchArgs, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sockhunt watch` is not implemented yet")
}
