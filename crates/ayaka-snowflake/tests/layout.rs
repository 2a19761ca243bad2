//! Snowflake layout, timestamps, parsing and typed ids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, UNIX_EPOCH};

use ayaka_snowflake::{EPOCH_MS, ErrorKind, GuildId, Parts, Snowflake, UserId};

#[test]
fn parts_round_trip_at_every_field_boundary() {
    for timestamp_ms in [0, 1, 123_456_789, (1 << 41) - 1] {
        for datacenter_id in [0, 1, 31] {
            for worker_id in [0, 17, 31] {
                for sequence in [0, 1, 4095] {
                    let parts = Parts {
                        timestamp_ms,
                        datacenter_id,
                        worker_id,
                        sequence,
                    };
                    let id = Snowflake::from_parts(parts).unwrap();
                    assert_eq!(id.parts(), parts);
                    assert_eq!(id.get() >> 63, 0, "bit 63 stays zero");
                    assert_eq!(Snowflake::new(id.get()), id);
                }
            }
        }
    }
}

#[test]
fn fields_sit_where_the_protocol_puts_them() {
    let id = Snowflake::from_parts(Parts {
        timestamp_ms: 1,
        datacenter_id: 1,
        worker_id: 1,
        sequence: 1,
    })
    .unwrap();
    assert_eq!(id.get(), (1 << 22) | (1 << 17) | (1 << 12) | 1);
}

#[test]
fn out_of_range_parts_are_typed_errors() {
    let ok = Parts {
        timestamp_ms: 0,
        datacenter_id: 0,
        worker_id: 0,
        sequence: 0,
    };
    let cases = [
        (
            Parts {
                timestamp_ms: 1 << 41,
                ..ok
            },
            ErrorKind::TimestampOutOfRange,
        ),
        (
            Parts {
                datacenter_id: 32,
                ..ok
            },
            ErrorKind::DatacenterIdOutOfRange,
        ),
        (
            Parts {
                worker_id: 32,
                ..ok
            },
            ErrorKind::WorkerIdOutOfRange,
        ),
        (
            Parts {
                sequence: 4096,
                ..ok
            },
            ErrorKind::SequenceOutOfRange,
        ),
    ];
    for (parts, kind) in cases {
        assert_eq!(Snowflake::from_parts(parts).unwrap_err().kind(), kind);
    }
}

#[test]
fn an_id_made_at_a_known_instant_decodes_to_it() {
    // 2022-02-27T13:54:10.123Z, the instant of the documents' rate-limit example.
    let unix_ms = 1_645_970_050_123;
    let id = Snowflake::from_unix_ms(unix_ms).unwrap();
    assert_eq!(id.created_at_unix_ms(), unix_ms);
    assert_eq!(id.created_at(), UNIX_EPOCH + Duration::from_millis(unix_ms));
    assert_eq!(id.timestamp_ms(), unix_ms - 1_577_836_801_000);

    // The documented epoch: 1577836801 seconds is timestamp zero.
    assert_eq!(EPOCH_MS, 1_577_836_801 * 1000);
    assert_eq!(Snowflake::new(0).created_at_unix_ms(), EPOCH_MS);
    assert_eq!(
        Snowflake::from_unix_ms(EPOCH_MS - 1).unwrap_err().kind(),
        ErrorKind::TimestampOutOfRange
    );
}

#[test]
fn ordering_follows_creation_time() {
    let earlier = Snowflake::from_unix_ms(EPOCH_MS + 10).unwrap();
    let later = Snowflake::from_unix_ms(EPOCH_MS + 11).unwrap();
    assert!(earlier < later);
    assert!(UserId::from(earlier) < UserId::from(later));
}

#[test]
fn display_and_from_str_round_trip_and_reject_junk() {
    let id = Snowflake::new(u64::MAX);
    assert_eq!(id.to_string(), "18446744073709551615");
    assert_eq!("18446744073709551615".parse::<Snowflake>().unwrap(), id);
    for junk in [
        "",
        "-1",
        "+1",
        " 1",
        "1 ",
        "0x10",
        "18446744073709551616",
        "1.0",
    ] {
        let err = junk.parse::<Snowflake>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidDigits, "{junk:?}");
        assert!(junk.parse::<GuildId>().is_err(), "{junk:?}");
    }
}

#[test]
fn typed_ids_are_eight_bytes_and_print_their_kind() {
    assert_eq!(size_of::<UserId>(), 8);
    assert_eq!(size_of::<GuildId>(), 8);
    assert_eq!(format!("{:?}", UserId::new(7)), "UserId(7)");
    assert_eq!(format!("{}", GuildId::new(7)), "7");
    let guild: GuildId = UserId::new(7).cast();
    assert_eq!(guild.get(), 7);
}
