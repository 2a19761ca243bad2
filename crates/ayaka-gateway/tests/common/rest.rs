//! A user of the real server, from `ayaka_server::testing`, with just
//! enough REST, through ayaka-http, to make the server emit events.

use std::ops::Deref;

use ayaka_http::Client;
use ayaka_model::{
    ChannelType, GuildId,
    request::{CreateChannel, CreateGuild},
};
use ayaka_server::{
    Server, ServerBuilder,
    testing::{self, TestUser},
};

/// A [`TestUser`] (its `id`, `session`...) and a client acting as it.
pub struct User {
    account: TestUser,
    client: Client,
}

impl Deref for User {
    type Target = TestUser;

    fn deref(&self) -> &TestUser {
        &self.account
    }
}

/// `builder`'s server, started, with one user, `user`.
pub async fn server_with_user(builder: ServerBuilder) -> (Server, User) {
    let server = builder.spawn().await.unwrap();
    let user = User::sign_up(&server, "user").await;
    (server, user)
}

impl User {
    /// Creates `username` on `server` ([`testing::user_with_session`]).
    pub async fn sign_up(server: &Server, username: &str) -> Self {
        let account = testing::user_with_session(server, username).await;
        let client = Client::builder()
            .base_url(&account.rest_url)
            .session(&account.session)
            .build()
            .unwrap();
        Self { account, client }
    }

    pub async fn create_guild(&self, name: &str) -> u64 {
        let guild = self.client.create_guild(&CreateGuild::new(name)).await;
        guild.unwrap().id.get()
    }

    pub async fn create_channel(&self, guild: u64, name: &str) -> u64 {
        let body = CreateChannel::new(name, ChannelType::Text);
        let channel = self.client.create_channel(GuildId::new(guild), &body).await;
        channel.unwrap().id().get()
    }

    pub async fn create_invite(&self, guild: u64) -> String {
        let invite = self.client.create_invite(GuildId::new(guild)).await;
        invite.unwrap().code
    }

    pub async fn delete_guild(&self, guild: u64) {
        self.client.delete_guild(GuildId::new(guild)).await.unwrap();
    }

    pub async fn join(&self, code: &str) {
        self.client.join_invite(code).await.unwrap();
    }
}
