//! The HTTP tasks' TCP connector: the egress rule applied to the address actually connected.
//!
//! hyper-util's `HttpConnector` connects to an IP literal without asking its resolver, so this
//! checks literals itself, and gives `HttpConnector` a resolver that resolves the name
//! (`tokio::net::lookup_host`) and keeps only allowed addresses: the address checked is the
//! address connected, with no second lookup in between for DNS rebinding to exploit. TLS
//! wraps this connector (`crate::tls::client_over`), so SNI and certificates still use the
//! host name. The AWS clients use their own connector, without the rule.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use super::egress::{Denied, Egress};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// A `Service<Uri>` giving TCP connections to allowed addresses only.
#[derive(Clone)]
pub struct EgressConnector {
    tcp: HttpConnector<Resolver>,
    egress: Arc<Egress>,
}

impl EgressConnector {
    pub fn new(egress: Egress, connect_timeout: Duration) -> EgressConnector {
        let egress = Arc::new(egress);
        let resolver = Resolver {
            egress: egress.clone(),
        };
        EgressConnector {
            tcp: crate::tls::tcp_connector(resolver, Some(connect_timeout)),
            egress,
        }
    }
}

/// The host of `uri` when it is an IP literal, as `HttpConnector` reads it (brackets off).
fn literal(uri: &Uri) -> Option<IpAddr> {
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.parse().ok()
}

impl Service<Uri> for EgressConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Boxed<TokioIo<TcpStream>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        if let Some(Err(denied)) = literal(&dst).map(|ip| self.egress.check(ip)) {
            return Box::pin(async move { Err(denied.into()) });
        }
        let connecting = self.tcp.call(dst);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}

/// Resolves a host name to its allowed addresses; when every address is denied, fails with
/// the first one's `Denied`.
#[derive(Clone)]
struct Resolver {
    egress: Arc<Egress>,
}

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Boxed<Self::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let egress = self.egress.clone();
        Box::pin(async move {
            // Port 0: HttpConnector puts the URL's port on each address.
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let mut first_denied: Option<Denied> = None;
            let allowed: Vec<SocketAddr> = found
                .filter(|addr| match egress.check(addr.ip()) {
                    Ok(()) => true,
                    Err(denied) => {
                        first_denied.get_or_insert(denied);
                        false
                    }
                })
                .collect();
            match first_denied {
                Some(denied) if allowed.is_empty() => Err(denied.into()),
                _ => Ok(allowed.into_iter()),
            }
        })
    }
}
