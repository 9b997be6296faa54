//! The API guide (`docs/src/api.md`) as a reader runs it: every shell example, in order, against a fresh
//! msgd process, with what each one shows checked.

use crate::common::{Backend, Database, MsgdProcess, run_doc_examples};

#[tokio::test]
async fn the_api_guide_runs_in_order() {
    let db = Database::fresh(Backend::Sqlite).await;
    let msgd = MsgdProcess::spawn(&db.config(), &[]);
    let base_url = msgd.base_url.clone();
    let printed = tokio::task::spawn_blocking(move || run_doc_examples("api.md", &base_url, &[])).await.unwrap();
    for shown in [
        r#""email":"ada@example.com","generated_password":"#,
        r#""content":"hello, world""#,
        // Bob's stream, from its first message.
        "retry: 2000",
        r#""to":"bob@example.com","content":"hi bob""#,
        // Bob's unread count, marking read, deleting.
        r#""total":1,"by_sender":[{"email":"ada@example.com","count":1"#,
        r#"{"marked":1,"unread":0}"#,
        "204",
        r#""role":"user""#,
        r#""scopes":["read"]"#,
        r#""code":"token_revoked""#,
        "Password updated successfully",
    ] {
        assert!(printed.contains(shown), "the examples did not show {shown}:\n{printed}");
    }
    // The last example deleted ada's account: the new password no longer logs in.
    let login = msgd.client().login("ada@example.com", "correct horse battery").await.unwrap_err();
    assert_eq!(login.code(), Some("invalid_credentials"));
}

/// mdBook's id for a heading: lower case, spaces to `-`, punctuation other than `-` and `_` dropped.
fn heading_id(heading: &str) -> String {
    let text = heading.trim().to_lowercase();
    text.chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_page_of_the_book_and_every_link_between_pages_resolves() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("docs/src");
    let links = markdown_links;
    let mut checked = 0;
    for (file, base) in std::fs::read_dir(&src)
        .unwrap()
        .map(|e| (e.unwrap().path(), src.clone()))
        .chain([(root.join("README.md"), root.to_owned())])
    {
        if file.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for target in links(&text) {
            if target.starts_with("http") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let page = if path.is_empty() { file.clone() } else { base.join(path) };
            assert!(page.exists(), "{}: the link {target} names no file", file.display());
            if !anchor.is_empty() {
                let ids: Vec<String> = std::fs::read_to_string(&page)
                    .unwrap()
                    .lines()
                    .filter_map(|l| l.strip_prefix('#'))
                    .map(|h| heading_id(h.trim_start_matches('#')))
                    .collect();
                assert!(ids.iter().any(|id| id == anchor), "{}: no heading #{anchor} in {path}", file.display());
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links checked");
    // Every page in SUMMARY.md, and no page left out of it.
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") && name != "SUMMARY.md" {
            assert!(summary.contains(&format!("({name})")), "{name} is not in SUMMARY.md");
        }
    }
}

/// The targets of the Markdown links `[text](target)` in `text`, outside code blocks.
fn markdown_links(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            match after.find(')') {
                Some(end) => {
                    targets.push(after[..end].to_owned());
                    rest = &after[end..];
                }
                None => break,
            }
        }
    }
    targets
}
