//! A typed REST client for Ayaka on hyper, with a proactive bucketed rate limiter.

pub mod ratelimit;
