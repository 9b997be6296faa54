//! Validated domain values: emails, passwords and message content. Parse once at the edge; after that the
//! rest of the code trusts them.

use std::fmt;

use thiserror::Error;

/// A normalized (trimmed, lower-cased) email address.
///
/// Deliberately ASCII-only and stricter than RFC 5322 (no quoted local parts, no comments): this is an
/// account identifier, and every accepted form must have exactly one spelling once lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Why a string is not an acceptable email address. Each says the rule, without naming the field: the same
/// rule applies to `email`, `to` and `with`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("is required")]
    Empty,
    #[error("must be at most 254 characters")]
    TooLong,
    #[error("must be an email address like name@example.com")]
    Malformed,
}

impl Email {
    /// Maximum length of an address (RFC 5321 forward-path limit minus the angle brackets).
    pub const MAX_LEN: usize = 254;

    /// Trims, lower-cases and validates `raw`.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let email = trimmed.to_ascii_lowercase();
        let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
        if !valid_local_part(local) || !valid_domain(domain) {
            return Err(EmailError::Malformed);
        }
        Ok(Self(email))
    }

    /// An address read back from storage, which only ever holds parsed addresses.
    pub(crate) fn from_stored(normalized: String) -> Self {
        Self(normalized)
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn valid_local_part(local: &str) -> bool {
    // RFC 5322 dot-atom: atext characters separated by single dots.
    const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || ATEXT_SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        // A top-level domain is never all digits; this rejects bare IPv4 addresses.
        && !labels[labels.len() - 1].chars().all(|c| c.is_ascii_digit())
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A password as typed by someone: any string, never printed.
///
/// Login and password checks take this; only [`NewPassword`] enforces the policy for passwords we store.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password attempt. No policy applies: a wrong password is simply wrong.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The secret itself. Call sites are the hashing code and the HTTP client, nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether bcrypt could ever have produced a hash for this password under [`NewPassword`]'s policy.
    /// Longer or NUL-carrying attempts are rejected without hashing: bcrypt would silently truncate them.
    pub fn is_hashable(&self) -> bool {
        !self.0.is_empty() && self.0.len() <= NewPassword::MAX_BYTES && !self.0.contains('\0')
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password that meets the policy for being stored: 8 to 72 bytes, no control characters.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(Password);

/// Why a password may not be stored; each says the rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    #[error("must be at least 8 characters")]
    TooShort,
    #[error("must be at most 72 bytes of UTF-8 (bcrypt's limit; a password is never truncated)")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl NewPassword {
    /// Minimum length in characters.
    pub const MIN_CHARS: usize = 8;
    /// bcrypt reads at most 72 bytes; anything longer would be silently truncated, so it is refused.
    pub const MAX_BYTES: usize = 72;

    /// Checks `raw` against the policy.
    pub fn parse(raw: impl Into<String>) -> Result<Self, PasswordError> {
        let raw = raw.into();
        if raw.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(Password(raw)))
    }

    /// The password as an attempt, e.g. to compare with another.
    pub fn as_password(&self) -> &Password {
        &self.0
    }

    /// The secret itself, for hashing.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// The text of a message: not blank, at most the configured number of bytes of UTF-8 (as sent, surrounding
/// whitespace included: what is stored), no NUL or control characters other than tab, line feed and
/// carriage return. Stored and returned exactly as sent.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageContent(String);

/// Why a string is not acceptable message content; each says the rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContentError {
    #[error("must not be blank")]
    Blank,
    #[error("must be at most {max} bytes of UTF-8 (this is {actual}; a character takes 1 to 4 bytes)")]
    TooLong { max: usize, actual: usize },
    #[error("must not contain NUL or control characters (tab and newlines are fine)")]
    ControlCharacter,
}

impl MessageContent {
    /// Default limit in bytes of UTF-8.
    pub const DEFAULT_MAX_BYTES: usize = 16 * 1024;

    /// Validates `raw`; `max_bytes` applies to the content as sent.
    pub fn parse(raw: impl Into<String>, max_bytes: usize) -> Result<Self, ContentError> {
        let raw = raw.into();
        if raw.trim().is_empty() {
            return Err(ContentError::Blank);
        }
        if raw.len() > max_bytes {
            return Err(ContentError::TooLong { max: max_bytes, actual: raw.len() });
        }
        if raw.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
            return Err(ContentError::ControlCharacter);
        }
        Ok(Self(raw))
    }

    /// Content read back from storage, which only ever holds parsed content.
    pub(crate) fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for MessageContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageContent({} bytes)", self.0.len())
    }
}

/// An access token's lifetime, `expires_in`: 1 to 4 digits and a unit, `m` (minutes), `h`, `d` or `w`,
/// or 1 or 2 digits and `y` (365 days) — exactly the pattern the OpenAPI description states. `None` for
/// anything else.
pub fn token_lifetime(raw: &str) -> Option<std::time::Duration> {
    let unit = raw.chars().last()?;
    let digits = &raw[..raw.len() - unit.len_utf8()];
    let most = if unit == 'y' { 2 } else { 4 };
    if digits.is_empty()
        || digits.len() > most
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let unit_secs = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(digits.parse::<u64>().ok()? * unit_secs))
}

/// A message's `expires_in`: the access tokens' grammar ([`token_lifetime`]) plus seconds (`30s`).
pub fn message_lifetime(raw: &str) -> Option<std::time::Duration> {
    match raw.strip_suffix('s') {
        Some(digits) => token_lifetime(&format!("{digits}m")).map(|as_minutes| as_minutes / 60),
        None => token_lifetime(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_lifetime_is_a_token_lifetime_or_seconds() {
        assert_eq!(message_lifetime("30s"), Some(std::time::Duration::from_secs(30)));
        assert_eq!(message_lifetime("7d"), Some(std::time::Duration::from_secs(7 * 86_400)));
        for bad in ["", "s", "0s", "01s", "10000s", "1.5s", "-1s", "7", "7x"] {
            assert_eq!(message_lifetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace+notes@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace+notes@example.com");
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for raw in [
            "plain",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@@example.com",
            "ada@exa mple.com",
            "a da@example.com",
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
            "ada@-example.com",
            "ada@example-.com",
            "ada@example..com",
            "ada@127.0.0.1",
            "ada\0@example.com",
            "ada\n@example.com",
            "\"ada\"@example.com",
            "adä@example.com",
            "ada@exämple.com",
            "ada@example.com; DROP TABLE users",
        ] {
            assert_eq!(Email::parse(raw), Err(EmailError::Malformed), "{raw:?}");
        }
    }

    #[test]
    fn empty_and_overlong_emails_are_rejected_with_their_own_reason() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn ordinary_emails_are_accepted() {
        for raw in ["a@b.co", "first.last@sub.example.org", "o'brien+x@ex-ample.io", "1@2.xyz"] {
            assert!(Email::parse(raw).is_ok(), "{raw:?}");
        }
    }

    #[test]
    fn new_passwords_follow_the_policy() {
        assert_eq!(NewPassword::parse("short").unwrap_err(), PasswordError::TooShort);
        assert_eq!(NewPassword::parse("x".repeat(73)).unwrap_err(), PasswordError::TooLong);
        assert!(NewPassword::parse("x".repeat(72)).is_ok());
        assert!(NewPassword::parse("eight ch").is_ok());
        assert_eq!(NewPassword::parse("with\0nul-inside").unwrap_err(), PasswordError::ControlCharacter);
        // 24 three-byte characters: 24 characters, 72 bytes, accepted; one more is 75 bytes, refused.
        assert!(NewPassword::parse("€".repeat(24)).is_ok());
        assert_eq!(NewPassword::parse("€".repeat(25)).unwrap_err(), PasswordError::TooLong);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let attempt = Password::new("hunter2hunter2");
        let stored = NewPassword::parse("hunter2hunter2").unwrap();
        assert!(!format!("{attempt:?}{stored:?}").contains("hunter2"));
    }

    #[test]
    fn only_passwords_bcrypt_can_hash_whole_are_hashable() {
        assert!(Password::new("x".repeat(72)).is_hashable());
        assert!(!Password::new("x".repeat(73)).is_hashable());
        assert!(!Password::new("").is_hashable());
        assert!(!Password::new("a\0b").is_hashable());
    }

    #[test]
    fn content_is_kept_byte_for_byte_and_limited_in_bytes_as_sent() {
        let text = "  שלום 👋🏽 e\u{301}\n";
        assert_eq!(MessageContent::parse(text, 100).unwrap().as_str(), text);
        assert_eq!(MessageContent::parse(" \n\t ", 100), Err(ContentError::Blank));
        assert_eq!(MessageContent::parse("abcd", 3), Err(ContentError::TooLong { max: 3, actual: 4 }));
        assert_eq!(MessageContent::parse(" abc ", 3), Err(ContentError::TooLong { max: 3, actual: 5 }));
        // Bytes, not characters: four characters of four bytes each.
        assert_eq!(MessageContent::parse("👋👋👋👋", 15), Err(ContentError::TooLong { max: 15, actual: 16 }));
        assert!(MessageContent::parse("👋👋👋👋", 16).is_ok());
        assert_eq!(MessageContent::parse("a\0b", 10), Err(ContentError::ControlCharacter));
        assert_eq!(MessageContent::parse("a\u{1b}[31m", 10), Err(ContentError::ControlCharacter));
        assert!(MessageContent::parse("tab\tand\r\nnewline", 100).is_ok());
    }
}
