//! `logind`: to be written.
