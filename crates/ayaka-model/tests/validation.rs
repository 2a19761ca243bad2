//! Each validation rule at its bounds, and how failures are reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser, Violation, rules,
};
use ayaka_model::{ChannelId, ChannelType, Error, ErrorKind};

fn chars(n: usize) -> String {
    // multi-byte on purpose: limits count characters, not bytes
    "é".repeat(n)
}

/// A rule that checks one string field.
type Rule = fn(&str) -> Result<(), Violation>;

/// A length rule accepts `min` and `max` characters and refuses one fewer
/// and one more, naming its bounds and the length it got.
fn check_length(field: &str, rule: Rule, min: usize, max: usize) {
    let refused = |actual| Err(Violation::Length { min, max, actual });
    assert_eq!(rule(&chars(min)), Ok(()), "{field}: {min} characters");
    assert_eq!(rule(&chars(max)), Ok(()), "{field}: {max} characters");
    assert_eq!(rule(&chars(max + 1)), refused(max + 1), "{field}");
    if let Some(fewer) = min.checked_sub(1) {
        assert_eq!(rule(&chars(fewer)), refused(fewer), "{field}");
    }
}

#[test]
fn length_rules_hold_at_their_bounds() {
    let table: [(&str, Rule, usize, usize); 5] = [
        ("username", rules::username, 1, 32),
        ("bio", rules::bio, 0, 190),
        ("name", rules::name, 1, 100),
        ("description", rules::description, 0, 1000),
        ("password", rules::password, 8, 256),
    ];
    for (field, rule, min, max) in table {
        check_length(field, rule, min, max);
    }
}

#[test]
fn separator_is_0_to_9999() {
    assert_eq!(rules::separator(0), Ok(()));
    assert_eq!(rules::separator(9999), Ok(()));
    assert_eq!(
        rules::separator(10_000),
        Err(Violation::Range {
            min: 0,
            max: 9999,
            actual: 10_000
        })
    );
}

#[test]
fn emails_must_be_plausible() {
    for good in [
        "a@b.co",
        "ayaka.kamisato+tea@inazuma.example.com",
        "用户@例子.广告",
    ] {
        assert_eq!(rules::email(good), Ok(()), "{good}");
    }
    let long_local = format!("{}@b.co", "a".repeat(249));
    assert_eq!(rules::email(&long_local), Ok(()), "254 characters");
    let too_long = format!("{}@b.co", "a".repeat(250));
    for bad in [
        "",
        "plain",
        "@b.co",
        "a@",
        "a@b",
        "a@b.",
        "a@.co",
        "a@@b.co",
        "a@b@c.co",
        "a b@c.co",
        "a@b.co\n",
        "a@b..co",
        too_long.as_str(),
    ] {
        assert_eq!(rules::email(bad), Err(Violation::Email), "{bad:?}");
    }
}

#[test]
fn create_user_reports_every_bad_field() {
    let good = CreateUser::new("ayaka", 1, "ayaka@example.com", "correct horse").bio("hi");
    assert_eq!(good.validate(), Ok(()));

    let bad = CreateUser::new("", 10_000, "nope", "short").bio(chars(191));
    let error = bad.validate().unwrap_err();
    let fields: Vec<_> = error.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["username", "separator", "bio", "email", "password"]
    );

    let body = error.to_error_body();
    assert_eq!(body.code, 400);
    let map = body.errors.unwrap();
    assert_eq!(map.len(), 5);
    assert_eq!(map["email"], "must be a valid email address");
    assert_eq!(map["username"], "must be 1 to 32 characters long (got 0)");

    let error = Error::from(bad.validate().unwrap_err());
    assert_eq!(error.kind(), ErrorKind::Validation);
    assert_eq!(error.validation().map(|v| v.errors().len()), Some(5));
}

#[test]
fn updates_check_only_present_fields() {
    assert_eq!(UpdateUser::new().validate(), Ok(()));
    assert!(UpdateUser::new().is_empty());
    let error = UpdateUser::new()
        .username("ok")
        .password("short")
        .validate()
        .unwrap_err();
    assert_eq!(error.errors().len(), 1);
    assert!(error.violation("password").is_some());

    assert_eq!(UpdateGuild::new().banner("x").validate(), Ok(()));
    let error = UpdateGuild::new()
        .name("")
        .description(chars(1001))
        .validate()
        .unwrap_err();
    assert_eq!(error.errors().len(), 2);
}

#[test]
fn create_guild_rules() {
    assert_eq!(CreateGuild::new("K").validate(), Ok(()));
    let error = CreateGuild::new(chars(101))
        .description(chars(1001))
        .validate()
        .unwrap_err();
    assert!(error.violation("name").is_some() && error.violation("description").is_some());
}

#[test]
fn create_channel_rules() {
    assert_eq!(
        CreateChannel::new("general", ChannelType::Text).validate(),
        Ok(())
    );
    let in_category =
        CreateChannel::new("general", ChannelType::Voice).inside_of(ChannelId::new(5));
    assert_eq!(in_category.validate(), Ok(()));

    let nested = CreateChannel::new("cat", ChannelType::Category).inside_of(ChannelId::new(5));
    assert!(matches!(
        nested.validate().unwrap_err().violation("inside_of"),
        Some(Violation::Invalid(_))
    ));

    let unknown = CreateChannel::new("x", ChannelType::Unknown(9));
    assert!(unknown.validate().unwrap_err().violation("type").is_some());

    let negative = CreateChannel::new("x", ChannelType::Text).position(-1);
    assert!(matches!(
        negative.validate().unwrap_err().violation("position"),
        Some(Violation::Range { .. })
    ));
    assert_eq!(
        CreateChannel::new("x", ChannelType::Text)
            .position(0)
            .validate(),
        Ok(())
    );

    // `inside_of: 0` is top level
    let body: CreateChannel =
        serde_json::from_str(r#"{"name": "c", "type": 1, "inside_of": 0}"#).unwrap();
    assert_eq!(body.inside_of, None);
    assert_eq!(body.validate(), Ok(()));

    assert_eq!(CreateInvite::new().validate(), Ok(()));
    let body: CreateInvite = serde_json::from_str(r#"{"max_uses": 3}"#).unwrap();
    assert_eq!(body, CreateInvite::new());
}

#[test]
fn debug_redacts_passwords() {
    let body = CreateUser::new("ayaka", 1, "a@b.co", "hunter2-secret");
    assert!(!format!("{body:?}").contains("hunter2"));
    let update = UpdateUser::new().password("hunter2-secret");
    assert!(!format!("{update:?}").contains("hunter2"));
}

#[test]
fn debug_redacts_emails() {
    let body = CreateUser::new("ayaka", 1, "ayaka@example.com", "hunter2-secret");
    assert!(!format!("{body:?}").contains("ayaka@example.com"));
    let update = UpdateUser::new().email("ayaka@example.com");
    assert!(!format!("{update:?}").contains("ayaka@example.com"));
    assert!(format!("{update:?}").contains("email: Some([1 redacted])"));
}
