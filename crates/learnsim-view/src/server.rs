//! The HTTP server: tiny_http, a few worker threads, every request answered by
//! [`crate::routes::respond`]. A request whose handler panics gets a 500 and the server goes
//! on; so does one with a Host header naming another machine while the server listens on
//! loopback only (403: a page elsewhere cannot read the runs through DNS rebinding).

use crate::routes::{Reply, respond};
use crate::safe_path::Root;
use anyhow::{Result, anyhow};
use std::net::SocketAddr;
use std::sync::Arc;

/// Threads answering requests (a page fetches its script, styles and data in parallel).
const WORKERS: usize = 4;

/// A server bound to its address, not yet answering.
pub struct Server {
    http: Arc<tiny_http::Server>,
    root: Root,
    addr: SocketAddr,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("root", &self.root)
            .field("addr", &self.addr)
            .finish()
    }
}

impl Server {
    /// Binds `addr` (port 0: any free port) to serve `root`.
    pub fn bind(root: Root, addr: SocketAddr) -> Result<Self> {
        let http =
            tiny_http::Server::http(addr).map_err(|e| anyhow!("cannot listen on {addr}: {e}"))?;
        let addr = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| anyhow!("{addr} is not an IP address"))?;
        Ok(Self {
            http: Arc::new(http),
            root,
            addr,
        })
    }

    /// The address it listens on (the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers requests until the process ends.
    pub fn run(self) {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (http, root) = (Arc::clone(&self.http), self.root.clone());
                let loopback = self.addr.ip().is_loopback();
                std::thread::spawn(move || {
                    for request in http.incoming_requests() {
                        answer(&root, loopback, request);
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.join();
        }
    }

    /// Answers requests on background threads; returns at once (tests, `--open`).
    pub fn spawn(self) -> SocketAddr {
        let addr = self.addr;
        std::thread::spawn(move || self.run());
        addr
    }
}

fn answer(root: &Root, loopback: bool, request: tiny_http::Request) {
    let method = request.method().as_str().to_string();
    let url = request.url().to_string();
    let host = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_string());
    let reply = if loopback && !host.as_deref().is_none_or(is_local_host) {
        Reply {
            status: 403,
            content_type: "application/json",
            body: br#"{"error":"this viewer answers only requests addressed to localhost"}"#
                .to_vec(),
        }
    } else {
        std::panic::catch_unwind(|| respond(root, &method, &url)).unwrap_or_else(|_| Reply {
            status: 500,
            content_type: "application/json",
            body: br#"{"error":"the viewer failed on this request; the server goes on"}"#.to_vec(),
        })
    };
    let header = |name: &str, value: &str| {
        tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
    };
    let response = tiny_http::Response::from_data(reply.body)
        .with_status_code(reply.status)
        .with_header(header("Content-Type", reply.content_type))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
        ));
    // A client that went away is not the server's problem.
    let _ = request.respond(response);
}

/// Whether a Host header names this machine: `localhost`, `127.0.0.1` or `[::1]`, with or
/// without a port.
fn is_local_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    matches!(name, "localhost" | "127.0.0.1" | "::1")
}

#[cfg(test)]
mod tests {
    use super::is_local_host;

    #[test]
    fn only_this_machine_s_names_are_local() {
        for ok in ["localhost", "localhost:8765", "127.0.0.1:80", "[::1]:8765"] {
            assert!(is_local_host(ok), "{ok}");
        }
        for bad in ["evil.example:8765", "127.0.0.2", "localhost.evil.example"] {
            assert!(!is_local_host(bad), "{bad}");
        }
    }
}
