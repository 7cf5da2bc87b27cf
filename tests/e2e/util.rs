//! Runs the real `cxp` binary.

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn cxp(args: &[&str]) -> Run {
    cxp_stdin(args, None)
}

pub fn cxp_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cxp"));
    cmd.args(args).env_remove("CXP_DATA").stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("spawn cxp");
    if let Some(bytes) = stdin {
        use std::io::Write;
        child.stdin.take().expect("piped").write_all(bytes).expect("write stdin");
    }
    let Output { status, stdout, stderr } = child.wait_with_output().expect("wait");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

pub fn ok(args: &[&str]) -> String {
    let run = cxp(args);
    assert_eq!(run.code, 0, "cxp {args:?} failed: {}", run.stderr);
    run.stdout
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}
