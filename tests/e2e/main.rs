//! End-to-end tests of the `cxp` binary.
