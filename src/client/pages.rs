//! Pages of messages and their `Link` headers.

use reqwest::Url;

use crate::api::MessageView;

/// The answer to a send.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: MessageView,
    /// The server had stored this message before, under the same idempotency key: nothing new was stored.
    pub replayed: bool,
}

/// A page of messages and the links to its neighbours.
#[derive(Debug, Clone)]
pub struct Page {
    pub messages: Vec<MessageView>,
    /// The page after this one, when there is one.
    pub next: Option<Url>,
    /// The page before this one (for pages read backwards with `before`).
    pub prev: Option<Url>,
}

/// `(rel, url)` pairs of an RFC 8288 `Link` header, resolved against the request's URL.
pub(super) fn parse_links(value: &str, base: &Url) -> Vec<(String, Url)> {
    value
        .split(',')
        .filter_map(|part| {
            let (target, params) = part.trim().split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            let rel = params.split(';').find_map(|p| {
                let (key, value) = p.trim().split_once('=')?;
                (key.trim() == "rel").then(|| value.trim().trim_matches('"').to_owned())
            })?;
            Some((rel, base.join(target).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_are_parsed_and_resolved() {
        let base = Url::parse("http://h:1/api/messages?limit=2").unwrap();
        let links = parse_links(r#"</messages?after=x&limit=2>; rel="next", <https://o/p>; rel=prev"#, &base);
        assert_eq!(links[0], ("next".to_owned(), Url::parse("http://h:1/messages?after=x&limit=2").unwrap()));
        assert_eq!(links[1], ("prev".to_owned(), Url::parse("https://o/p").unwrap()));
        assert!(parse_links("garbage", &base).is_empty());
    }
}
