mod support;

mod harness;

// The contract structs pin every JSON field (deny_unknown_fields), read or not.
#[allow(dead_code)]
mod contract;

mod buildpack;
mod complete;
mod concurrency;
mod connection;
mod deploy;
mod diagnose;
mod guard;
mod hardening;
mod layering;
mod lock_guard;
mod npm;
mod parity;
mod project;
mod release;
mod resolve;
mod restart;
mod status;
mod watch;
