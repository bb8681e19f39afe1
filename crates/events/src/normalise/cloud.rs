//! Normalisation of cloud sources (not written yet).
