//! UTC timestamps: RFC 3339 text for records, a compact form for names, and local time for people.

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment in UTC, broken into calendar fields (ordered by time). Stored in records as its RFC
/// 3339 text, so every result file reads the same as before it had a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

    /// The moment in this machine's time zone, to the second, with the zone's abbreviation, e.g.
    /// `2026-11-22 14:45:07 CET` (UTC where the zone cannot be read).
    pub fn local_text(&self) -> String {
        self.text_in(&jiff::tz::TimeZone::system())
    }

    /// The moment in `zone`, as [`Timestamp::local_text`] writes it.
    pub fn text_in(&self, zone: &jiff::tz::TimeZone) -> String {
        let civil = jiff::civil::DateTime::new(
            self.year as i16,
            self.month as i8,
            self.day as i8,
            self.hour as i8,
            self.minute as i8,
            self.second.min(59) as i8,
            0,
        );
        match civil.and_then(|civil| civil.to_zoned(jiff::tz::TimeZone::UTC)) {
            Ok(utc) => utc.with_time_zone(zone.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string(),
            Err(_) => self.to_string(),
        }
    }

    /// A form for file names that sorts by time, e.g. `20261122-134507`.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}-{:02}{:02}{:02}", self.year, self.month, self.day, self.hour, self.minute, self.second)
    }
}

impl std::fmt::Display for Timestamp {
    /// RFC 3339 as records store it, without a fraction of a second when there is none
    /// (`2026-11-22T13:45:07.123Z`, `2026-11-22T13:45:07Z`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.millis != 0 {
            return f.write_str(&self.rfc3339());
        }
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl std::str::FromStr for Timestamp {
    type Err = String;

    /// Reads RFC 3339 UTC text: `2026-11-22T13:45:07Z`, optionally with a fraction of a second.
    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || format!("`{text}` is not a UTC time like 2026-11-22T13:45:07.123Z");
        let rest = text.strip_suffix('Z').or_else(|| text.strip_suffix("+00:00")).ok_or_else(invalid)?;
        let (date, time) = rest.split_once('T').ok_or_else(invalid)?;
        let (time, fraction) = time.split_once('.').unwrap_or((time, ""));
        let number = |part: Option<&str>| part.and_then(|p| p.parse::<u32>().ok()).ok_or_else(invalid);
        let mut date_parts = date.splitn(3, '-');
        let year = date_parts.next().and_then(|p| p.parse::<i64>().ok()).ok_or_else(invalid)?;
        let (month, day) = (number(date_parts.next())?, number(date_parts.next())?);
        let mut time_parts = time.splitn(3, ':');
        let (hour, minute, second) =
            (number(time_parts.next())?, number(time_parts.next())?, number(time_parts.next())?);
        let millis = match fraction {
            "" => 0,
            digits if digits.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{digits:0<3}")[..3].parse::<u32>().map_err(|_| invalid())?
            }
            _ => return Err(invalid()),
        };
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
            return Err(invalid());
        }
        Ok(Self { year, month, day, hour, minute, second, millis })
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_text_shifts_to_the_zone_and_names_it() {
        let moment: Timestamp = "2026-12-31T23:30:05.250Z".parse().unwrap_or_else(|error| panic!("{error}"));
        let plus_two = jiff::tz::TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(moment.text_in(&plus_two), "2027-01-01 01:30:05 +02");
        assert_eq!(moment.text_in(&jiff::tz::TimeZone::UTC), "2026-12-31 23:30:05 UTC");
        let minus_five = jiff::tz::TimeZone::fixed(jiff::tz::offset(-5));
        assert_eq!(moment.text_in(&minus_five), "2026-12-31 18:30:05 -05");
    }

    #[test]
    fn known_moments_format_correctly() {
        assert_eq!(Timestamp::from_unix(0, 0).rfc3339(), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(Timestamp::from_unix(1_709_251_199, 5).rfc3339(), "2024-02-29T23:59:59.005Z");
        assert_eq!(Timestamp::from_unix(1_795_354_507, 0).compact(), "20261122-133507");
    }

    #[test]
    fn rfc3339_text_reads_back_to_the_same_moment() {
        let moment = Timestamp::from_unix(1_764_000_000, 123);
        assert_eq!(moment.rfc3339().parse::<Timestamp>(), Ok(moment));
        assert_eq!(
            "2026-11-22T12:00:00Z".parse::<Timestamp>().map(|t| t.rfc3339()),
            Ok("2026-11-22T12:00:00.000Z".into())
        );
        assert!("2026-11-22T12:00:00.5Z".parse::<Timestamp>() > "2026-11-22T12:00:00Z".parse::<Timestamp>());
        assert_eq!(moment.to_string(), "2025-11-24T16:00:00.123Z");
        assert_eq!(Timestamp::from_unix(1_764_000_000, 0).to_string(), "2025-11-24T16:00:00Z");
        for bad in ["", "2026-11-22", "2026-13-01T00:00:00Z", "2026-11-22T12:00:00", "2026-11-22T12:00:00.x1Z"] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }
}
