//! UTC timestamps without a date-time dependency: RFC 3339 text and a compact form for names.

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment in UTC, broken into calendar fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    millis: u32,
}

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Self::from_unix(since_epoch.as_secs() as i64, since_epoch.subsec_millis())
    }

    /// The moment `secs` seconds (plus `millis`) after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64, millis: u32) -> Self {
        let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
        // Howard Hinnant's civil_from_days (http://howardhinnant.github.io/date_algorithms.html).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self { year, month, day, hour: of_day / 3600, minute: of_day / 60 % 60, second: of_day % 60, millis }
    }

    /// RFC 3339 text, e.g. `2026-11-22T13:45:07.123Z`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }

    /// A form for file names that sorts by time, e.g. `20261122-134507`.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}-{:02}{:02}{:02}", self.year, self.month, self.day, self.hour, self.minute, self.second)
    }
}

/// The current time in the compact file-name form.
pub fn compact_timestamp() -> String {
    Timestamp::now().compact()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_moments_format_correctly() {
        assert_eq!(Timestamp::from_unix(0, 0).rfc3339(), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(Timestamp::from_unix(1_709_251_199, 5).rfc3339(), "2024-02-29T23:59:59.005Z");
        assert_eq!(Timestamp::from_unix(1_795_354_507, 0).compact(), "20261122-133507");
    }
}
