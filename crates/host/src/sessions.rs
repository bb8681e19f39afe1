//! `sessions`: to be written.
