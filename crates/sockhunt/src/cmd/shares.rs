//! `sockhunt shares`: mounted network file systems, the `net use` view.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use jiff::Timestamp;
use sockhunt_host::shares::{self, Share, SharesOptions, SharesReport};

use super::sessions::{
    add_row, new_table, opt, print_table, push_records, warn, write_csv, write_json, write_jsonl,
    Format,
};
use crate::cli::GlobalOpts;

/// Flags of `sockhunt shares`.
#[derive(Debug, Args)]
pub(crate) struct SharesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,

    /// Also read the mount tables of every other mount namespace (containers).
    #[arg(long)]
    pub(crate) all_mount_namespaces: bool,

    /// Read this mountinfo file instead of the live mount table (a copy of
    /// /proc/<pid>/mountinfo taken from another host).
    #[arg(long, value_name = "FILE")]
    pub(crate) mountinfo: Option<PathBuf>,

    /// With --mountinfo: look the mount points up under this directory (a mounted image of
    /// the host the mount table came from) to find their owners.
    #[arg(long, value_name = "DIR", requires = "mountinfo")]
    pub(crate) root: Option<PathBuf>,

    /// How long to wait for a mount point to answer before giving up on its owner (a dead
    /// NFS server blocks forever).
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub(crate) stat_timeout_ms: u64,

    /// Pretend the collection runs at this time (RFC 3339), for reproducible output.
    #[arg(long, value_name = "TIME", hide = true)]
    pub(crate) now: Option<Timestamp>,
}

impl SharesArgs {
    pub(crate) fn options(&self) -> SharesOptions {
        SharesOptions {
            mountinfo: self.mountinfo.clone(),
            root: self.root.clone(),
            all_mount_namespaces: self.all_mount_namespaces,
            stat_timeout: Duration::from_millis(self.stat_timeout_ms),
            proc_root: None,
            now: self.now,
        }
    }
}

pub(crate) fn run(args: SharesArgs, global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    let report = shares::collect(&args.options());
    let stdout = io::stdout();
    let color = global.color.enabled(io::IsTerminal::is_terminal(&stdout));
    let mut out = io::BufWriter::new(stdout.lock());
    let mut records = Vec::new();
    push_records(&mut records, "share", &report.shares);
    match args.format {
        Format::Table => write_table(&mut out, &report, color)?,
        Format::Json => write_json(&mut out, &report)?,
        Format::Jsonl => write_jsonl(&mut out, &records)?,
        Format::Csv => write_csv(&mut out, &records)?,
    }
    out.flush()?;
    warn(global, &report.warnings, report.partial);
    Ok(ExitCode::SUCCESS)
}

fn row(s: &Share) -> Vec<String> {
    let owner = s
        .owner
        .clone()
        .or_else(|| s.owner_uid.map(|u| u.to_string()));
    let mut options = s.options.clone();
    // The few file-system options that matter for triage: protocol version and security.
    for key in ["vers", "sec", "proto"] {
        if let Some(value) = shares::option_value(&s.fs_options, key) {
            options.push(format!("{key}={value}"));
        }
    }
    vec![
        s.protocol.clone(),
        opt(&s.server),
        opt(&s.share),
        s.mount_point.clone(),
        opt(&owner),
        opt(&s.remote_user),
        opt(&s.server_addr),
        options.join(","),
    ]
}

pub(crate) fn write_table(
    out: &mut impl Write,
    report: &SharesReport,
    color: bool,
) -> anyhow::Result<()> {
    let mut table = new_table(
        &[
            "PROTO",
            "SERVER",
            "SHARE",
            "MOUNTED ON",
            "OWNER",
            "REMOTE USER",
            "ADDRESS",
            "OPTIONS",
        ],
        color,
    );
    for share in &report.shares {
        add_row(&mut table, row(share));
    }
    print_table(out, &table)?;
    Ok(())
}
