//! The Prisma schema: a `schema.prisma` file or a folder of `*.prisma` files (searched recursively, as
//! Prisma's `loadSchemaFiles`), and its one `datasource` block: `provider`, `url`, `directUrl`,
//! `schemas`. Only the datasource block is read; models are none of our business.

use std::path::{Path, PathBuf};

/// A `url`/`directUrl` value: `env("X")` or a literal string.
#[derive(Clone, PartialEq, Eq)]
pub enum UrlValue {
    Env(String),
    /// A literal URL in the schema. Never printed: it may hold a password.
    Literal(String),
}

impl std::fmt::Debug for UrlValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlValue::Env(name) => write!(f, "Env({name})"),
            UrlValue::Literal(_) => write!(f, "Literal(<hidden>)"),
        }
    }
}

/// The datasource block, and the file it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datasource {
    pub file: PathBuf,
    pub provider: Option<String>,
    pub url: Option<UrlValue>,
    pub direct_url: Option<UrlValue>,
    pub schemas: Vec<String>,
}

/// Every `*.prisma` file of a schema path: the file itself, or the folder's files (recursively, in
/// name order so that the result does not depend on the file system).
pub fn files(schema: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !schema.is_dir() {
        return Ok(vec![schema.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut pending = vec![schema.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "prisma") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The datasource blocks of one file's text.
pub fn datasources(file: &Path, text: &str) -> Vec<Datasource> {
    let mut blocks = Vec::new();
    let mut current: Option<Datasource> = None;
    for line in text.lines() {
        let line = strip_comment(line).trim();
        if current.is_none() {
            if is_datasource_start(line) {
                current = Some(Datasource {
                    file: file.to_path_buf(),
                    provider: None,
                    url: None,
                    direct_url: None,
                    schemas: Vec::new(),
                });
            }
            continue;
        }
        if line.starts_with('}') {
            blocks.extend(current.take());
            continue;
        }
        if let (Some(block), Some((key, value))) = (current.as_mut(), line.split_once('=')) {
            assign(block, key.trim(), value.trim());
        }
    }
    blocks
}

/// `datasource db {` (the opening brace on the same line, as Prisma's formatter writes it).
fn is_datasource_start(line: &str) -> bool {
    let mut words = line.split_whitespace();
    words.next() == Some("datasource") && line.ends_with('{')
}

fn assign(block: &mut Datasource, key: &str, value: &str) {
    match key {
        "provider" => block.provider = string_literal(value),
        "url" => block.url = url_value(value),
        "directUrl" => block.direct_url = url_value(value),
        "schemas" => {
            block.schemas = value
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .filter_map(|s| string_literal(s.trim()))
                .collect()
        }
        _ => {}
    }
}

/// `env("X")` or `"literal"`.
fn url_value(value: &str) -> Option<UrlValue> {
    if let Some(inner) = value
        .strip_prefix("env(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        return string_literal(inner.trim()).map(UrlValue::Env);
    }
    string_literal(value).map(UrlValue::Literal)
}

fn string_literal(value: &str) -> Option<String> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

/// Removes a `//` comment that is not inside a string.
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '"' if previous != '\\' => in_string = !in_string,
            '/' if !in_string && line[i + 1..].starts_with('/') => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_prisma6_datasource() {
        let text = r#"
generator client {
  provider = "prisma-client-js"
}

// datasource old { url = env("NOPE") }
datasource db {
  provider  = "postgresql"
  url       = env("DATABASE_URL") // pooled
  directUrl = env("DIRECT_URL")
  schemas   = ["public", "auth"]
}

model User {
  id Int @id
  url String
}
"#;
        let blocks = datasources(Path::new("s.prisma"), text);
        assert_eq!(blocks.len(), 1);
        let ds = &blocks[0];
        assert_eq!(ds.provider.as_deref(), Some("postgresql"));
        assert_eq!(ds.url, Some(UrlValue::Env("DATABASE_URL".into())));
        assert_eq!(ds.direct_url, Some(UrlValue::Env("DIRECT_URL".into())));
        assert_eq!(ds.schemas, ["public", "auth"]);
    }

    #[test]
    fn literal_urls_are_hidden_in_debug() {
        let blocks = datasources(
            Path::new("s.prisma"),
            "datasource db {\n provider = \"mysql\"\n url = \"mysql://u:secret@h/d\"\n}\n",
        );
        assert_eq!(blocks[0].provider.as_deref(), Some("mysql"));
        assert!(!format!("{:?}", blocks[0]).contains("secret"));
    }

    #[test]
    fn prisma7_datasource_has_no_url() {
        let blocks = datasources(
            Path::new("s.prisma"),
            "datasource db {\n  provider = \"postgresql\"\n}\n",
        );
        assert_eq!(blocks[0].url, None);
        assert_eq!(blocks[0].direct_url, None);
    }
}
