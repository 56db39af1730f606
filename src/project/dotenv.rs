//! `.env` files, loaded as Prisma 5 and 6 do when there is no config file
//! (`packages/internals/src/utils/getEnvPaths.ts`, `tryLoadEnvs.ts` at 6.19): the project root's `.env`
//! (next to the nearest `package.json` upwards), then the first existing of `<dir of --schema>/.env`,
//! `./prisma/.env`, `./.env`. A variable already set is never overridden; the first file loaded wins
//! over the second. Values are expanded like `dotenv-expand` (`${VAR}` and `$VAR`). A config file that
//! loads `.env` itself (`import "dotenv/config"`) gets plain `dotenv`: `./.env`, no expansion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `.env` files Prisma 5/6 would load, in loading order (at most two, never the same twice).
pub fn files_to_load(cwd: &Path, schema_flag: Option<&Path>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(root) = project_root_env(cwd) {
        files.push(root);
    }
    // Prisma also lists the package.json schema's folder here, but a missing `return` in
    // `readSchemaPathFromPkgJson` (6.19) makes that candidate always null: we follow the real behaviour.
    let schema_candidates = [
        schema_flag.map(|s| parent_or_dot(s).join(".env")),
        Some(PathBuf::from("prisma/.env")),
        Some(PathBuf::from(".env")),
    ];
    let schema_env = schema_candidates
        .into_iter()
        .flatten()
        .find(|p| cwd.join(p).is_file());
    if let Some(env) = schema_env {
        let same = files
            .first()
            .is_some_and(|root| same_file(&cwd.join(root), &cwd.join(&env)));
        if !same {
            files.push(env);
        }
    }
    files
}

fn parent_or_dot(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `.env` next to the nearest `package.json` (upwards from `cwd`) that parses and is not
/// `.prisma/client`'s, relative to `cwd` when it is below it.
fn project_root_env(cwd: &Path) -> Option<PathBuf> {
    let mut dir = cwd.to_path_buf();
    let mut up = PathBuf::new();
    loop {
        let package = dir.join("package.json");
        if let Ok(text) = std::fs::read_to_string(&package) {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
                if json.get("name").and_then(|n| n.as_str()) != Some(".prisma/client") {
                    let env = up.join(".env");
                    return cwd.join(&env).is_file().then_some(env);
                }
            }
        }
        if !dir.pop() {
            return None;
        }
        up.push("..");
    }
}

/// Parses a `.env` text like `dotenv` 16: `KEY=VALUE` lines, optional `export `, `#` comments,
/// single/double/backtick quotes (double quotes expand `\n`), quoted values may span lines.
pub fn parse(text: &str) -> Vec<(String, String)> {
    let text = text.replace("\r\n", "\n");
    let mut pairs = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        rest = after;
        let line = line.trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || key.starts_with('#')
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            continue;
        }
        let value = value.trim_start();
        let parsed = match value.chars().next() {
            Some(q @ ('"' | '\'' | '`')) => quoted(value, q, &mut rest),
            // dotenv's unquoted value is `[^#\r\n]+`: a `#` ends it even without a space before.
            _ => value.split('#').next().unwrap_or("").trim().to_string(),
        };
        pairs.push((key.to_string(), parsed));
    }
    pairs
}

/// A quoted value, possibly continuing over the following lines (consumed from `rest`).
fn quoted(value: &str, quote: char, rest: &mut &str) -> String {
    let mut body = value[1..].to_string();
    loop {
        if let Some(end) = body.find(quote) {
            body.truncate(end);
            break;
        }
        if rest.is_empty() {
            // No closing quote: dotenv keeps the raw value.
            return format!("{quote}{body}").trim().to_string();
        }
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        body.push('\n');
        body.push_str(line);
        *rest = after;
    }
    if quote == '"' {
        body.replace("\\n", "\n").replace("\\r", "\r")
    } else {
        body
    }
}

/// `dotenv-expand`: `${VAR}` and `$VAR` from the process environment first, then the file's own
/// values; `\$` is a literal dollar.
pub fn expand(
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
    own: &BTreeMap<String, String>,
) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let braced = chars.get(i + 1) == Some(&'{');
        let start = if braced { i + 2 } else { i + 1 };
        let mut end = start;
        while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
            end += 1;
        }
        if end == start || (braced && chars.get(end) != Some(&'}')) {
            out.push('$');
            i += 1;
            continue;
        }
        let name: String = chars[start..end].iter().collect();
        let resolved = env(&name)
            .or_else(|| own.get(&name).cloned())
            .unwrap_or_default();
        out.push_str(&resolved);
        i = if braced { end + 1 } else { end };
    }
    out
}

/// Whether values are expanded: Prisma 5/6 run `dotenv-expand` over the `.env` files they load; plain
/// `dotenv` (a config file's `import "dotenv/config"`) keeps `$VAR` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    DotenvExpand,
    Verbatim,
}

/// The assignments `files` would make: variables not set in `env` (nor by an earlier file).
pub fn assignments(
    cwd: &Path,
    files: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
    expansion: Expansion,
) -> std::io::Result<Vec<(String, String)>> {
    let mut chosen: BTreeMap<String, String> = BTreeMap::new();
    let mut order = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(cwd.join(file))?;
        let pairs = parse(&text);
        let own: BTreeMap<String, String> = pairs.iter().cloned().collect();
        for (key, value) in pairs {
            if env(&key).is_some() || chosen.contains_key(&key) {
                continue;
            }
            let value = match expansion {
                Expansion::DotenvExpand => expand(&value, env, &own),
                Expansion::Verbatim => value,
            };
            order.push(key.clone());
            chosen.insert(key, value);
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|k| chosen.remove_entry(&k))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dotenv_forms() {
        let pairs = parse(
            "# comment\nDATABASE_URL=\"postgres://u:p@h/d?schema=a\"\nexport DIRECT_URL='postgres://x'\n\
             PLAIN=abc # trailing\nHASH=pa#ss\nEMPTY=\nMULTI=\"a\nb\"\nESC=\"x\\ny\"\nnot a line\n",
        );
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("DATABASE_URL"), Some("postgres://u:p@h/d?schema=a"));
        assert_eq!(get("DIRECT_URL"), Some("postgres://x"));
        assert_eq!(get("PLAIN"), Some("abc"));
        assert_eq!(get("HASH"), Some("pa"));
        assert_eq!(get("EMPTY"), Some(""));
        assert_eq!(get("MULTI"), Some("a\nb"));
        assert_eq!(get("ESC"), Some("x\ny"));
        assert_eq!(pairs.len(), 7);
    }

    #[test]
    fn expands_like_dotenv_expand() {
        let own: BTreeMap<String, String> = [("HOST".to_string(), "db".to_string())].into();
        let env = |k: &str| (k == "PASS").then(|| "pw".to_string());
        assert_eq!(
            expand("postgres://u:${PASS}@$HOST/d\\$x", &env, &own),
            "postgres://u:pw@db/d$x"
        );
        assert_eq!(expand("$", &env, &own), "$");
    }

    #[test]
    fn set_variables_are_never_overridden() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "A=file\nB=file\n").unwrap();
        std::fs::create_dir(dir.path().join("prisma")).unwrap();
        std::fs::write(dir.path().join("prisma/.env"), "B=prisma\nC=prisma\n").unwrap();
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        let files = files_to_load(dir.path(), None);
        assert_eq!(files, [PathBuf::from(".env"), PathBuf::from("prisma/.env")]);
        let env = |k: &str| (k == "A").then(|| "set".to_string());
        let got = assignments(dir.path(), &files, &env, Expansion::DotenvExpand).unwrap();
        assert_eq!(
            got,
            [
                ("B".to_string(), "file".to_string()),
                ("C".to_string(), "prisma".to_string())
            ]
        );
    }
}
