//! Just enough REST to make the real server emit events.

use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::{Value, json};

pub struct Rest {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

pub struct User {
    pub id: u64,
    pub session_id: String,
}

static NEXT_USER: AtomicU32 = AtomicU32::new(0);

impl Rest {
    pub fn new(base: String) -> Self {
        Self {
            base,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn post(&self, path: &str, session_id: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = http::Request::post(format!("{}{path}", self.base))
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(session_id) = session_id {
            request = request.header(http::header::AUTHORIZATION, session_id);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        (status, value)
    }

    pub async fn create_user(&self) -> User {
        let n = NEXT_USER.fetch_add(1, Ordering::Relaxed);
        let (status, user) = self
            .post(
                "/users/@me",
                None,
                json!({
                    "username": format!("user{n}"),
                    "separator": n % 10_000,
                    "email": format!("user{n}@example.com"),
                    "password": "correct horse battery",
                }),
            )
            .await;
        assert_eq!(status, 201, "{user}");
        User {
            id: user["id"].as_u64().unwrap(),
            session_id: user["session_ids"][0].as_str().unwrap().to_owned(),
        }
    }

    pub async fn create_guild(&self, user: &User, name: &str) -> u64 {
        let (status, guild) = self
            .post("/guilds", Some(&user.session_id), json!({ "name": name }))
            .await;
        assert_eq!(status, 201, "{guild}");
        guild["id"].as_u64().unwrap()
    }

    pub async fn create_channel(&self, user: &User, guild: u64, name: &str) -> u64 {
        let (status, channel) = self
            .post(
                &format!("/guilds/{guild}/channels"),
                Some(&user.session_id),
                json!({ "name": name, "type": 2 }),
            )
            .await;
        assert_eq!(status, 201, "{channel}");
        channel["id"].as_u64().unwrap()
    }

    pub async fn create_invite(&self, user: &User, guild: u64) -> String {
        let (status, invite) = self
            .post(
                &format!("/guilds/{guild}/invites"),
                Some(&user.session_id),
                json!({}),
            )
            .await;
        assert_eq!(status, 201, "{invite}");
        invite["code"].as_str().unwrap().to_owned()
    }

    pub async fn join(&self, user: &User, code: &str) {
        let (status, member) = self
            .post(
                &format!("/invites/{code}"),
                Some(&user.session_id),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{member}");
    }
}
