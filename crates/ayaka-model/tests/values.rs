//! Open enums keep unknown values; timestamps, error bodies and helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ayaka_model::gateway::ClientCommand;
use ayaka_model::{
    ChannelType, ErrorBody, ErrorKind, NotificationType, Permission, Presence, PresenceType, Role,
    RoleId, Timestamp,
};
use serde_json::json;

#[test]
fn unknown_enum_values_are_kept_and_written_back() {
    let permissions: Vec<Permission> =
        serde_json::from_value(json!(["ADMINISTRATOR", "MANAGE_EMOJIS", ""])).unwrap();
    assert_eq!(
        permissions,
        [
            Permission::Administrator,
            Permission::Unknown("MANAGE_EMOJIS".into()),
            Permission::Unknown(String::new())
        ]
    );
    assert_eq!(
        serde_json::to_value(&permissions).unwrap(),
        json!(["ADMINISTRATOR", "MANAGE_EMOJIS", ""])
    );

    let kind: NotificationType = serde_json::from_value(json!("DM")).unwrap();
    assert_eq!(kind, NotificationType::Unknown("DM".into()));
    assert_eq!(kind.as_str(), "DM");

    assert_eq!(PresenceType::from(0), PresenceType::Unknown(0));
    assert_eq!(
        serde_json::to_value(PresenceType::Unknown(-3)).unwrap(),
        json!(-3)
    );
    assert_eq!(ChannelType::from(2), ChannelType::Text);
    assert_eq!(i64::from(ChannelType::Unknown(42)), 42);
    assert!(serde_json::from_value::<ChannelType>(json!(1.0)).is_err());
    assert!(serde_json::from_value::<PresenceType>(json!(u64::MAX)).is_err());
}

#[test]
fn roles_allow_what_they_list_and_administrators_everything() {
    let role = Role {
        id: RoleId::new(1),
        name: "mod".into(),
        position: 1,
        color: "#fff".into(),
        permissions: vec![Permission::KickMembers],
    };
    assert!(role.allows(&Permission::KickMembers));
    assert!(!role.allows(&Permission::BanMembers));
    let admin = Role {
        permissions: vec![Permission::Administrator],
        ..role
    };
    assert!(admin.allows(&Permission::BanMembers));
}

#[test]
fn timestamps_read_rfc3339_and_offsetless_iso8601() {
    let utc: Timestamp = "2022-02-27T13:54:10Z".parse().unwrap();
    let offset: Timestamp = "2022-02-27T22:54:10+09:00".parse().unwrap();
    let naive: Timestamp = "2022-02-27T13:54:10".parse().unwrap();
    let spaced: Timestamp = "2022-02-27 13:54:10".parse().unwrap();
    assert_eq!(utc, offset);
    assert_eq!(utc, naive);
    assert_eq!(utc, spaced);
    assert_eq!(utc.get().unix_timestamp(), 1_645_970_050);
    assert_eq!(Timestamp::from_unix_timestamp(1_645_970_050).unwrap(), utc);

    let fraction: Timestamp = serde_json::from_value(json!("2022-02-27T13:54:10.123456")).unwrap();
    assert_eq!(
        serde_json::to_value(fraction).unwrap(),
        json!("2022-02-27T13:54:10.123456Z")
    );
    assert_eq!(fraction.get().microsecond(), 123_456);

    for bad in [
        "",
        "yesterday",
        "2022-02-30T00:00:00Z",
        "2022-02-27",
        "2022-02-27T25:00:00Z",
    ] {
        assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
    }
    assert!(serde_json::from_value::<Timestamp>(json!(1_645_970_050)).is_err());
}

#[test]
fn unformattable_timestamps_fail_to_encode_instead_of_panicking() {
    // RFC 3339 has no room for an offset with seconds
    let offset = time::UtcOffset::from_hms(1, 0, 30).unwrap();
    let odd = Timestamp::new(time::OffsetDateTime::UNIX_EPOCH.to_offset(offset));
    let error = ayaka_model::json::to_vec(&odd).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Encode);
    assert!(
        !odd.to_string().is_empty(),
        "Display falls back instead of failing"
    );
}

#[test]
fn error_bodies_read_the_deployed_shape_and_absolute_retry_after() {
    let body: ErrorBody =
        serde_json::from_str(r#"{"message": "404: Not Found", "code": 0}"#).unwrap();
    assert_eq!(body, ErrorBody::new(0, "404: Not Found"));

    let limited: ErrorBody =
        serde_json::from_str(r#"{"code": 429, "message": "slow down", "retry_after": 2.5}"#)
            .unwrap();
    assert_eq!(limited.retry_after_secs(1_700_000_000.0), Some(2.5));

    let absolute = ErrorBody {
        retry_after: Some(1_700_000_003.0),
        ..limited.clone()
    };
    assert_eq!(absolute.retry_after_secs(1_700_000_000.0), Some(3.0));
    assert_eq!(absolute.retry_after_secs(1_800_000_000.0), Some(0.0));
    let negative = ErrorBody {
        retry_after: Some(-1.0),
        ..limited
    };
    assert_eq!(negative.retry_after_secs(0.0), None);
}

#[test]
fn client_commands_refuse_unknown_names() {
    let error = ClientCommand::from_json(br#"{"t": "IDENTIFY", "d": {}}"#).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnknownCommand);
    let error = ClientCommand::from_json(br#"{"t": "PRESENCE_UPDATE"}"#).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    let error = ClientCommand::from_json(br#"{"t": "PRESENCE_UPDATE", "d": {"type": "idle"}}"#)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert_eq!(
        ClientCommand::from_json(br#"{"t": "HEARTBEAT", "d": null, "s": 1}"#).unwrap(),
        ClientCommand::Heartbeat
    );
    assert_eq!(
        ClientCommand::Heartbeat.to_json().unwrap(),
        br#"{"t":"HEARTBEAT"}"#
    );
    let idle = ClientCommand::PresenceUpdate(Presence::new(PresenceType::Idle));
    assert_eq!(
        ClientCommand::from_json(&idle.to_json().unwrap()).unwrap(),
        idle
    );
}

#[test]
fn guild_permissions_follow_owner_roles_and_everyone() {
    use ayaka_model::{Guild, Member};
    let guild: Guild = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/guild/with_members.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let members = guild.members.clone().unwrap();
    let (owner, member): (&Member, &Member) = (&members[0], &members[1]);
    assert!(owner.owner);
    assert!(guild.allows(owner, &Permission::BanMembers));

    // the member holds the Admin role (ADMINISTRATOR)
    assert!(guild.allows(member, &Permission::BanMembers));
    let mut plain = member.clone();
    plain.roles.clear();
    // @everyone (id == guild id) grants CREATE_INVITE only
    assert!(guild.allows(&plain, &Permission::CreateInvite));
    assert!(!guild.allows(&plain, &Permission::ManageGuild));
    plain.roles.push(RoleId::new(1)); // not a role of this guild
    assert!(!guild.allows(&plain, &Permission::ManageGuild));

    assert_eq!(
        guild
            .role(RoleId::new(285_790_412_073_639_937))
            .map(|r| r.name.as_str()),
        Some("Admin")
    );
    let general = ayaka_model::ChannelId::new(285_790_412_073_639_939);
    assert_eq!(
        guild.channel(general).and_then(|c| c.name()),
        Some("general")
    );
    assert_eq!(guild.preview().name, guild.name);
}

#[test]
fn unknown_command_errors_do_not_repeat_huge_names() {
    let name = "X".repeat(10_000);
    let bytes = format!(r#"{{"t": "{name}"}}"#);
    let error = ClientCommand::from_json(bytes.as_bytes()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnknownCommand);
    assert!(error.to_string().len() < 200, "{error}");
}

#[test]
fn events_parse_from_str() {
    let event: ayaka_model::Event = r#"{"t": "ACK"}"#.parse().unwrap();
    assert_eq!(event, ayaka_model::Event::HeartbeatAck);
}
