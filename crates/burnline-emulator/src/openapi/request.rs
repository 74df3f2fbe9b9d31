//! One OpenAPI request as the listener received it: method, path, the
//! query and form-body parameters (decoded), the headers (names in lower
//! case) and the body bytes; and the lists the APIs take (`DeviceName.1`,
//! `DeviceName.2`, …).

use burnline_core::registration::form;

/// A received request.
#[derive(Debug, Default)]
pub struct Call {
    /// `POST`, `GET`…
    pub method: String,
    /// The path (`/`).
    pub path: String,
    /// The query's parameters, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// The form body's parameters, decoded (empty for another body).
    pub form: Vec<(String, String)>,
    /// Headers, names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body as sent.
    pub body: Vec<u8>,
}

impl Call {
    /// A call from its parts; `None` if the query or a form body is not
    /// properly encoded.
    pub fn new(
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Option<Self> {
        let query = form::decode_pairs(query.unwrap_or(""))?;
        let is_form = headers.iter().any(|(k, v)| {
            k == "content-type" && v.starts_with("application/x-www-form-urlencoded")
        });
        let form = if is_form {
            form::decode_pairs(std::str::from_utf8(&body).ok()?)?
        } else {
            Vec::new()
        };
        Some(Call {
            method: method.to_owned(),
            path: path.to_owned(),
            query,
            form,
            headers,
            body,
        })
    }

    /// A header's value (the first of that name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter from the query or the form body (the query first).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.form)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A repeated parameter `PREFIX.N` (or `PREFIX.N.FIELD` with `field`),
    /// in the order of N.
    pub fn list(&self, prefix: &str, field: Option<&str>) -> Vec<String> {
        self.numbered(prefix, field)
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    /// [`Call::list`] with each item's N.
    pub fn numbered(&self, prefix: &str, field: Option<&str>) -> Vec<(u64, String)> {
        let mut items: Vec<(u64, String)> = self
            .query
            .iter()
            .chain(&self.form)
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(prefix)?.strip_prefix('.')?;
                let n = match field {
                    None => rest,
                    Some(f) => rest.strip_suffix(f)?.strip_suffix('.')?,
                };
                Some((n.parse().ok()?, v.clone()))
            })
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items.dedup_by_key(|(n, _)| *n);
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_order_from_query_and_form() {
        let call = Call::new(
            "POST",
            "/",
            Some("DeviceName.2=b&DeviceName.10=c&ProductKey=pk"),
            vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            b"DeviceName.1=a+1&DeviceNameList.1.DeviceName=x&DeviceNameList.1.DeviceNickname=y"
                .to_vec(),
        )
        .expect("call");
        assert_eq!(call.list("DeviceName", None), ["a 1", "b", "c"]);
        assert_eq!(call.list("DeviceNameList", Some("DeviceName")), ["x"]);
        assert_eq!(call.list("DeviceNameList", Some("DeviceNickname")), ["y"]);
        assert_eq!(call.param("ProductKey"), Some("pk"));
        assert!(Call::new("POST", "/", Some("a=%zz"), vec![], vec![]).is_none());
    }
}
