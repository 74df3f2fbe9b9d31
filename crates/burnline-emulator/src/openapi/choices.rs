//! The emulator's choices where the fact sheet
//! (`shared/domain/alibaba-openapi.md`) says UNCONFIRMED or says nothing, in
//! one place; `docs/openapi-emulator.md` and the end of
//! `docs/registration.md` list them too; and the platform's documented
//! limits the APIs enforce.
//!
//! `IotInstanceId` is taken and ignored: the emulator is one instance, and
//! which code a missing or unknown instance gets is not known.

/// Clock skew allowed between a request's timestamp and the emulator's
/// clock (the POP gateway's 15 minutes: `InvalidTimeStamp.Expired`).
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// How long a signature nonce is remembered, so that its reuse is refused
/// (`SignatureNonceUsed`): 31 minutes, from an Alibaba reply; nonces are
/// kept per AccessKey ID, and only for requests whose signature held.
pub const NONCE_WINDOW_SECS: u64 = 31 * 60;

/// HTTP status of `InvalidAccessKeyId.NotFound` (400 in the POP table of
/// document 48054; other products answer 404).
pub const UNKNOWN_ACCESS_KEY_STATUS: u16 = 400;

/// Business errors (`Success:false`, `Code: iot.*`) are answered with HTTP
/// 200, as third-party clients read them.
pub const BUSINESS_ERROR_STATUS: u16 = 200;

/// `HostId` when the request has no `Host` header.
pub const DEFAULT_HOST_ID: &str = "iot.cn-shanghai.aliyuncs.com";

/// BatchCheckDeviceNames and BatchRegisterDeviceWithApplyId finish at once:
/// QueryBatchRegisterDeviceStatus never shows `CHECK` or `CREATE`.
/// A check with any invalid or taken name ends `CHECK_FAILED`, and
/// registering it is refused with this code (the platform's own spelling).
pub const CHECK_FAILED_REGISTER_CODE: &str = "iot.device.IncorrentDeviceApplyInfo";

/// BatchGetDeviceState with more than 50 devices is refused with this code.
pub const TOO_MANY_DEVICES_CODE: &str = "iot.common.InvalidFormattedParameter";

/// The largest page of QueryPageByApplyId and the largest
/// BatchGetDeviceState call.
pub const MAX_PAGE: usize = 50;

/// The most names BatchCheckDeviceNames takes; more are discarded, as the
/// platform says.
pub const MAX_CHECK_NAMES: usize = 10_000;
