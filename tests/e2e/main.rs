//! End-to-end tests of the `cxp` binary: one test binary, a module per command family, a
//! shared harness in `util.rs`.

mod analysis;
mod automation;
mod customer;
mod daemon;
mod demo;
mod dict;
mod erase;
mod events;
mod generate;
mod import;
mod import_formats;
mod models;
mod openapi;
mod readme;
mod serve;
mod serve_auth;
mod top;
mod util;
