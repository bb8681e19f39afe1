//! Loading the BPF object, attaching its programs and draining the ring buffer.

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf, EbpfLoader};
use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::error::SensorError;
use crate::raw::{DecodeError, RawEvent, KIND_SLOTS};

/// aya parses the object in place and needs it 8-byte aligned; `include_bytes!` alone
/// promises nothing.
#[repr(C, align(8))]
struct Aligned<B: ?Sized> {
    bytes: B,
}

static OBJECT: &Aligned<[u8]> = &Aligned {
    bytes: *include_bytes!("../bpf/sockhunt.bpf.o"),
};

const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// A hook of the object: program name, BTF tracepoint, whether the sensor can run
/// without it (older kernels lack `sock_send_length`).
struct Hook {
    program: &'static str,
    tracepoint: &'static str,
    required: bool,
}

const HOOKS: [Hook; 5] = [
    Hook {
        program: "handle_exec",
        tracepoint: "sched_process_exec",
        required: true,
    },
    Hook {
        program: "handle_fork",
        tracepoint: "sched_process_fork",
        required: true,
    },
    Hook {
        program: "handle_exit",
        tracepoint: "sched_process_exit",
        required: true,
    },
    Hook {
        program: "handle_sys_exit",
        tracepoint: "sys_exit",
        required: true,
    },
    Hook {
        program: "handle_sock_send",
        tracepoint: "sock_send_length",
        required: false,
    },
];

/// How the kernel side behaves.
#[derive(Debug, Clone)]
pub struct SensorConfig {
    /// Wake the reader only once the ring buffer holds this many bytes; below that the
    /// reader finds records on its next timed drain. A wakeup per record costs more
    /// than the hook itself.
    pub wakeup_bytes: u64,
    /// Process id whose own activity the kernel side drops (the sensor itself); 0 for
    /// none.
    pub exclude_pid: u32,
}

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            wakeup_bytes: 64 * 1024,
            exclude_pid: std::process::id(),
        }
    }
}

/// Records lost, by kind, summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct KernelDrops {
    /// Exec records the ring buffer had no room for.
    pub exec: u64,
    /// File-open records.
    pub file: u64,
    /// sock_diag socket records.
    pub sock_diag_socket: u64,
    /// sock_diag send records.
    pub sock_diag_send: u64,
    /// Exit records.
    pub exit: u64,
    /// Fork records.
    pub fork: u64,
}

impl KernelDrops {
    /// All kinds together.
    pub fn total(&self) -> u64 {
        self.exec + self.file + self.sock_diag_socket + self.sock_diag_send + self.exit + self.fork
    }
}

/// The loaded and attached sensor. Dropping it detaches every program.
pub struct Sensor {
    // Holds the programs and their links: they detach when it drops.
    _ebpf: Ebpf,
    ring: RingBuf<MapData>,
    drops: PerCpuArray<MapData, u64>,
    attached: Vec<&'static str>,
    missing: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Sensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sensor")
            .field("attached", &self.attached)
            .field("missing", &self.missing)
            .finish_non_exhaustive()
    }
}

impl Sensor {
    /// Checks the host, loads the object with CO-RE relocations against the running
    /// kernel's BTF and attaches every hook.
    ///
    /// Every hook is a BTF tracepoint, so tracefs need not be mounted.
    pub fn start(config: &SensorConfig) -> Result<Sensor, SensorError> {
        let euid = nix::unistd::geteuid();
        if !euid.is_root() {
            return Err(SensorError::NotRoot {
                euid: euid.as_raw(),
            });
        }
        if !Path::new(BTF_PATH).exists() {
            return Err(SensorError::NoBtf { path: BTF_PATH });
        }
        let btf = Btf::from_sys_fs().map_err(|source| SensorError::Btf {
            path: BTF_PATH,
            source,
        })?;
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .override_global("self_tgid", &config.exclude_pid, true)
            .override_global("wakeup_bytes", &config.wakeup_bytes, true)
            .load(&OBJECT.bytes)
            .map_err(SensorError::Load)?;

        let mut attached = Vec::new();
        let mut missing = Vec::new();
        for hook in &HOOKS {
            match attach(&mut ebpf, hook, &btf) {
                Ok(()) => attached.push(hook.tracepoint),
                Err(err) if !hook.required => {
                    tracing::warn!("optional hook {} not attached: {err}", hook.tracepoint);
                    missing.push((hook.tracepoint, err.to_string()));
                }
                Err(err) => return Err(err),
            }
        }

        let ring = ebpf
            .take_map("events")
            .ok_or(SensorError::MissingMap("events"))
            .and_then(|m| RingBuf::try_from(m).map_err(|e| SensorError::Map("events", e)))?;
        let drops = ebpf
            .take_map("drops")
            .ok_or(SensorError::MissingMap("drops"))
            .and_then(|m| PerCpuArray::try_from(m).map_err(|e| SensorError::Map("drops", e)))?;
        Ok(Sensor {
            _ebpf: ebpf,
            ring,
            drops,
            attached,
            missing,
        })
    }

    /// The tracepoints attached.
    pub fn attached(&self) -> &[&'static str] {
        &self.attached
    }

    /// Optional tracepoints this kernel refused, with the reason.
    pub fn missing(&self) -> &[(&'static str, String)] {
        &self.missing
    }

    /// Waits up to `timeout` for the kernel to signal a full-enough buffer, then hands
    /// every record present to `on_record`. Returns the number of records.
    ///
    /// The kernel side suppresses wakeups below its threshold, so callers drain on a
    /// short timer (10 ms) whether or not the wait was woken.
    pub fn drain(
        &mut self,
        timeout: Duration,
        mut on_record: impl FnMut(Result<RawEvent, DecodeError>),
    ) -> Result<usize, SensorError> {
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        {
            let mut fds = [PollFd::new(self.ring.as_fd(), PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, PollTimeout::from(millis)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(err) => return Err(SensorError::Poll(err.into())),
            }
        }
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            n += 1;
            on_record(RawEvent::decode(&item));
        }
        Ok(n)
    }

    /// Records the kernel side could not reserve room for, since start.
    pub fn kernel_drops(&self) -> Result<KernelDrops, SensorError> {
        let mut slot = [0u64; KIND_SLOTS as usize];
        for (kind, total) in slot.iter_mut().enumerate() {
            let per_cpu = self
                .drops
                .get(&(kind as u32), 0)
                .map_err(|e| SensorError::Map("drops", e))?;
            *total = per_cpu.iter().sum();
        }
        Ok(KernelDrops {
            exec: slot[1],
            file: slot[2],
            sock_diag_socket: slot[3],
            sock_diag_send: slot[4],
            exit: slot[5],
            fork: slot[6],
        })
    }
}

fn attach(ebpf: &mut Ebpf, hook: &Hook, btf: &Btf) -> Result<(), SensorError> {
    let fail = |source: aya::programs::ProgramError| SensorError::Attach {
        tracepoint: hook.tracepoint,
        source,
    };
    let program: &mut BtfTracePoint = ebpf
        .program_mut(hook.program)
        .ok_or(SensorError::MissingProgram(hook.program))?
        .try_into()
        .map_err(fail)?;
    program.load(hook.tracepoint, btf).map_err(fail)?;
    program.attach().map_err(fail)?;
    Ok(())
}
