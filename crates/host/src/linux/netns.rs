//! `netns`: to be written.
