//! Just enough REST, through ayaka-http, to make the real server emit
//! events.

use std::sync::atomic::{AtomicU32, Ordering};

use ayaka_http::Client;
use ayaka_model::{
    ChannelType, GuildId,
    request::{CreateChannel, CreateGuild, CreateUser},
};

pub struct Rest {
    base: String,
}

pub struct User {
    pub id: u64,
    pub session_id: String,
    client: Client,
}

static NEXT_USER: AtomicU32 = AtomicU32::new(0);

impl Rest {
    pub fn new(base: String) -> Self {
        Self { base }
    }

    pub async fn create_user(&self) -> User {
        let n = NEXT_USER.fetch_add(1, Ordering::Relaxed);
        let anonymous = Client::builder().base_url(&self.base).build().unwrap();
        let body = CreateUser::new(
            format!("user{n}"),
            (n % 10_000) as u16,
            format!("user{n}@example.com"),
            "correct horse battery",
        );
        let user = anonymous.create_user(&body).await.unwrap();
        let session_id = user.session_ids.unwrap().remove(0);
        let client = Client::builder()
            .base_url(&self.base)
            .session(&session_id)
            .build()
            .unwrap();
        User {
            id: user.id.get(),
            session_id,
            client,
        }
    }

    pub async fn create_guild(&self, user: &User, name: &str) -> u64 {
        let guild = user.client.create_guild(&CreateGuild::new(name)).await;
        guild.unwrap().id.get()
    }

    pub async fn create_channel(&self, user: &User, guild: u64, name: &str) -> u64 {
        let body = CreateChannel::new(name, ChannelType::Text);
        let channel = user.client.create_channel(GuildId::new(guild), &body).await;
        channel.unwrap().id().get()
    }

    pub async fn create_invite(&self, user: &User, guild: u64) -> String {
        let invite = user.client.create_invite(GuildId::new(guild)).await;
        invite.unwrap().code
    }

    pub async fn join(&self, user: &User, code: &str) {
        user.client.join_invite(code).await.unwrap();
    }
}
