//! `prisma.config.*`: finding it as Prisma 7.10 does, and reading the three values we need from it
//! **without executing it**. Prisma loads the file with `c12`/`jiti` (it is TypeScript or JavaScript);
//! we only read what is written literally in the exported object: string literals, `env("X")`,
//! `process.env.X`, `process.env["X"]` and `path.join(…)` of literals (the forms are in its `expression` submodule).
//! Anything else (a variable, a function call, a spread that might set the key) is reported as
//! [`Value::Unreadable`] so the caller can name the overriding flag — never guessed. We also see
//! whether the file loads a `.env` itself (`import "dotenv/config"`, as Prisma 7 asks users to).

mod expression;

use std::path::{Path, PathBuf};

/// Prisma's supported extensions, in c12's order (`loadConfigFromFile.ts` `SUPPORTED_EXTENSIONS`).
pub const EXTENSIONS: [&str; 6] = ["js", "ts", "mjs", "cjs", "mts", "cts"];

/// The candidates of automatic discovery relative to the current folder, in Prisma 7.10's order:
/// `prisma7.config.*` and `.config/prisma7.*` first, then the legacy names (`findPrismaConfigFile`).
pub fn candidates() -> Vec<PathBuf> {
    let mut list = Vec::new();
    for ext in EXTENSIONS {
        list.push(PathBuf::from(format!("prisma7.config.{ext}")));
    }
    for ext in EXTENSIONS {
        list.push(Path::new(".config").join(format!("prisma7.{ext}")));
    }
    for base in ["prisma.config", ".config/prisma", ".config/prisma.config"] {
        for ext in EXTENSIONS {
            list.push(PathBuf::from(format!("{base}.{ext}")));
        }
        for ext in EXTENSIONS {
            list.push(Path::new(base).join(format!("index.{ext}")));
        }
    }
    list
}

/// The first candidate under `cwd` that is a file.
pub fn discover(cwd: &Path) -> Option<PathBuf> {
    candidates().into_iter().find(|c| cwd.join(c).is_file())
}

/// Whether Prisma accepts this file name's extension (it refuses `.json`, `.rc`, …).
pub fn has_supported_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e))
}

/// One value of the config, as far as it can be read statically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// The key is certainly not set.
    Absent,
    /// A string literal.
    Literal(String),
    /// `env("X")` (`strict`: Prisma throws when X is unset or empty) or `process.env.X` (not strict).
    Env { name: String, strict: bool },
    /// Set (or possibly set) by something we do not evaluate; the text says what.
    Unreadable(String),
}

/// What we read from a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValues {
    pub schema: Value,
    pub migrations_path: Value,
    pub datasource_url: Value,
    /// Prisma 6.18–6.19 `engine: 'classic'` accepted `datasource.directUrl` (removed in 7.0).
    pub datasource_direct_url: Value,
    /// A sign that this is a Prisma 8 ("Prisma Next") config file, which shares the file name.
    pub prisma8_sign: Option<String>,
    /// Whether running the file would load a `.env` file (with `dotenv`).
    pub dotenv: DotenvLoad,
}

/// How a config file loads a `.env` file itself before Prisma reads its values. Prisma 7 never loads
/// `.env` and its docs tell users to `import "dotenv/config"` at the top of `prisma.config.ts`; Prisma
/// 6 skips its own loading when a config file exists. Either way the file's own import decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DotenvLoad {
    /// The file does not use `dotenv`.
    Nothing,
    /// `import "dotenv/config"` or `require("dotenv/config")`: `.env` in the current folder, or the
    /// file named by `DOTENV_CONFIG_PATH`.
    ConfigImport,
    /// `config()` / `dotenv.config()` of `dotenv`, or Node's `process.loadEnvFile()`, without
    /// arguments: `.env` in the current folder.
    ConfigCall,
    /// `dotenv` is used in a way we do not evaluate (options, another file); the text says how.
    Unreadable(String),
}

/// Prisma 8 config files import these packages (prisma/prisma `main`, `examples/*/prisma.config.ts`).
const PRISMA8_IMPORTS: [&str; 4] = [
    "@prisma/cli-engine",
    "@prisma/orm-",
    "@prisma-next/",
    "prisma-next",
];

/// Reads `schema`, `migrations.path` and `datasource.url` from the text of a config file.
pub fn read(text: &str) -> ConfigValues {
    let tokens = tokenize(text);
    let props = properties(&tokens);
    let root_spread = props.iter().any(|p| p.path == ["<root>", "..."]);
    let datasource_opaque = opaque(&props, "datasource");
    let migrations_opaque = opaque(&props, "migrations");
    let mut datasource_url = pick(
        &props,
        &["datasource", "url"],
        root_spread,
        datasource_opaque.clone(),
    );
    if uses_driver_adapter(&props) {
        datasource_url = Value::Unreadable(
            "a driver adapter (`engine: 'js'`, `adapter` or `migrate.adapter`, Prisma 6.x) gives the connection from JavaScript".into(),
        );
    }
    ConfigValues {
        schema: pick(&props, &["schema"], root_spread, None),
        migrations_path: pick(
            &props,
            &["migrations", "path"],
            root_spread,
            migrations_opaque,
        ),
        datasource_url,
        datasource_direct_url: pick(
            &props,
            &["datasource", "directUrl"],
            root_spread,
            datasource_opaque,
        ),
        prisma8_sign: PRISMA8_IMPORTS
            .iter()
            .find(|needle| {
                tokens
                    .iter()
                    .any(|t| matches!(t, Token::Str(s) if s.starts_with(*needle)))
            })
            .map(|needle| format!("it imports `{needle}…`")),
        dotenv: dotenv_load(&tokens),
    }
}

/// Whether (and how) the file loads a `.env` file with `dotenv`.
fn dotenv_load(tokens: &[Token]) -> DotenvLoad {
    if imports(tokens, "dotenv/config") {
        return DotenvLoad::ConfigImport;
    }
    if let Some(at) = tokens.windows(3).position(|w| {
        matches!(w, [Token::Ident(p), Token::Punct('.'), Token::Ident(f)] if p == "process" && f == "loadEnvFile")
    }) {
        return match tokens.get(at + 3..at + 5) {
            Some([Token::Punct('('), Token::Punct(')')]) => DotenvLoad::ConfigCall,
            _ => DotenvLoad::Unreadable("it calls `process.loadEnvFile(…)` with a path".into()),
        };
    }
    if !imports(tokens, "dotenv") {
        return DotenvLoad::Nothing;
    }
    let call = tokens
        .windows(2)
        .position(|w| matches!(w, [Token::Ident(f), Token::Punct('(')] if f == "config"));
    match call {
        Some(at) if tokens.get(at + 2) == Some(&Token::Punct(')')) => DotenvLoad::ConfigCall,
        Some(_) => DotenvLoad::Unreadable("it calls dotenv's `config(…)` with options".into()),
        None => DotenvLoad::Unreadable("it imports `dotenv` without calling `config()`".into()),
    }
}

/// `import … "module"`, `import "module"` or `require("module")`.
fn imports(tokens: &[Token], module: &str) -> bool {
    let imported = tokens.windows(2).any(|w| {
        matches!(w, [Token::Ident(k), Token::Str(m)] if (k == "import" || k == "from") && m == module)
    });
    imported
        || tokens.windows(3).any(|w| {
            matches!(w, [Token::Ident(r), Token::Punct('('), Token::Str(m)] if r == "require" && m == module)
        })
}

/// Prisma 6.x migrated through a driver adapter (its URL is in JavaScript) with `engine: 'js'`
/// (6.18–6.19), or with an `adapter` / `migrate.adapter` key unless `engine: 'classic'` is set.
fn uses_driver_adapter(props: &[Property]) -> bool {
    let root = |key: &str| props.iter().find(|p| p.path == ["<root>", key]);
    match root("engine").map(|p| &p.value) {
        Some(Value::Literal(engine)) if engine == "js" => return true,
        Some(Value::Literal(engine)) if engine == "classic" => return false,
        _ => {}
    }
    root("adapter").is_some()
        || props
            .iter()
            .any(|p| p.path == ["<root>", "migrate", "adapter"])
}

/// When `key` of the root object is set to something that is not an object literal (a variable, a
/// call), every value below it is unreadable.
fn opaque(props: &[Property], key: &str) -> Option<String> {
    props
        .iter()
        .find(|p| p.path.len() == 2 && p.path[0] == "<root>" && p.path[1] == key)
        .and_then(|p| match &p.value {
            Value::Unreadable(text) => Some(format!("`{key}: {text}`")),
            _ => None,
        })
}

/// The one value at `path` below a root object; ambiguity (two roots set it) is unreadable.
fn pick(props: &[Property], path: &[&str], root_spread: bool, opaque: Option<String>) -> Value {
    let found: Vec<&Property> = props
        .iter()
        .filter(|p| p.path.len() == path.len() + 1 && p.path[1..] == *path)
        .collect();
    let dotted = path.join(".");
    match found.as_slice() {
        [one] if one.path[0] == "<root>" => one.value.clone(),
        [] => match (opaque, root_spread) {
            (Some(what), _) => Value::Unreadable(what),
            (None, true) => Value::Unreadable(format!(
                "the exported object spreads another object (`...`) that may set `{dotted}`"
            )),
            (None, false) => Value::Absent,
        },
        _ => Value::Unreadable(format!("`{dotted}` is set in more than one object")),
    }
}

// -------------------------------------------------------------------------------------------------
// A tokenizer for the small subset of JavaScript/TypeScript a config file is made of.
// -------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    /// A string literal's value (quotes removed, simple escapes decoded); also a template literal
    /// without `${…}`.
    Str(String),
    /// A template literal with substitutions, or anything else we do not decode.
    Opaque(String),
    Punct(char),
    /// `...`
    Spread,
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '"' || c == '\'' || c == '`' {
            let (token, end) = string_literal(&chars, i);
            tokens.push(token);
            i = end;
        } else if c == '.' && next == Some('.') && chars.get(i + 2) == Some(&'.') {
            tokens.push(Token::Spread);
            i += 3;
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// Reads the string literal starting at `start` (a quote); returns the token and the index after it.
fn string_literal(chars: &[char], start: usize) -> (Token, usize) {
    let quote = chars[start];
    let mut value = String::new();
    let mut substitution = false;
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                value.push(match chars[i + 1] {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                i += 2;
                continue;
            }
            '$' if quote == '`' && chars.get(i + 1) == Some(&'{') => substitution = true,
            c => value.push(c),
        }
        i += 1;
    }
    let end = (i + 1).min(chars.len());
    let token = if substitution {
        Token::Opaque(chars[start..end].iter().collect())
    } else {
        Token::Str(value)
    };
    (token, end)
}

// -------------------------------------------------------------------------------------------------
// Object properties
// -------------------------------------------------------------------------------------------------

/// A `key: value` (or `...spread`, key `...`) inside an object literal. `path` starts with the
/// object's own key chain: `<root>` for an object that is not a property value.
#[derive(Debug, Clone)]
struct Property {
    path: Vec<String>,
    value: Value,
}

/// Walks the tokens, tracking which object literal (by key chain) each `key:` belongs to.
fn properties(tokens: &[Token]) -> Vec<Property> {
    let mut props = Vec::new();
    // One entry per open bracket: Some(path) for an object literal, None for ( or [.
    let mut stack: Vec<Option<Vec<String>>> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('{') => {
                let path = match object_key_before(tokens, i, &stack) {
                    Some(path) => path,
                    None => vec!["<root>".to_string()],
                };
                stack.push(Some(path));
            }
            Token::Punct('(') | Token::Punct('[') => stack.push(None),
            Token::Punct('}') | Token::Punct(')') | Token::Punct(']') => {
                stack.pop();
            }
            Token::Spread => {
                if let Some(Some(path)) = stack.last() {
                    if at_property_start(tokens, i) {
                        let mut full = path.clone();
                        full.push("...".into());
                        props.push(Property {
                            path: full,
                            value: Value::Unreadable("spread".into()),
                        });
                    }
                }
            }
            _ => {
                if let (Some(Some(path)), Some(key)) = (stack.last(), property_key(tokens, i)) {
                    let mut full = path.clone();
                    full.push(key);
                    props.push(Property {
                        path: full,
                        value: value_at(tokens, i + 2),
                    });
                }
            }
        }
        i += 1;
    }
    props
}

/// `key` when `tokens[i]` is a property key: an identifier or string followed by `:`, at the start of
/// a property (after `{` or `,`).
fn property_key(tokens: &[Token], i: usize) -> Option<String> {
    let key = match &tokens[i] {
        Token::Ident(name) | Token::Str(name) => name.clone(),
        _ => return None,
    };
    (tokens.get(i + 1) == Some(&Token::Punct(':')) && at_property_start(tokens, i)).then_some(key)
}

fn at_property_start(tokens: &[Token], i: usize) -> bool {
    i > 0 && matches!(tokens[i - 1], Token::Punct('{') | Token::Punct(','))
}

/// For the `{` at `open`: the key chain if it is the value of a property (`key: {`).
fn object_key_before(
    tokens: &[Token],
    open: usize,
    stack: &[Option<Vec<String>>],
) -> Option<Vec<String>> {
    if open < 2 || tokens[open - 1] != Token::Punct(':') {
        return None;
    }
    let key = property_key(tokens, open - 2)?;
    let mut path = stack.last()?.clone()?;
    path.push(key);
    Some(path)
}

/// The value starting at token `i`, if it is one of the forms [`expression`] reads with certainty and
/// the whole value (up to `,` or `}`) is only that.
fn value_at(tokens: &[Token], i: usize) -> Value {
    let end = value_end(tokens, i);
    let value = &tokens[i..end];
    if value.first() == Some(&Token::Punct('{')) {
        return Value::Absent;
    }
    expression::evaluate(value).unwrap_or_else(|| Value::Unreadable(render(value)))
}

/// The index of the `,` or closing bracket ending the value that starts at `i`.
fn value_end(tokens: &[Token], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < tokens.len() {
        match tokens[j] {
            Token::Punct('{') | Token::Punct('(') | Token::Punct('[') => depth += 1,
            Token::Punct('}') | Token::Punct(')') | Token::Punct(']') if depth == 0 => break,
            Token::Punct('}') | Token::Punct(')') | Token::Punct(']') => depth -= 1,
            Token::Punct(',') if depth == 0 => break,
            _ => {}
        }
        j += 1;
    }
    j
}

/// A short rendering of an unreadable expression, for the message.
/// When the expression writes (part of) a connection URL, every literal in it is shown as `"…"`: the
/// pieces may hold a password, which is never printed.
fn render(tokens: &[Token]) -> String {
    let hide_literals = tokens.iter().any(|t| match t {
        Token::Str(s) | Token::Opaque(s) => s.contains("://") || s.contains('@'),
        _ => false,
    });
    let mut text = String::new();
    for token in tokens.iter().take(12) {
        match token {
            Token::Ident(s) => {
                if text.ends_with(|c: char| c.is_alphanumeric()) {
                    text.push(' ');
                }
                text.push_str(s);
            }
            Token::Str(_) if hide_literals => text.push_str("\"…\""),
            Token::Opaque(_) if hide_literals => text.push_str("`…`"),
            Token::Str(s) => text.push_str(&format!("{s:?}")),
            Token::Opaque(s) => text.push_str(s),
            Token::Punct(c) => text.push(*c),
            Token::Spread => text.push_str("..."),
        }
    }
    if tokens.len() > 12 {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str, strict: bool) -> Value {
        Value::Env {
            name: name.into(),
            strict,
        }
    }

    #[test]
    fn prisma7_config_with_env() {
        let v = read(
            r#"import "dotenv/config";
            import { defineConfig, env } from "prisma/config";
            // url: env("COMMENTED")
            export default defineConfig({
              schema: "prisma/schema.prisma",
              migrations: { path: "prisma/migrations", seed: "tsx prisma/seed.ts" },
              datasource: { url: env("DIRECT_URL") },
            });"#,
        );
        assert_eq!(v.schema, Value::Literal("prisma/schema.prisma".into()));
        assert_eq!(
            v.migrations_path,
            Value::Literal("prisma/migrations".into())
        );
        assert_eq!(v.datasource_url, env("DIRECT_URL", true));
        assert_eq!(v.datasource_direct_url, Value::Absent);
        assert_eq!(v.prisma8_sign, None);
    }

    #[test]
    fn process_env_forms() {
        let v = read("export default { datasource: { url: process.env.MIGRATE_URL } }");
        assert_eq!(v.datasource_url, env("MIGRATE_URL", false));
        let v = read("module.exports = { datasource: { url: process.env['X_URL'], }, }");
        assert_eq!(v.datasource_url, env("X_URL", false));
        assert_eq!(v.schema, Value::Absent);
    }

    #[test]
    fn computed_values_are_unreadable() {
        for text in [
            "export default defineConfig({ datasource: { url: getUrl() } })",
            "export default defineConfig({ datasource: { url: process.env.A ?? process.env.B } })",
            "export default defineConfig({ datasource: { url: `${process.env.A}` } })",
            "export default defineConfig({ datasource: ds })",
            "export default defineConfig({ ...base })",
            "export default defineConfig({ engine: 'js', adapter: async () => x })",
            "export default defineConfig({ earlyAccess: true, migrate: { adapter: async () => x } })",
            "export default defineConfig({ experimental: { adapter: true }, adapter: async () => x })",
        ] {
            assert!(
                matches!(read(text).datasource_url, Value::Unreadable(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn an_unreadable_url_never_shows_its_literal_parts() {
        for url in [
            "'postgresql://app:s3cret@db/app?schema=' + schema",
            "`postgresql://app:s3cret@${host}/app`",
            "process.env.URL ?? 'postgresql://app:s3cret@localhost/dev'",
            "'postgresql://app:' + 's3cret' + '@db/app'",
        ] {
            let text = format!("export default defineConfig({{ datasource: {{ url: {url} }} }})");
            let Value::Unreadable(shown) = read(&text).datasource_url else {
                panic!("{url} was read");
            };
            assert!(!shown.contains("s3cret") && shown.contains('…'), "{shown}");
        }
    }

    #[test]
    fn keys_in_nested_or_other_objects_do_not_count() {
        let v = read(
            "const other = { path: 'x' };\nexport default defineConfig({ views: { path: 'v' }, typedSql: { path: 's' } })",
        );
        assert_eq!(v.migrations_path, Value::Absent);
        let v = read("export default defineConfig({ migrations: { path: 'a' } , x: { migrations: { path: 'b' } } })");
        assert_eq!(v.migrations_path, Value::Literal("a".into()));
    }

    #[test]
    fn classic_engine_direct_url() {
        let v = read("export default defineConfig({ engine: 'classic', datasource: { url: env('DATABASE_URL'), directUrl: env('DIRECT_URL') } })");
        assert_eq!(v.datasource_url, env("DATABASE_URL", true));
        assert_eq!(v.datasource_direct_url, env("DIRECT_URL", true));
    }

    #[test]
    fn dotenv_loading_by_the_config_file_is_seen() {
        let cases = [
            (
                "import 'dotenv/config'\nexport default {}",
                DotenvLoad::ConfigImport,
            ),
            (
                "require(\"dotenv/config\");\nmodule.exports = {}",
                DotenvLoad::ConfigImport,
            ),
            (
                "import dotenv from 'dotenv'\ndotenv.config()\nexport default {}",
                DotenvLoad::ConfigCall,
            ),
            (
                "import { config } from 'dotenv'\nconfig();",
                DotenvLoad::ConfigCall,
            ),
            (
                "import { defineConfig } from 'prisma/config'\nexport default defineConfig({})",
                DotenvLoad::Nothing,
            ),
            (
                "// import 'dotenv/config'\nexport default {}",
                DotenvLoad::Nothing,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(read(text).dotenv, expected, "{text}");
        }
        for text in [
            "import { config } from 'dotenv'\nconfig({ path: '.env.local' })",
            "process.loadEnvFile('.env.production')",
        ] {
            assert!(
                matches!(read(text).dotenv, DotenvLoad::Unreadable(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn prisma8_config_is_recognised() {
        let v = read("import { defineConfig } from '@prisma/cli-engine';\nimport { defineConfig as ormConfig } from '@prisma/orm-postgres/config';\nexport default defineConfig({ orm: ormConfig({ contract: './contract.ts' }) });");
        assert!(v.prisma8_sign.unwrap().contains("@prisma/cli-engine"));
    }

    #[test]
    fn discovery_order() {
        let c = candidates();
        assert_eq!(c[0], PathBuf::from("prisma7.config.js"));
        assert_eq!(c[1], PathBuf::from("prisma7.config.ts"));
        let legacy_ts = c
            .iter()
            .position(|p| p == Path::new("prisma.config.ts"))
            .unwrap();
        let p7_dir = c
            .iter()
            .position(|p| p == Path::new(".config/prisma7.ts"))
            .unwrap();
        assert!(p7_dir < legacy_ts);
        assert!(has_supported_extension(Path::new("x/prisma.config.mts")));
        assert!(!has_supported_extension(Path::new("prisma.config.json")));
    }
}
