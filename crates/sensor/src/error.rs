//! Why the sensor could not start or keep running.

/// Errors of the sensor.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// Loading BPF programs needs root (CAP_BPF and CAP_PERFMON at the least).
    #[error(
        "the live sensor needs root (running as uid {euid}): run `sudo sockhunt watch`, \
         or grant CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE"
    )]
    NotRoot {
        /// Effective uid of this process.
        euid: u32,
    },
    /// The kernel publishes no BTF, so CO-RE relocations cannot be resolved.
    #[error(
        "{path} is missing: this kernel was built without CONFIG_DEBUG_INFO_BTF, and the \
         sensor needs BTF to adapt its programs to the running kernel"
    )]
    NoBtf {
        /// Where BTF was looked for.
        path: &'static str,
    },
    /// The kernel's BTF could not be parsed.
    #[error("cannot read the kernel's BTF from {path}")]
    Btf {
        /// Where BTF was read.
        path: &'static str,
        /// Why.
        #[source]
        source: aya::BtfError,
    },
    /// The kernel refused the object (verifier, permissions, missing features).
    #[error("cannot load the sensor's BPF programs")]
    Load(#[source] aya::EbpfError),
    /// A program did not load or attach to its tracepoint.
    #[error("cannot attach to the {tracepoint} BTF tracepoint")]
    Attach {
        /// Tracepoint name.
        tracepoint: &'static str,
        /// Why.
        #[source]
        source: aya::programs::ProgramError,
    },
    /// The embedded object lacks a program this build expects.
    #[error("the embedded BPF object has no program {0}")]
    MissingProgram(&'static str),
    /// The embedded object lacks a map this build expects.
    #[error("the embedded BPF object has no map {0}")]
    MissingMap(&'static str),
    /// A map could not be opened or read.
    #[error("BPF map {0}")]
    Map(&'static str, #[source] aya::maps::MapError),
    /// Waiting on the ring buffer failed.
    #[error("waiting for sensor records")]
    Poll(#[source] std::io::Error),
}
