//! What burnline's two programs share, and nothing else: the host tool that
//! builds images and the device-side `burnline-bootstrap` both depend on this
//! crate, and the bootstrap depends on nothing image-related, so "the
//! bootstrap links no image-building code" is a fact the compiler enforces.
//!
//! - [`secret`]: the type every DeviceSecret and ProductSecret lives in;
//! - [`identity`]: the rules a ProductKey, DeviceName and secret follow;
//! - [`credentials`]: the on-flash credential record, its JSON payload, and
//!   how to find the credentials partition on a disk;
//! - [`table`]: the one partition-table reader (GPT or MBR) of `inspect` and
//!   the bootstrap, which no disk content can make panic;
//! - [`registration`]: the platform's request signing, dynamic registration
//!   client and MQTT connect parameters;
//! - [`openapi`]: the Alibaba Cloud OpenAPI's V3 and V1 request
//!   signatures, for the `platform` client and the emulator's listener;
//! - [`tls`]: the one rustls client configuration (verification always on);
//! - [`cli`]: the command-line pieces both programs share;
//! - [`civil`]: calendar dates as day counts and back;
//! - [`parse_error`]: a parser's message without the input it quotes;
//! - [`record_magic`]: the bytes a credential record starts with.

pub mod secret;
pub mod identity;
pub mod record_magic;
pub mod credentials;
pub mod table;
pub mod registration;
pub mod openapi;
pub mod tls;
pub mod cli;
pub mod civil;
pub mod parse_error;
