//! Commands orchestrate the nouns (connect, migrations, history, lock, plan, apply) and return a
//! report; they never print results themselves.

pub mod deploy;
pub mod diagnose;
pub mod guard;
pub mod resolve;
pub mod status;

use crate::cli::GlobalArgs;
use crate::connect::ConnectSpec;
use crate::error::{Error, Result};
use crate::output::Out;
use std::path::PathBuf;

/// What every command needs: where the migrations are, how to reach the database, how to talk.
pub struct Context {
    pub migrations_dir: PathBuf,
    pub out: Out,
    database_url: Option<String>,
    url_env: String,
    schema: Option<String>,
    connect_timeout: Option<std::time::Duration>,
}

impl Context {
    pub fn new(global: &GlobalArgs, out: Out) -> Context {
        Context {
            migrations_dir: global.migrations.clone(),
            out,
            database_url: global.database_url.clone(),
            url_env: global.url_env.clone(),
            schema: global.schema.clone(),
            connect_timeout: global.connect_timeout,
        }
    }

    /// The validated connection request: `--database-url`, else the variable named by `--url-env`.
    pub fn connect_spec(&self) -> Result<ConnectSpec> {
        let raw = match &self.database_url {
            Some(url) => url.clone(),
            None => std::env::var(&self.url_env).unwrap_or_default(),
        };
        if raw.trim().is_empty() {
            return Err(Error::UrlMissing {
                var: if self.database_url.is_some() {
                    "--database-url".into()
                } else {
                    self.url_env.clone()
                },
            });
        }
        let spec = ConnectSpec::parse(raw.trim(), self.schema.as_deref(), self.connect_timeout)?;
        for warning in &spec.warnings {
            self.out.warn(warning);
        }
        for note in &spec.notes {
            self.out.detail(note);
        }
        Ok(spec)
    }

    /// Connects and says (with `-v`) whether the session is encrypted and verified.
    pub fn connect(&self, spec: &ConnectSpec) -> Result<crate::connect::Session> {
        let session = crate::connect::connect(spec)?;
        self.out.detail(&format!(
            "connected to {}: {}",
            session.target, session.security
        ));
        Ok(session)
    }
}
