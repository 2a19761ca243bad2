//! Feeds: several sources of events in one cache, each resyncing on its
//! own READY, and what goes when one's session ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_cache::{Cache, FeedId, FeedState};
use ayaka_model::{ChannelId, GuildId, UserId};
use common::*;

const A: FeedId = FeedId(1);
const B: FeedId = FeedId(2);

#[test]
fn a_guild_held_by_two_feeds_stays_until_both_end() {
    let cache = Cache::new();
    for feed in [A, B] {
        cache.update_from(feed, &ready(1));
        cache.update_from(feed, &guild_event("GUILD_INIT", guild(100, 2, &[1, 2])));
    }
    cache.update_from(A, &guild_event("GUILD_CREATE", guild(200, 1, &[1, 3])));
    cache.update_from(A, &invite("abc", 200));
    assert_eq!(
        cache.feeds(),
        [(A, FeedState::Live), (B, FeedState::Resyncing)]
    );

    cache.end_feed(A);
    assert_eq!(cache.feed_state(A), Some(FeedState::Ended));
    // 200 only A held: gone, with its channel, invite and the member only it had
    assert!(cache.guild(GuildId::new(200)).is_none());
    assert!(cache.channel(ChannelId::new(210)).is_none());
    assert!(cache.invite("abc").is_none());
    assert!(cache.user(UserId::new(3)).is_none());
    // 100 B holds too: kept, and so is the current user while B runs
    assert!(cache.guild(GuildId::new(100)).is_some());
    assert_eq!(cache.current_user().unwrap().id, UserId::new(1));

    cache.end_feed(B);
    assert_eq!(cache.stats().guilds, 0);
    assert_eq!(cache.stats().channels, 0);
    assert_eq!(cache.stats().members, 0);
    assert_eq!(cache.stats().users, 0, "{:?}", cache.stats());
    assert!(cache.current_user().is_none(), "no session runs any more");
}

#[test]
fn each_feed_resyncs_only_what_it_held() {
    let cache = Cache::new();
    cache.update_from(A, &ready(1));
    cache.update_from(A, &guild_event("GUILD_INIT", guild(100, 0, &[1])));
    cache.update_from(A, &guild_event("GUILD_INIT", guild(300, 0, &[1])));
    cache.update_from(B, &ready(2));
    cache.update_from(B, &guild_event("GUILD_INIT", guild(200, 0, &[2])));
    cache.update_from(B, &presence(2));
    // A reconnects: 300 was deleted meanwhile, so no GUILD_INIT for it
    cache.update_from(A, &ready(1));
    cache.update_from(A, &guild_event("GUILD_INIT", guild(100, 0, &[1])));
    // B's traffic does not end A's refresh
    cache.update_from(B, &presence(2));
    assert!(cache.guild(GuildId::new(300)).is_some());
    cache.update_from(A, &presence(1));
    let mut ids = cache.guild_ids();
    ids.sort_unstable();
    assert_eq!(ids, [GuildId::new(100), GuildId::new(200)]);
}

#[test]
fn a_ready_after_the_end_starts_the_feed_again() {
    let cache = Cache::new();
    cache.update_from(A, &ready(1));
    cache.update_from(A, &guild_event("GUILD_INIT", guild(100, 1, &[1])));
    cache.end_feed(A);
    assert_eq!(cache.stats().guilds, 0);
    cache.update_from(A, &ready(1));
    assert_eq!(cache.feed_state(A), Some(FeedState::Resyncing));
    cache.update_from(A, &guild_event("GUILD_INIT", guild(100, 1, &[1])));
    cache.update_from(A, &presence(1));
    assert_eq!(cache.feed_state(A), Some(FeedState::Live));
    assert_eq!(cache.guild_ids(), [GuildId::new(100)]);
}

#[test]
fn plain_update_is_the_default_feed() {
    let cache = Cache::new();
    cache.update(&ready(1));
    cache.update(&guild_event("GUILD_INIT", guild(100, 0, &[1])));
    assert_eq!(
        cache.feed_state(FeedId::DEFAULT),
        Some(FeedState::Resyncing)
    );
    cache.end_feed(FeedId::DEFAULT);
    assert!(cache.guild(GuildId::new(100)).is_none());
    // a guild only REST delivered belongs to no feed: ending one keeps it
    let rest_guild: ayaka_model::Guild = serde_json::from_value(guild(500, 0, &[])).unwrap();
    cache.update(&rest_guild);
    cache.update_from(A, &ready(1));
    cache.end_feed(A);
    assert!(cache.guild(GuildId::new(500)).is_some());
}
