//! Durability across restarts: what was acknowledged is there afterwards.

use crate::backend_tests;
use crate::common::{Backend, spawn_app};

backend_tests!(users_messages_and_tokens_survive_a_restart);

async fn users_messages_and_tokens_survive_a_restart(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let sent = user.client.send_message("written before the restart").await.unwrap();

    let app = app.restart().await;

    // The token was signed with the generated secret kept in the database, so it is still valid.
    let client = app.client.clone().with_token(&user.token);
    assert_eq!(client.list_messages().await.unwrap(), vec![sent]);
    app.client.login(&user.email, &user.password).await.unwrap();
    match app.client.create_user(&user.email).await {
        Err(e) => assert_eq!(e.code(), Some("email_taken")),
        Ok(_) => panic!("the account must survive the restart"),
    }
    app.stop().await;
}
