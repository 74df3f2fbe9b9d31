//! Which topics a device may use: the platform's topic classes, all of
//! them the device's own (domain notes, "Topic rights").
//!
//! | class | subscribe | publish |
//! |---|---|---|
//! | `/sys/{pk}/{dn}/…` | yes | yes |
//! | `/{pk}/{dn}/user/…` | yes | yes |
//! | `/ext/register`, `/ext/regnwl` (its registration) | yes | yes |
//! | `/ext/{kind}/{pk}/{dn}[/…]` (`session`, `ntp`, `error`, …) | yes | yes |
//! | `/ext/rrpc/{id}/` followed by one of its own topics | yes | yes |
//! | `/shadow/{kind}/{pk}/{dn}` | yes | yes |
//! | `/ota/device/{kind}/{pk}/{dn}` | yes | yes |
//! | `/broadcast/{pk}/…` | yes | no |
//!
//! A filter is allowed when every topic it can match is in a class: `+`
//! may stand in a `{kind}`/`{id}` level or after the class's fixed part,
//! `#` only after it, so `#`, `+/…`, and another device's or product's
//! topics are refused (SUBACK 0x80, aliyun/iotkit-embedded#127). A topic
//! name or filter with `+` or `#` inside a level, or `#` before the last
//! level, is malformed and refused too.

/// One level of a class.
#[derive(Clone, Copy)]
enum Slot<'a> {
    /// Exactly this text.
    Lit(&'a str),
    /// Any one level (`+` in a filter).
    One,
    /// At least `n` more levels, anything (wildcards in a filter).
    Rest(usize),
}

use Slot::{Lit, One, Rest};

/// Whether `levels` (a filter's or topic's) is well formed.
fn well_formed(levels: &[&str], filter: bool) -> bool {
    let last = levels.len().saturating_sub(1);
    levels.iter().enumerate().all(|(i, l)| {
        let wild = l.contains(['+', '#']);
        !wild || (filter && (*l == "+" || (*l == "#" && i == last)))
    })
}

fn fits(levels: &[&str], class: &[Slot<'_>]) -> bool {
    let Some((first, more)) = class.split_first() else {
        return levels.is_empty();
    };
    match first {
        Rest(n) => levels.len() >= *n,
        Lit(s) => levels.first() == Some(s) && fits(&levels[1..], more),
        One => {
            levels.first().is_some_and(|l| *l != "#" && !l.is_empty()) && fits(&levels[1..], more)
        }
    }
}

/// Whether `levels` fall in one of the device's classes (`publish`: the
/// publishing ones only).
fn own(pk: &str, dn: &str, levels: &[&str], publish: bool) -> bool {
    let classes: [&[Slot<'_>]; 8] = [
        &[Lit(""), Lit("sys"), Lit(pk), Lit(dn), Rest(1)],
        &[Lit(""), Lit(pk), Lit(dn), Lit("user"), Rest(1)],
        &[Lit(""), Lit("ext"), Lit("register")],
        &[Lit(""), Lit("ext"), Lit("regnwl")],
        &[Lit(""), Lit("ext"), One, Lit(pk), Lit(dn), Rest(0)],
        &[Lit(""), Lit("shadow"), One, Lit(pk), Lit(dn)],
        &[Lit(""), Lit("ota"), Lit("device"), One, Lit(pk), Lit(dn)],
        &[Lit(""), Lit("broadcast"), Lit(pk), Rest(1)],
    ];
    let last = if publish { 7 } else { 8 };
    if classes[..last].iter().any(|c| fits(levels, c)) {
        return true;
    }
    // `/ext/rrpc/{id}/` and one of the device's own topics after it.
    match levels {
        ["", "ext", "rrpc", id, rest @ ..] if *id != "#" && !id.is_empty() => {
            let mut inner = vec![""];
            inner.extend_from_slice(rest);
            own(pk, dn, &inner, publish)
        }
        _ => false,
    }
}

/// Whether device `pk`/`dn` may subscribe to `filter`.
pub fn may_subscribe(pk: &str, dn: &str, filter: &str) -> bool {
    let levels: Vec<&str> = filter.split('/').collect();
    well_formed(&levels, true) && own(pk, dn, &levels, false)
}

/// Whether device `pk`/`dn` may publish on `topic`.
pub fn may_publish(pk: &str, dn: &str, topic: &str) -> bool {
    let levels: Vec<&str> = topic.split('/').collect();
    well_formed(&levels, false) && own(pk, dn, &levels, true)
}

/// Whether the MQTT filter `filter` matches the topic name `topic`.
pub fn matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PK: &str = "a1X2bEnP82z";
    const DN: &str = "gw@1:a";

    #[test]
    fn own_topics_and_filters() {
        for f in [
            "/sys/a1X2bEnP82z/gw@1:a/thing/event/property/post",
            "/sys/a1X2bEnP82z/gw@1:a/thing/event/+/post_reply",
            "/sys/a1X2bEnP82z/gw@1:a/#",
            "/a1X2bEnP82z/gw@1:a/user/get",
            "/a1X2bEnP82z/gw@1:a/user/#",
            "/ext/register",
            "/ext/session/a1X2bEnP82z/gw@1:a/combine/login_reply",
            "/ext/error/a1X2bEnP82z/gw@1:a",
            "/ext/ntp/a1X2bEnP82z/gw@1:a/response",
            "/ext/rrpc/+/sys/a1X2bEnP82z/gw@1:a/thing/service/+",
            "/shadow/get/a1X2bEnP82z/gw@1:a",
            "/shadow/+/a1X2bEnP82z/gw@1:a",
            "/ota/device/upgrade/a1X2bEnP82z/gw@1:a",
            "/broadcast/a1X2bEnP82z/news",
            "/broadcast/a1X2bEnP82z/#",
        ] {
            assert!(may_subscribe(PK, DN, f), "{f}");
        }
        for f in [
            "#",
            "+/a1X2bEnP82z/gw@1:a/user/get",
            "/+/gw@1:a/user/get",
            "/sys/a1X2bEnP82z/other/thing/event/property/post",
            "/sys/a1X2bEnP82z/+/thing/event/property/post",
            "/sys/b2Y3cFoQ93A/gw@1:a/thing/event/property/post",
            "/sys/a1X2bEnP82z/gw@1:a",
            "/sys/#",
            "/shadow/#",
            "/ota/device/#",
            "/ext/#",
            "/ext/+/+/+",
            "/broadcast/b2Y3cFoQ93A/news",
            "/a1X2bEnP82z/gw@1:a/user/a#",
            "/a1X2bEnP82z/gw@1:a/user/#/x",
            "/a1X2bEnP82z/gw@1:a/user/a+b",
            "/ext/rrpc/1/ext/rrpc/2/sys/x",
            "/other/topic",
        ] {
            assert!(!may_subscribe(PK, DN, f), "{f}");
        }
        assert!(may_publish(
            PK,
            DN,
            "/sys/a1X2bEnP82z/gw@1:a/thing/event/property/post"
        ));
        assert!(!may_publish(PK, DN, "/broadcast/a1X2bEnP82z/news"));
        assert!(!may_publish(PK, DN, "/a1X2bEnP82z/gw@1:a/user/+"));
        assert!(!may_publish(PK, DN, "/a1X2bEnP82z/other/user/get"));
    }

    #[test]
    fn filter_matching() {
        assert!(matches("/a/+/c", "/a/b/c"));
        assert!(matches("/a/#", "/a/b/c"));
        assert!(matches("/a/#", "/a"));
        assert!(!matches("/a/+", "/a/b/c"));
        assert!(!matches("/a/b", "/a/b/c"));
        assert!(matches("/a/b", "/a/b"));
    }
}
