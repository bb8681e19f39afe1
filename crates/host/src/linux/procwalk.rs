//! `procwalk`: to be written.
