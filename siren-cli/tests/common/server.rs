//! A `siren serve` process for the server and browser tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A `siren serve` on a free port, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its `--root`.
    pub root: PathBuf,
}

impl Server {
    pub fn start(name: &str, extra: &[&str]) -> Self {
        let root = std::env::temp_dir().join(format!("siren-serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut child = Command::new(env!("CARGO_BIN_EXE_siren"))
            .args(["serve", "--port", "0", "--root"])
            .arg(&root)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start siren serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Self { child, url, root }
    }

    pub fn post(&self, path: &str, body: Value) -> Result<Value, (u16, String)> {
        match ureq::post(&format!("{}{path}", self.url)).send_json(body) {
            Ok(r) => Ok(r.into_json().unwrap()),
            Err(ureq::Error::Status(code, r)) => Err((code, r.into_string().unwrap())),
            Err(e) => panic!("{e}"),
        }
    }

    pub fn get(&self, path: &str) -> Result<ureq::Response, (u16, String)> {
        match ureq::get(&format!("{}{path}", self.url)).call() {
            Ok(r) => Ok(r),
            Err(ureq::Error::Status(code, r)) => Err((code, r.into_string().unwrap())),
            Err(e) => panic!("{e}"),
        }
    }

    /// Every event of run `id` up to `end`: (event, data).
    pub fn events(&self, id: &str) -> Vec<(String, Value)> {
        let r = self.get(&format!("/api/runs/{id}/events")).unwrap();
        let mut out = Vec::new();
        let mut event = String::new();
        for line in BufReader::new(r.into_reader()).lines() {
            let line = line.unwrap();
            if let Some(e) = line.strip_prefix("event: ") {
                event = e.to_string();
            } else if let Some(d) = line.strip_prefix("data: ") {
                out.push((event.clone(), serde_json::from_str(d).unwrap()));
                if event == "end" {
                    break;
                }
            }
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
