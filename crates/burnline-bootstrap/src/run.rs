//! `burnline-bootstrap run` and `status`: the boot-time flow of the seed's
//! bootstrap program (引导程序).
//!
//! `run`: read the active record and check it (a slot that fails the check
//! loses to the other, and the damaged slot is named). A full triple is
//! ready: no network at all; it is copied into the other slot if that slot
//! does not hold it. A product certificate registers once (the same client
//! as `burnline register`), and the triple is stored in the other slot,
//! synced and read back before anything else uses the secret, then copied
//! into the first slot as well. Since the platform
//! issues the secret once, registering waits until it is certain the new
//! record can be stored: its sequence can grow and it fits a slot.

use super::exit::Failure;
use super::handoff;
use super::store::{self, Partition, StoreError};
use super::validate::{self, Mode};
use crate::cmdline::{
    BootstrapCli, BootstrapCommand, PartitionArgs, PlatformArgs, RegisterVia, RunArgs, StatusArgs,
};
use burnline_core::credentials::capacity;
use burnline_core::credentials::locate::{self, LocateError, Where};
use burnline_core::credentials::payload::Credentials;
use burnline_core::identity::rules::DEVICE_SECRET_MAX;
use burnline_core::registration::client::{Client, ClientOptions};
use burnline_core::registration::endpoint::Endpoint;
use burnline_core::registration::error::RegisterError;
use burnline_core::registration::mqtt::MqttCredentials;
use burnline_core::registration::mqtt_login;
use burnline_core::registration::mqtt_transport::{tls_config, MqttError, MqttTarget};
use burnline_core::registration::sign::SignMethod;
use burnline_core::secret::Secret;
use burnline_core::table::TableError;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};

/// Runs the bootstrap with `args` and returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli: BootstrapCli = match burnline_core::cli::parse(args) {
        Ok(c) => c,
        Err(end) => return crate::exit::cli_end(end),
    };
    let result = match cli.command {
        BootstrapCommand::Run(a) => run(&a),
        BootstrapCommand::Status(a) => status(&a),
    };
    match result {
        Ok(()) => 0,
        Err(f) => {
            eprintln!("burnline-bootstrap: {f}");
            f.code()
        }
    }
}

fn open(part: &PartitionArgs, write: bool) -> Result<(File, Partition), Failure> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(write)
        .open(&part.device)
        .map_err(|e| Failure::Storage(format!("opening {}: {e}", part.device.display())))?;
    let at = match (&part.partition, part.offset, part.size) {
        (_, Some(offset), Some(size)) => Where::At { offset, size },
        (Some(name), _, _) => Where::Named(name.clone()),
        _ => Where::Named("creds".into()),
    };
    let p = locate::find(&mut file, &at).map_err(|e| match e {
        e @ LocateError::OutsideDevice { .. } => {
            Failure::Usage(format!("{e}: check --offset and --size"))
        }
        LocateError::Table(TableError::Io(e)) => Failure::Storage(format!(
            "reading the partition table of {}: {e}",
            part.device.display()
        )),
        other => Failure::Record(other.to_string()),
    })?;
    Ok((file, p))
}

/// Why a product certificate is not registered although it is valid: the
/// platform issues a DeviceSecret once, and this one could not be stored in
/// `part`.
fn cannot_store(e: StoreError, part: Partition) -> Failure {
    const WHY: &str =
        "not registering, since the DeviceSecret the platform issues only once could not be stored";
    match e {
        StoreError::SequenceExhausted(_) => Failure::Record(format!(
            "{e}: {WHY}; burn the credentials partition anew (a fresh image starts at sequence 1)"
        )),
        StoreError::TooLarge(t) if t.slot < part.size / 2 => Failure::Record(format!(
            "once registered, the record can need {} bytes (with a {DEVICE_SECRET_MAX}-character DeviceSecret), \
             more than the {} bytes a record may take: {WHY}; rebuild the image with a shorter endpoint or region",
            t.needed, t.slot
        )),
        StoreError::TooLarge(t) => Failure::Record(format!(
            "once registered, the record can need {} bytes (with a {DEVICE_SECRET_MAX}-character DeviceSecret), \
             more than a {}-byte slot of this partition holds: {WHY}; rebuild the image with a credentials partition \
             of at least {} bytes",
            t.needed,
            t.slot,
            t.needed.saturating_mul(2)
        )),
        other => Failure::Record(other.to_string()),
    }
}

fn read(file: &File, part: Partition) -> Result<(store::Active, Credentials, Mode), Failure> {
    let active = store::read_active(file, part, &validate::accept).map_err(|e| match e {
        StoreError::Io(e) => Failure::Storage(format!("reading the record: {e}")),
        other => Failure::Record(other.to_string()),
    })?;
    let creds = Credentials::from_json(&active.payload)
        .map_err(|e| Failure::Record(format!("slot {:?}: {e}", active.slot)))?;
    let mode = validate::check(&creds)
        .map_err(|e| Failure::Record(format!("slot {:?}: {e}", active.slot)))?;
    if let store::OtherSlot::Damaged(_) = active.other {
        eprintln!(
            "burnline-bootstrap: {}; using slot {:?} (sequence {})",
            active.other_text(),
            active.slot,
            active.sequence
        );
    }
    Ok((active, creds, mode))
}

/// Where the record in use is and what the other slot holds, for a
/// message: `slot A (sequence 1) is the record in use; slot B is damaged (why)`.
fn slots_text(active: &store::Active) -> String {
    format!(
        "slot {:?} (sequence {}) is the record in use; {}",
        active.slot,
        active.sequence,
        active.other_text()
    )
}

/// Copies the full triple of `active` into the other slot when that slot
/// does not hold it yet (a fresh 一机一密 card, a device registered by an
/// older bootstrap, or a slot damaged since): one damaged slot then never
/// loses the identity. A failure is reported and does not stop the boot:
/// the triple is valid where it is.
fn keep_two_copies(file: &mut File, part: Partition, active: &store::Active) {
    let was = active.other_text();
    match store::mirror(file, part, active) {
        Ok(None) => {}
        Ok(Some(now)) => eprintln!(
            "burnline-bootstrap: copied the triple from slot {:?} into slot {:?} (sequence {}), \
             since {was}: both slots hold it",
            active.slot, now.slot, now.sequence
        ),
        Err(e) => eprintln!(
            "burnline-bootstrap: warning: could not copy the triple from slot {:?} into slot {:?} ({e}); \
             {was}, so slot {:?} alone holds it",
            active.slot,
            active.slot.other(),
            active.slot
        ),
    }
}

fn client(platform: &PlatformArgs, creds: &Credentials) -> Result<(Client, SignMethod), Failure> {
    // An endpoint on the command line was checked by clap; the record's
    // (or its region's) is checked here, and named as the record's.
    let endpoint = match &platform.endpoint {
        Some(e) => e.clone(),
        None => Endpoint::resolve(creds.endpoint.as_deref(), creds.region.as_deref())
            .map_err(|e| Failure::Record(format!("the credential record's endpoint: {e}")))?,
    };
    let ca_pem = platform.ca_pem().map_err(Failure::Usage)?;
    let method = platform.sign_method;
    let client = Client::new(
        endpoint,
        ClientOptions {
            ca_pem,
            ..ClientOptions::default()
        },
    )
    .map_err(map_register)?;
    Ok((client, method))
}

fn map_register(e: RegisterError) -> Failure {
    match e {
        e @ RegisterError::Refused { .. } => Failure::Refused(e.to_string()),
        e @ (RegisterError::Transport { .. } | RegisterError::BadResponse { .. }) => {
            Failure::Network(e.to_string())
        }
        e @ (RegisterError::Endpoint(_) | RegisterError::Input(_)) => {
            Failure::Record(e.to_string())
        }
    }
}

/// The MQTT server: `--mqtt`, else TLS to the record's region host.
fn mqtt_target(given: Option<&MqttTarget>, creds: &Credentials) -> MqttTarget {
    match given {
        Some(t) => t.clone(),
        None => {
            // The record's region passed the region rule when it was read.
            let region = creds
                .region
                .as_deref()
                .unwrap_or(burnline_core::registration::endpoint::DEFAULT_REGION);
            MqttTarget {
                host: format!("{}.iot-as-mqtt.{region}.aliyuncs.com", creds.product_key),
                port: burnline_core::registration::mqtt::TLS_PORT,
                tls: true,
            }
        }
    }
}

fn map_mqtt(e: MqttError) -> Failure {
    match e {
        e @ MqttError::Refused(_) => Failure::Refused(e.to_string()),
        MqttError::Network(m) => Failure::Network(m),
        MqttError::Input(m) => Failure::Usage(m),
    }
}

fn mqtt_tls(platform: &PlatformArgs) -> Result<std::sync::Arc<rustls::ClientConfig>, Failure> {
    let ca = platform.ca_pem().map_err(Failure::Usage)?;
    tls_config(ca.as_deref()).map_err(|e| Failure::Usage(format!("--ca-file: {e}")))
}

/// What to do about a device the platform says is already activated,
/// though the record in use holds only its product certificate.
const RESET: &str = "delete the device in the IoT console (this needs a phone verification) \
                     or reset it (the console's reset, API ResetThing), then boot again to register it anew";

/// Registers the record's device (the record in use is `active`); the
/// DeviceSecret it was issued.
fn register(
    args: &RunArgs,
    active: &store::Active,
    creds: &Credentials,
    ps: &Secret,
) -> Result<Secret, Failure> {
    let via = match (args.register_via, creds.register_via.as_deref()) {
        (Some(v), _) => v,
        (None, Some("mqtt")) => RegisterVia::Mqtt,
        (None, _) => RegisterVia::Http,
    };
    match via {
        RegisterVia::Http => {
            let (client, method) = client(&args.platform, creds)?;
            Ok(client
                .register(&creds.product_key, &creds.device_name, ps, method)
                .map_err(|e| match e {
                    RegisterError::Refused { code: 6289, .. } => Failure::Refused(format!(
                        "the platform says this device is already activated (6289), but the record in use \
                         holds only the product certificate ({}): {RESET}",
                        slots_text(active)
                    )),
                    other => map_register(other),
                })?
                .device_secret)
        }
        RegisterVia::Mqtt => {
            let target = mqtt_target(args.mqtt.as_ref(), creds);
            let tls = mqtt_tls(&args.platform)?;
            mqtt_login::register(
                &target,
                Some(tls),
                &creds.product_key,
                &creds.device_name,
                ps,
            )
            .map_err(|e| match e {
                MqttError::Refused(5) => Failure::Refused(format!(
                    "{e}; for a registration this also means the device is already activated, while the \
                     record in use holds only the product certificate ({}): {RESET}",
                    slots_text(active)
                )),
                other => map_mqtt(other),
            })
        }
    }
}

fn run(args: &RunArgs) -> Result<(), Failure> {
    let (mut file, part) = open(&args.part, true)?;
    let (active, mut creds, mode) = read(&file, part)?;
    if mode == Mode::Triple {
        keep_two_copies(&mut file, part, &active);
    } else {
        // Before any request: the new record must be able to follow this one.
        store::check_room(&active, part, capacity::largest_slot(&creds))
            .map_err(|e| cannot_store(e, part))?;
        let Some(ps) = creds.product_secret.clone() else {
            return Err(Failure::Record("no product_secret".into()));
        };
        creds.device_secret = Some(register(args, &active, &creds, &ps)?);
        if !creds.keep_product_secret {
            creds.product_secret = None;
        }
        let payload = creds.to_json();
        let target = active.slot.other();
        let mut last = Err(StoreError::Verify(target));
        // The secret exists only in memory now: try hard to store it.
        for _ in 0..3 {
            last = store::write_next(&mut file, part, &active, &payload);
            if last.is_ok() {
                break;
            }
        }
        let stored = last.map_err(|e| {
            Failure::Storage(format!(
                "the platform issued the DeviceSecret but it could not be stored in slot {target:?} ({e}); \
                 {}; the device must be deleted or reset in the IoT console before it can register again",
                slots_text(&active)
            ))
        })?;
        eprintln!(
            "burnline-bootstrap: registered {} and stored its triple in slot {:?}",
            creds.device_name, stored.slot
        );
        // Verified in one slot: now the other, so that both hold it.
        keep_two_copies(&mut file, part, &stored);
    }
    if let Some(path) = &args.export_env {
        handoff::export_env(path, &creds)
            .map_err(|e| Failure::Storage(format!("writing {}: {e}", path.display())))?;
    }
    if !args.exec.is_empty() {
        let e = handoff::exec(&args.exec, &creds);
        return Err(Failure::Storage(format!("starting {}: {e}", args.exec[0])));
    }
    Ok(())
}

fn status(args: &StatusArgs) -> Result<(), Failure> {
    let (file, part) = open(&args.part, false)?;
    println!("device: {}", args.part.device.display());
    println!("partition: offset {} size {}", part.offset, part.size);
    let (active, creds, mode) = read(&file, part)?;
    println!("active slot: {:?}", active.slot);
    println!("sequence: {}", active.sequence);
    println!("other slot: {}", active.other_text());
    println!("mode: {}", mode.name());
    println!("product_key: {}", creds.product_key);
    println!("device_name: {}", creds.device_name);
    if !args.check_online && !args.check_http_auth {
        return Ok(());
    }
    let Some(ds) = &creds.device_secret else {
        return Err(Failure::Record(
            "no DeviceSecret yet: run `burnline-bootstrap run` first".into(),
        ));
    };
    if args.check_online {
        let target = mqtt_target(args.mqtt.as_ref(), &creds);
        let tls = mqtt_tls(&args.platform)?;
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis().to_string())
            .unwrap_or_default();
        let region = creds
            .region
            .as_deref()
            .unwrap_or(burnline_core::registration::endpoint::DEFAULT_REGION);
        let login = MqttCredentials::derive(
            &creds.product_key,
            &creds.device_name,
            ds,
            args.platform.sign_method,
            &timestamp,
            region,
            &mqtt_login::secure_mode(&target, None),
        );
        mqtt_login::check_login(&target, Some(tls), &login).map_err(map_mqtt)?;
        println!("online: the platform accepted the MQTT login at {target}");
    }
    if args.check_http_auth {
        let mut platform = args.platform.clone();
        if platform.endpoint.is_none() && creds.endpoint.is_none() {
            let region = creds
                .region
                .as_deref()
                .unwrap_or(burnline_core::registration::endpoint::DEFAULT_REGION);
            platform.endpoint =
                Some(Endpoint::http_auth_for_region(region).map_err(|e| {
                    Failure::Record(format!("the credential record's region: {e}"))
                })?);
        }
        let (client, method) = client(&platform, &creds)?;
        client
            .authenticate(&creds.product_key, &creds.device_name, ds, method)
            .map_err(map_register)?;
        println!(
            "http auth: the triple authenticates at {}",
            client.endpoint().base()
        );
    }
    Ok(())
}
