//! Times: milliseconds, the resolution both backends store, and RFC 3339 text with exactly three
//! fractional digits, the API's format.

use time::OffsetDateTime;

/// Milliseconds since the epoch, the resolution both backends store times at.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The inverse of [`to_millis`].
pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Now, truncated to milliseconds so that what is returned equals what is stored.
pub fn now_millis() -> OffsetDateTime {
    from_millis(to_millis(OffsetDateTime::now_utc()))
}

/// RFC 3339 timestamps in UTC with exactly three fractional digits, e.g. `2026-11-23T22:43:05.123Z`.
pub mod rfc3339_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::{OffsetDateTime, UtcOffset};

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

    /// Formats `t` in UTC.
    pub fn format(t: OffsetDateTime) -> String {
        let mut out = [0; 24];
        match format_into(t, &mut out) {
            Some(text) => text.to_owned(),
            None => format_slowly(t),
        }
    }

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        with_text(*t, |text| serializer.serialize_str(text))
    }

    /// Calls `f` with `t` formatted in UTC, without allocating for years 0 to 9999.
    pub fn with_text<R>(t: OffsetDateTime, f: impl FnOnce(&str) -> R) -> R {
        let mut out = [0; 24];
        match format_into(t, &mut out) {
            Some(text) => f(text),
            None => f(&format_slowly(t)),
        }
    }

    /// Writes years 0 to 9999 digit by digit into `out` (every list answer formats one per message, and
    /// the general formatter costs more than the rest of the message); `None` for any other year.
    fn format_into(t: OffsetDateTime, out: &mut [u8; 24]) -> Option<&str> {
        let t = t.to_offset(UtcOffset::UTC);
        let year = u32::try_from(t.year()).ok().filter(|year| *year <= 9999)?;
        out.copy_from_slice(b"0000-00-00T00:00:00.000Z");
        let fields = [
            (year, 0..4),
            (u32::from(u8::from(t.month())), 5..7),
            (u32::from(t.day()), 8..10),
            (u32::from(t.hour()), 11..13),
            (u32::from(t.minute()), 14..16),
            (u32::from(t.second()), 17..19),
            (u32::from(t.millisecond()), 20..23),
        ];
        for (mut value, digits) in fields {
            for digit in out[digits].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        std::str::from_utf8(out).ok()
    }

    pub fn format_slowly(t: OffsetDateTime) -> String {
        t.to_offset(UtcOffset::UTC).format(FORMAT).expect("every UTC time formats")
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
        let raw = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&raw, &Rfc3339).map_err(serde::de::Error::custom)
    }

    /// The same for an optional time (`null` when absent).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<OffsetDateTime>, D::Error> {
            match Option::<String>::deserialize(deserializer)? {
                None => Ok(None),
                Some(raw) => OffsetDateTime::parse(&raw, &time::format_description::well_known::Rfc3339)
                    .map(Some)
                    .map_err(serde::de::Error::custom),
            }
        }
    }
}
