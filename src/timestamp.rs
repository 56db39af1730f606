//! Timestamps of history rows: a [`Timestamp`] is a point in time, shown (and serialised in the JSON
//! contract) as RFC 3339 UTC with microseconds — what PostgreSQL stores; Prisma's P3009 text uses
//! chrono's `DateTime<Utc>` Display, which [`prisma_display`] reproduces. Hand-written because two
//! small functions do not justify a date-time dependency.

use serde::{Serialize, Serializer};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A `timestamptz` of `_prisma_migrations`, as a time (ordered, comparable), not as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(SystemTime::now())
    }

    /// `2025-01-08 02:51:04.844060 UTC`, as Prisma prints it.
    pub fn prisma_display(&self) -> String {
        prisma_display(&self.to_string())
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        Timestamp(time)
    }
}

/// RFC 3339 UTC with microseconds: `2025-01-08T02:51:04.844060Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&rfc3339_micros(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `2025-01-08T02:51:04.844060Z` for any time, before or after 1970.
pub fn rfc3339_micros(time: SystemTime) -> String {
    let micros: i128 = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_micros() as i128,
        Err(before) => -(before.duration().as_micros() as i128),
    };
    let seconds = micros.div_euclid(1_000_000) as i64;
    let fraction = micros.rem_euclid(1_000_000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// chrono's `DateTime<Utc>` Display, as in Prisma's P3009 text: `2025-01-08 02:51:04.844060 UTC`, the
/// fraction dropped when zero and shortened to milliseconds when it fits. Input: [`rfc3339_micros`] form.
pub fn prisma_display(rfc3339: &str) -> String {
    let trimmed = rfc3339.trim_end_matches('Z').replacen('T', " ", 1);
    let (seconds, fraction) = trimmed.split_once('.').unwrap_or((&trimmed, ""));
    let fraction = match fraction.trim_end_matches('0').len() {
        0 => String::new(),
        1..=3 => format!(".{}", &format!("{fraction:0<6}")[..3]),
        _ => format!(".{fraction:0<6}"),
    };
    format!("{seconds}{fraction} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        let t = UNIX_EPOCH + Duration::from_micros(1_736_304_664_844_060);
        assert_eq!(rfc3339_micros(t), "2025-01-08T02:51:04.844060Z");
        assert_eq!(rfc3339_micros(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339_micros(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            rfc3339_micros(UNIX_EPOCH - Duration::from_micros(1)),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn a_timestamp_shows_and_serialises_as_rfc3339_and_orders_as_time() {
        let t = Timestamp::from(UNIX_EPOCH + Duration::from_micros(1_736_304_664_844_060));
        assert_eq!(t.to_string(), "2025-01-08T02:51:04.844060Z");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2025-01-08T02:51:04.844060Z\""
        );
        assert_eq!(t.prisma_display(), "2025-01-08 02:51:04.844060 UTC");
        assert!(Timestamp::from(UNIX_EPOCH) < t);
    }

    #[test]
    fn prisma_display_matches_chrono() {
        assert_eq!(
            prisma_display("2025-01-08T02:51:04.844060Z"),
            "2025-01-08 02:51:04.844060 UTC"
        );
        assert_eq!(
            prisma_display("2025-01-08T02:51:04.844000Z"),
            "2025-01-08 02:51:04.844 UTC"
        );
        assert_eq!(
            prisma_display("2025-01-08T02:51:04.000000Z"),
            "2025-01-08 02:51:04 UTC"
        );
        assert_eq!(
            prisma_display("2025-01-08T02:51:04.000001Z"),
            "2025-01-08 02:51:04.000001 UTC"
        );
    }
}
