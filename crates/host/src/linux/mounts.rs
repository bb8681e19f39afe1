//! `mounts`: to be written.
