//! Linux collectors: one module per kernel facility.

pub mod conn_collect;
pub mod host_info;
pub mod host_shares;
pub mod logind;
pub mod mounts;
pub mod netns;
pub mod procnet;
pub mod procwalk;
pub mod sess_collect;
pub mod sess_inbound;
pub mod sess_proc;
pub mod sock_diag;
pub mod utmp;
