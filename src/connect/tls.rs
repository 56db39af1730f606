//! TLS: which `sslmode` applies, what is verified against which roots, the connector that does it,
//! and what a TLS failure means in words.
//!
//! Prisma's defaults are kept so one `DATABASE_URL` serves the app and us: `sslmode=prefer` and
//! `sslaccept=accept_invalid_certs` — encrypt when the server offers TLS, verify nothing — which is
//! also what Heroku Postgres needs (its certificates are not publicly verifiable). Beyond Prisma, libpq's
//! `verify-ca` and `verify-full` really verify (Prisma silently downgrades them to `prefer`),
//! `sslrootcert` names the only trusted CA (or `system`), and `PGSSLMODE` applies when the URL has no
//! `sslmode`.

use crate::error::{Error, Result};
use native_tls::{Certificate, Identity};
use postgres::config::SslMode;
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::Socket;
use postgres_native_tls::MakeTlsConnector;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The TLS parameters of a URL, as given (already percent-decoded).
#[derive(Default)]
pub(super) struct TlsParams {
    pub sslmode: Option<String>,
    pub sslaccept: Option<String>,
    /// Prisma's `sslcert`: a PEM file of root CAs added to the system ones (not a client certificate).
    pub sslcert: Option<String>,
    /// libpq's `sslrootcert`: the only trusted CAs, or `system`.
    pub sslrootcert: Option<String>,
    pub sslidentity: Option<String>,
    pub sslpassword: Option<String>,
}

/// How the default mode is named in messages.
const DEFAULT_LABEL: &str = "sslmode=prefer, the default";

/// The `sslmode` values we accept: libpq's, plus node-postgres' `no-verify` (set by many Heroku apps
/// as `PGSSLMODE=no-verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Allow,
    Prefer,
    Require,
    NoVerify,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Option<Mode> {
        Some(match value {
            "disable" => Mode::Disable,
            "allow" => Mode::Allow,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "no-verify" => Mode::NoVerify,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            _ => return None,
        })
    }
}

/// What a TLS session's server certificate is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verify {
    /// Nothing (Prisma's default, `sslaccept=accept_invalid_certs`; Heroku's self-signed certificates).
    Nothing,
    /// The chain up to a trusted root, not the host name (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`, or Prisma's `sslaccept=strict`).
    ChainAndHost,
}

/// The TLS decision for one connection spec: built once at parse time, before any network I/O.
pub(super) struct TlsPlan {
    ssl_mode: SslMode,
    verify: Verify,
    /// How the user asked for this, in their words: `sslmode=verify-full`, `PGSSLMODE=require`, ...
    label: String,
    /// What the certificate is verified against, in words.
    roots: &'static str,
    unix_socket: bool,
    /// What the connector is built from, checked at parse time; `None` when TLS is off.
    material: Option<Material>,
    /// Built on first use: building loads the system CA bundle (tens of milliseconds), which a
    /// spec that never connects, or connects without TLS, should not pay for.
    connector: OnceLock<Result<MakeTlsConnector, String>>,
}

/// The validated inputs of the TLS connector.
struct Material {
    verify: Verify,
    /// Trust only `roots` (libpq's `sslrootcert`), not the system store.
    only_given_roots: bool,
    roots: Vec<Certificate>,
    identity: Option<Identity>,
}

impl TlsPlan {
    /// Decides the TLS mode from the URL's parameters (`PGSSLMODE` read through `env` when the URL
    /// has no `sslmode`), loads the certificate and identity files, and builds the connector.
    pub(super) fn new(
        params: &TlsParams,
        unix_socket: bool,
        env: &dyn Fn(&str) -> Option<String>,
        warnings: &mut Vec<String>,
    ) -> Result<TlsPlan> {
        let rootcert = params.sslrootcert.as_deref().filter(|v| !v.is_empty());
        let (mode, mut label) = requested_mode(params, rootcert == Some("system"), env)?;
        let strict = sslaccept_is_strict(params.sslaccept.as_deref(), warnings);
        let (ssl_mode, verify) = match mode {
            _ if unix_socket => (SslMode::Disable, Verify::Nothing),
            Mode::Disable => (SslMode::Disable, Verify::Nothing),
            Mode::Allow | Mode::Prefer if strict => (SslMode::Prefer, Verify::ChainAndHost),
            Mode::Allow | Mode::Prefer => (SslMode::Prefer, Verify::Nothing),
            Mode::Require if strict => (SslMode::Require, Verify::ChainAndHost),
            // libpq: with a root certificate, `require` behaves like `verify-ca`.
            Mode::Require if rootcert.is_some() => (SslMode::Require, Verify::Chain),
            Mode::Require | Mode::NoVerify => (SslMode::Require, Verify::Nothing),
            Mode::VerifyCa => (SslMode::Require, Verify::Chain),
            Mode::VerifyFull => (SslMode::Require, Verify::ChainAndHost),
        };
        if strict && matches!(mode, Mode::Allow | Mode::Prefer | Mode::Require) {
            label = if label == DEFAULT_LABEL {
                "sslaccept=strict".into()
            } else {
                format!("{label}, sslaccept=strict")
            };
        } else if mode == Mode::Require && rootcert.is_some() {
            label.push_str(" with sslrootcert (the CA is verified, as libpq does)");
        }
        let (material, roots) = if ssl_mode == SslMode::Disable {
            (None, "")
        } else {
            let (material, roots) = load_material(params, rootcert, verify)?;
            (Some(material), roots)
        };
        Ok(TlsPlan {
            ssl_mode,
            verify,
            label,
            roots,
            unix_socket,
            material,
            connector: OnceLock::new(),
        })
    }

    pub(super) fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// How the user asked for TLS, e.g. `sslmode=verify-full` or `PGSSLMODE=disable`.
    pub(super) fn label(&self) -> &str {
        &self.label
    }

    /// True when the user switched TLS off (not merely connecting through a Unix socket).
    pub(super) fn is_disabled(&self) -> bool {
        self.ssl_mode == SslMode::Disable && !self.unix_socket
    }

    /// The connector for one attempt (with a fresh "handshake happened" flag), or `None` when TLS is
    /// off. Errs only if OpenSSL cannot set up a context at all.
    pub(super) fn connector(&self) -> Result<Option<RecordingTls>, String> {
        let Some(material) = &self.material else {
            return Ok(None);
        };
        let inner = self
            .connector
            .get_or_init(|| build_connector(material))
            .clone()?;
        Ok(Some(RecordingTls {
            inner,
            handshake: Arc::default(),
        }))
    }

    /// One line for `-v`, before connecting: what will be attempted and verified.
    pub(super) fn describe_plan(&self) -> String {
        if self.unix_socket {
            return "TLS: not used over a Unix socket".into();
        }
        let what = match (self.ssl_mode, self.verify) {
            (SslMode::Disable, _) => "never encrypted".to_string(),
            (SslMode::Prefer, Verify::Nothing) => {
                "encrypted when the server offers TLS, certificate not verified".to_string()
            }
            (_, Verify::Nothing) => "TLS required, certificate not verified".to_string(),
            (_, Verify::Chain) => format!(
                "TLS required, certificate verified against {}, host name not checked",
                self.roots
            ),
            (_, Verify::ChainAndHost) => format!(
                "TLS, certificate and host name verified against {}",
                self.roots
            ),
        };
        format!("TLS: {} ({what})", self.label)
    }

    /// Whether the open session is encrypted and verified, in words (`Session::security`).
    pub(super) fn describe_session(&self, encrypted: bool) -> String {
        if self.unix_socket {
            return "not encrypted (Unix socket; TLS does not apply)".into();
        }
        if !encrypted {
            return match self.ssl_mode {
                SslMode::Disable => format!("not encrypted ({})", self.label),
                _ => format!(
                    "not encrypted: the server does not offer TLS ({})",
                    self.label
                ),
            };
        }
        match self.verify {
            Verify::Nothing => format!(
                "encrypted (TLS), server certificate not verified ({})",
                self.label
            ),
            Verify::Chain => format!(
                "encrypted (TLS), server certificate verified against {}, host name not checked ({})",
                self.roots, self.label
            ),
            Verify::ChainAndHost => format!(
                "encrypted (TLS), server certificate and host name verified against {} ({})",
                self.roots, self.label
            ),
        }
    }

    /// What a failed connection attempt means when TLS is the cause; `None` otherwise.
    pub(super) fn explain_failure(&self, error: &postgres::Error, host: &str) -> Option<String> {
        if let Some(tls) = find_source::<native_tls::Error>(error) {
            let text = tls.to_string();
            let reason = verify_reason(&text);
            return Some(match reason {
                Some(reason) if is_host_mismatch(reason) => format!(
                    "server certificate is not valid for host `{host}` ({}): {reason}",
                    self.label
                ),
                Some(reason) => {
                    format!("server certificate not trusted ({}): {reason}", self.label)
                }
                None => format!("TLS handshake failed ({}): {text}", self.label),
            });
        }
        if error.to_string().contains("server does not support TLS") {
            return Some(format!(
                "the server does not offer TLS, but {} requires it",
                self.label
            ));
        }
        None
    }
}

/// Prisma's `sslaccept`: `strict` verifies certificate and host name; an unknown value counts as
/// `strict`, as in Prisma (with a warning here).
fn sslaccept_is_strict(value: Option<&str>, warnings: &mut Vec<String>) -> bool {
    match value {
        None | Some("accept_invalid_certs") => false,
        Some("strict") => true,
        Some(other) => {
            warnings.push(format!(
                "sslaccept `{other}` is neither `strict` nor `accept_invalid_certs`; treating it as \
                 `strict` (certificate and host name verified), as Prisma does"
            ));
            true
        }
    }
}

/// The `sslmode` asked for and how it was asked for: the URL's `sslmode`, else `PGSSLMODE`, else
/// `prefer` (or `verify-full` with `sslrootcert=system`, as libpq).
fn requested_mode(
    params: &TlsParams,
    system_roots: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Mode, String)> {
    let given = match &params.sslmode {
        Some(value) => Some((value.clone(), format!("sslmode={value}"))),
        None => env("PGSSLMODE")
            .filter(|v| !v.is_empty())
            .map(|value| (value.clone(), format!("PGSSLMODE={value}"))),
    };
    let Some((value, label)) = given else {
        return Ok(if system_roots {
            (
                Mode::VerifyFull,
                "sslmode=verify-full, implied by sslrootcert=system".into(),
            )
        } else {
            (Mode::Prefer, DEFAULT_LABEL.into())
        });
    };
    let mode = Mode::parse(&value).ok_or_else(|| {
        invalid(format!(
            "{label} is not a known sslmode (disable, allow, prefer, require, verify-ca, verify-full, no-verify)"
        ))
    })?;
    if system_roots && mode != Mode::VerifyFull {
        return Err(invalid(format!(
            "sslrootcert=system needs sslmode=verify-full, but {label} was given (as libpq)"
        )));
    }
    Ok((mode, label))
}

/// Reads and checks the certificate and identity files, and says what is trusted in words.
fn load_material(
    params: &TlsParams,
    rootcert: Option<&str>,
    verify: Verify,
) -> Result<(Material, &'static str)> {
    let mut material = Material {
        verify,
        only_given_roots: false,
        roots: Vec::new(),
        identity: None,
    };
    let mut roots = "the system trust store";
    if let Some(file) = rootcert.filter(|f| *f != "system") {
        material.only_given_roots = true;
        material.roots =
            certificates("sslrootcert", file, &read_file("sslrootcert", file, false)?)?;
        roots = "the CA of sslrootcert";
    }
    if let Some(file) = params.sslcert.as_deref().filter(|f| !f.is_empty()) {
        let certs = certificates("sslcert", file, &read_file("sslcert", file, true)?)?;
        material.roots.extend(certs);
        roots = if material.only_given_roots {
            "the CAs of sslrootcert and sslcert"
        } else {
            "the CA of sslcert and the system trust store"
        };
    }
    if let Some(file) = params.sslidentity.as_deref().filter(|f| !f.is_empty()) {
        let der = read_file("sslidentity", file, true)?;
        let password = params.sslpassword.as_deref().unwrap_or("");
        let identity = Identity::from_pkcs12(&der, password).map_err(|e| {
            invalid(format!(
                "sslidentity `{file}` is not a PKCS#12 file that sslpassword opens: {e}"
            ))
        })?;
        material.identity = Some(identity);
    }
    Ok((material, roots))
}

fn build_connector(material: &Material) -> Result<MakeTlsConnector, String> {
    let _skip = (material.verify == Verify::Nothing).then(UnusedTrustStore::skip);
    let mut builder = native_tls::TlsConnector::builder();
    match material.verify {
        Verify::Nothing => {
            builder.danger_accept_invalid_certs(true);
            builder.danger_accept_invalid_hostnames(true);
        }
        Verify::Chain => {
            builder.danger_accept_invalid_hostnames(true);
        }
        Verify::ChainAndHost => {}
    }
    builder.disable_built_in_roots(material.only_given_roots);
    for cert in &material.roots {
        builder.add_root_certificate(cert.clone());
    }
    if let Some(identity) = &material.identity {
        builder.identity(identity.clone());
    }
    builder
        .build()
        .map(MakeTlsConnector::new)
        .map_err(|e| format!("cannot set up TLS: {e}"))
}

/// While alive, points OpenSSL's default trust paths (`SSL_CERT_FILE`, `SSL_CERT_DIR`, its own
/// overrides) at nothing; dropping it restores them. Used while building a connector that verifies
/// nothing (`prefer`/`require`, Heroku's default): OpenSSL's connector loads the default trust paths
/// unconditionally — twice through native-tls — which costs ~80 ms per process for roots nobody
/// checks. Restoring at once keeps the environment the guard hands to the app untouched. Connectors
/// are built before any other thread of ours reads the environment (the guard's main thread only
/// waits on a channel meanwhile).
struct UnusedTrustStore {
    saved: [(&'static str, Option<std::ffi::OsString>); 2],
}

impl UnusedTrustStore {
    fn skip() -> UnusedTrustStore {
        let saved = ["SSL_CERT_FILE", "SSL_CERT_DIR"].map(|name| (name, std::env::var_os(name)));
        std::env::set_var("SSL_CERT_FILE", "/dev/null");
        std::env::set_var("SSL_CERT_DIR", "/nonexistent/prisma-release");
        UnusedTrustStore { saved }
    }
}

impl Drop for UnusedTrustStore {
    fn drop(&mut self) {
        for (name, value) in &self.saved {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
    }
}

/// Reads a file named by a URL parameter. Prisma resolves a relative `sslcert`/`sslidentity`
/// against the directory of `schema.prisma`; we look in `prisma/` (where it lives by default), then
/// in the current directory. libpq's `sslrootcert` is relative to the current directory.
fn read_file(param: &str, value: &str, prisma_relative: bool) -> Result<Vec<u8>> {
    let path = Path::new(value);
    let candidates: Vec<PathBuf> = if path.is_absolute() || !prisma_relative {
        vec![path.to_path_buf()]
    } else {
        vec![Path::new("prisma").join(path), path.to_path_buf()]
    };
    for candidate in &candidates {
        // A device or FIFO (`/dev/zero`, a named pipe) would be read forever or block: refuse it.
        if std::fs::metadata(candidate).is_ok_and(|m| !m.is_file()) {
            return Err(invalid(format!(
                "{param} `{}` is not a regular file",
                candidate.display()
            )));
        }
        match std::fs::read(candidate) {
            Ok(bytes) => return Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(invalid(format!(
                    "{param} file `{}` cannot be read: {e}",
                    candidate.display()
                )))
            }
        }
    }
    let looked: Vec<String> = candidates
        .iter()
        .map(|c| format!("`{}`", c.display()))
        .collect();
    Err(invalid(format!(
        "{param} file not found (looked at {})",
        looked.join(" and ")
    )))
}

/// Every certificate of a PEM bundle (or one DER certificate).
fn certificates(param: &str, file: &str, bytes: &[u8]) -> Result<Vec<Certificate>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let bad = |e: native_tls::Error| invalid(format!("{param} `{file}`: not a certificate: {e}"));
    let text = String::from_utf8_lossy(bytes);
    if !text.contains(BEGIN) {
        return Certificate::from_der(bytes).map(|c| vec![c]).map_err(bad);
    }
    let mut certs = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            return Err(invalid(format!(
                "{param} `{file}`: a certificate has no END line"
            )));
        };
        let end = start + len + END.len();
        certs.push(Certificate::from_pem(&rest.as_bytes()[start..end]).map_err(bad)?);
        rest = &rest[end..];
    }
    Ok(certs)
}

/// OpenSSL's verification result in a handshake error ("... certificate verify failed ... (reason)").
fn verify_reason(text: &str) -> Option<&str> {
    if !text.contains("certificate verify failed") {
        return None;
    }
    let open = text.rfind('(')?;
    let close = text.rfind(')')?;
    (close > open).then(|| &text[open + 1..close])
}

fn is_host_mismatch(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("hostname mismatch") || reason.contains("ip address mismatch")
}

/// Whether a TLS error is about the server's certificate (untrusted, or not valid for the host).
pub(super) fn is_certificate_failure(error: &native_tls::Error) -> bool {
    let text = error.to_string();
    verify_reason(&text).is_some() || text.contains("certificate")
}

/// The first error of type `T` in `error`'s source chain.
pub(super) fn find_source<T: std::error::Error + 'static>(error: &postgres::Error) -> Option<&T> {
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        if let Some(found) = s.downcast_ref::<T>() {
            return Some(found);
        }
        source = s.source();
    }
    None
}

fn invalid(reason: String) -> Error {
    Error::UrlInvalid { reason }
}

/// The native-tls connector, remembering whether a TLS handshake was started: the server accepted
/// TLS (with `prefer` it may decline, and the session is then not encrypted).
#[derive(Clone)]
pub(super) struct RecordingTls {
    inner: MakeTlsConnector,
    handshake: Arc<AtomicBool>,
}

impl RecordingTls {
    /// The flag that turns true when the handshake starts.
    pub(super) fn handshake_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.handshake)
    }
}

impl MakeTlsConnect<Socket> for RecordingTls {
    type Stream = <MakeTlsConnector as MakeTlsConnect<Socket>>::Stream;
    type TlsConnect = RecordingConnect;
    type Error = native_tls::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RecordingConnect, native_tls::Error> {
        Ok(RecordingConnect {
            inner: MakeTlsConnect::<Socket>::make_tls_connect(&mut self.inner, domain)?,
            handshake: Arc::clone(&self.handshake),
        })
    }
}

/// One handshake of [`RecordingTls`].
pub(super) struct RecordingConnect {
    inner: postgres_native_tls::TlsConnector,
    handshake: Arc<AtomicBool>,
}

impl TlsConnect<Socket> for RecordingConnect {
    type Stream = <postgres_native_tls::TlsConnector as TlsConnect<Socket>>::Stream;
    type Error = native_tls::Error;
    type Future = <postgres_native_tls::TlsConnector as TlsConnect<Socket>>::Future;

    fn connect(self, stream: Socket) -> Self::Future {
        self.handshake.store(true, Ordering::SeqCst);
        self.inner.connect(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(params: TlsParams, env: &[(&str, &str)]) -> Result<TlsPlan> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        TlsPlan::new(&params, false, &lookup, &mut Vec::new())
    }

    fn mode(value: &str) -> TlsParams {
        TlsParams {
            sslmode: Some(value.into()),
            ..TlsParams::default()
        }
    }

    #[test]
    fn default_is_prefer_without_verification() {
        let p = plan(TlsParams::default(), &[]).unwrap();
        assert_eq!(p.ssl_mode(), SslMode::Prefer);
        assert_eq!(p.verify, Verify::Nothing);
        assert_eq!(p.label(), "sslmode=prefer, the default");
        assert!(p.connector().unwrap().is_some());
    }

    #[test]
    fn modes_map_to_wire_mode_and_verification() {
        for (value, ssl_mode, verify) in [
            ("disable", SslMode::Disable, Verify::Nothing),
            ("allow", SslMode::Prefer, Verify::Nothing),
            ("prefer", SslMode::Prefer, Verify::Nothing),
            ("require", SslMode::Require, Verify::Nothing),
            ("no-verify", SslMode::Require, Verify::Nothing),
            ("verify-ca", SslMode::Require, Verify::Chain),
            ("verify-full", SslMode::Require, Verify::ChainAndHost),
        ] {
            let p = plan(mode(value), &[]).unwrap();
            assert_eq!((p.ssl_mode(), p.verify), (ssl_mode, verify), "{value}");
            assert_eq!(p.material.is_some(), ssl_mode != SslMode::Disable);
        }
    }

    #[test]
    fn sslaccept_strict_verifies_everything_unknown_is_strict() {
        let mut params = mode("require");
        params.sslaccept = Some("strict".into());
        assert_eq!(plan(params, &[]).unwrap().verify, Verify::ChainAndHost);
        let params = TlsParams {
            sslaccept: Some("bogus".into()),
            ..TlsParams::default()
        };
        let mut warnings = Vec::new();
        let p = TlsPlan::new(&params, false, &|_| None, &mut warnings).unwrap();
        assert_eq!(p.verify, Verify::ChainAndHost);
        assert_eq!(warnings.len(), 1);
        let params = TlsParams {
            sslaccept: Some("accept_invalid_certs".into()),
            ..mode("require")
        };
        assert_eq!(plan(params, &[]).unwrap().verify, Verify::Nothing);
    }

    #[test]
    fn pgsslmode_applies_only_without_sslmode() {
        let p = plan(TlsParams::default(), &[("PGSSLMODE", "disable")]).unwrap();
        assert_eq!(p.ssl_mode(), SslMode::Disable);
        assert_eq!(p.label(), "PGSSLMODE=disable");
        assert!(p.is_disabled());
        let p = plan(mode("require"), &[("PGSSLMODE", "disable")]).unwrap();
        assert_eq!(p.ssl_mode(), SslMode::Require);
        let p = plan(TlsParams::default(), &[("PGSSLMODE", "")]).unwrap();
        assert_eq!(p.ssl_mode(), SslMode::Prefer);
        assert!(plan(TlsParams::default(), &[("PGSSLMODE", "bogus")]).is_err());
    }

    #[test]
    fn unknown_sslmode_is_rejected() {
        for bad in ["verify_full", "VERIFY-FULL", "true"] {
            let err = plan(mode(bad), &[]).err().unwrap();
            assert!(matches!(err, Error::UrlInvalid { .. }), "{bad}");
        }
    }

    #[test]
    fn sslrootcert_system_means_verify_full() {
        let params = TlsParams {
            sslrootcert: Some("system".into()),
            ..TlsParams::default()
        };
        let p = plan(params, &[]).unwrap();
        assert_eq!(
            (p.ssl_mode(), p.verify),
            (SslMode::Require, Verify::ChainAndHost)
        );
        let params = TlsParams {
            sslrootcert: Some("system".into()),
            ..mode("require")
        };
        assert!(plan(params, &[]).is_err());
    }

    #[test]
    fn missing_files_are_configuration_errors() {
        for params in [
            TlsParams {
                sslrootcert: Some("/nonexistent/ca.pem".into()),
                ..mode("verify-full")
            },
            TlsParams {
                sslcert: Some("/nonexistent/ca.pem".into()),
                ..TlsParams::default()
            },
            TlsParams {
                sslidentity: Some("/nonexistent/id.p12".into()),
                ..TlsParams::default()
            },
        ] {
            let err = plan(params, &[]).err().unwrap();
            let Error::UrlInvalid { reason } = err else {
                panic!("not UrlInvalid")
            };
            assert!(reason.contains("not found"), "{reason}");
        }
    }

    #[test]
    fn not_a_certificate_is_a_configuration_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(
            &file,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let params = TlsParams {
            sslrootcert: Some(file.display().to_string()),
            ..mode("verify-full")
        };
        assert!(matches!(plan(params, &[]), Err(Error::UrlInvalid { .. })));
    }

    #[test]
    fn unix_socket_never_uses_tls() {
        let p = TlsPlan::new(&mode("verify-full"), true, &|_| None, &mut Vec::new()).unwrap();
        assert_eq!(p.ssl_mode(), SslMode::Disable);
        assert!(!p.is_disabled());
        assert!(p.describe_session(false).contains("Unix socket"));
    }

    #[test]
    fn verification_reasons() {
        let text = "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889: (Hostname mismatch)";
        assert_eq!(verify_reason(text), Some("Hostname mismatch"));
        assert!(is_host_mismatch("Hostname mismatch"));
        assert_eq!(verify_reason("handshake failure (x)"), None);
    }

    #[test]
    fn session_descriptions() {
        let p = plan(TlsParams::default(), &[]).unwrap();
        assert_eq!(
            p.describe_session(true),
            "encrypted (TLS), server certificate not verified (sslmode=prefer, the default)"
        );
        assert!(p.describe_session(false).starts_with("not encrypted"));
        let p = plan(mode("verify-full"), &[]).unwrap();
        assert!(p.describe_session(true).contains("host name verified"));
    }
}
