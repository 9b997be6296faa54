//! A JSON body's mistakes in words: which field, and what it must be — never the parser's wording.

use super::error::ApiError;

/// Turns a body's deserialization failure into words: which field, and what it must be. `allowed` names
/// the fields the body takes, for an unknown one.
pub fn body_error(error: serde_path_to_error::Error<serde_json::Error>, allowed: &[String]) -> ApiError {
    let path = error.path().to_string();
    json_error(&path, &error.into_inner(), allowed)
}

/// Like [`body_error`], for an error at `path` (`.` for the whole body).
pub fn json_error(path: &str, inner: &serde_json::Error, allowed: &[String]) -> ApiError {
    use serde_json::error::Category;
    let message = without_position(&inner.to_string());
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::InvalidJson(syntax_in_words(&message, inner)),
        Category::Data => data_error(path, &message, allowed),
    }
}

fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn syntax_in_words(message: &str, error: &serde_json::Error) -> String {
    let what = match message {
        m if m.starts_with("EOF while parsing") || m == "EOF while parsing a value" => "it ends too early".to_owned(),
        "expected value" => "a value was expected".to_owned(),
        "expected ident" => "a word other than true, false or null was found".to_owned(),
        m if m.starts_with("expected") => "a comma, a colon or a closing bracket is missing".to_owned(),
        m if m.starts_with("trailing") => "something follows the JSON value".to_owned(),
        m if m.starts_with("key must be a string") => "an object key is not a string".to_owned(),
        m if m.starts_with("control character") => {
            "a string holds a control character (U+0000 to U+001F): write it as an escape such as \\n".to_owned()
        }
        m if m.starts_with("invalid escape") => "a string has a backslash escape JSON does not have".to_owned(),
        m if m.starts_with("invalid number") || m.starts_with("number out of range") => {
            "a number is malformed or out of range".to_owned()
        }
        m if m.starts_with("invalid unicode") || m.contains("surrogate") => {
            "a \\u escape does not name a character".to_owned()
        }
        m if m.starts_with("recursion limit") => "it is nested too deeply".to_owned(),
        _ => "it cannot be read".to_owned(),
    };
    if error.line() == 0 { what } else { format!("{what} (line {}, column {})", error.line(), error.column()) }
}

/// serde's data errors, which all follow a few fixed phrasings, in words.
fn data_error(path: &str, message: &str, allowed: &[String]) -> ApiError {
    let quoted = |text: &str| text.split('`').nth(1).map(str::to_owned);
    let field = if path == "." { None } else { Some(path.to_owned()) };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = quoted(rest).unwrap_or_default();
        return ApiError::UnknownField { field: name, allowed: list_in_words(allowed) };
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        let name = quoted(rest).unwrap_or_default();
        return ApiError::body(name.clone(), format!("The field {name} appears more than once"));
    }
    let name = field.as_ref().map_or_else(|| "The body".to_owned(), |f| format!("The field {f}"));
    let problem = if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "something else"));
        format!("{name} must be {}, not {}", expected_in_words(expected), kind_in_words(found))
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let expected = rest.split_once(", expected ").map_or("one of the documented values", |(_, e)| e);
        format!("{name} must be {}", expected.replace('`', ""))
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        let expected = rest.split_once(", expected ").map_or("a valid value", |(_, e)| e);
        format!("{name} must be {}", expected_in_words(expected))
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        format!("The field {} is required", quoted(rest).unwrap_or_default())
    } else {
        format!("{name} does not have the expected form")
    };
    ApiError::InvalidBody { field, problem }
}

/// serde's name of what it expected, as a person would say it: Rust's integer types become numbers.
fn expected_in_words(expected: &str) -> &str {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        other => other,
    }
}

/// serde's name of what it found, as a person would say it.
fn kind_in_words(found: &str) -> String {
    let kind = found.split(' ').next().unwrap_or(found);
    match kind {
        "map" => "an object".to_owned(),
        "sequence" => "an array".to_owned(),
        "null" | "unit" => "null".to_owned(),
        "integer" | "floating" => "a number".to_owned(),
        "boolean" => "true or false".to_owned(),
        "string" => "a string".to_owned(),
        other => other.to_owned(),
    }
}

/// `a, b or c`.
pub fn list_in_words(items: &[String]) -> String {
    match items {
        [] => "no fields".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_for<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> ApiError {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let allowed = ["content".to_owned(), "to".to_owned(), "recipient_email".to_owned()];
        body_error(serde_path_to_error::deserialize::<_, T>(&mut deserializer).unwrap_err(), &allowed)
    }

    #[test]
    fn body_errors_are_said_in_words_with_the_field() {
        let unknown = error_for::<crate::api::SendMessageRequest>(r#"{"content": "x", "recipient": "b@c.de"}"#);
        assert_eq!(unknown.code(), "unknown_field");
        assert_eq!(unknown.field(), Some("recipient"));
        assert_eq!(
            unknown.to_string(),
            r#"There is no field "recipient" in this request; it takes content, to or recipient_email."#
        );
        let typed = error_for::<crate::api::SendMessageRequest>(r#"{"content": 7}"#);
        assert_eq!((typed.code(), typed.field()), ("invalid_body", Some("content")));
        assert_eq!(typed.to_string(), "The field content must be a string, not a number.");
        let nested = error_for::<crate::api::SendMessageRequest>(r#"{"content": {"$gt": ""}}"#);
        assert_eq!(nested.to_string(), "The field content must be a string, not an object.");
        let syntax = error_for::<crate::api::SendMessageRequest>(r#"{"content": "#);
        assert_eq!(syntax.code(), "invalid_json");
        assert!(!syntax.to_string().contains("EOF"), "{syntax}");
    }

    #[test]
    fn malformed_json_is_said_in_words_not_the_parsers() {
        for (json, words) in [
            ("{\"content\": \"a\u{1}b\"}", "control character (U+0000 to U+001F)"),
            ("{\"content\" \"x\"}", "a comma, a colon or a closing bracket is missing"),
            ("{\"content\": \"\\q\"}", "backslash escape"),
            ("{\"content\": 1e999}", "a number is malformed or out of range"),
            ("{\"content\": nope}", "a word other than true, false or null"),
        ] {
            let text = error_for::<crate::api::SendMessageRequest>(json).to_string();
            assert!(text.contains(words), "{json}: {text}");
            for leak in ["\\u0000", "found while parsing", "`", "ident"] {
                assert!(!text.contains(leak), "{json}: {text}");
            }
        }
    }

    #[test]
    fn no_sentence_carries_parser_wording() {
        for error in ApiError::catalogue() {
            let text = error.to_string();
            for leak in ["unknown variant", "UUID parsing", "os error", "invalid type:", "`"] {
                assert!(!text.contains(leak), "{}: {text}", error.code());
            }
            assert!(text.ends_with('.') && text.starts_with(char::is_uppercase), "a sentence: {text}");
        }
    }
}
