//! Answers written without a handler, in msgd's words: the connection limit's 503, and the refusals hyper
//! makes itself before msgd sees a request.
//!
//! hyper answers a request it cannot parse — a malformed request line or header, a duplicate
//! `Content-Length`, an obsolete folded header (`400`), a request target longer than 64 KiB (`414`), a head
//! larger than its buffer or with more than 1,000 headers (`431`) — with a bare head: `connection: close`,
//! `content-length: 0` and `date`, and no hook to change it. So the connection's socket wrapper
//! ([`super::conn::Watched`]) recognizes exactly that head on its way out and writes [`rewrite`]'s answer
//! instead: the same status, msgd's JSON error body and the headers every msgd answer carries. What cannot
//! change: there is no request id (no request was read), and the connection still closes.

use axum::http::StatusCode;

use super::error::ApiError;
use crate::api::ErrorBody;

/// The Content-Security-Policy of every API answer (set by [`super::middleware`] on the handlers' answers).
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// A complete HTTP/1.1 answer for `error`, closing the connection: status line, msgd's headers (with
/// `Retry-After` and `date` when given) and the JSON body.
pub fn answer(error: &ApiError, retry_after: Option<u64>, date: Option<&str>) -> Vec<u8> {
    let status = error.status();
    let body = serde_json::to_vec(&ErrorBody {
        error: error.to_string(),
        code: error.code().to_owned(),
        field: None,
        retry_after,
        request_id: None,
    })
    .expect("an error body serializes");
    let mut extra = String::new();
    if let Some(secs) = retry_after {
        extra.push_str(&format!("retry-after: {secs}\r\n"));
    }
    if let Some(date) = date {
        extra.push_str(&format!("date: {date}\r\n"));
    }
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\ncache-control: no-store\r\n\
         x-content-type-options: nosniff\r\nx-frame-options: DENY\r\nreferrer-policy: no-referrer\r\n\
         content-security-policy: {API_CSP}\r\nconnection: close\r\n{extra}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

/// msgd's answer in place of `head` when `head` is one of hyper's own refusals (a complete head with only
/// `connection: close`, `content-length: 0` and `date`, of a status msgd has an error for); `None` for
/// anything else, which is written as it is.
pub fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
    // Cheap checks first: this runs on every write of every connection.
    if head.len() > 256 || !head.starts_with(b"HTTP/1.") || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text[..text.len() - 4].split("\r\n");
    let status = lines.next()?.get(9..12)?.parse::<u16>().ok()?;
    let error = match StatusCode::from_u16(status).ok()? {
        StatusCode::BAD_REQUEST => ApiError::MalformedRequest,
        StatusCode::URI_TOO_LONG => ApiError::UriTooLong,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::HeadersTooLarge,
        _ => return None,
    };
    let (mut close, mut empty, mut date) = (false, false, None);
    for line in lines {
        let (name, value) = line.split_once(": ")?;
        match name {
            "connection" if value == "close" => close = true,
            "content-length" if value == "0" => empty = true,
            "date" => date = Some(value),
            _ => return None,
        }
    }
    let date = date.filter(|_| close && empty)?;
    Some(answer(&error, None, Some(date)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYPER_400: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Sat, 05 Dec 2026 04:58:07 GMT\r\n\r\n";

    fn body_of(answer: &[u8]) -> serde_json::Value {
        let text = std::str::from_utf8(answer).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap().parse().unwrap();
        assert_eq!(length, body.len());
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn hypers_own_refusals_become_json_with_the_same_status() {
        let answer = rewrite(HYPER_400).expect("hyper's 400");
        assert!(answer.starts_with(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"));
        assert!(std::str::from_utf8(&answer).unwrap().contains("\r\ndate: Sat, 05 Dec 2026 04:58:07 GMT\r\n"));
        assert_eq!(body_of(&answer)["code"], "malformed_request");
        let uri = String::from_utf8(HYPER_400.to_vec()).unwrap().replace("400 Bad Request", "414 URI Too Long");
        assert_eq!(body_of(&rewrite(uri.as_bytes()).unwrap())["code"], "uri_too_long");
        let big = uri.replace("414 URI Too Long", "431 Request Header Fields Too Large");
        assert_eq!(body_of(&rewrite(big.as_bytes()).unwrap())["code"], "headers_too_large");
    }

    #[test]
    fn anything_else_is_written_as_it_is() {
        let text = String::from_utf8(HYPER_400.to_vec()).unwrap();
        let others = [
            // msgd's own answers carry more headers, or a body.
            text.replace("connection: close\r\n", "x-request-id: 1\r\nconnection: close\r\n"),
            text.replace("content-length: 0", "content-length: 2"),
            text.replace("\r\n\r\n", "\r\n\r\n{}"),
            // Statuses msgd has no refusal for, and informational answers.
            text.replace("400 Bad Request", "505 HTTP Version Not Supported"),
            "HTTP/1.1 100 Continue\r\n\r\n".to_owned(),
            // Half a head.
            text.replace("\r\n\r\n", "\r\n"),
        ];
        for other in others {
            assert_eq!(rewrite(other.as_bytes()), None, "{other:?}");
        }
    }
}
