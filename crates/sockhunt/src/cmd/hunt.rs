//! `sockhunt hunt`: not yet implemented.

use std::process::ExitCode;

use clap::Args;

use crate::cli::GlobalOpts;

/// Flags of `sockhunt hunt`.
#[derive(Debug, Args)]
pub(crate) struct HuntArgs {}

pub(crate) fn run(_args: HuntArgs, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sockhunt hunt` is not implemented yet")
}
