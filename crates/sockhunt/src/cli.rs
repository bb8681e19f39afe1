//! Raw command-line flags. Each subcommand's flags live beside its implementation in
//! `cmd/`; this file only assembles them and holds the options every subcommand shares.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cmd;

/// Find, hunt and watch for System Network Connections Discovery (MITRE ATT&CK T1049).
///
/// sockhunt sees a host as an adversary would (every socket with its owning process in
/// every network namespace, logged-in and remote sessions, mounted network shares), reads
/// the logs in which discovery shows up (EVTX, auditd, Sysmon for Linux, ECS, CloudTrail,
/// network-device accounting, ESXi), runs Sigma rules over them, and watches a live Linux
/// host with an eBPF sensor that catches discovery by what it does rather than by the name
/// of the program doing it.
#[derive(Debug, Parser)]
#[command(
    name = "sockhunt",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_long_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalOpts,

    #[command(subcommand)]
    pub(crate) command: Command,
}

const AFTER_HELP: &str = "\
EXIT STATUS:
    0  success, nothing detected
    1  detections (hunt, watch, rules test failures, runbook expectations not met)
    2  errors

EXAMPLES:
    sockhunt connections -tlp           listening TCP sockets with their processes
    sockhunt conns --all-netns -ta      every TCP socket in every network namespace
    sockhunt sessions                   who is logged in, and inbound remote sessions
    sockhunt hunt /var/log/audit        run the built-in T1049 pack over audit logs
    sockhunt rules list                 the loaded rules with their test results";

/// Options every subcommand accepts.
#[derive(Debug, Args)]
pub(crate) struct GlobalOpts {
    /// When to colour output: auto colours only on a terminal.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, help_heading = "Global options")]
    pub(crate) color: ColorChoice,

    /// More diagnostics on standard error (-v info, -vv debug, -vvv trace).
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub(crate) verbose: u8,

    /// Only errors on standard error.
    #[arg(short = 'q', long, global = true, help_heading = "Global options")]
    pub(crate) quiet: bool,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream, given whether it is a terminal.
    pub(crate) fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List every socket (TCP, UDP, raw, Unix) with its owning processes.
    #[command(visible_alias = "conns")]
    Connections(cmd::connections::ConnectionsArgs),
    /// Who is logged in (as `who -a` and `w` show it), plus inbound remote sessions.
    Sessions(cmd::sessions::SessionsArgs),
    /// Mounted network file systems: the `net use` view.
    Shares(cmd::shares::SharesArgs),
    /// Connections, sessions, shares and host facts as one JSON triage document.
    Snapshot(cmd::snapshot::SnapshotArgs),
    /// Read logs, normalise them to the Sigma taxonomy and run Sigma rules over them.
    Hunt(cmd::hunt::HuntArgs),
    /// List, show, test and map the loaded Sigma rules.
    #[command(subcommand)]
    Rules(cmd::rules::RulesCommand),
    /// Live Linux sensor on eBPF tracepoints: detect discovery as it happens.
    Watch(cmd::watch::WatchArgs),
    /// Execute or replay discovery procedures and report which were detected.
    #[command(subcommand)]
    Runbook(cmd::runbook::RunbookCommand),
    /// Print shell completions or the man page, generated from this command line.
    #[command(subcommand)]
    Generate(cmd::generate::GenerateCommand),
}

/// Sends diagnostics to standard error; `RUST_LOG` overrides the verbosity flags.
pub(crate) fn init_tracing(global: &GlobalOpts) {
    use tracing_subscriber::EnvFilter;
    let default = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
