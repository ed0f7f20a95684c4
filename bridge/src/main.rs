//! kubeplay-bridge: the native side of kubeplay.
//!
//! `kubeplay-bridge serve` runs the control plane headless, in this process, behind the
//! kube-API door on loopback, and writes a kubeconfig for it:
//!
//! ```text
//! kubeplay-bridge serve --listen 127.0.0.1:6443 --kubeconfig ./kubeconfig
//! kubectl --kubeconfig ./kubeconfig get namespaces
//! ```

mod kube_api;
mod kubeconfig;
mod tls;

use anyhow::Context;
use kubeplay_core::apiserver::{ApiServer, Config};

struct Args {
    listen: String,
    kubeconfig: Option<String>,
    seed: u64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        listen: "127.0.0.1:6443".into(),
        kubeconfig: None,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    match it.next().as_deref() {
        Some("serve") => {}
        Some("-h" | "--help") | None => {
            println!("usage: kubeplay-bridge serve [--listen ADDR] [--kubeconfig PATH] [--seed N]");
            std::process::exit(0);
        }
        Some(other) => anyhow::bail!("unknown command {other:?}; try `kubeplay-bridge serve`"),
    }
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = value()?,
            "--kubeconfig" => args.kubeconfig = Some(value()?),
            "--seed" => args.seed = value()?.parse().context("--seed takes a number")?,
            other => anyhow::bail!("unknown flag {other:?}"),
        }
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let creds = kubeconfig::Credentials::generate()?;
    // Only this run's tokens open the door: not the in-page cluster's well-known ones.
    let tokens = vec![
        (
            creds.admin_token.clone(),
            "kubernetes-admin".into(),
            vec!["system:masters".into()],
        ),
        (creds.viewer_token.clone(), "viewer".into(), vec![]),
    ];
    let start = kube_api::wall_clock();
    let server = ApiServer::new(Config {
        seed: args.seed,
        tokens,
        start,
        ..Config::default()
    });
    let door = kube_api::Door::new(server);
    let cert = tls::Certificate::self_signed(&["127.0.0.1", "localhost"])?;
    let url = format!("https://{addr}");
    if let Some(path) = &args.kubeconfig {
        std::fs::write(path, kubeconfig::render(&url, &cert.cert_pem, &creds))
            .with_context(|| format!("writing {path}"))?;
        eprintln!("kubeconfig written to {path}");
    }
    eprintln!("kube-API door listening on {url}");
    axum::serve(tls::TlsListener::new(listener, &cert)?, kube_api::app(door))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
