//! HTTP and HTTPS for drills: the load, the probe and the monitoring queries use one kind of
//! client. TLS is rustls (memory-safe, no system OpenSSL to match), with the `ring` provider;
//! a server's certificate is checked against the system's roots, a `ca` file, or nothing
//! (`insecure = true`), as the drill file says.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::time::Instant;

use super::model::Trust;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<&'static [u8]>>;

/// A keep-alive HTTP/1.1 client, https when the URL says so: no proxy, Nagle off.
pub fn client(trust: &Trust) -> Result<HttpClient> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(2)));
    http.enforce_http(false);
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(trust)?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(trust: &Trust) -> Result<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?;
    let config = match trust {
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
            .with_no_client_auth(),
        Trust::Ca(path) => {
            let mut roots = RootCertStore::empty();
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .with_context(|| format!("reading the certificates of `ca` {}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                bail!("`ca` {}: no usable certificate in the file", path.display());
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::System => {
            let mut roots = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::debug!(errors = ?found.errors, "no system root certificates: https URLs need `ca` or `insecure`");
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(config)
}

/// `insecure = true`: any certificate for any name. Signatures are still checked, so the
/// connection is encrypted to whoever holds the key the server presented.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    Timeout,
    /// Connection refused, reset, a TLS failure, or a malformed response.
    Failed(String),
}

impl Outcome {
    /// The hypothesis counts 2xx as success and everything else (non-2xx, timeout, refused) as failure.
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Status(code) if (200..300).contains(code))
    }
}

/// One GET, ended at `deadline`; the body is read to the end so the connection is reused.
pub async fn get(client: &HttpClient, uri: &Uri, deadline: Instant) -> Outcome {
    match fetch(client, uri, deadline).await {
        Ok((status, _)) => Outcome::Status(status),
        Err(Fetch::Timeout) => Outcome::Timeout,
        Err(Fetch::Failed(e)) => Outcome::Failed(e),
    }
}

/// Why a fetch gave no response.
#[derive(Debug)]
pub enum Fetch {
    Timeout,
    Failed(String),
}

/// One GET with its body (at most `MAX_BODY` bytes, not copied: the load drops it), ended at `deadline`.
pub async fn fetch(client: &HttpClient, uri: &Uri, deadline: Instant) -> Result<(u16, Bytes), Fetch> {
    /// Monitoring answers are small; a larger one is not what was asked for.
    const MAX_BODY: usize = 16 << 20;
    let request = Request::get(uri.clone()).body(Empty::new()).map_err(|e| Fetch::Failed(e.to_string()))?;
    let exchange = async {
        let response = client.request(request).await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), MAX_BODY);
        let bytes = body.collect().await.map_err(|e| describe(e.as_ref()))?.to_bytes();
        Ok::<_, String>((status, bytes))
    };
    match tokio::time::timeout_at(deadline, exchange).await {
        Err(_) => Err(Fetch::Timeout),
        Ok(Err(e)) => Err(Fetch::Failed(e)),
        Ok(Ok(answer)) => Ok(answer),
    }
}

/// The innermost cause: "connection refused" rather than "client error (Connect)".
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner: &dyn std::error::Error = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}
