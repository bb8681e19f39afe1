//! `utmp`: to be written.
