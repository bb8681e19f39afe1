//! `sock_diag`: to be written.
