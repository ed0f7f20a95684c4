//! A small WebDriver client (W3C protocol over HTTP/1.1 to a local chromedriver), enough to
//! drive the page as a person does: open it, find, click, type, read, run a script, take a
//! screenshot.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

pub struct WebDriver {
    port: u16,
    session: String,
    chromedriver: Child,
}

/// The W3C key for Enter.
pub const ENTER: &str = "\u{E007}";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    // Read the head, then exactly Content-Length bytes: chromedriver may keep the
    // connection open whatever we ask.
    let mut response = Vec::new();
    let mut buf = [0u8; 65536];
    let body_at = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break None;
        }
        response.extend_from_slice(&buf[..n]);
        if let Some(i) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break Some(i + 4);
        }
    };
    let Some(body_at) = body_at else {
        return Err(std::io::Error::other("no HTTP head"));
    };
    let head = String::from_utf8_lossy(&response[..body_at]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(len) => {
            while response.len() < body_at + len {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                response.extend_from_slice(&buf[..n]);
            }
        }
        None => {
            stream.read_to_end(&mut response)?;
        }
    }
    Ok(serde_json::from_slice(&response[body_at..]).unwrap_or(Value::Null))
}

impl WebDriver {
    /// Starts chromedriver and a headless Chromium session of `width`×`height`.
    pub fn start(width: u32, height: u32) -> WebDriver {
        let port = free_port();
        let chromedriver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting chromedriver");
        let started = Instant::now();
        while http(port, "GET", "/status", None).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-background-networking", "--disable-sync",
                     format!("--window-size={width},{height}")]}}}});
        let answer = http(port, "POST", "/session", Some(&caps)).expect("new session");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        WebDriver {
            port,
            session,
            chromedriver,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let answer = http(self.port, method, &path, body.as_ref())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if answer["value"]["error"].is_string() {
            panic!("{method} {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    /// Element ids matching a CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_object()?.values().next()?.as_str().map(str::to_string))
            .collect()
    }

    pub fn find(&self, css: &str) -> String {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css}"))
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.find(css);
        let v = self.call("GET", &format!("/element/{id}/text"), None);
        v.as_str().unwrap_or_default().to_string()
    }

    /// Runs a script in the page; its `return` value comes back.
    pub fn execute(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Polls `ready` until it holds or `timeout` passes; returns whether it held.
    pub fn wait_until(&self, timeout: Duration, ready: impl Fn(&WebDriver) -> bool) -> bool {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if ready(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        ready(self)
    }

    /// Saves a PNG of the window.
    pub fn screenshot(&self, path: &std::path::Path) {
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        std::fs::write(path, png).expect("writing the screenshot");
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}
