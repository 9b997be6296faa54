//! `GET /messages/stream`, read event by event.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{self};

use uuid::Uuid;

use super::core::Client;
use super::error::ClientError;
use super::error::error_from;
use crate::api::{DeletedEvent, MessageView, ReadEvent};

/// One event of a message stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Message(MessageView),
    /// Inbox messages were marked read or unread, here or on another device.
    Read(ReadEvent),
    /// The account's copy of a message was deleted, here or on another device.
    Deleted(DeletedEvent),
    /// The server ended the stream: `token_expired`, `token_revoked`, `token_invalid` or `shutting_down`.
    Closed {
        code: String,
        error: String,
    },
}

/// The Server-Sent Events of `GET /messages/stream`, read as they come.
pub struct MessageStream {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: Vec<u8>,
    url: String,
    last_event_id: Option<Uuid>,
}

impl MessageStream {
    /// Where to resume: the last `id:` the server sent — a message's, or, before any message, the
    /// stream's starting point from its first frame. Reconnect with it (`Client::stream`) to miss nothing.
    pub fn last_event_id(&self) -> Option<Uuid> {
        self.last_event_id
    }

    /// The next message or close notice; `None` when the connection ended without one.
    pub async fn next(&mut self) -> Result<Option<StreamEvent>, ClientError> {
        use futures::StreamExt;
        loop {
            while let Some(block) = self.take_block() {
                let (id, event) = parse_event(&block)?;
                if let Some(id) = id {
                    self.last_event_id = Some(id);
                }
                if let Some(event) = event {
                    return Ok(Some(event));
                }
            }
            match self.body.next().await {
                Some(Ok(bytes)) => self.buffer.extend_from_slice(&bytes),
                Some(Err(e)) => {
                    return Err(ClientError::Unreachable { url: self.url.clone(), reason: e.to_string() });
                }
                None => return Ok(None),
            }
        }
    }

    /// Removes and returns the next complete event block (up to a blank line). Splitting happens on bytes,
    /// and only whole blocks are decoded, so a character cut in two by the network stays whole.
    fn take_block(&mut self) -> Option<String> {
        let (end, separator) = blank_line(&self.buffer)?;
        let block: Vec<u8> = self.buffer.drain(..end + separator).take(end).collect();
        Some(String::from_utf8_lossy(&block).replace("\r\n", "\n"))
    }
}

/// Where the first blank line (`\n\n` or `\r\n\r\n`) starts, and its length.
fn blank_line(buffer: &[u8]) -> Option<(usize, usize)> {
    (0..buffer.len()).find_map(|i| {
        let rest = &buffer[i..];
        if rest.starts_with(b"\n\n") {
            Some((i, 2))
        } else if rest.starts_with(b"\r\n\r\n") {
            Some((i, 4))
        } else {
            None
        }
    })
}

/// One event block: its `id:` (if it has one that is a message id) and its event (`None` without data).
fn parse_event(block: &str) -> Result<(Option<Uuid>, Option<StreamEvent>), ClientError> {
    let (mut kind, mut data, mut id) = ("message", Vec::new(), None);
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "event" => kind = value,
            "data" => data.push(value),
            "id" => id = Uuid::try_parse(value).ok(),
            _ => {}
        }
    }
    if data.is_empty() {
        return Ok((id, None));
    }
    let data = data.join("\n");
    let bad = |e: serde_json::Error| ClientError::Protocol(format!("unreadable stream event: {e}"));
    let event = match kind {
        "close" => {
            // A code this client does not know yet (a newer server) is still a close, kept as it came.
            let close: serde_json::Value = serde_json::from_str(&data).map_err(bad)?;
            let text = |field: &str| close[field].as_str().unwrap_or_default().to_owned();
            StreamEvent::Closed { code: text("code"), error: text("error") }
        }
        "read" => StreamEvent::Read(serde_json::from_str(&data).map_err(bad)?),
        "deleted" => StreamEvent::Deleted(serde_json::from_str(&data).map_err(bad)?),
        "message" => StreamEvent::Message(serde_json::from_str(&data).map_err(bad)?),
        // An event a newer server sends that this client does not know: passed over.
        _ => return Ok((id, None)),
    };
    Ok((id, Some(event)))
}

impl Client {
    /// `GET /messages/stream`, resuming after `after` when given.
    pub async fn stream(&self, after: Option<Uuid>) -> Result<MessageStream, ClientError> {
        let mut request = self
            .authed_url(Method::GET, self.url("messages/stream")?)
            .header(header::ACCEPT, "text/event-stream")
            // A stream has no end to wait for; only connecting is bounded.
            .timeout(Duration::from_secs(365 * 24 * 3600));
        if let Some(after) = after {
            request = request.header("last-event-id", after.to_string());
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        if !response.status().is_success() {
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            return Err(error_from(status, &headers, &body));
        }
        Ok(MessageStream {
            body: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
            url: self.base_url().to_string(),
            last_event_id: after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(chunks: Vec<&'static [u8]>) -> MessageStream {
        let chunks: Vec<reqwest::Result<bytes::Bytes>> =
            chunks.into_iter().map(|c| Ok(bytes::Bytes::from(c))).collect();
        MessageStream {
            body: Box::pin(futures::stream::iter(chunks)),
            buffer: Vec::new(),
            url: "http://x/".into(),
            last_event_id: None,
        }
    }

    #[tokio::test]
    async fn events_are_read_whole_even_when_a_character_is_split_across_chunks() {
        let event = "id: 01a20ac3-3e74-7605-8fd1-3d27db2c9e1d\ndata: {\"id\":\"01a20ac3-3e74-7605-8fd1-3d27db2c9e1d\",\
                     \"from\":\"a@b.co\",\"to\":\"a@b.co\",\"content\":\"wave 👋\",\"created_at\":\"2026-11-23T23:00:55.641Z\"}\n\n";
        let wave = event.find('👋').unwrap();
        // A comment and the event's start in one chunk, cut inside the emoji's four bytes: the complete
        // comment is taken while half a character waits in the buffer.
        let mut first =
            b"retry: 2000\nid: 00000000-0000-0000-0000-000000000000\n: connected\n\n: keep-alive\n\n".to_vec();
        first.extend_from_slice(&event.as_bytes()[..wave + 2]);
        let first: &'static [u8] = Box::leak(first.into_boxed_slice());
        let rest: &'static [u8] = Box::leak(event.as_bytes()[wave + 2..].to_vec().into_boxed_slice());
        let mut stream =
            stream_of(vec![first, rest, b"event: close\ndata: {\"code\":\"shutting_down\",\"error\":\"bye\"}\n\n"]);
        match stream.next().await.unwrap() {
            Some(StreamEvent::Message(m)) => assert_eq!(m.content, "wave 👋"),
            other => panic!("{other:?}"),
        }
        assert_eq!(stream.last_event_id(), Some("01a20ac3-3e74-7605-8fd1-3d27db2c9e1d".parse().unwrap()));
        assert_eq!(
            stream.next().await.unwrap(),
            Some(StreamEvent::Closed { code: "shutting_down".into(), error: "bye".into() })
        );
        assert_eq!(stream.next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_first_frame_gives_the_starting_point_before_any_message() {
        let mut stream = stream_of(vec![b"retry: 2000\nid: 00000000-0000-0000-0000-000000000000\n: connected\n\n"]);
        assert_eq!(stream.next().await.unwrap(), None, "the connection ended without an event");
        assert_eq!(stream.last_event_id(), Some(Uuid::nil()), "but where to resume is known");
    }
}
