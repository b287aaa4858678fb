//! The test kit: what the tests of several crates share, as a dev-dependency only (never in a
//! release build).
//!
//! - [`Seeded`]: a real SQLite catalog and local regions in a temp dir, seeded with two
//!   accounts, their instances, a policy and backup sets already copied by the replicator;
//! - [`Fixture`]: the seeded server in process, called through `tower`'s `oneshot`;
//! - [`Server`]: the seeded server on a real `127.0.0.1:0` listener, for clients;
//! - [`sign`]: requests signed the way the official SDKs sign them;
//! - [`noise`]: deterministic pseudo-random bytes;
//! - [`world`]: the catalog, regions and instance a copy or backup test world starts from;
//! - [`bench`]: the benchmarks' timing and report lines.

pub mod bench;
mod binlog;
mod fixture;
pub mod noise;
mod seed;
mod server;
pub mod sign;
pub mod world;

pub use binlog::ClosedFile;
pub use fixture::{expires_of, send_to, Fixture, LINK_BASE};
pub use noise::noise;
pub use seed::{
    listing, local_regions, new_instance, policy_to_dest, t, window, Seeded, Setup, DEST, INSTANCE,
    INSTANCE_NUMBER, MYSQL8, OTHER_INSTANCE, SRC, THIRD,
};
pub use server::Server;
pub use sign::{nonce, v1_params, v1_request, v3_request};
