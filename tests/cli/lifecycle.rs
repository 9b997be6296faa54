//! msgctl and a message's life after it is sent: list --unread, read, unread, delete, status, send
//! --expires.

use crate::{Env, assert_exit, json, run, stderr, stdout};

fn ids_of(out: &std::process::Output) -> Vec<String> {
    json(out).as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn read_unread_delete_and_status_from_the_command_line() {
    let env = Env::start();
    env.register_and_login("ada@example.com");
    let bob = env.block_on(env.app.user("bob@example.com"));
    let cy = env.block_on(env.app.user("cy@example.com"));
    let mut from_bob = Vec::new();
    for text in ["b1", "b2", "b3"] {
        from_bob.push(
            env.block_on(bob.client.send_to(text, Some("ada@example.com"), None)).unwrap().message.id.to_string(),
        );
    }
    let from_cy = env.block_on(cy.client.send_to("c1", Some("ada@example.com"), None)).unwrap().message.id.to_string();

    // Unread messages are marked in the listing, and listed alone with --unread.
    let out = run(env.msgctl().arg("list"));
    assert_exit(&out, 0);
    let listing = stdout(&out);
    assert_eq!(listing.lines().filter(|l| l.contains("  • ")).count(), 4, "{listing}");
    let out = run(env.msgctl().args(["--json", "list", "--unread"]));
    assert_eq!(ids_of(&out).len(), 4);
    assert!(json(&out)[0]["read"] == false);

    // status: who, where, and the unread by sender.
    let out = run(env.msgctl().arg("status"));
    assert_exit(&out, 0);
    let said = stdout(&out);
    assert!(said.contains("as ada@example.com (profile default)"), "{said}");
    assert!(said.contains("4 unread messages:"), "{said}");
    assert!(said.contains("  cy@example.com   1") && said.contains("  bob@example.com  3"), "{said}");
    let out = run(env.msgctl().args(["--json", "status"]));
    let status = json(&out);
    assert_eq!((status["email"].as_str(), status["unread"]["total"].as_u64()), (Some("ada@example.com"), Some(4)));
    assert_eq!(status["unread"]["by_sender"][0]["email"], "cy@example.com", "most recent first");

    // read ID, read --with, unread ID, read --all.
    let out = run(env.msgctl().args(["read", &from_bob[0]]));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("Marked 1 message read; 3 unread"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["--json", "read", "--with", "bob@example.com"]));
    assert_eq!(json(&out), serde_json::json!({"marked": 2, "unread": 1}));
    let out = run(env.msgctl().args(["--json", "unread", &from_bob[1], &from_bob[2]]));
    assert_eq!(json(&out), serde_json::json!({"marked": 2, "unread": 3}));
    let out = run(env.msgctl().args(["--json", "read", "--all"]));
    assert_eq!(json(&out)["unread"], 0);
    let out = run(env.msgctl().arg("read"));
    assert_exit(&out, 2);
    let out = run(env.msgctl().args(["read", "--all", "--with", "bob@example.com"]));
    assert_exit(&out, 2);

    // delete: asks first; without a terminal, --yes.
    let out = run(env.msgctl().args(["delete", &from_cy]));
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("add --yes"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["delete", &from_cy, "--yes"]));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("Deleted 1 message for you"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["--json", "list"]));
    assert!(!ids_of(&out).contains(&from_cy));
    // Only the sender deletes for everyone; a message gone is not found.
    let out = run(env.msgctl().args(["delete", &from_bob[0], "--for-everyone", "--yes"]));
    assert_exit(&out, 8);
    assert!(stderr(&out).contains("Only the sender"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["delete", &from_cy, "--yes"]));
    assert_exit(&out, 4);
    let out = run(env.msgctl().args(["delete", "not-an-id", "--yes"]));
    assert_exit(&out, 2);
    // Their own, for everyone: bob's copy goes too.
    let out = run(env.msgctl().args(["--json", "send", "--to", "bob@example.com", "oops"]));
    let oops = json(&out)["id"].as_str().unwrap().to_owned();
    let out = run(env.msgctl().args(["--json", "delete", &oops, "--for-everyone", "--yes"]));
    assert_exit(&out, 0);
    assert_eq!(json(&out), serde_json::json!({"deleted": [oops], "for": "everyone"}));
    let inbox = env.block_on(bob.client.list_messages()).unwrap();
    assert!(inbox.iter().all(|m| m.id.to_string() != oops));
}

#[test]
fn send_expires_sets_when_a_message_expires() {
    let env = Env::start();
    env.register_and_login("ada@example.com");
    let out = run(env.msgctl().args(["--json", "send", "--expires", "7d", "for a week"]));
    assert_exit(&out, 0);
    assert!(json(&out)["expires_at"].is_string(), "{}", stdout(&out));
    for bad in ["0s", "7", "a week"] {
        let out = run(env.msgctl().args(["send", "--expires", bad, "never"]));
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("a number and a unit"), "{}", stderr(&out));
    }
}
