//! `burnline platform`: a client of the Alibaba Cloud IoT Platform's
//! OpenAPI (product `Iot`, version 2018-01-20) for the console's steps
//! around a burn: create the devices and take their certificates straight
//! into the pool ([`create`]), prove every burned card online
//! ([`device_state`]), and reset or delete a device for rework
//! ([`rework`]).
//!
//! - [`credentials`]: the AccessKey (environment or `aliyun` CLI profile);
//! - [`endpoint`]: region, endpoint and the loopback-only HTTP rule;
//! - [`client`]: one signed call (V3) and its envelope;
//! - [`throttle`]: per-API QPS and the bounded retry of `Throttling`;
//! - [`api`]: the calls, typed by the platform's JSON keys;
//! - [`journal`]: the ApplyId record a `create` resumes from;
//! - [`store`]: the pool, an age file, or a DeviceName CSV;
//! - [`error`]: the failures and their exit statuses.

pub mod error;
pub mod credentials;
pub mod endpoint;
pub mod client;
pub mod throttle;
pub mod api;
pub mod journal;
pub mod create;
pub mod store;
pub mod device_state;
pub mod rework;

/// What every pool history note of `burnline platform` starts with
/// (`platform: ONLINE …`, `platform: reset …`, `platform: deleted …`); the
/// word after it is the `platform_state` column of `station report`.
pub const NOTE_PREFIX: &str = "platform: ";
