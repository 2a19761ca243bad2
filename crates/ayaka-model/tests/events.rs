//! What each event parses to, the irregular envelopes and the deployed
//! server's quirks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;

use ayaka_model::gateway::{Event, EventKind, Hello, PresenceUpdate, UnknownEvent};
use ayaka_model::{
    Channel, ChannelType, EmbedText, ErrorKind, Notification, NotificationType, Presence,
    PresenceEmbed, PresenceType, UserId,
};
use serde_json::{Value, json};

fn event(name: &str) -> Event {
    let bytes = fs::read(common::root().join("event").join(name)).unwrap();
    Event::from_json(&bytes).unwrap()
}

fn as_value(event: &Event) -> Value {
    serde_json::from_slice(&event.to_json().unwrap()).unwrap()
}

#[test]
fn documented_presence_update_keeps_the_user_id_at_top_level() {
    let Event::PresenceUpdate(update) = event("docs_presence_update.json") else {
        panic!("not a presence update");
    };
    let expected = PresenceUpdate {
        user_id: UserId::new(123_456),
        presence: Presence {
            kind: PresenceType::Online,
            description: Some("string".into()),
            emoji: Some(ayaka_model::EmojiId::new(123_456_789)),
            embed: Some(PresenceEmbed {
                name: "string".into(),
                description: Some("string".into()),
                banner_url: Some("string".into()),
                text: Some(EmbedText {
                    top: Some("string".into()),
                    bottom: Some("string".into()),
                }),
            }),
        },
    };
    assert_eq!(update, expected);
    let bytes = Event::PresenceUpdate(PresenceUpdate {
        user_id: UserId::new(7),
        presence: Presence::new(PresenceType::DoNotDisturb),
    })
    .to_json()
    .unwrap();
    assert_eq!(bytes, br#"{"t":"PRESENCE_UPDATE","id":7,"d":{"type":3}}"#);
}

#[test]
fn documented_notification_has_no_d_and_keeps_unknown_types() {
    let Event::Notification(notification) = event("docs_notification.json") else {
        panic!("not a notification");
    };
    assert_eq!(
        notification.kind,
        NotificationType::Unknown("MESSAGE, GUILD, EVERYONE, HERE".into())
    );
    assert_eq!(notification.excerpt, json!({}));

    let written = Event::Notification(Notification {
        kind: NotificationType::Here,
        excerpt: json!({"guild_id": 1}),
    })
    .to_json()
    .unwrap();
    assert_eq!(
        written,
        br#"{"t":"NOTIFICATION","type":"HERE","excerpt":{"guild_id":1}}"#
    );
}

#[test]
fn documented_generic_payload_is_kept_as_unknown() {
    let Event::Unknown(unknown) = event("docs_event_payload.json") else {
        panic!("not unknown");
    };
    assert_eq!(unknown.name(), "EVENT_NAME");
    assert_eq!(unknown.data(), Some(&json!({"key": "VaLuE12345"})));
    assert_eq!(
        as_value(&Event::Unknown(unknown)),
        json!({"t": "EVENT_NAME", "d": {"key": "VaLuE12345"}})
    );
}

#[test]
fn unknown_events_keep_every_field_whatever_the_order() {
    let bytes = br#"{"x": [1, {"y": null}], "d": {"a": 1}, "type": "T", "t": "NEW_THING", "id": 3, "z": 2.5}"#;
    let event = Event::from_json(bytes).unwrap();
    assert_eq!(event.kind(), EventKind::Unknown);
    assert_eq!(event.name(), "NEW_THING");
    let original: Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(as_value(&event), original);

    let built = Event::Unknown(UnknownEvent::new("LATER", None));
    assert_eq!(built.to_json().unwrap(), br#"{"t":"LATER"}"#);
}

#[test]
fn ready_as_a_json_string_or_with_underscore_id_is_the_same_user() {
    let ready = event("ready.json");
    assert_eq!(event("quirk_ready_d_string.json"), ready);
    assert_eq!(event("quirk_ready_underscore_id.json"), ready);
    let Event::Ready(user) = &ready else {
        panic!("not ready")
    };
    assert_eq!(user.username, "ayaka");
    assert_eq!(user.session_ids.as_ref().map(Vec::len), Some(1));
}

#[test]
fn debug_never_shows_session_ids() {
    let ready = event("ready.json");
    let Event::Ready(user) = &ready else {
        panic!("not ready")
    };
    let secret = &user.session_ids.as_ref().unwrap()[0];
    assert!(!format!("{ready:?}").contains(secret.as_str()));
    assert!(!format!("{ready:#?}").contains("Zm9v"));
}

#[test]
fn debug_never_shows_the_email() {
    let ready = event("ready.json");
    assert!(!format!("{ready:?}").contains("ayaka@example.com"));
    assert!(format!("{ready:?}").contains("email: Some([1 redacted])"));
}

#[test]
fn a_malformed_ready_errs_without_quoting_the_session_id_or_email() {
    // Each value where a different type is expected: serde would quote it.
    let session = "285790153431875585.Zm9vYmFyYmF6cXV4cXV1eA";
    let email = "ayaka@example.com";
    for d in [
        format!(r#"{{"id": 1, "username": "a", "separator": 1, "session_ids": "{session}"}}"#),
        format!(r#"{{"id": 1, "username": "a", "separator": 1, "email_verified": "{email}"}}"#),
        format!(r#"{{"id": "{session}", "username": "a", "separator": 1}}"#),
    ] {
        // as an object, and as the JSON string the deployed server may send
        for d in [d.clone(), serde_json::to_string(&d).unwrap()] {
            let message = format!(r#"{{"t": "READY", "d": {d}}}"#);
            // serde_json, and simd-json with that feature
            let errors = [
                Event::from_json(message.as_bytes()).unwrap_err(),
                Event::from_json_mut(&mut message.clone().into_bytes()).unwrap_err(),
            ];
            for error in errors {
                assert_eq!(error.kind(), ErrorKind::Decode);
                let mut shown = format!("{error} {error:?}");
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    shown += &format!(" {cause} {cause:?}");
                    source = cause.source();
                }
                assert!(
                    !shown.contains(session) && !shown.contains(email),
                    "{shown}"
                );
            }
        }
    }
}

#[test]
fn hello_and_ack_from_the_deployed_server() {
    let Event::Hello(hello) = event("quirk_hello.json") else {
        panic!("not hello")
    };
    assert_eq!(
        hello,
        Hello {
            s: Some(json!(285_790_153_431_875_586_u64)),
            i: Some(json!("Welcome to hatsu")),
        }
    );
    assert_eq!(
        as_value(&Event::Hello(hello)),
        json!({"t": "HELLO", "s": 285_790_153_431_875_586_u64, "d": null, "i": "Welcome to hatsu"})
    );
    assert_eq!(event("quirk_ack.json"), Event::HeartbeatAck);
    assert_eq!(Event::HeartbeatAck.to_json().unwrap(), br#"{"t":"ACK"}"#);
}

#[test]
fn extra_envelope_fields_and_string_ids_are_accepted() {
    let Event::GuildDelete(deleted) = event("quirk_extra_envelope_fields.json") else {
        panic!("not a guild delete")
    };
    assert_eq!(deleted.id.get(), 285_790_412_073_639_936);
}

#[test]
fn d_before_t_is_decoded_once_the_name_is_known() {
    assert_eq!(
        event("quirk_d_before_t_guild.json"),
        event("guild_init.json")
    );
    let Event::PresenceUpdate(update) = event("quirk_d_before_t.json") else {
        panic!("not a presence update")
    };
    assert_eq!(update.presence.kind, PresenceType::Invisible);
    assert_eq!(update.user_id.get(), 285_790_281_148_440_577);
}

#[test]
fn notification_without_excerpt_reads_as_null() {
    let Event::Notification(notification) = event("quirk_notification_no_excerpt.json") else {
        panic!("not a notification")
    };
    assert_eq!(notification.kind, NotificationType::Guild);
    assert_eq!(notification.excerpt, Value::Null);
}

#[test]
fn guild_events_carry_channels_and_members() {
    let Event::GuildInit(guild) = event("guild_init_with_members.json") else {
        panic!("not guild init")
    };
    let channels = guild.channels.as_ref().unwrap();
    let kinds: Vec<_> = channels.iter().map(Channel::kind).collect();
    assert_eq!(
        kinds,
        [
            ChannelType::Category,
            ChannelType::Text,
            ChannelType::Text,
            ChannelType::Voice
        ]
    );
    let Channel::Text(general) = &channels[1] else {
        panic!("not text")
    };
    assert_eq!(general.inside_of, Some(channels[0].id()));
    let Channel::Text(top) = &channels[2] else {
        panic!("not text")
    };
    assert_eq!(top.inside_of, None, "inside_of 0 means top level");
    assert_eq!(guild.members.as_ref().map(Vec::len), Some(2));
    assert_eq!(Event::GuildInit(guild.clone()).guild_id(), Some(guild.id));

    let Event::GuildCreate(created) = event("guild_create.json") else {
        panic!("not guild create")
    };
    assert!(created.channels.is_none() && created.members.is_none());
}

#[test]
fn channel_create_keeps_unknown_channel_types() {
    let Event::ChannelCreate(channel) = event("channel_create_unknown_type.json") else {
        panic!("not channel create")
    };
    assert_eq!(channel.kind(), ChannelType::Unknown(13));
    assert_eq!(channel.name(), Some("stage"));
    assert_eq!(channel.id().get(), 285_790_412_073_639_941);
    assert_eq!(
        channel.guild_id().map(|id| id.get()),
        Some(285_790_412_073_639_936)
    );
    let Channel::Unknown { raw, .. } = &channel else {
        panic!("not unknown")
    };
    assert_eq!(raw["topic"], "kept as is");
}

#[test]
fn every_kind_has_a_name_that_reads_back() {
    for kind in EventKind::ALL {
        match kind.name() {
            Some(name) => assert_eq!(EventKind::from_name(name), kind),
            None => assert_eq!(kind, EventKind::Unknown),
        }
    }
    assert_eq!(
        EventKind::from_name("ready"),
        EventKind::Unknown,
        "names are case-sensitive"
    );
}

#[test]
fn known_events_need_their_data() {
    for bytes in [
        &br#"{"t": "GUILD_DELETE", "d": null}"#[..],
        br#"{"t": "READY"}"#,
        br#"{"t": "PRESENCE_UPDATE", "d": {"type": 1}}"#,
        br#"{"t": "PRESENCE_UPDATE", "id": 1}"#,
        br#"{"t": "NOTIFICATION", "excerpt": {}}"#,
        br#"{"d": {"id": 1}}"#,
        br#"{"t": "GUILD_DELETE", "t": "GUILD_DELETE", "d": {"id": 1}}"#,
        br#"{"t": "GUILD_DELETE", "d": {"id": 1}, "d": {"id": 2}}"#,
        br#"{"t": 5, "d": {}}"#,
        br#"{"t": "READY", "d": "{\"id\": 1}"}"#,
        br#"{"t": "READY", "d": "not json"}"#,
    ] {
        let error = Event::from_json(bytes).unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::Decode,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    assert_eq!(
        Event::from_json(br#"{"t": "HELLO", "d": null}"#).unwrap(),
        Event::Hello(Hello::default())
    );
}
