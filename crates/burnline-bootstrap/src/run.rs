//! `burnline-bootstrap run` and `status`: the boot-time flow of the seed's
//! bootstrap program (引导程序).
//!
//! `run`: read the active record and check it. A full triple is ready: no
//! network at all. A product certificate registers once (the same client as
//! `burnline register`), and the triple is stored in the other slot, synced
//! and read back before anything else uses the secret.

use super::exit::Failure;
use super::handoff;
use super::store::{self, Partition, StoreError};
use super::validate::{self, Mode};
use crate::cmdline::{
    BootstrapCli, BootstrapCommand, PartitionArgs, PlatformArgs, RunArgs, StatusArgs,
};
use burnline_core::credentials::capacity;
use burnline_core::credentials::locate::{self, LocateError, Where};
use burnline_core::credentials::payload::Credentials;
use burnline_core::identity::rules::DEVICE_SECRET_MAX;
use burnline_core::registration::client::{Client, ClientOptions};
use burnline_core::registration::endpoint::Endpoint;
use burnline_core::registration::error::RegisterError;
use burnline_core::registration::sign::SignMethod;
use burnline_core::table::TableError;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};

/// Runs the bootstrap with `args` and returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli: BootstrapCli = match burnline_core::cli::parse(args) {
        Ok(c) => c,
        Err(code) => return code,
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
    let active = store::read_active(file, part).map_err(|e| match e {
        StoreError::Io(e) => Failure::Storage(format!("reading the record: {e}")),
        other => Failure::Record(other.to_string()),
    })?;
    let creds = Credentials::from_json(&active.payload).map_err(Failure::Record)?;
    let mode = validate::check(&creds).map_err(Failure::Record)?;
    Ok((active, creds, mode))
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
        RegisterError::Refused { code: 6289, .. } => Failure::Refused(
            "the platform says this device is already activated (6289), and no slot holds a DeviceSecret: \
             delete the device in the IoT console (this needs a phone verification), then boot again to register it anew"
                .into(),
        ),
        e @ RegisterError::Refused { .. } => Failure::Refused(e.to_string()),
        e @ (RegisterError::Transport { .. } | RegisterError::BadResponse { .. }) => Failure::Network(e.to_string()),
        e @ (RegisterError::Endpoint(_) | RegisterError::Input(_)) => Failure::Record(e.to_string()),
    }
}

fn run(args: &RunArgs) -> Result<(), Failure> {
    let (mut file, part) = open(&args.part, true)?;
    let (active, mut creds, mode) = read(&file, part)?;
    if mode == Mode::ProductCertificate {
        // Before any request: the new record must be able to follow this one.
        store::check_room(&active, part, capacity::largest_slot(&creds))
            .map_err(|e| cannot_store(e, part))?;
        let (client, method) = client(&args.platform, &creds)?;
        let Some(ps) = creds.product_secret.clone() else {
            return Err(Failure::Record("no product_secret".into()));
        };
        let got = client
            .register(&creds.product_key, &creds.device_name, &ps, method)
            .map_err(map_register)?;
        creds.device_secret = Some(got.device_secret);
        if !creds.keep_product_secret {
            creds.product_secret = None;
        }
        let payload = creds.to_json();
        let mut last = None;
        // The secret exists only in memory now: try hard to store it.
        for _ in 0..3 {
            match store::write_next(&mut file, part, &payload) {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(Failure::Storage(format!(
                "the platform issued the DeviceSecret but it could not be stored ({e}); \
                 the device must be deleted in the IoT console before it can register again"
            )));
        }
        eprintln!(
            "burnline-bootstrap: registered {} and stored its triple",
            creds.device_name
        );
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
    println!("mode: {}", mode.name());
    println!("product_key: {}", creds.product_key);
    println!("device_name: {}", creds.device_name);
    if args.check_online {
        let Some(ds) = &creds.device_secret else {
            return Err(Failure::Record(
                "no DeviceSecret yet: run `burnline-bootstrap run` first".into(),
            ));
        };
        let (client, method) = client(&args.platform, &creds)?;
        client
            .authenticate(&creds.product_key, &creds.device_name, ds, method)
            .map_err(map_register)?;
        println!(
            "online: the triple authenticates at {}",
            client.endpoint().base()
        );
    }
    Ok(())
}
