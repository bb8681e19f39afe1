//! Normalisation of linux sources (not written yet).
