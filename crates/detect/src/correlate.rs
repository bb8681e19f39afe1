//! Chains of discovery behaviour (not written yet).
