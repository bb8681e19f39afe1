//! `procnet`: to be written.
