//! `connections`: to be written.
