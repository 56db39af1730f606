//! Commands orchestrate the nouns (connect, migrations, history, lock, plan, apply) and return a
//! report; they never print results themselves.

pub mod deploy;
pub mod diagnose;
pub mod guard;
pub mod resolve;
pub mod status;

use crate::cli::GlobalArgs;
use crate::connect::{self, ConnectSpec, Retry, Session};
use crate::duration;
use crate::error::{Error, Result};
use crate::output::Out;
use crate::project::{self, Problem, Project, UrlChoice};
use crate::report::{CommandName, Report};
use std::path::PathBuf;

/// What every command needs: where the migrations are, how to reach the database, how to talk.
pub struct Context {
    pub migrations_dir: PathBuf,
    pub out: Out,
    /// The Prisma project as discovered (README "How prisma-release finds your project").
    pub project: Project,
    /// Why the project cannot be used, if so: every command stops with it before any I/O.
    project_problem: Option<Problem>,
    db_schema: Option<String>,
    database_url: Option<String>,
    connect_timeout: Option<std::time::Duration>,
}

impl Context {
    /// Discovers the Prisma project, loads its `.env` files (Prisma 5/6 without a config file; never
    /// overriding a variable that is set) and says with `-v` where each piece came from.
    pub fn new(global: &GlobalArgs, out: Out) -> Context {
        let inputs = project::Inputs {
            cwd: std::env::current_dir().unwrap_or_default(),
            schema: global.schema.clone(),
            config: global.config.clone(),
            migrations: global.migrations.clone(),
            database_url: global.database_url.is_some(),
            url_env: global.url_env.clone(),
        };
        let (project, project_problem) =
            project::discover(&inputs, &|name| std::env::var(name).ok());
        for (name, value) in &project.env_assignments {
            // Single-threaded here: nothing else runs yet. Like Prisma, a set variable is never replaced.
            if std::env::var_os(name).is_none() {
                std::env::set_var(name, value);
            }
        }
        for note in &project.notes {
            out.detail(note);
        }
        Context {
            migrations_dir: project.migrations_dir.clone(),
            out,
            project,
            project_problem,
            db_schema: global.db_schema.clone(),
            database_url: global.database_url.clone(),
            connect_timeout: global.connect_timeout,
        }
    }

    /// A report for `command` that carries the `project` object.
    pub fn report<B>(&self, command: CommandName, body: B) -> Report<B> {
        let mut report = Report::new(command, &self.migrations_dir, body);
        report.project = Some(self.project.report());
        report
    }

    /// The project problem found by discovery, if any (exit 3, before anything else happens).
    pub fn check_project(&self) -> Result<()> {
        match &self.project_problem {
            Some(problem) => Err(Error::Project(problem.clone())),
            None => Ok(()),
        }
    }

    /// The validated connection request: `--database-url`, `--url-env`, the project's migration URL
    /// (`directUrl` before `url`; the config's `datasource.url`), else `DATABASE_URL`.
    pub fn connect_spec(&self) -> Result<ConnectSpec> {
        self.check_project()?;
        let raw = match &self.project.url {
            UrlChoice::Flag => self.database_url.clone().unwrap_or_default(),
            UrlChoice::Variable { name, .. } => std::env::var(name).unwrap_or_default(),
            UrlChoice::Literal { value, .. } => value.clone(),
        };
        if raw.trim().is_empty() {
            return Err(Error::UrlMissing {
                var: self.project.url.label(),
            });
        }
        let spec = ConnectSpec::parse(raw.trim(), self.db_schema.as_deref(), self.connect_timeout)?;
        if let Some(direct) = &self.project.declared_direct {
            if spec.warnings.iter().any(|w| project::is_pooler_warning(w)) {
                return Err(Error::Project(Problem::PooledUrl {
                    chosen: self.project.url.label(),
                    direct: direct.clone(),
                }));
            }
        }
        for warning in &spec.warnings {
            self.out.warn(warning);
        }
        for note in &spec.notes {
            self.out.detail(note);
        }
        Ok(spec)
    }

    /// Connects (a first contact: see [`Retry::first_contact`]), warning before each retry how long
    /// it waits, says (with `-v`) whether the session is encrypted and verified, and refuses a
    /// database that holds Prisma 8 state.
    pub fn connect(&self, spec: &ConnectSpec) -> Result<Session> {
        self.connect_with(spec, Retry::first_contact(spec))
    }

    /// Connects again after a lost connection, patient with a restarting server for the whole budget.
    pub fn reconnect(&self, spec: &ConnectSpec) -> Result<Session> {
        self.connect_with(spec, Retry::after_lost_connection(spec))
    }

    fn connect_with(&self, spec: &ConnectSpec, retry: Retry) -> Result<Session> {
        let mut session = connect::connect(spec, retry, &mut |error, pause| {
            self.out.warn(&format!(
                "{error}; retrying in {}",
                duration::display(pause)
            ))
        })?;
        self.out.detail(&format!(
            "connected to {}: {}",
            session.target, session.security
        ));
        refuse_prisma8_database(&mut session)?;
        Ok(session)
    }
}

/// Refuses (exit 3) a database with a `prisma_contract` schema (Prisma 8 state), before anything is
/// read or written.
pub fn refuse_prisma8_database(session: &mut crate::connect::Session) -> Result<()> {
    let row = session
        .client
        .query_one(project::prisma8::CONTRACT_SCHEMA_QUERY, &[])
        .map_err(|e| session.query_error("looking for Prisma 8 state", e))?;
    if row.get::<_, bool>(0) {
        return Err(Error::Project(project::prisma8::database_problem(
            &session.target.to_string(),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The project's pooled-URL check reads this warning of the URL parser: its wording is shared.
    #[test]
    fn the_pooler_warning_is_recognised() {
        let spec = crate::connect::ConnectSpec::parse("postgres://u@h:6543/d", None, None).unwrap();
        assert!(
            spec.warnings
                .iter()
                .any(|w| crate::project::is_pooler_warning(w)),
            "{:?}",
            spec.warnings
        );
    }
}
