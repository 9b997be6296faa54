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
