//! TLS for outbound connections, shared by HTTP tasks and the AWS clients: rustls on ring,
//! trusting the system's root certificates, which are read once per process, on first use (a
//! cold start that never calls out never reads them).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::body::Body;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::dns::GaiResolver;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Idle pooled connections are dropped after this. A Lambda instance frozen longer finds its
/// connections closed by the other side: the request fails as I/O and is retried (AWS SDK) or
/// reported (`HTTP.ConnectionFailed`).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A pooled client for http and https URLs, resolving names with the system's resolver.
pub fn https_client<B>(
    connect_timeout: Option<Duration>,
) -> Client<HttpsConnector<HttpConnector>, B>
where
    B: Body + Send + 'static,
    B::Data: Send,
{
    client_over(tcp_connector(GaiResolver::new(), connect_timeout))
}

/// A pooled client for http and https URLs whose TCP connections come from `tcp` (HTTP
/// tasks bring one that applies their egress rule); TLS runs on top, with the URL's host.
pub fn client_over<C, B>(tcp: C) -> Client<HttpsConnector<C>, B>
where
    HttpsConnector<C>: Connect + Clone + Send + Sync + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
{
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(https_over(tcp))
}

/// The client TLS configuration. Without root certificates, https connections fail (and say
/// why in the log once); plain http still works.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!("no root certificates found: https connections will fail");
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// A TCP connector for http and https URLs (TLS on top), with TCP_NODELAY and a connect
/// timeout, resolving names with `resolver`.
pub fn tcp_connector<R>(resolver: R, connect_timeout: Option<Duration>) -> HttpConnector<R> {
    let mut tcp = HttpConnector::new_with_resolver(resolver);
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(connect_timeout);
    tcp
}

/// HTTP/1.1 over `tcp`, with TLS for https URLs.
fn https_over<C>(tcp: C) -> HttpsConnector<C> {
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*client_config()).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp)
}
