//! Host inventory: what an adversary running `netstat`, `ss`, `lsof -i`, `who -a`, `w` or
//! `net use` would see, collected faster and more completely.
//!
//! The public modules are platform-neutral models and entry points; the facilities of each
//! operating system live behind the `linux` module boundary so that other platforms slot in
//! beside it.
#![deny(missing_docs)]

pub mod connections;
pub mod hostinfo;
pub mod sessions;
pub mod shares;
pub mod snapshot;

#[cfg(target_os = "linux")]
pub mod linux;
