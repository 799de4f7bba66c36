//! The SDK's `HttpClient` over the hyper client this service already has for HTTP tasks.
//!
//! The SDK's default client (aws-smithy-http-client) brings HTTP/2, a connection-proxy layer
//! and a second TLS set-up (rustls on aws-lc) that DynamoDB and Lambda calls never need: about
//! a sixth of the binary. Here: one pooled HTTP/1.1 client per distinct timeout setting, errors
//! classified as the SDK's retry logic expects (a connection that failed or closed is I/O and
//! retried; a time-out is a time-out).

use std::error::Error as StdError;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;

type Timeouts = (Option<Duration>, Option<Duration>);

#[derive(Debug, Default)]
pub struct AwsHttpClient {
    /// One connector per (connect, read) timeout pair asked for; in practice one or two.
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

impl HttpClient for AwsHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, found)) = connectors.iter().find(|(t, _)| *t == timeouts) {
            return found.clone();
        }
        let client = crate::tls::https_client(timeouts.0);
        let connector = SharedHttpConnector::new(Connector {
            client,
            read_timeout: timeouts.1,
        });
        connectors.push((timeouts, connector.clone()));
        connector
    }
}

struct Connector {
    client: Client<HttpsConnector<TcpConnector>, SdkBody>,
    /// Longest wait for the response's head once the request is on its way.
    read_timeout: Option<Duration>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let call = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let answer = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, call)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => call.await,
            };
            let response = answer.map_err(classify)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// What kind of failure a hyper error is, for the SDK's retry logic.
fn classify(err: hyper_util::client::legacy::Error) -> ConnectorError {
    if err.is_connect() {
        return ConnectorError::io(err.into());
    }
    let kind = match source::<hyper::Error>(&err) {
        Some(e) if e.is_timeout() => return ConnectorError::timeout(err.into()),
        Some(e) if e.is_user() => return ConnectorError::user(err.into()),
        Some(e) if e.is_closed() || e.is_canceled() => return ConnectorError::io(err.into()),
        // The other side closed a pooled connection while the request was being sent.
        Some(e) if e.is_incomplete_message() => Some(ErrorKind::TransientError),
        _ => None,
    };
    if kind.is_none() && source::<std::io::Error>(&err).is_some() {
        return ConnectorError::io(err.into());
    }
    ConnectorError::other(err.into(), kind)
}

/// The first error of type `E` in `err`'s chain of sources.
fn source<'a, E: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}
