//! Integration tests of the store: one binary, a module per concern.

mod crash;
mod erase;
mod format;
mod identity;
mod model;
mod profiles;
mod quarantine;
mod search;
mod state;
mod tap;
mod util;
