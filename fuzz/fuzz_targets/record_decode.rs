//! Fuzzes the credential record decoder and the payload parser with
//! arbitrary partition bytes: they must never panic, a slot they accept
//! must re-encode to the same bytes, and reading the slots from storage
//! (header, then the payload it announces) must find what decoding the
//! whole bytes finds.
#![no_main]

use burnline_core::credentials::payload::Credentials;
use burnline_core::credentials::record::{self, Slots};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let slots = Slots::read(data);
    if let Some((_, slot)) = slots.active() {
        let again = record::encode(slot.sequence, &slot.payload, (data.len() / 2) as u64)
            .expect("a slot that decoded fits its slot");
        assert!(data.windows(again.len()).any(|w| w == again.as_slice()));
        let _ = Credentials::from_json(&slot.payload);
    }
    let _ = record::decode(data);
    // Reading from storage, header then payload, finds what the whole bytes hold.
    let from = Slots::read_from(
        |buf, at| {
            let at = at as usize;
            buf.copy_from_slice(&data[at..at + buf.len()]);
            Ok(())
        },
        data.len() as u64,
    )
    .expect("every read lies inside the bytes");
    assert_eq!((from.a, from.b), (slots.a, slots.b));
});
