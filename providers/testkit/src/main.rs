//! `iamsnap-testkit`: runs an emulated identity provider as a local server.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use iamsnap_testkit::okta::OktaEmulator;

#[derive(Parser)]
#[command(
    name = "iamsnap-testkit",
    version,
    about = "Emulated identity providers for iamsnap"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve an emulated Okta org (Management API) on 127.0.0.1.
    Okta(OktaArgs),
    /// Serve an emulated Microsoft Entra ID tenant (Microsoft Graph v1.0 and its token
    /// endpoint) on 127.0.0.1.
    Entra(EntraArgs),
    /// Serve an emulated Azure tenant (Azure Resource Manager's role-based access control and
    /// the token endpoint) on 127.0.0.1.
    Azure(AzureArgs),
    /// Serve an emulated Google Cloud organization (the OAuth token endpoint and Resource
    /// Manager v3 with IAM policies) on 127.0.0.1.
    Gcp(GcpArgs),
    /// Start a real directory server in a temporary folder, seeded: OpenLDAP's slapd on
    /// 127.0.0.1, or a Samba Active Directory domain controller on a 127.0.0.N of its own.
    Ldap(LdapArgs),
}

#[derive(clap::Args)]
struct LdapArgs {
    /// The directory server: openldap (slapd) or ad (Samba AD DC).
    #[arg(long, default_value = "openldap", value_parser = ["openldap", "ad"])]
    flavor: String,
    /// The root DN's password (the domain administrator's for ad: three of upper case,
    /// lower case, digits and symbols).
    #[arg(long, env = "IAMSNAP_TESTKIT_PASSWORD")]
    password: String,
    /// Users to seed.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Groups to seed.
    #[arg(long, default_value_t = 20)]
    groups: usize,
    /// Organizational units the users are spread over.
    #[arg(long, default_value_t = 5)]
    ous: usize,
    /// Seed of the generator: the same seed gives the same directory.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

async fn serve_ldap(args: LdapArgs) -> ExitCode {
    let seed = iamsnap_testkit::ldap::Seed {
        users: args.users,
        groups: args.groups,
        ous: args.ous,
        seed: args.seed,
    };
    let started = if args.flavor == "ad" {
        iamsnap_testkit::ldap::SambaDc::start(&args.password, &seed).map(|dc| {
            let line = format!(
                "listening on {} (base {}, bind as {}, pid {})",
                dc.url,
                iamsnap_testkit::ldap::AD_BASE_DN,
                iamsnap_testkit::ldap::AD_ADMIN_DN,
                dc.pid()
            );
            (Box::new(dc) as Box<dyn std::any::Any>, line)
        })
    } else {
        iamsnap_testkit::ldap::Slapd::start(&args.password, &seed).map(|slapd| {
            let line = format!(
                "listening on {} (base {}, bind as {}, pid {})",
                slapd.url,
                iamsnap_testkit::ldap::BASE_DN,
                iamsnap_testkit::ldap::ROOT_DN,
                slapd.pid()
            );
            (Box::new(slapd) as Box<dyn std::any::Any>, line)
        })
    };
    let (server, line) = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("iamsnap-testkit: cannot start {}: {e}", args.flavor);
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
    // The server runs as a child process: it is stopped on Ctrl-C and on SIGTERM (`kill`,
    // `timeout`) alike, never left running without its folder.
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    drop(server);
    ExitCode::SUCCESS
}

#[derive(clap::Args)]
struct EntraArgs {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Tenant id token requests must name (`/{tenant}/oauth2/v2.0/token`).
    #[arg(long, default_value = "contoso")]
    tenant: String,
    /// Application (client) id of the client allowed to request tokens.
    #[arg(long)]
    client_id: String,
    /// Its client secret.
    #[arg(long, env = "IAMSNAP_TESTKIT_CLIENT_SECRET")]
    client_secret: String,
    /// Users to seed.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Groups to seed.
    #[arg(long, default_value_t = 20)]
    groups: usize,
    /// Applications (each with its service principal) to seed.
    #[arg(long, default_value_t = 8)]
    apps: usize,
    /// Conditional access policies to seed.
    #[arg(long, default_value_t = 8)]
    policies: usize,
    /// Seed of the generator: the same seed gives the same tenant.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Graph requests allowed per minute (batch items counted one by one), answered with 429
    /// and Retry-After beyond (default: unlimited).
    #[arg(long, value_name = "REQUESTS_PER_MINUTE")]
    rate_limit: Option<u64>,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

async fn serve_entra(args: EntraArgs) -> ExitCode {
    let mut emulator = iamsnap_testkit::entra::EntraEmulator::builder()
        .port(args.port)
        .tenant(args.tenant)
        .client(args.client_id, args.client_secret)
        .users(args.users)
        .groups(args.groups)
        .apps(args.apps)
        .policies(args.policies)
        .seed(args.seed)
        .latency(Duration::from_millis(args.latency_ms));
    if let Some(limit) = args.rate_limit {
        emulator = emulator.rate_limit(limit, Duration::from_secs(60));
    }
    let running = match started("Entra", emulator.start().await) {
        Ok(running) => running,
        Err(code) => return code,
    };
    let url = running.base_url().to_string();
    serve_until_stopped(&url, running.wait()).await
}

#[derive(clap::Args)]
struct AzureArgs {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Tenant id token requests must name (`/{tenant}/oauth2/v2.0/token`).
    #[arg(long, default_value = "contoso")]
    tenant: String,
    /// Application (client) id of the client allowed to request tokens.
    #[arg(long)]
    client_id: String,
    /// Its client secret.
    #[arg(long, env = "IAMSNAP_TESTKIT_CLIENT_SECRET")]
    client_secret: String,
    /// Subscriptions to seed.
    #[arg(long, default_value_t = 3)]
    subscriptions: usize,
    /// Resource groups to seed, spread over the subscriptions.
    #[arg(long, default_value_t = 30)]
    resource_groups: usize,
    /// Role assignments to seed.
    #[arg(long, default_value_t = 500)]
    assignments: usize,
    /// Custom role definitions to seed.
    #[arg(long, default_value_t = 10)]
    custom_roles: usize,
    /// Management locks to seed.
    #[arg(long, default_value_t = 12)]
    locks: usize,
    /// Management groups to seed below the tenant root group (0: none, no root group either).
    #[arg(long, default_value_t = 0)]
    management_groups: usize,
    /// Seed of the generator: the same seed gives the same tenant.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// ARM requests allowed per minute, answered with 429 and Retry-After beyond (default:
    /// unlimited).
    #[arg(long, value_name = "REQUESTS_PER_MINUTE")]
    rate_limit: Option<u64>,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// A running Entra emulator of the same tenant and client (`iamsnap-testkit entra`): the
    /// assignments name its principals, and a new assignment's principal is checked there.
    #[arg(long, value_name = "URL")]
    entra_url: Option<String>,
}

async fn serve_azure(args: AzureArgs) -> ExitCode {
    let mut emulator = iamsnap_testkit::azure::AzureEmulator::builder()
        .port(args.port)
        .tenant(args.tenant)
        .client(args.client_id, args.client_secret)
        .subscriptions(args.subscriptions)
        .resource_groups(args.resource_groups)
        .assignments(args.assignments)
        .custom_roles(args.custom_roles)
        .locks(args.locks)
        .management_groups(args.management_groups)
        .seed(args.seed)
        .latency(Duration::from_millis(args.latency_ms));
    if let Some(limit) = args.rate_limit {
        emulator = emulator.rate_limit(limit, Duration::from_secs(60));
    }
    if let Some(url) = args.entra_url {
        emulator = emulator.entra(url);
    }
    let running = match started("Azure", emulator.start().await) {
        Ok(running) => running,
        Err(code) => return code,
    };
    let url = running.base_url().to_string();
    serve_until_stopped(&url, running.wait()).await
}

#[derive(clap::Args)]
struct GcpArgs {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The organization's numeric id.
    #[arg(long, default_value = "123456789012")]
    org: String,
    /// Folders to seed under the organization.
    #[arg(long, default_value_t = 3)]
    folders: usize,
    /// Projects to seed, spread over the folders.
    #[arg(long, default_value_t = 10)]
    projects: usize,
    /// Service accounts named in the projects' bindings.
    #[arg(long, default_value_t = 30)]
    service_accounts: usize,
    /// Custom roles, in the organization and the projects, each granted to a group.
    #[arg(long, default_value_t = 10)]
    custom_roles: usize,
    /// IAM v2 deny policies, on the organization, then the folders, then the projects.
    #[arg(long, default_value_t = 3)]
    deny_policies: usize,
    /// Seed of the generator: the same seed gives the same organization.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the service account key (JSON) the token endpoint accepts to this file.
    #[arg(long, value_name = "FILE")]
    write_key: Option<std::path::PathBuf>,
    /// API requests allowed per minute, answered with 429 and Retry-After beyond (Resource
    /// Manager's, and IAM's unless --iam-rate-limit is given; Google's defaults: 600 and 6000).
    #[arg(long, value_name = "REQUESTS_PER_MINUTE")]
    rate_limit: Option<u64>,
    /// IAM requests allowed per minute, counted apart from Resource Manager's.
    #[arg(long, value_name = "REQUESTS_PER_MINUTE")]
    iam_rate_limit: Option<u64>,
}

async fn serve_gcp(args: GcpArgs) -> ExitCode {
    let mut emulator = iamsnap_testkit::gcp::GcpEmulator::builder()
        .port(args.port)
        .org(args.org)
        .folders(args.folders)
        .projects(args.projects)
        .service_accounts(args.service_accounts)
        .custom_roles(args.custom_roles)
        .deny_policies(args.deny_policies)
        .seed(args.seed);
    if let Some(limit) = args.rate_limit {
        emulator = emulator.rate_limit(limit, Duration::from_secs(60));
    }
    if let Some(limit) = args.iam_rate_limit {
        emulator = emulator.iam_rate_limit(limit, Duration::from_secs(60));
    }
    let running = match started("Google Cloud", emulator.start().await) {
        Ok(running) => running,
        Err(code) => return code,
    };
    if let Some(path) = &args.write_key {
        let text = serde_json::to_string_pretty(&running.key_file()).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("iamsnap-testkit: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let url = running.base_url().to_string();
    serve_until_stopped(&url, running.wait()).await
}

#[derive(clap::Args)]
struct OktaArgs {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// API token clients must send as `Authorization: SSWS <token>`.
    #[arg(long, env = "IAMSNAP_TESTKIT_TOKEN")]
    token: String,
    /// Users to seed (exactly this many).
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Groups to seed, the built-in Everyone group included.
    #[arg(long, default_value_t = 20)]
    groups: usize,
    /// Apps to seed.
    #[arg(long, default_value_t = 8)]
    apps: usize,
    /// Seed of the generator: the same seed gives the same org.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Requests allowed per minute on each endpoint, answered with 429 beyond (default: unlimited).
    #[arg(long, value_name = "REQUESTS_PER_MINUTE")]
    rate_limit: Option<u64>,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// How long a member added to a group stays out of the group's member list after the 204
    /// of the add, in milliseconds (Okta's reads lag its writes for a short while).
    #[arg(long, default_value_t = 0)]
    consistency_delay_ms: u64,
}

/// The started emulator, or the exit code after saying why `name`'s emulator did not start.
fn started<R, E: std::fmt::Display>(name: &str, start: Result<R, E>) -> Result<R, ExitCode> {
    start.map_err(|e| {
        eprintln!("iamsnap-testkit: cannot start the {name} emulator: {e}");
        ExitCode::from(2)
    })
}

/// Says where the emulator listens (scripts wait for this line), then serves until Ctrl-C or
/// until the emulator ends.
async fn serve_until_stopped(url: &str, served: impl std::future::Future<Output = ()>) -> ExitCode {
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {url}");
    let _ = stdout.flush();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = served => {}
    }
    ExitCode::SUCCESS
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Entra(args) => serve_entra(args).await,
        Command::Azure(args) => serve_azure(args).await,
        Command::Gcp(args) => serve_gcp(args).await,
        Command::Ldap(args) => serve_ldap(args).await,
        Command::Okta(args) => {
            let mut emulator = OktaEmulator::builder()
                .port(args.port)
                .token(args.token)
                .users(args.users)
                .groups(args.groups)
                .apps(args.apps)
                .seed(args.seed)
                .latency(Duration::from_millis(args.latency_ms))
                .consistency_delay(Duration::from_millis(args.consistency_delay_ms));
            if let Some(limit) = args.rate_limit {
                emulator = emulator.rate_limit(limit, Duration::from_secs(60));
            }
            let running = match started("Okta", emulator.start().await) {
                Ok(running) => running,
                Err(code) => return code,
            };
            let url = running.base_url().to_string();
            serve_until_stopped(&url, running.wait()).await
        }
    }
}
