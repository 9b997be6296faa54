//! The msgctl page (`docs/src/msgctl.md`) as a reader runs it: every shell example, in order, against a
//! fresh msgd process.

use crate::common::{Backend, Database, MsgdProcess, run_doc_examples};

#[test]
fn the_msgctl_tour_runs_in_order() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = runtime.block_on(Database::fresh(Backend::Sqlite));
    let msgd = MsgdProcess::spawn(&db.config(), &[]);
    let config = tempfile::tempdir().unwrap();
    let config_dir = config.path().to_str().unwrap();
    let printed =
        run_doc_examples("msgctl.md", "", &[("MSGCTL_SERVER", &msgd.base_url), ("MSGCTL_CONFIG_DIR", config_dir)]);
    for shown in [
        "Logged in as bob@example.com",
        "ada@example.com  hi bob",
        "→ bob@example.com  second line",
        "3 unread messages:",
        "  ada@example.com  3",
        "Marked 3 messages read; 0 unread",
        "Deleted 1 message for you",
        "Profile: default",
        "backup\tread",
        "Revoked access token backup",
        "Password changed",
        "Logged out of",
    ] {
        assert!(printed.contains(shown), "the tour did not show {shown:?}:\n{printed}");
    }
    // The password change took: the new password logs in.
    let client = msgd.client();
    runtime.block_on(client.login("ada@example.com", "correct horse battery")).unwrap();
}
