//! Fuzzes the credential record decoder and the payload parser with
//! arbitrary partition bytes: they must never panic, and a slot they accept
//! must re-encode to the same bytes.
#![no_main]

use burnline_core::credentials::payload::Credentials;
use burnline_core::credentials::record::{self, Slots};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let slots = Slots::read(data);
    if let Some((_, slot)) = slots.active() {
        let again = record::encode(slot.sequence, &slot.payload);
        assert!(data.windows(again.len()).any(|w| w == again.as_slice()));
        let _ = Credentials::from_json(&slot.payload);
    }
    let _ = record::decode(data);
});
