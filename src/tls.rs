//! TLS for outbound connections, shared by HTTP tasks and the AWS clients: rustls on ring,
//! trusting the system's root certificates, which are read once per process, on first use (a
//! cold start that never calls out never reads them).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::body::Body;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Idle pooled connections are dropped after this. A Lambda instance frozen longer finds its
/// connections closed by the other side: the request fails as I/O and is retried (AWS SDK) or
/// reported (`HTTP.ConnectionFailed`).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A pooled client for http and https URLs over [`https_connector`].
pub fn https_client<B>(
    connect_timeout: Option<Duration>,
) -> Client<HttpsConnector<HttpConnector>, B>
where
    B: Body + Send + 'static,
    B::Data: Send,
{
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(https_connector(connect_timeout))
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

/// A connector for http and https URLs (HTTP/1.1), with TCP_NODELAY and a connect timeout.
pub fn https_connector(connect_timeout: Option<Duration>) -> HttpsConnector<HttpConnector> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(connect_timeout);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*client_config()).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp)
}
