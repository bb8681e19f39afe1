//! Bounded line reading shared by the text readers (not written yet).
