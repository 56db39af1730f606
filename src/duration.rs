//! Durations on the command line (`500ms`, `30s`, `2m`, or bare seconds: SPEC "Configuration") and in
//! messages, in the same notation, so what a message says can be passed back as a flag.

use std::time::Duration;

/// Parses a CLI duration; the error text is shown by clap next to the flag.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (use 500ms, 30s, 2m or seconds)"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` (use ms, s, m or h)"
            ))
        }
    };
    if !seconds.is_finite() || !(0.0..=7.0 * 24.0 * 3600.0).contains(&seconds) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `20s`, `1.5s`, `250ms`: the one way messages show a duration (a value [`parse`] accepts).
pub fn display(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse("10x").is_err());
        assert!(parse("").is_err());
        assert!(parse("-1s").is_err());
    }

    #[test]
    fn messages_show_what_a_flag_accepts() {
        for (d, text) in [(20_000, "20s"), (1500, "1.5s"), (250, "250ms"), (0, "0ms")] {
            let d = Duration::from_millis(d);
            assert_eq!(display(d), text);
            assert_eq!(parse(text), Ok(d));
        }
    }
}
