//! `learnsim view`: a read-only browser viewer for the run folders under a root and their
//! leaderboard. A small HTTP server ([`server`], tiny_http) answers the single-page app
//! compiled into the binary (`assets/`: `index.html`, `app.js`, `app.css`, the vendored uPlot)
//! and its JSON and binary endpoints ([`routes`]); [`export`] writes one run's page as one
//! self-contained HTML file.
//!
//! Only files under the root are ever read ([`safe_path`]); a half-written or corrupt run
//! folder gives an error card on its page, never a failed server.

pub mod export;
pub mod routes;
pub mod runs;
pub mod safe_path;
pub mod server;

use anyhow::{Context, Result, bail};
use clap::Args;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// Arguments of `learnsim view`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Folder of run folders (and its leaderboard.sqlite) to serve
    #[arg(long, default_value = "runs")]
    pub root: PathBuf,
    /// Port to listen on (0: any free port)
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// Address to listen on; the default serves this machine only
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Open the page in the system's browser
    #[arg(long)]
    pub open: bool,
    /// Write RUN's page as one self-contained HTML file OUT instead of serving
    #[arg(long, num_args = 2, value_names = ["RUN", "OUT"])]
    pub export: Option<Vec<PathBuf>>,
    /// Size cap of an exported file in MB; playbacks beyond it are subsampled in time
    #[arg(long, default_value_t = export::DEFAULT_MAX_MB)]
    pub max_mb: f64,
}

/// `learnsim view`: serves until stopped (the URL is printed first), or exports one run.
pub fn view_command(args: &ViewArgs) -> Result<String> {
    if let Some(paths) = &args.export {
        let [run, out] = paths.as_slice() else {
            bail!("--export takes RUN and OUT");
        };
        if !(args.max_mb.is_finite() && args.max_mb >= 1.0) {
            bail!("--max-mb {}: at least 1 (MB)", args.max_mb);
        }
        let done = export::export(run, out, (args.max_mb * 1e6) as usize)?;
        let mut summary = format!(
            "wrote {} ({:.1} MB); open it in a browser, no server needed",
            out.display(),
            done.bytes as f64 / 1e6
        );
        if done.frame_stride > 1 {
            summary += &format!(
                "; playbacks subsampled to every {}th frame to stay under {} MB",
                done.frame_stride, args.max_mb
            );
        }
        if done.dropped > 0 {
            summary += &format!("; {} playback(s) left out", done.dropped);
        }
        return Ok(summary);
    }
    if !args.root.is_dir() {
        bail!(
            "--root {}: no such folder (runs are written under runs/ by default; pass the folder that holds them)",
            args.root.display()
        );
    }
    let root = safe_path::Root::new(&args.root)
        .with_context(|| format!("cannot read {}", args.root.display()))?;
    let server = server::Server::bind(root, SocketAddr::new(args.bind, args.port))?;
    let url = format!("http://{}/", server.addr());
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "serving {} at {url} (read-only; Ctrl-C stops)",
        args.root.display()
    )?;
    stdout.flush()?;
    if !args.bind.is_loopback() {
        learnsim_cases::progress::warning(format_args!(
            "listening on {}: other machines can read these runs",
            args.bind
        ));
    }
    if args.open {
        open_browser(&url);
    }
    server.run();
    Ok(String::new())
}

/// Opens `url` with the system's opener, or says to open it by hand.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if std::process::Command::new(opener).arg(url).spawn().is_err() {
        learnsim_cases::progress::warning(format_args!(
            "could not start {opener}; open {url} in a browser"
        ));
    }
}
