//! The precedence rules themselves: one pass that fills a [`Project`] piece by piece — config file,
//! `.env`, schema, datasource, migrations folder, URL — stopping at the first [`Problem`]. Each step
//! tries the flag, then the Prisma project, then leaves today's default in place.

use super::config_file::{self, DotenvLoad, Value};
use super::dotenv::{self, Expansion};
use super::schema::{self, Datasource, UrlValue};
use super::{
    flag_url, normalize, parent, prisma8, Inputs, Origin, Problem, Project, UrlChoice, UrlOrigin,
};
use std::path::{Path, PathBuf};

type Found<T> = Result<T, Problem>;

/// The config file's values, and where it is.
pub(super) struct Config {
    pub(super) file: PathBuf,
    values: config_file::ConfigValues,
}

pub(super) struct Discovery<'a> {
    pub(super) inputs: &'a Inputs,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) project: &'a mut Project,
}

/// A value that is not known for certain.
struct Unknown {
    key: &'static str,
    reason: String,
}

impl Discovery<'_> {
    pub(super) fn run(&mut self) -> Found<()> {
        let config = self.config()?;
        match &config {
            None => self.load_env_files()?,
            Some(config) => self.load_config_dotenv(config)?,
        }
        let schema = self.schema(config.as_ref())?;
        if let Ok(Some(path)) = &schema {
            self.read_datasource(path)?;
        }
        self.migrations(config.as_ref(), &schema)?;
        self.url(config.as_ref(), &schema)?;
        prisma8::check_layout(self.inputs, self.project, config.as_ref().map(|c| &c.file))
    }

    fn note(&mut self, text: String) {
        self.project.notes.push(text);
    }

    fn fs(&self, path: &Path) -> PathBuf {
        self.inputs.cwd.join(path)
    }

    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .or_else(|| {
                self.project
                    .env_assignments
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
            .filter(|v| !v.is_empty())
    }

    // ---- config file -------------------------------------------------------------------------

    fn config(&mut self) -> Found<Option<Config>> {
        let file = match &self.inputs.config {
            Some(path) => {
                if !self.fs(path).is_file() {
                    return Err(Problem::ConfigNotFound { path: path.clone() });
                }
                path.clone()
            }
            None => match config_file::discover(&self.inputs.cwd) {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        if !config_file::has_supported_extension(&file) {
            return Err(Problem::ConfigExtension { path: file });
        }
        let text =
            std::fs::read_to_string(self.fs(&file)).map_err(|e| Problem::FileUnreadable {
                path: file.clone(),
                cause: e.to_string(),
            })?;
        let values = config_file::read(&text);
        self.project.config_file = Some(file.clone());
        if let Some(sign) = &values.prisma8_sign {
            return Err(Problem::Prisma8 {
                found: format!("`{}` is a Prisma 8 config file ({sign})", file.display()),
            });
        }
        self.note(format!("config file: {}", file.display()));
        Ok(Some(Config { file, values }))
    }

    /// A path value of the config, resolved against the config file's folder (as Prisma's
    /// `transformPathsInConfigToAbsolute`).
    fn config_path(
        &self,
        config: &Config,
        key: &'static str,
        value: &Value,
    ) -> Result<Option<PathBuf>, Unknown> {
        let raw = match value {
            Value::Absent => return Ok(None),
            Value::Literal(s) => s.clone(),
            Value::Env { name, strict } => match self.var(name) {
                Some(v) => v,
                None if *strict => {
                    return Err(Unknown {
                        key,
                        reason: format!(
                            "env(\"{name}\"): Cannot resolve environment variable: {name}."
                        ),
                    })
                }
                None => return Ok(None),
            },
            Value::Unreadable(reason) => {
                return Err(Unknown {
                    key,
                    reason: reason.clone(),
                })
            }
        };
        if raw.is_empty() {
            return Ok(None);
        }
        Ok(Some(normalize(&parent(&config.file).join(raw))))
    }

    // ---- .env --------------------------------------------------------------------------------

    fn load_env_files(&mut self) -> Found<()> {
        let files = dotenv::files_to_load(&self.inputs.cwd, self.inputs.schema.as_deref());
        self.load(files, Expansion::DotenvExpand, "")
    }

    /// With a config file Prisma loads no `.env`, but the file may load one itself with `dotenv`
    /// (Prisma 7's documented `import "dotenv/config"`): then we load the same file, the same way.
    fn load_config_dotenv(&mut self, config: &Config) -> Found<()> {
        let file = match &config.values.dotenv {
            DotenvLoad::Nothing => {
                self.note("Prisma config detected, skipping .env loading (as Prisma)".into());
                return Ok(());
            }
            DotenvLoad::Unreadable(how) => {
                self.note(format!("the config file loads environment variables in a way prisma-release does not read ({how}): set them in the environment"));
                return Ok(());
            }
            DotenvLoad::ConfigImport => (self.env)("DOTENV_CONFIG_PATH")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".env")),
            DotenvLoad::ConfigCall => PathBuf::from(".env"),
        };
        let files = if self.fs(&file).is_file() {
            vec![file]
        } else {
            Vec::new()
        };
        self.load(
            files,
            Expansion::Verbatim,
            " (the config file loads it with dotenv)",
        )
    }

    fn load(&mut self, files: Vec<PathBuf>, expansion: Expansion, why: &str) -> Found<()> {
        let assignments = dotenv::assignments(&self.inputs.cwd, &files, self.env, expansion)
            .map_err(|e| Problem::FileUnreadable {
                path: files.first().cloned().unwrap_or_default(),
                cause: e.to_string(),
            })?;
        for file in &files {
            self.note(format!(
                "environment variables loaded from {}{why}",
                file.display()
            ));
        }
        self.project.env_files = files;
        self.project.env_assignments = assignments;
        Ok(())
    }

    // ---- schema ------------------------------------------------------------------------------

    /// The schema path: `--schema`, the config's `schema`, `package.json#prisma.schema` (not for a
    /// Prisma 7 config), `./schema.prisma`, `./prisma/schema.prisma`, then (Prisma 5.15–6.5) the
    /// folder `./prisma/schema`. `Err(Unknown)` when the config sets it in a way we cannot read.
    fn schema(&mut self, config: Option<&Config>) -> Found<Result<Option<PathBuf>, Unknown>> {
        let found = match self.explicit_schema(config)? {
            Ok(Some(found)) => Some(found),
            Ok(None) => self.default_schema(),
            Err(unknown) => return Ok(Err(unknown)),
        };
        let Some((path, origin)) = found else {
            self.note(
                "no Prisma schema found (checked schema.prisma, prisma/schema.prisma)".into(),
            );
            return Ok(Ok(None));
        };
        if !self.fs(&path).exists() {
            return Err(Problem::SchemaNotFound {
                path,
                origin: origin_text(origin).into(),
            });
        }
        self.note(format!(
            "schema: {} ({})",
            path.display(),
            origin_text(origin)
        ));
        self.project.schema = Some(path.clone());
        self.project.schema_origin = Some(origin);
        Ok(Ok(Some(path)))
    }

    fn explicit_schema(
        &mut self,
        config: Option<&Config>,
    ) -> Found<Result<Option<(PathBuf, Origin)>, Unknown>> {
        if let Some(flag) = &self.inputs.schema {
            return Ok(Ok(Some((flag.clone(), Origin::Flag))));
        }
        if let Some(config) = config {
            match self.config_path(config, "schema", &config.values.schema) {
                Ok(Some(path)) => return Ok(Ok(Some((path, Origin::Config)))),
                Ok(None) => {}
                Err(unknown) => return Ok(Err(unknown)),
            }
        }
        let prisma7 = config.is_some_and(|c| c.values.datasource_url != Value::Absent);
        if prisma7 {
            return Ok(Ok(None));
        }
        Ok(Ok(self
            .package_json_schema()?
            .map(|p| (p, Origin::PackageJson))))
    }

    /// `"prisma": {"schema": …}` of the nearest `package.json` upwards, relative to that file.
    fn package_json_schema(&self) -> Found<Option<PathBuf>> {
        let mut dir = self.inputs.cwd.clone();
        let mut relative = PathBuf::new();
        loop {
            let package = dir.join("package.json");
            if package.is_file() {
                let shown = relative.join("package.json");
                let unreadable = |cause: String| Problem::FileUnreadable {
                    path: shown.clone(),
                    cause,
                };
                let text =
                    std::fs::read_to_string(&package).map_err(|e| unreadable(e.to_string()))?;
                let json: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
                return Ok(json
                    .pointer("/prisma/schema")
                    .and_then(|s| s.as_str())
                    .map(|s| normalize(&relative.join(s))));
            }
            if !dir.pop() {
                return Ok(None);
            }
            relative.push("..");
        }
    }

    /// Prisma's default locations: under the folder of `--config` (Prisma 7's `baseDir`), then the
    /// current folder (Prisma 5/6); the folder `prisma/schema` last (Prisma 5.15–6.5 only).
    fn default_schema(&self) -> Option<(PathBuf, Origin)> {
        let mut bases = Vec::new();
        if let Some(config) = &self.inputs.config {
            bases.push(parent(config));
        }
        bases.push(PathBuf::new());
        let files = bases.iter().flat_map(|base| {
            ["schema.prisma", "prisma/schema.prisma"]
                .iter()
                .map(move |name| normalize(&base.join(name)))
        });
        files
            .into_iter()
            .find(|p| self.fs(p).is_file())
            .or_else(|| Some(PathBuf::from("prisma/schema")).filter(|p| self.fs(p).is_dir()))
            .map(|p| (p, Origin::Default))
    }

    /// The one datasource block of the schema's files (none is fine; two are refused, as Prisma).
    fn read_datasource(&mut self, schema: &Path) -> Found<()> {
        let mut blocks = self.datasource_blocks(schema)?;
        if blocks.len() > 1 {
            let files: Vec<String> = blocks
                .iter()
                .map(|b| b.file.display().to_string())
                .collect();
            return Err(Problem::MultipleDatasources {
                files: files.join(", "),
            });
        }
        let Some(block) = blocks.pop() else {
            self.note("the schema has no datasource block".into());
            return Ok(());
        };
        refuse_other_providers(&block)?;
        if !block.schemas.is_empty() {
            self.note(format!("datasource schemas: {}", block.schemas.join(", ")));
        }
        self.project.datasource = Some(block);
        Ok(())
    }

    /// The datasource blocks of every `*.prisma` file of the schema (file or folder).
    fn datasource_blocks(&self, schema: &Path) -> Found<Vec<Datasource>> {
        let unreadable = |path: &Path, e: std::io::Error| Problem::FileUnreadable {
            path: path.to_path_buf(),
            cause: e.to_string(),
        };
        let files = schema::files(&self.fs(schema)).map_err(|e| unreadable(schema, e))?;
        let mut blocks = Vec::new();
        for file in files {
            let shown = relative_to(&file, &self.inputs.cwd);
            let text = std::fs::read_to_string(&file).map_err(|e| unreadable(&shown, e))?;
            blocks.extend(schema::datasources(&shown, &text));
        }
        Ok(blocks)
    }

    // ---- migrations folder -------------------------------------------------------------------

    /// The migrations folder: `--migrations`, the config's `migrations.path`, next to the schema,
    /// else the default `prisma/migrations`.
    fn migrations(
        &mut self,
        config: Option<&Config>,
        schema: &Result<Option<PathBuf>, Unknown>,
    ) -> Found<()> {
        if self.inputs.migrations.is_some() {
            let dir = self.project.migrations_dir.clone();
            self.note(format!("migrations: {} (--migrations)", dir.display()));
            return Ok(());
        }
        if let Some(config) = config {
            if self.config_migrations(config)? {
                return Ok(());
            }
        }
        match schema {
            Ok(Some(path)) => {
                let (dir, why) = self.next_to_schema(path);
                self.set_migrations(dir, Origin::Schema, why);
                Ok(())
            }
            Ok(None) => {
                let dir = self.project.migrations_dir.clone();
                self.note(format!("migrations: {} (default)", dir.display()));
                Ok(())
            }
            Err(_) => {
                let config = config.expect("only a config file can leave the schema unknown");
                let unknown = self.schema_unknown(schema);
                Err(self.unreadable(config, unknown, "--migrations DIR (or --schema PATH)"))
            }
        }
    }

    /// Uses the config's `migrations.path` when it sets one (true); refuses one it sets unreadably.
    fn config_migrations(&mut self, config: &Config) -> Found<bool> {
        match self.config_path(config, "migrations.path", &config.values.migrations_path) {
            Ok(Some(path)) => {
                self.set_migrations(path, Origin::Config, "migrations.path of the config file");
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(unknown) => Err(self.unreadable(config, unknown, "--migrations DIR")),
        }
    }

    fn set_migrations(&mut self, dir: PathBuf, origin: Origin, why: &str) {
        self.note(format!("migrations: {} ({why})", dir.display()));
        self.project.migrations_dir = dir;
        self.project.migrations_origin = origin;
    }

    /// `migrations` next to the schema. A single file: its folder (every version). A folder: Prisma
    /// 7 uses the folder itself, Prisma 6.6–6.19 the folder of the file holding the datasource,
    /// Prisma 5–6.5 the folder's parent. The first of these that exists wins, in that order (6.6 first
    /// when the datasource still has a `url`, which Prisma 7 rejects); none existing → the first.
    fn next_to_schema(&self, schema: &Path) -> (PathBuf, &'static str) {
        if !self.fs(schema).is_dir() {
            return (
                normalize(&parent(schema).join("migrations")),
                "next to the schema",
            );
        }
        let candidates = self.schema_folder_candidates(schema);
        candidates
            .iter()
            .find(|(dir, _)| self.fs(dir).is_dir())
            .cloned()
            .unwrap_or_else(|| candidates[0].clone())
    }

    /// The migrations folders of a schema folder, by Prisma version, in the order we try them.
    fn schema_folder_candidates(&self, schema: &Path) -> Vec<(PathBuf, &'static str)> {
        let prisma7 = (
            normalize(&schema.join("migrations")),
            "in the schema folder (Prisma 7)",
        );
        let prisma6 = self.project.datasource.as_ref().map(|ds| {
            (
                normalize(&parent(&ds.file).join("migrations")),
                "next to the datasource block (Prisma 6.6+)",
            )
        });
        let prisma5 = (
            normalize(&parent(schema).join("migrations")),
            "next to the schema folder (Prisma 5–6.5)",
        );
        let has_url = self
            .project
            .datasource
            .as_ref()
            .is_some_and(|ds| ds.url.is_some());
        let mut candidates = Vec::new();
        if has_url {
            candidates.extend(prisma6);
            candidates.push(prisma7);
        } else {
            candidates.push(prisma7);
            candidates.extend(prisma6);
        }
        candidates.push(prisma5);
        candidates
    }

    // ---- URL ---------------------------------------------------------------------------------

    /// The migration URL: a flag, else the project's direct URL, else its URL, else `DATABASE_URL`.
    fn url(
        &mut self,
        config: Option<&Config>,
        schema: &Result<Option<PathBuf>, Unknown>,
    ) -> Found<()> {
        let declared = self.declared_urls(config)?;
        let direct = declared
            .iter()
            .find(|(_, o)| matches!(o, UrlOrigin::SchemaDirectUrl | UrlOrigin::ConfigDirectUrl))
            .cloned();
        if let Some(flag) = flag_url(self.inputs) {
            self.project.declared_direct = direct.and_then(|d| direct_other_than(&d, &flag));
            self.note(format!("migration URL: {} (flag)", flag.label()));
            self.project.url = flag;
            return Ok(());
        }
        self.refuse_unreadable_url(config, schema, declared.is_empty())?;
        let Some((value, origin)) = direct.or_else(|| declared.first().cloned()) else {
            self.note("migration URL: DATABASE_URL (default: nothing declares one)".into());
            return Ok(());
        };
        self.note(format!("migration URL: {}", declared_label(&value, origin)));
        self.project.url = match value {
            UrlValue::Env(name) => UrlChoice::Variable { name, origin },
            UrlValue::Literal(value) => UrlChoice::Literal { value, origin },
        };
        Ok(())
    }

    /// Without a flag, a URL the config sets unreadably (or a schema it names unreadably, when
    /// nothing else declares a URL) stops discovery: the URL is never guessed.
    fn refuse_unreadable_url(
        &self,
        config: Option<&Config>,
        schema: &Result<Option<PathBuf>, Unknown>,
        nothing_declared: bool,
    ) -> Found<()> {
        let Some(config) = config else {
            return Ok(());
        };
        if let Some(unknown) = self.config_url_unknown(config) {
            let flag = "--url-env NAME or --database-url URL";
            return Err(self.unreadable(config, unknown, flag));
        }
        if nothing_declared && schema.is_err() {
            let flag = "--url-env NAME or --database-url URL (or --schema PATH)";
            return Err(self.unreadable(config, self.schema_unknown(schema), flag));
        }
        Ok(())
    }

    /// The URLs the project declares, config first (it overrides the schema's datasource).
    fn declared_urls(&self, config: Option<&Config>) -> Found<Vec<(UrlValue, UrlOrigin)>> {
        let mut declared = Vec::new();
        if let Some(config) = config {
            for (value, origin) in [
                (&config.values.datasource_url, UrlOrigin::ConfigUrl),
                (
                    &config.values.datasource_direct_url,
                    UrlOrigin::ConfigDirectUrl,
                ),
            ] {
                match value {
                    Value::Literal(s) => declared.push((UrlValue::Literal(s.clone()), origin)),
                    // `directUrl: process.env.X` with X unset is `undefined`: not declared, so the
                    // engine migrates through `url` (unlike `env("X")`, which throws).
                    Value::Env {
                        name,
                        strict: false,
                    } if origin == UrlOrigin::ConfigDirectUrl && self.var(name).is_none() => {}
                    Value::Env { name, .. } => declared.push((UrlValue::Env(name.clone()), origin)),
                    Value::Absent | Value::Unreadable(_) => {}
                }
            }
        }
        if !declared.is_empty() {
            return Ok(declared);
        }
        if let Some(ds) = &self.project.datasource {
            declared.extend(ds.url.clone().map(|v| (v, UrlOrigin::SchemaUrl)));
            declared.extend(
                ds.direct_url
                    .clone()
                    .map(|v| (v, UrlOrigin::SchemaDirectUrl)),
            );
        }
        Ok(declared)
    }

    fn config_url_unknown(&self, config: &Config) -> Option<Unknown> {
        [
            ("datasource.url", &config.values.datasource_url),
            ("datasource.directUrl", &config.values.datasource_direct_url),
        ]
        .into_iter()
        .find_map(|(key, value)| match value {
            Value::Unreadable(reason) => Some(Unknown {
                key,
                reason: reason.clone(),
            }),
            _ => None,
        })
    }

    fn schema_unknown(&self, schema: &Result<Option<PathBuf>, Unknown>) -> Unknown {
        match schema {
            Err(unknown) => Unknown {
                key: unknown.key,
                reason: unknown.reason.clone(),
            },
            Ok(_) => Unknown {
                key: "schema",
                reason: "unknown".into(),
            },
        }
    }

    fn unreadable(&self, config: &Config, unknown: Unknown, flag: &'static str) -> Problem {
        Problem::Unreadable {
            file: config.file.clone(),
            key: unknown.key,
            reason: unknown.reason,
            flag,
        }
    }
}

/// The declared direct URL, by label, when a flag chose another URL (for the pooled-URL refusal).
fn direct_other_than(direct: &(UrlValue, UrlOrigin), flag: &UrlChoice) -> Option<String> {
    match (&direct.0, flag) {
        (UrlValue::Env(declared), UrlChoice::Variable { name, .. }) if declared == name => None,
        (UrlValue::Env(declared), _) => Some(declared.clone()),
        (UrlValue::Literal(_), _) => Some(declared_label(&direct.0, direct.1)),
    }
}

/// Refuses a datasource whose `provider` is not PostgreSQL (exit 3; Prisma's own wording starts it).
fn refuse_other_providers(block: &Datasource) -> Found<()> {
    match &block.provider {
        Some(provider) if provider != "postgresql" && provider != "postgres" => {
            Err(Problem::UnsupportedProvider {
                provider: provider.clone(),
                file: block.file.clone(),
            })
        }
        _ => Ok(()),
    }
}

fn declared_label(value: &UrlValue, origin: UrlOrigin) -> String {
    let what = match origin {
        UrlOrigin::ConfigUrl => "datasource.url of the config file",
        UrlOrigin::ConfigDirectUrl => "datasource.directUrl of the config file",
        UrlOrigin::SchemaDirectUrl => "directUrl of the schema",
        UrlOrigin::SchemaUrl => "url of the schema",
        UrlOrigin::DatabaseUrlFlag | UrlOrigin::UrlEnvFlag | UrlOrigin::Default => "default",
    };
    match value {
        UrlValue::Env(name) => format!("{name} ({what})"),
        UrlValue::Literal(_) => format!("a literal URL ({what})"),
    }
}

fn origin_text(origin: Origin) -> &'static str {
    match origin {
        Origin::Flag => "--schema",
        Origin::Config => "schema of the config file",
        Origin::PackageJson => "\"prisma\": {\"schema\"} of package.json",
        Origin::Schema => "next to the schema",
        Origin::Default => "default location",
    }
}

fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}
