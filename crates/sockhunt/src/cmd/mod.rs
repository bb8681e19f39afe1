//! One module per subcommand: each turns its raw flags into a validated configuration,
//! calls the library crate that does the work, and renders the result.

pub(crate) mod connections;
pub(crate) mod generate;
pub(crate) mod hunt;
pub(crate) mod rules;
pub(crate) mod runbook;
pub(crate) mod sessions;
pub(crate) mod shares;
pub(crate) mod snapshot;
pub(crate) mod watch;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Dispatches to the subcommand.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    match cli.command {
        Command::Connections(args) => connections::run(args, global),
        Command::Sessions(args) => sessions::run(args, global),
        Command::Shares(args) => shares::run(args, global),
        Command::Snapshot(args) => snapshot::run(args, global),
        Command::Hunt(args) => hunt::run(args, global),
        Command::Rules(command) => rules::run(command, global),
        Command::Watch(args) => watch::run(args, global),
        Command::Runbook(command) => runbook::run(command, global),
        Command::Generate(command) => generate::run(command),
    }
}
