//! Normalisation of windows sources (not written yet).
