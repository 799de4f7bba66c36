//! The AWS SDK's configuration, shared by every AWS client of the process (DynamoDB, Lambda):
//! the standard chain (environment, profile, role; `AWS_ENDPOINT_URL_<SERVICE>` redirects a
//! client) over [`https_client`].

mod http;

use aws_sdk_dynamodb::config::SharedHttpClient;

/// The HTTP client for AWS clients: the service's own hyper client (HTTP/1.1, rustls on ring;
/// see `http.rs` for why not the SDK's). It connects, and reads root certificates, on first
/// use. Clients built by hand (tests, `Config::builder()`) must be given it: the SDK brings no
/// HTTP client of its own in this build.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(http::AwsHttpClient::default())
}

/// The configuration with [`https_client`], loaded once per process: every AWS client shares
/// its credentials chain, region and connection pools.
pub async fn sdk_config() -> aws_config::SdkConfig {
    static CONFIG: tokio::sync::OnceCell<aws_config::SdkConfig> =
        tokio::sync::OnceCell::const_new();
    CONFIG
        .get_or_init(|| async {
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(https_client())
                .load()
                .await
        })
        .await
        .clone()
}
