//! Knows whether any byte of a request left this machine. The platform
//! issues a DeviceSecret once, so after a failure the client must know
//! whether the platform can have seen the request: if not (no connection,
//! or the connection ended during the TLS handshake, as behind a NAT that
//! accepts every TCP connection), a retry is safe; if so, it is not.
//!
//! The error kinds of a connection cannot tell a TLS handshake cut short from
//! a request cut short (both are an unexpected end of file), so this module
//! watches the connection instead: [`Marker`] is the last link of ureq's
//! connector chain, after TCP and TLS, and wraps every connection in a
//! transport that notes, for the calling thread, the first time it transmits
//! request bytes. ureq is synchronous: a request runs on the thread that
//! sends it, and a pooled connection carries its wrapper with it. This uses
//! ureq's `unversioned` transport API, which changes only in minor versions;
//! Cargo.toml pins the minor version.

use std::cell::Cell;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

thread_local! {
    static SENT: Cell<bool> = const { Cell::new(false) };
}

/// Forgets what an earlier request on this thread sent: call before sending.
pub fn reset() {
    SENT.with(|s| s.set(false));
}

/// Whether a connection transmitted request bytes on this thread since
/// [`reset`] (a transmission that failed half-way counts).
pub fn was_sent() -> bool {
    SENT.with(Cell::get)
}

/// The connector that wraps every connection in a [`Marked`] transport.
#[derive(Debug)]
pub struct Marker;

impl<In: Transport> Connector<In> for Marker {
    type Out = Marked<In>;

    fn connect(
        &self,
        _: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(Marked))
    }
}

/// A connection (TCP, or TLS after its handshake) that notes its first
/// transmission.
#[derive(Debug)]
pub struct Marked<T>(T);

impl<T: Transport> Transport for Marked<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if amount > 0 {
            SENT.with(|s| s.set(true));
        }
        self.0.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.0.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}
