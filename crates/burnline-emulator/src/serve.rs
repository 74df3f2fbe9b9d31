//! `burnline-emulator`: loads the products file and the state, binds the
//! HTTP listener (`--listen`) and the MQTT listeners (`--mqtt` plain TCP,
//! and TLS too with a certificate; `--mqtts` TLS only, with the HTTPS
//! certificate) and the OpenAPI listener (`--openapi`, plain HTTP), prints
//! one `listening on URL` line per listener on stdout (HTTP first, the
//! OpenAPI last as `listening on openapi http://ADDR`), then serves until
//! killed. See
//! the crate's modules for the protocols and `docs/registration.md` for the
//! files.

use crate::args::EmulatorArgs;
use crate::error::{Error, Result};
use crate::{api::Api, http_server, mqtt, openapi, products, state::State, tls};
use burnline_io::IoContext;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Runs the emulator until the process is killed.
pub fn run(args: &EmulatorArgs) -> Result<()> {
    let (products, access_keys) = products::load(&args.products)?;
    if args.openapi.is_some() && access_keys.is_empty() {
        return Err(Error::Usage(format!(
            "--openapi needs access_keys: [{{id, secret}}] in {}",
            args.products.display()
        )));
    }
    let state = State::load(products, args.state.as_deref())?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::Acceptor::new(cert, key)?),
        _ => None,
    };
    if args.mqtts.is_some() && tls.is_none() {
        return Err(Error::Usage(
            "--mqtts needs --tls-cert and --tls-key (the same certificate as HTTPS)".into(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .with_context(|| "starting the emulator's runtime".into())?;
    runtime.block_on(async {
        let bind = |addr: std::net::SocketAddr| async move {
            let l = TcpListener::bind(&addr)
                .await
                .with_context(|| format!("listening on {addr}"))?;
            let at = l
                .local_addr()
                .with_context(|| format!("listening on {addr}"))?;
            Ok::<_, Error>((l, at))
        };
        let (http, http_at) = bind(args.listen).await?;
        let plain = match args.mqtt {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let secure = match args.mqtts {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let open = match args.openapi {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on {scheme}://{http_at}");
        let api = Arc::new(Api::new(state));
        if let Some((l, at)) = plain {
            let _ = writeln!(out, "listening on mqtt://{at}");
            let takes = mqtt::server::Takes::Plain(tls.clone());
            tokio::spawn(mqtt::server::serve(l, takes, Arc::clone(&api)));
        }
        if let (Some((l, at)), Some(acceptor)) = (secure, &tls) {
            let _ = writeln!(out, "listening on mqtts://{at}");
            let takes = mqtt::server::Takes::Tls(acceptor.clone());
            tokio::spawn(mqtt::server::serve(l, takes, Arc::clone(&api)));
        }
        if let Some((l, at)) = open {
            let _ = writeln!(out, "listening on openapi http://{at}");
            let o = openapi::OpenApi::new(Arc::clone(&api), access_keys);
            tokio::spawn(openapi::server::serve(l, Arc::new(o)));
        }
        let _ = out.flush();
        http_server::serve(
            http,
            tls,
            api,
            Duration::from_millis(args.delay_ms),
            Duration::from_millis(args.hold_answer_ms),
        )
        .await;
        Ok(())
    })
}
