//! Normalisation to the Sigma taxonomy: one module per source family.
//!
//! Readers parse a record into its native fields; these modules decide its Sigma
//! `logsource` and rename its fields to Sigma taxonomy names, so one rule fires on
//! Sysmon, Security 4688, auditd, Sysmon for Linux, ECS and the sensor alike.

pub mod cloud;
pub mod ecs;
pub mod linux;
pub mod netdevice;
pub mod windows;
