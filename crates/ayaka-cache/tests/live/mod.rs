//! The tests that run shards against the local server share this: a user
//! with a session, and a client signed in with it.
#![allow(dead_code, unreachable_pub)]

use ayaka_http::Client;
use ayaka_server::{Server, testing};

/// Creates `name` on `server`: a client with its session, and the session.
pub async fn signed_in(server: &Server, name: &str) -> (Client, String) {
    let user = testing::user_with_session(server, name).await;
    let client = Client::builder()
        .base_url(&user.rest_url)
        .session(&user.session)
        .build()
        .expect("a client for the test server");
    (client, user.session)
}
