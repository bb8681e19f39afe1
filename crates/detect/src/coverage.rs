//! ATT&CK coverage of the loaded rules (not written yet).
