//! `sockhunt snapshot`: not yet implemented.

use std::process::ExitCode;

use clap::Args;

use crate::cli::GlobalOpts;

/// Flags of `sockhunt snapshot`.
#[derive(Debug, Args)]
pub(crate) struct SnapshotArgs {}

pub(crate) fn run(_args: SnapshotArgs, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sockhunt snapshot` is not implemented yet")
}
