//! `guard` — work in progress in this session (placeholder so the CLI compiles).

use super::Context;
use crate::cli::GuardArgs;

/// Placeholder: exits 1.
pub fn run(_ctx: &Context, _args: &GuardArgs) -> u8 {
    crate::error::exit::INTERNAL
}
