//! The expressions of a config value that are read for certain, in the forms real `prisma.config.ts`
//! files use: a string literal, `env("X")` (also `env<Env>("X")`, Prisma's typed form),
//! `process.env.X` / `process.env["X"]`, and `path.join(…)` / `path.resolve(__dirname, …)` of literals.
//! TypeScript-only syntax that does not change the value (`!`, `as string`, `satisfies T`) and an empty
//! fallback (`?? ""`, `|| ""`, which Prisma treats like an unset variable) are ignored. Anything else
//! is not ours to evaluate.

use super::{Token, Value};

/// The value of one property's expression, or `None` when it is not one of the forms we read.
pub(super) fn evaluate(tokens: &[Token]) -> Option<Value> {
    let tokens = without_empty_fallback(without_type_syntax(tokens));
    let tokens = without_type_syntax(tokens);
    match tokens {
        [Token::Str(s)] => Some(Value::Literal(s.clone())),
        _ => env_call(tokens)
            .or_else(|| process_env(tokens))
            .or_else(|| path_call(tokens).map(Value::Literal)),
    }
}

/// Drops trailing `!`, `as Type` and `satisfies Type` (a single-word type).
fn without_type_syntax(mut tokens: &[Token]) -> &[Token] {
    loop {
        match tokens {
            [rest @ .., Token::Punct('!')] => tokens = rest,
            [rest @ .., Token::Ident(keyword), Token::Ident(_)]
                if keyword == "as" || keyword == "satisfies" =>
            {
                tokens = rest
            }
            _ => return tokens,
        }
    }
}

/// Drops a trailing `?? ""` or `|| ""`: an empty URL or path counts as unset, as Prisma does.
fn without_empty_fallback(tokens: &[Token]) -> &[Token] {
    match tokens {
        [rest @ .., Token::Punct('?'), Token::Punct('?'), Token::Str(s)]
        | [rest @ .., Token::Punct('|'), Token::Punct('|'), Token::Str(s)]
            if s.is_empty() =>
        {
            rest
        }
        _ => tokens,
    }
}

/// `env("X")` or `env<Type>("X")`: Prisma's helper, which throws when X is unset or empty.
fn env_call(tokens: &[Token]) -> Option<Value> {
    let [Token::Ident(function), rest @ ..] = tokens else {
        return None;
    };
    if function != "env" {
        return None;
    }
    match without_type_arguments(rest) {
        [Token::Punct('('), Token::Str(name), Token::Punct(')')] => Some(Value::Env {
            name: name.clone(),
            strict: true,
        }),
        _ => None,
    }
}

/// Skips a leading `<…>` (TypeScript type arguments).
fn without_type_arguments(tokens: &[Token]) -> &[Token] {
    if tokens.first() != Some(&Token::Punct('<')) {
        return tokens;
    }
    match tokens.iter().position(|t| *t == Token::Punct('>')) {
        Some(close) => &tokens[close + 1..],
        None => tokens,
    }
}

/// `process.env.X` or `process.env["X"]`: unset simply means "not set".
fn process_env(tokens: &[Token]) -> Option<Value> {
    let name = match tokens {
        [Token::Ident(p), Token::Punct('.'), Token::Ident(e), Token::Punct('.'), Token::Ident(name)]
        | [Token::Ident(p), Token::Punct('.'), Token::Ident(e), Token::Punct('['), Token::Str(name), Token::Punct(']')]
            if p == "process" && e == "env" =>
        {
            name
        }
        _ => return None,
    };
    Some(Value::Env {
        name: name.clone(),
        strict: false,
    })
}

/// One argument of `path.join` / `path.resolve`.
enum Segment {
    /// `__dirname` or `import.meta.dirname`: the config file's folder.
    ConfigDir,
    Text(String),
}

/// `path.join(…)` or `path.resolve(…)` of string literals, optionally starting at the config file's
/// folder. The result is relative to the config file's folder (as a literal path value is), or
/// absolute. `path.resolve` of relative literals alone is relative to the *current* folder, which the
/// config file does not know: not read.
fn path_call(tokens: &[Token]) -> Option<String> {
    let [Token::Ident(module), Token::Punct('.'), Token::Ident(function), Token::Punct('('), args @ .., Token::Punct(')')] =
        tokens
    else {
        return None;
    };
    if module != "path" {
        return None;
    }
    let segments = arguments(args)?;
    let (from_config_dir, texts) = match segments.split_first() {
        Some((Segment::ConfigDir, rest)) => (true, rest),
        _ => (false, segments.as_slice()),
    };
    let texts = texts
        .iter()
        .map(|s| match s {
            Segment::Text(t) => Some(t.as_str()),
            Segment::ConfigDir => None,
        })
        .collect::<Option<Vec<&str>>>()?;
    let start = match function.as_str() {
        "join" => 0,
        "resolve" => resolve_start(&texts, from_config_dir)?,
        _ => return None,
    };
    let joined: Vec<&str> = texts[start..]
        .iter()
        .copied()
        .filter(|t| !t.is_empty())
        .collect();
    Some(if joined.is_empty() {
        ".".into()
    } else {
        joined.join("/")
    })
}

/// Where `path.resolve` starts: at its last absolute argument, else at the config file's folder when
/// that comes first; `None` when it would start at the current folder.
fn resolve_start(texts: &[&str], from_config_dir: bool) -> Option<usize> {
    match texts.iter().rposition(|t| t.starts_with('/')) {
        Some(last_absolute) => Some(last_absolute),
        None if from_config_dir => Some(0),
        None => None,
    }
}

/// The comma-separated arguments, each a string literal or the config file's folder.
fn arguments(args: &[Token]) -> Option<Vec<Segment>> {
    args.split(|t| *t == Token::Punct(','))
        .filter(|arg| !arg.is_empty())
        .map(|arg| match arg {
            [Token::Str(s)] => Some(Segment::Text(s.clone())),
            [Token::Ident(d)] if d == "__dirname" => Some(Segment::ConfigDir),
            [Token::Ident(i), Token::Punct('.'), Token::Ident(m), Token::Punct('.'), Token::Ident(d)]
                if i == "import" && m == "meta" && d == "dirname" =>
            {
                Some(Segment::ConfigDir)
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::read;
    use super::*;

    fn url_of(expression: &str) -> Value {
        read(&format!(
            "export default defineConfig({{ datasource: {{ url: {expression} }} }})"
        ))
        .datasource_url
    }

    fn path_of(expression: &str) -> Value {
        read(&format!(
            "export default defineConfig({{ migrations: {{ path: {expression}, }}, }})"
        ))
        .migrations_path
    }

    fn env(name: &str, strict: bool) -> Value {
        Value::Env {
            name: name.into(),
            strict,
        }
    }

    #[test]
    fn typescript_forms_of_an_environment_variable() {
        assert_eq!(url_of("process.env.DIRECT_URL!"), env("DIRECT_URL", false));
        assert_eq!(url_of("process.env['A'] as string"), env("A", false));
        assert_eq!(url_of("process.env.A ?? ''"), env("A", false));
        assert_eq!(url_of("process.env.A || \"\""), env("A", false));
        assert_eq!(
            url_of("env<Env>('DATABASE_URL')"),
            env("DATABASE_URL", true)
        );
        assert_eq!(url_of("env('A') as string"), env("A", true));
    }

    #[track_caller]
    fn assert_unreadable(value_of: fn(&str) -> Value, expressions: &[&str]) {
        for expression in expressions {
            let value = value_of(expression);
            assert!(
                matches!(value, Value::Unreadable(_)),
                "{expression}: {value:?}"
            );
        }
    }

    #[test]
    fn other_fallbacks_stay_unreadable() {
        assert_unreadable(
            url_of,
            &[
                "process.env.A ?? process.env.B",
                "process.env.A || 'postgres://localhost/dev'",
                "process.env.A as string | undefined",
                "envFor('A')",
            ],
        );
    }

    #[test]
    fn path_calls_of_literals() {
        let literal = |s: &str| Value::Literal(s.into());
        assert_eq!(
            path_of("path.join('prisma', 'migrations')"),
            literal("prisma/migrations")
        );
        assert_eq!(
            path_of("path.join(__dirname, 'prisma', 'migrations')"),
            literal("prisma/migrations")
        );
        assert_eq!(
            path_of("path.resolve(import.meta.dirname, \"db\", `m`)"),
            literal("db/m")
        );
        assert_eq!(path_of("path.join(__dirname)"), literal("."));
        assert_eq!(path_of("path.resolve('x', '/srv/m')"), literal("/srv/m"));
        assert_eq!(path_of("path.join('/srv', 'm')"), literal("/srv/m"));
    }

    #[test]
    fn path_calls_we_cannot_place_are_unreadable() {
        assert_unreadable(
            path_of,
            &[
                "path.resolve('prisma', 'migrations')",
                "path.join(process.cwd(), 'm')",
                "path.join(base, 'm')",
                "path.join('a', __dirname)",
                "other.join('a')",
            ],
        );
    }
}
