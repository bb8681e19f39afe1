//! `hostinfo`: to be written.
