//! Raw records in, normalised events out, with the process table kept in between.

use std::path::Path;

use sockhunt_events::Event;

use crate::normalise::{BootClock, Normaliser};
use crate::proctable::{ProcInfo, ProcTable};
use crate::raw::RawEvent;

/// Counters of what the pipeline did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PipelineStats {
    /// Records processed.
    pub records: u64,
    /// Events produced.
    pub events: u64,
    /// Records dropped because their process descends from an excluded one.
    pub excluded: u64,
}

/// Turns raw records into events.
#[derive(Debug)]
pub struct Pipeline {
    table: ProcTable,
    normaliser: Normaliser,
    exclude_tree: Option<u32>,
    stats: PipelineStats,
    last_sweep_ns: u64,
}

impl Pipeline {
    /// A pipeline whose process table is seeded from `proc_root` (normally `/proc`), so
    /// processes already running have known images and command lines.
    ///
    /// `exclude_tree`: records from this process and its descendants make no event (the
    /// sensor's own pid tree).
    pub fn new(
        proc_root: &Path,
        clock: BootClock,
        exclude_tree: Option<u32>,
    ) -> std::io::Result<Self> {
        Ok(Pipeline {
            table: ProcTable::seed(proc_root)?,
            normaliser: Normaliser::new(clock),
            exclude_tree,
            stats: PipelineStats::default(),
            last_sweep_ns: 0,
        })
    }

    /// A pipeline over a given table (tests, replays).
    pub fn with_table(table: ProcTable, clock: BootClock, exclude_tree: Option<u32>) -> Self {
        Pipeline {
            table,
            normaliser: Normaliser::new(clock),
            exclude_tree,
            stats: PipelineStats::default(),
            last_sweep_ns: 0,
        }
    }

    /// The process table.
    pub fn table(&self) -> &ProcTable {
        &self.table
    }

    /// Counters so far.
    pub fn stats(&self) -> PipelineStats {
        self.stats
    }

    /// The normaliser (for the sensor's own status events).
    pub fn normaliser(&mut self) -> &mut Normaliser {
        &mut self.normaliser
    }

    /// Processes one record; returns the event it makes, if any.
    pub fn process(&mut self, raw: &RawEvent) -> Option<Event> {
        self.stats.records += 1;
        let h = raw.header();
        if h.boot_ns.saturating_sub(self.last_sweep_ns) > 1_000_000_000 {
            self.table.sweep(h.boot_ns);
            self.last_sweep_ns = h.boot_ns;
        }
        let event = match raw {
            RawEvent::Fork(f) => {
                let h = &f.header;
                self.table.fork(h.pid, h.ppid, h.uid, &h.comm);
                None
            }
            RawEvent::Exit(e) => {
                self.table.exit(e.header.pid, e.header.boot_ns);
                None
            }
            RawEvent::Exec(e) => {
                let h = &e.header;
                let image = resolve_image(&e.filename, &e.cwd);
                let command_line = e.argv.join(" ");
                self.table.exec(
                    h.pid,
                    h.ppid,
                    h.uid,
                    image.clone(),
                    command_line.clone(),
                    &h.comm,
                );
                if self.excluded(h.pid) {
                    return None;
                }
                let parent = self.table.get_or_probe(h.ppid).cloned();
                Some(
                    self.normaliser
                        .exec(e, &image, &command_line, parent.as_ref()),
                )
            }
            RawEvent::File(e) => {
                let (proc, parent) = self.actor(h.pid, h.ppid, h.uid, &h.comm)?;
                let owner = crate::normalise::table_owner(&e.path)
                    .and_then(|pid| self.table.get_or_probe(pid).cloned());
                Some(
                    self.normaliser
                        .file(e, Some(&proc), parent.as_ref(), owner.as_ref()),
                )
            }
            RawEvent::SockDiagSocket(e) => {
                let (proc, parent) = self.actor(h.pid, h.ppid, h.uid, &h.comm)?;
                Some(
                    self.normaliser
                        .sock_diag_socket(e, Some(&proc), parent.as_ref()),
                )
            }
            RawEvent::SockDiagSend(e) => {
                let (proc, parent) = self.actor(h.pid, h.ppid, h.uid, &h.comm)?;
                Some(
                    self.normaliser
                        .sock_diag_send(e, Some(&proc), parent.as_ref()),
                )
            }
        };
        if event.is_some() {
            self.stats.events += 1;
        }
        event
    }

    fn excluded(&mut self, pid: u32) -> bool {
        match self.exclude_tree {
            Some(root) if self.table.descends_from(pid, root) => {
                self.stats.excluded += 1;
                true
            }
            _ => false,
        }
    }

    /// The acting process and its parent, or `None` when the record is excluded.
    fn actor(
        &mut self,
        pid: u32,
        ppid: u32,
        uid: u32,
        comm: &str,
    ) -> Option<(ProcInfo, Option<ProcInfo>)> {
        let proc = self
            .table
            .get_or_probe(pid)
            .cloned()
            .unwrap_or_else(|| ProcInfo::from_comm(ppid, uid, comm));
        if self.excluded(pid) {
            return None;
        }
        let parent = self.table.get_or_probe(ppid).cloned();
        Some((proc, parent))
    }
}

/// The executed file as an absolute path: `execve("./x")` is relative to the cwd.
fn resolve_image(filename: &str, cwd: &str) -> String {
    if filename.starts_with('/') || filename.is_empty() {
        return filename.to_owned();
    }
    let rel = filename.strip_prefix("./").unwrap_or(filename);
    if cwd.ends_with('/') {
        format!("{cwd}{rel}")
    } else {
        format!("{cwd}/{rel}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn relative_images_join_the_cwd() {
        assert_eq!(resolve_image("./ns", "/tmp/x"), "/tmp/x/ns");
        assert_eq!(resolve_image("bin/ns", "/"), "/bin/ns");
        assert_eq!(resolve_image("/usr/bin/ss", "/tmp"), "/usr/bin/ss");
    }
}
