//! A real `cxp serve` on loopback ports, and a minimal HTTP/1.1 client over real sockets, so
//! that tests see exactly what clients see.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Daemon {
    pub child: Child,
    pub http: SocketAddr,
    pub tcp: SocketAddr,
    pub udp: Option<SocketAddr>,
    pub data: PathBuf,
}

impl Daemon {
    /// Starts `cxp serve` on free ports with `extra` flags.
    pub fn start(data: &Path, extra: &[&str]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cxp"));
        cmd.args(["serve", "--data"])
            .arg(data)
            .args(["--http", "127.0.0.1:0", "--lp-tcp", "127.0.0.1:0"])
            .args(extra)
            .env_remove("CXP_DATA")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn cxp serve");
        let out = child.stdout.take().expect("stdout");
        let (mut http, mut tcp, mut udp) = (None, None, None);
        for line in BufReader::new(out).lines() {
            let line = line.expect("read stdout");
            let mut parts = line.split(' ');
            match (parts.next(), parts.next()) {
                (Some("http"), Some(a)) => http = a.parse().ok(),
                (Some("lp-tcp"), Some(a)) => tcp = a.parse().ok(),
                (Some("lp-udp"), Some(a)) => udp = a.parse().ok(),
                (Some("ready"), _) => break,
                _ => {}
            }
        }
        Daemon { child, http: http.expect("http address"), tcp: tcp.expect("tcp address"), udp, data: data.to_owned() }
    }

    pub fn admin(&self) -> String {
        std::fs::read_to_string(self.data.join("admin.token")).expect("admin token").trim().to_owned()
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(status.success());
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "cxp serve exited with {status}");
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        request(self.http, method, path, headers, body)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut raw =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(body);
    send_raw(addr, &bytes)
}

/// Sends bytes as they are (a captured request) and reads the reply.
pub fn send_raw(addr: SocketAddr, bytes: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    s.write_all(bytes).expect("send");
    let mut out = Vec::new();
    // A captured request may say keep-alive: read one reply by its length.
    let mut reader = BufReader::new(s);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status: u16 = status_line.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("status code");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length =
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).and_then(|(_, v)| v.parse().ok());
    match length {
        Some(n) => {
            out.resize(n, 0);
            reader.read_exact(&mut out).expect("body");
        }
        None if status == 204 || method_is_head(bytes) => {}
        None => {
            reader.read_to_end(&mut out).expect("body");
        }
    }
    Reply { status, headers, body: out }
}

fn method_is_head(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HEAD ")
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}
