//! `shares`: to be written.
