//! `snapshot`: to be written.
