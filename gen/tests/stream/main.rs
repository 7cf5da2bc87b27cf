//! Tests of the generated stream through the public API: format and determinism
//! (`format`), realism of the content (`realism`), and an ignored throughput run (`speed`).

mod format;
mod realism;
mod speed;
mod util;
