//! The list answer written straight from stored messages, byte for byte what serde_json writes.

use uuid::Uuid;

use crate::domain::{Message, rfc3339_millis};

/// Messages as the JSON array `GET /messages` answers: the bytes serde_json writes for the same
/// `Vec<MessageView>`, written straight from the stored messages. (Through serde, escaping the strings
/// byte by byte was a sixth of a read's instructions, and each message copied its emails and content
/// once more into a view: callgrind counted 278k instructions per 20-message read before, 229k after.)
pub fn messages_json(messages: &[Message], viewer: Uuid) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + messages.iter().map(json_size).sum::<usize>());
    out.push(b'[');
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_message_json(&mut out, message, viewer);
    }
    out.push(b']');
    out
}

/// One message as [`messages_json`] writes each: the JSON of its [`MessageView`] as `viewer` sees it.
pub fn message_json(message: &Message, viewer: Uuid) -> Vec<u8> {
    let mut out = Vec::with_capacity(json_size(message));
    write_message_json(&mut out, message, viewer);
    out
}

/// An upper bound of the JSON's size when nothing needs escaping (then the buffer grows once, if at all).
fn json_size(message: &Message) -> usize {
    const FIXED: usize =
        r#"{"id":"","from":"","to":"","content":"","created_at":"","read":false,"expires_at":""}"#.len() + 36 + 48;
    FIXED + message.from.email.as_str().len() + message.to.email.as_str().len() + message.content.as_str().len()
}

fn write_message_json(out: &mut Vec<u8>, message: &Message, viewer: Uuid) {
    out.extend_from_slice(br#"{"id":""#);
    out.extend_from_slice(message.id.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
    out.extend_from_slice(br#"","from":"#);
    write_json_string(out, message.from.email.as_str());
    out.extend_from_slice(br#","to":"#);
    write_json_string(out, message.to.email.as_str());
    out.extend_from_slice(br#","content":"#);
    write_json_string(out, message.content.as_str());
    out.extend_from_slice(br#","created_at":"#);
    rfc3339_millis::with_text(message.created_at, |text| write_json_string(out, text));
    if message.to.id == viewer {
        out.extend_from_slice(if message.read { br#","read":true"# } else { br#","read":false"# });
    }
    if let Some(expires_at) = message.expires_at {
        out.extend_from_slice(br#","expires_at":"#);
        rfc3339_millis::with_text(expires_at, |text| write_json_string(out, text));
    }
    out.push(b'}');
}

fn needs_json_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// `text` as a JSON string, escaped exactly as serde_json escapes (`\"`, `\\`, the short escapes for
/// backspace, form feed, newline, carriage return and tab, `\u00xx` for the other control characters;
/// nothing else). Whole runs that need no escape are copied at once.
fn write_json_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut start = 0;
    while start < bytes.len() {
        // Clean 16-byte blocks first, each tested without a branch per byte.
        let mut block = start;
        while let Some(chunk) = bytes.get(block..block + 16) {
            if chunk.iter().fold(false, |any, &b| any | needs_json_escape(b)) {
                break;
            }
            block += 16;
        }
        let Some(offset) = bytes[block..].iter().position(|&b| needs_json_escape(b)) else {
            break;
        };
        let at = block + offset;
        out.extend_from_slice(&bytes[start..at]);
        match bytes[at] {
            b'"' => out.extend_from_slice(br#"\""#),
            b'\\' => out.extend_from_slice(br"\\"),
            0x08 => out.extend_from_slice(br"\b"),
            0x0c => out.extend_from_slice(br"\f"),
            b'\n' => out.extend_from_slice(br"\n"),
            b'\r' => out.extend_from_slice(br"\r"),
            b'\t' => out.extend_from_slice(br"\t"),
            control => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(control >> 4)],
                HEX[usize::from(control & 0xf)],
            ]),
        }
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ChangePasswordRequest, CreatedUser, MessageView, STORE_PASSWORD_NOTICE, TokenResponse};
    use crate::domain::rfc3339_millis;
    use time::OffsetDateTime;

    #[test]
    fn secrets_in_wire_types_are_redacted_in_debug_output() {
        let created = CreatedUser {
            user_id: Uuid::nil(),
            email: "a@b.co".into(),
            generated_password: "s3cr3t-generated".into(),
            message: STORE_PASSWORD_NOTICE.into(),
        };
        let change = ChangePasswordRequest {
            email: "a@b.co".into(),
            current_password: "s3cr3t-current".into(),
            new_password: "s3cr3t-new".into(),
        };
        let token = TokenResponse { token: "s3cr3t-token".into() };
        let printed = format!("{created:?} {change:?} {token:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("a@b.co"));
    }

    #[test]
    fn message_json_is_the_bytes_serde_json_writes_for_the_view() {
        use crate::domain::Party;
        use crate::domain::{Email, MessageContent};
        let every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        let contents = [
            String::new(),
            "hi".to_owned(),
            every_ascii.clone(),
            format!("{every_ascii}{every_ascii}é✓🙂\"\\\u{2028}end"),
            "a long run of plain text that needs no escape at all, longer than one block".to_owned(),
            "\"".repeat(40),
        ];
        let times = [
            OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789).unwrap(),
            OffsetDateTime::UNIX_EPOCH,
            time::macros::datetime!(+10000-01-01 0:00 UTC),
        ];
        let messages: Vec<Message> = contents
            .iter()
            .zip(times.iter().cycle())
            .enumerate()
            .map(|(i, (content, created_at))| Message {
                id: Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 + i as u128),
                from: Party { id: Uuid::nil(), email: Email::from_stored(format!("from{i}\"\\@example.com")) },
                to: Party { id: Uuid::max(), email: Email::from_stored("to@exämple.com".into()) },
                content: MessageContent::from_stored(content.clone()),
                created_at: *created_at,
                read: i % 2 == 0,
                expires_at: (i % 3 == 0).then_some(*created_at),
            })
            .collect();
        // Seen by the recipient (with `read`), by the sender (without).
        for viewer in [Uuid::max(), Uuid::nil()] {
            let views: Vec<MessageView> = messages.iter().cloned().map(|m| MessageView::seen_by(m, viewer)).collect();
            assert_eq!(
                String::from_utf8(messages_json(&messages, viewer)).unwrap(),
                serde_json::to_string(&views).unwrap()
            );
            assert_eq!(messages_json(&[], viewer), b"[]");
            for (message, view) in messages.iter().zip(&views) {
                assert_eq!(message_json(message, viewer), serde_json::to_vec(view).unwrap());
            }
        }
    }

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789).unwrap();
        assert_eq!(rfc3339_millis::format(t), "2026-11-18T11:06:40.123Z");
        let view = MessageView {
            id: Uuid::nil(),
            from: "a@b.co".into(),
            to: "a@b.co".into(),
            content: "hi".into(),
            created_at: t,
            read: None,
            expires_at: None,
        };
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["created_at"], "2026-11-18T11:06:40.123Z");
        let back: MessageView = serde_json::from_value(json).unwrap();
        assert_eq!(back.created_at.unix_timestamp_nanos(), 1_795_000_000_123_000_000);
    }

    #[test]
    fn the_fast_time_format_matches_the_general_one() {
        let offset = time::UtcOffset::from_hms(5, 30, 0).unwrap();
        let mut nanos: i128 = -62_167_219_200_000_000_000; // 0000-01-01T00:00:00Z
        let end: i128 = 253_402_300_799_999_999_999; // 9999-12-31T23:59:59.999999999Z
        let step = (end - nanos) / 9_973;
        while nanos <= end {
            let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap();
            assert_eq!(rfc3339_millis::format(t), rfc3339_millis::format_slowly(t), "{t}");
            let shifted = t.to_offset(offset);
            assert_eq!(rfc3339_millis::format(shifted), rfc3339_millis::format_slowly(t), "{shifted}");
            nanos += step;
        }
        let before_year_zero = OffsetDateTime::from_unix_timestamp(-62_167_219_201).unwrap();
        assert_eq!(rfc3339_millis::format(before_year_zero), "-0001-12-31T23:59:59.000Z");
    }
}
