//! `sockhunt generate`: shell completions and the man page, from the clap definition, so
//! they can never drift from the real flags.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Subcommand};
use clap_complete::Shell;

use crate::cli::Cli;

/// Subcommands of `sockhunt generate`.
#[derive(Debug, Subcommand)]
pub(crate) enum GenerateCommand {
    /// Print a completion script for a shell to standard output.
    Completions {
        /// The shell to generate for.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write the man pages (sockhunt.1 and one per subcommand) into a directory, or print
    /// sockhunt.1 to standard output when no directory is given.
    Man {
        /// Directory to write the pages into.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

pub(crate) fn run(command: GenerateCommand) -> anyhow::Result<ExitCode> {
    let mut cli = Cli::command();
    match command {
        GenerateCommand::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut cli, "sockhunt", &mut out);
            out.flush()?;
        }
        GenerateCommand::Man { out_dir: None } => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cli).render(&mut out)?;
            out.flush()?;
        }
        GenerateCommand::Man { out_dir: Some(dir) } => {
            fs_err::create_dir_all(&dir)?;
            clap_mangen::generate_to(cli, &dir)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
