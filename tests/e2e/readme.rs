//! The README's five-minute tour, run as written: the block between the tour markers is a
//! shell script; the test starts the daemon itself (the block's `cxp serve ... &` line), puts
//! this build's `cxp` first on PATH, points `localhost:8086` at the daemon's port, and checks
//! what each step printed.

use std::process::Command;

use crate::daemon::Daemon;

fn tour() -> String {
    let readme = include_str!("../../README.md");
    let start = readme.find("<!-- tour:start -->").expect("tour start marker");
    let end = readme.find("<!-- tour:end -->").expect("tour end marker");
    let block = &readme[start..end];
    let open = block.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let close = block[open..].find("```").expect("the block's end") + open;
    block[open..close].to_owned()
}

#[test]
fn the_readme_tour_works_as_written() {
    let script = tour();
    assert!(script.lines().next().is_some_and(|l| l.starts_with("cxp serve --data data &")), "{script}");
    let dir = tempfile::tempdir().expect("dir");
    let d = Daemon::start(&dir.path().join("data"), &[]);
    // The daemon is already up (started above): the serve line is left out; the console is
    // interactive, so its line only checks that the command exists.
    let body: String = script
        .lines()
        .skip(1)
        .map(|l| if l.starts_with("cxp top") { "cxp top --help > /dev/null" } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        .replace("localhost:8086", &d.http.to_string());
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_cxp")).parent().expect("bin dir").to_owned();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{body}\necho; echo TOUR-OK"))
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stdout.contains("TOUR-OK"), "the tour failed:\n{stdout}\n{stderr}");
    // Found by name (the search answer), opened by phone (the 360 view), and a live segment
    // with that customer in it.
    assert!(stdout.contains("\"total\":1"), "{stdout}");
    assert!(stdout.contains("\"customer\":\"customer=c-42\""), "{stdout}");
    assert!(stdout.contains("\"city\"") && stdout.contains("上海"), "{stdout}");
    assert!(stdout.contains("\"name\":\"big_spenders\""), "{stdout}");
    // curl prints bodies back to back: read the last segment document from where it starts.
    let at = stdout.rfind("{\"name\":\"big_spenders\"").expect("the segment's JSON");
    let segment: serde_json::Value = serde_json::Deserializer::from_str(&stdout[at..])
        .into_iter::<serde_json::Value>()
        .next()
        .expect("a document")
        .expect("JSON");
    assert_eq!(segment["members"], 1, "{segment}");
    d.stop();
}
