//! The OpenAPI calls burnline makes, typed: each sends the parameters
//! where the SDKs send them and reads the answer by the platform's exact
//! JSON keys (typos included: `RepeatDevieNameList`, the lower-case
//! `invalidDetailList`). A DeviceSecret goes from the answer straight into
//! [`Secret`].

use super::client::Client;
use super::error::PlatformError;
use burnline_core::secret::Secret;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Most DeviceNames `BatchGetDeviceState` takes per call, and the largest
/// `PageSize` of `QueryPageByApplyId`.
pub const BATCH: usize = 50;

fn parse<T: DeserializeOwned>(api: &str, bytes: &[u8]) -> Result<T, PlatformError> {
    serde_json::from_slice(bytes).map_err(|e| PlatformError::Transport {
        api: api.to_owned(),
        detail: format!(
            "the answer is not the API's ({})",
            burnline_core::parse_error::json(&e)
        ),
    })
}

fn pairs(items: &[(&str, String)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn listed(prefix: &str, names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("{prefix}.{}", i + 1), (*n).to_owned()))
        .collect()
}

#[derive(Deserialize, Default)]
struct Detail {
    #[serde(rename = "DeviceName", default)]
    device_name: String,
    #[serde(rename = "ErrorMsg", default)]
    error_msg: String,
}

/// A name the platform refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The DeviceName.
    pub device_name: String,
    /// The platform's reason.
    pub reason: String,
}

/// The platform's per-name details as refusals, each reason made safe to
/// print.
fn refusals(details: Vec<Detail>) -> Vec<Refusal> {
    details
        .into_iter()
        .map(|d| Refusal {
            device_name: d.device_name,
            reason: super::error::clean_message(&d.error_msg),
        })
        .collect()
}

/// Adds each name of `names` not refused yet, with the reason `why`.
fn add_refused(refused: &mut Vec<Refusal>, names: Vec<String>, why: &str) {
    for n in names {
        if !refused.iter().any(|r| r.device_name == n) {
            refused.push(Refusal {
                device_name: n,
                reason: why.to_owned(),
            });
        }
    }
}

#[derive(Deserialize)]
struct CheckAnswer {
    #[serde(rename = "Data")]
    data: CheckData,
}

#[derive(Deserialize)]
struct CheckData {
    #[serde(rename = "ApplyId")]
    apply_id: i64,
    #[serde(rename = "InvalidDetailList", default)]
    invalid_detail: Option<InvalidDetailOuter>,
    #[serde(rename = "InvalidDeviceNameList", default)]
    invalid: Option<InvalidNames>,
    #[serde(rename = "RepeatedDeviceNameList", default)]
    repeated: Option<RepeatedNames>,
}

#[derive(Deserialize, Default)]
struct InvalidDetailOuter {
    #[serde(rename = "InvalidDetailList", default)]
    list: Vec<Detail>,
}

#[derive(Deserialize, Default)]
struct InvalidNames {
    #[serde(rename = "InvalidDeviceName", default)]
    list: Vec<String>,
}

#[derive(Deserialize, Default)]
struct RepeatedNames {
    #[serde(rename = "RepeatDevieNameList", default)]
    list: Vec<String>,
}

/// What `BatchCheckDeviceNames` answered.
#[derive(Debug)]
pub struct Checked {
    /// The application's ID.
    pub apply_id: i64,
    /// Names refused at once (bad format, already existing), with reasons.
    pub refused: Vec<Refusal>,
}

/// `BatchCheckDeviceNames`: hands the names in (form body `DeviceName.N`)
/// and gets the application's ApplyId.
pub fn batch_check_device_names(
    c: &mut Client,
    product_key: &str,
    names: &[&str],
) -> Result<Checked, PlatformError> {
    const API: &str = "BatchCheckDeviceNames";
    let bytes = c.call(
        API,
        &pairs(&[("ProductKey", product_key.to_owned())]),
        &listed("DeviceName", names),
    )?;
    let a: CheckAnswer = parse(API, &bytes)?;
    let mut refused = refusals(a.data.invalid_detail.unwrap_or_default().list);
    add_refused(
        &mut refused,
        a.data.invalid.unwrap_or_default().list,
        "not a valid DeviceName",
    );
    add_refused(
        &mut refused,
        a.data.repeated.unwrap_or_default().list,
        "already a device of the product",
    );
    Ok(Checked {
        apply_id: a.data.apply_id,
        refused,
    })
}

/// `BatchRegisterDeviceWithApplyId`: creates the application's devices
/// (asynchronously: follow with [`query_batch_register_status`]).
pub fn batch_register_with_apply_id(
    c: &mut Client,
    product_key: &str,
    apply_id: i64,
) -> Result<(), PlatformError> {
    c.call(
        "BatchRegisterDeviceWithApplyId",
        &pairs(&[
            ("ApplyId", apply_id.to_string()),
            ("ProductKey", product_key.to_owned()),
        ]),
        &[],
    )?;
    Ok(())
}

#[derive(Deserialize)]
struct StatusAnswer {
    #[serde(rename = "Data")]
    data: StatusData,
}

#[derive(Deserialize)]
struct StatusData {
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "InvalidList", default)]
    invalid: Option<NameList>,
    #[serde(rename = "InvalidDetailList", default)]
    invalid_detail: Option<LowerDetailOuter>,
}

#[derive(Deserialize, Default)]
struct NameList {
    #[serde(rename = "Name", default)]
    list: Vec<String>,
}

#[derive(Deserialize, Default)]
struct LowerDetailOuter {
    #[serde(rename = "invalidDetailList", default)]
    list: Vec<Detail>,
}

/// What `QueryBatchRegisterDeviceStatus` answered.
#[derive(Debug)]
pub struct Progress {
    /// `CHECK`, `CHECK_SUCCESS`, `CHECK_FAILED`, `CREATE`, `CREATE_SUCCESS`
    /// or `CREATE_FAILED`.
    pub status: String,
    /// The names that failed, with reasons where given.
    pub refused: Vec<Refusal>,
}

/// `QueryBatchRegisterDeviceStatus`.
pub fn query_batch_register_status(
    c: &mut Client,
    product_key: &str,
    apply_id: i64,
) -> Result<Progress, PlatformError> {
    const API: &str = "QueryBatchRegisterDeviceStatus";
    let bytes = c.call(
        API,
        &pairs(&[
            ("ApplyId", apply_id.to_string()),
            ("ProductKey", product_key.to_owned()),
        ]),
        &[],
    )?;
    let a: StatusAnswer = parse(API, &bytes)?;
    let mut refused = refusals(a.data.invalid_detail.unwrap_or_default().list);
    add_refused(
        &mut refused,
        a.data.invalid.unwrap_or_default().list,
        "refused",
    );
    Ok(Progress {
        status: a.data.status,
        refused,
    })
}

#[derive(Deserialize)]
struct PageAnswer {
    #[serde(rename = "ApplyDeviceList", default)]
    list: Option<ApplyDeviceList>,
    #[serde(rename = "PageCount", default)]
    page_count: i64,
    #[serde(rename = "Total", default)]
    total: i64,
}

#[derive(Deserialize, Default)]
struct ApplyDeviceList {
    #[serde(rename = "ApplyDeviceInfo", default)]
    list: Vec<ApplyDeviceInfo>,
}

#[derive(Deserialize)]
struct ApplyDeviceInfo {
    #[serde(rename = "DeviceName")]
    device_name: String,
    #[serde(rename = "DeviceSecret", default)]
    device_secret: Option<String>,
}

/// A created device and its certificate.
#[derive(Debug)]
pub struct Issued {
    /// DeviceName.
    pub device_name: String,
    /// Its DeviceSecret.
    pub device_secret: Secret,
}

/// One page of `QueryPageByApplyId`.
#[derive(Debug)]
pub struct Page {
    /// The page's devices.
    pub devices: Vec<Issued>,
    /// Pages in all.
    pub page_count: i64,
    /// Devices in all.
    pub total: i64,
}

/// `QueryPageByApplyId` (no ProductKey: the ApplyId names the batch).
pub fn query_page_by_apply_id(
    c: &mut Client,
    apply_id: i64,
    page: i64,
    page_size: usize,
) -> Result<Page, PlatformError> {
    const API: &str = "QueryPageByApplyId";
    let bytes = c.call(
        API,
        &pairs(&[
            ("ApplyId", apply_id.to_string()),
            ("CurrentPage", page.to_string()),
            ("PageSize", page_size.to_string()),
        ]),
        &[],
    )?;
    let a: PageAnswer = parse(API, &bytes)?;
    let mut devices = Vec::new();
    for d in a.list.unwrap_or_default().list {
        let secret = Secret::new(d.device_secret.unwrap_or_default());
        if let Err(rule) = burnline_core::identity::rules::check_device_secret(secret.expose()) {
            return Err(PlatformError::Transport {
                api: API.into(),
                detail: format!("the DeviceSecret of {} is not valid: {rule}", d.device_name),
            });
        }
        devices.push(Issued {
            device_name: d.device_name,
            device_secret: secret,
        });
    }
    Ok(Page {
        devices,
        page_count: a.page_count,
        total: a.total,
    })
}

#[derive(Deserialize)]
struct StateAnswer {
    #[serde(rename = "DeviceStatusList", default)]
    list: Option<DeviceStatusList>,
}

#[derive(Deserialize, Default)]
struct DeviceStatusList {
    #[serde(rename = "DeviceStatus", default)]
    list: Vec<DeviceStatus>,
}

#[derive(Deserialize)]
struct DeviceStatus {
    #[serde(rename = "DeviceName", default)]
    device_name: String,
    #[serde(rename = "Status", default)]
    status: String,
}

/// `BatchGetDeviceState` for at most [`BATCH`] DeviceNames of one product
/// (query `DeviceName.N`): each name the platform answered for, with its
/// status (`ONLINE`, `OFFLINE`, `UNACTIVE`, `DISABLE`).
pub fn batch_get_device_state(
    c: &mut Client,
    product_key: &str,
    names: &[&str],
) -> Result<Vec<(String, String)>, PlatformError> {
    const API: &str = "BatchGetDeviceState";
    let mut query = pairs(&[("ProductKey", product_key.to_owned())]);
    query.extend(listed("DeviceName", names));
    let bytes = c.call(API, &query, &[])?;
    let a: StateAnswer = parse(API, &bytes)?;
    Ok(a.list
        .unwrap_or_default()
        .list
        .into_iter()
        .map(|d| (d.device_name, d.status))
        .collect())
}

#[derive(Deserialize)]
struct ResetAnswer {
    #[serde(rename = "JobId", default)]
    job_id: Option<String>,
}

/// `ResetThing`: re-opens the device's dynamic registration; the JobId of
/// the topology removal, for a gateway with many sub-devices.
pub fn reset_thing(
    c: &mut Client,
    product_key: &str,
    device_name: &str,
) -> Result<Option<String>, PlatformError> {
    const API: &str = "ResetThing";
    let bytes = c.call(
        API,
        &pairs(&[
            ("DeviceName", device_name.to_owned()),
            ("ProductKey", product_key.to_owned()),
        ]),
        &[],
    )?;
    let a: ResetAnswer = parse(API, &bytes)?;
    Ok(a.job_id.filter(|j| !j.is_empty()))
}

/// `DeleteDevice`: removes the device for good.
pub fn delete_device(
    c: &mut Client,
    product_key: &str,
    device_name: &str,
) -> Result<(), PlatformError> {
    c.call(
        "DeleteDevice",
        &pairs(&[
            ("DeviceName", device_name.to_owned()),
            ("ProductKey", product_key.to_owned()),
        ]),
        &[],
    )?;
    Ok(())
}
