//! Starts a real Samba Active Directory domain controller in a temporary folder: a domain
//! provisioned with `samba-tool domain provision --use-rfc2307 --dns-backend=NONE`, seeded
//! offline with `ldbmodify` ([`super::ad_seed`]), served by `samba` in the foreground with
//! only its LDAP service, on a loopback address of its own (AD's LDAP port is fixed at 389),
//! and stopped by its pid when dropped.
//!
//! Provisioning takes seconds, so each test binary provisions once per admin password and
//! seeds once per [`Seed`]: every server starts from a copy of that template. Two servers,
//! in one test binary or in two running at once, never share an address: each holds a lock
//! file for its `127.0.0.N` while it runs.
//!
//! Needs Debian's `samba samba-ad-dc samba-ad-provision samba-dsdb-modules ldb-tools` and
//! `ldap-utils` (`scripts/test.sh` installs them); a test that needs the server fails, never
//! skips, when they are missing.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Seed;

/// The domain's naming context, which is also the base DN of the tests.
pub const AD_BASE_DN: &str = "DC=example,DC=org";
/// The domain's built-in administrator, which binds with the password given to
/// [`SambaDc::start`].
pub const AD_ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=example,DC=org";
const REALM: &str = "EXAMPLE.ORG";
const DOMAIN: &str = "EXAMPLE";
const HOST: &str = "DC1";

const INSTALL: &str = "install it with `apt-get install samba samba-ad-dc samba-ad-provision samba-dsdb-modules ldb-tools ldap-utils` (scripts/test.sh does)";

/// A running Samba AD DC, stopped and its folder removed when dropped.
pub struct SambaDc {
    child: Child,
    dir: PathBuf,
    password: String,
    /// `ldap://127.0.0.N:389`.
    pub url: String,
    /// Where it serves LDAPS (and StartTLS on `url`), when started with
    /// [`SambaDc::start_tls`].
    pub tls: Option<super::Tls>,
    /// Held while the server runs: no other server takes its address.
    _address: File,
}

/// The folders of provisioned (by admin password) and seeded (by password and seed) domains.
type Templates = HashMap<(String, Option<Seed>), PathBuf>;

/// The domains of this process, each copied for every server started from it.
static TEMPLATES: Mutex<Option<Templates>> = Mutex::new(None);

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}; {INSTALL}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    // `cp -a` keeps the ldb files' sparse layout and permissions; the domain is tens of MB.
    run(
        Command::new("cp").arg("-a").arg(from).arg(to),
        "cp -a (domain template)",
    )
}

/// Templates and servers' folders left by test processes that are gone (killed before they
/// could clean up).
fn remove_stale_templates() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix("iamsnap-samba-template-")
            .or_else(|| name.strip_prefix("iamsnap-samba-"))
        else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        // Lock files (`iamsnap-samba-127.0.0.N.lock`) name no process and stay.
        let is_pid = !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit());
        if is_pid && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The folder of a domain provisioned with `password` and holding `seed` (`None`: as
/// provisioned), made on first use.
fn template(password: &str, seed: Option<Seed>) -> Result<PathBuf, String> {
    let mut templates = TEMPLATES.lock().unwrap_or_else(|e| e.into_inner());
    let templates = templates.get_or_insert_with(HashMap::new);
    made(templates, password, seed)
}

fn made(templates: &mut Templates, password: &str, seed: Option<Seed>) -> Result<PathBuf, String> {
    let wanted = (password.to_string(), seed);
    if let Some(dir) = templates.get(&wanted) {
        return Ok(dir.clone());
    }
    // The domain a seed goes into is provisioned first.
    let provisioned = match seed {
        Some(_) => Some(made(templates, password, None)?),
        None => None,
    };
    let dir = std::env::temp_dir().join(format!(
        "iamsnap-samba-template-{}-{}",
        std::process::id(),
        templates.len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    match (seed, provisioned) {
        (Some(seed), Some(provisioned)) => {
            copy_dir(&provisioned, &dir)?;
            let ldif = dir.join("seed.ldif");
            let file = File::create(&ldif).map_err(|e| e.to_string())?;
            let mut out = std::io::BufWriter::new(file);
            super::ad_seed::write(&seed, &mut out).map_err(|e| e.to_string())?;
            drop(out);
            run(
                Command::new("ldbmodify")
                    .arg("-H")
                    .arg(dir.join("private/sam.ldb"))
                    .arg(&ldif),
                "ldbmodify (seeding the domain)",
            )?;
        }
        _ => {
            remove_stale_templates();
            provision(password, &dir)?;
        }
    }
    templates.insert(wanted, dir.clone());
    Ok(dir)
}

/// Provisions a domain into `dir`.
fn provision(password: &str, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run(
        Command::new("samba-tool")
            .args(["domain", "provision", "--use-rfc2307", "--dns-backend=NONE"])
            .args(["--server-role=dc", "--host-name", HOST])
            .arg(format!("--targetdir={}", dir.display()))
            .arg(format!("--realm={REALM}"))
            .arg(format!("--domain={DOMAIN}"))
            .arg(format!("--adminpass={password}"))
            // The provision's own smb.conf is replaced at start; these keep it from probing
            // the machine's interfaces.
            .args([
                "--option=interfaces=127.0.0.2/8",
                "--option=bind interfaces only=yes",
            ]),
        "samba-tool domain provision",
    )
}

/// A loopback address no other server holds, with the lock file that holds it.
fn free_address() -> Result<(String, File), String> {
    for n in 2..=254u8 {
        let address = format!("127.0.0.{n}");
        let path = std::env::temp_dir().join(format!("iamsnap-samba-{address}.lock"));
        let Ok(file) = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        else {
            continue;
        };
        // Held until the file is closed, and released by the kernel when a test process dies.
        if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            continue;
        }
        // Something outside the test kit may serve there already.
        if std::net::TcpListener::bind((address.as_str(), 389)).is_ok() {
            return Ok((address, file));
        }
    }
    Err("no loopback address 127.0.0.2–254 has port 389 free".into())
}

fn smb_conf(dir: &Path, address: &str, tls: bool) -> String {
    let d = dir.display();
    let tls = if tls {
        format!(
            "tls enabled = yes\n\ttls keyfile = {d}/tls/server.key\n\ttls certfile = {d}/tls/server.pem\n\ttls cafile = {d}/tls/ca.pem"
        )
    } else {
        "tls enabled = no".to_string()
    };
    format!(
        r#"[global]
	netbios name = {HOST}
	realm = {REALM}
	workgroup = {DOMAIN}
	server role = active directory domain controller
	server services = ldap
	interfaces = {address}/8
	bind interfaces only = yes
	ldap server require strong auth = no
	{tls}
	private dir = {d}/private
	state directory = {d}/state
	cache directory = {d}/cache
	lock directory = {d}
	pid directory = {d}
	ncalrpc dir = {d}/ncalrpc
	binddns dir = {d}/bind-dns
	winbindd socket directory = {d}/winbindd
	log file = {d}/log.samba
	idmap_ldb:use rfc2307 = yes
"#
    )
}

impl SambaDc {
    /// Starts a domain controller holding `seed` (the domain as provisioned when `seed` is
    /// [`Seed::EMPTY`], its RIDs drawn from [`super::ad_seed::EMPTY_DOMAIN_RIDS`] up), the administrator binding with `admin_password` (which must meet
    /// AD's complexity rules: three of upper case, lower case, digits and symbols).
    pub fn start(admin_password: &str, seed: &Seed) -> Result<SambaDc, String> {
        SambaDc::launch(admin_password, seed, false)
    }

    /// As [`SambaDc::start`], also serving LDAPS on port 636 and StartTLS on port 389, with a
    /// certificate for its address signed by a certificate authority made for it with
    /// `openssl` (Samba's own self-signed one names the host, not the loopback address a
    /// client connects to).
    pub fn start_tls(admin_password: &str, seed: &Seed) -> Result<SambaDc, String> {
        SambaDc::launch(admin_password, seed, true)
    }

    fn launch(admin_password: &str, seed: &Seed, tls: bool) -> Result<SambaDc, String> {
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let template = template(admin_password, Some(*seed))?;
        let dir = std::env::temp_dir().join(format!(
            "iamsnap-samba-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&template, &dir)?;
        let (address, lock) = free_address()?;
        let conf = dir.join("etc/smb.conf");
        std::fs::write(&conf, smb_conf(&dir, &address, tls)).map_err(|e| e.to_string())?;
        let tls = if tls {
            let certs = dir.join("tls");
            std::fs::create_dir_all(&certs).map_err(|e| e.to_string())?;
            super::make_certificates(&certs, &address)?;
            Some(super::Tls {
                ldaps_url: format!("ldaps://{address}:636"),
                ca_file: certs.join("ca.pem"),
            })
        } else {
            None
        };
        // Simple binds in clear text suffice on loopback, and with TLS off no start spends
        // seconds making keys. `-i`: in the foreground, so that its pid is the child's; one process serves all.
        let child = Command::new("samba")
            .args(["-i", "-M", "single", "-s"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start samba: {e}; {INSTALL}"))?;
        let mut dc = SambaDc {
            child,
            dir,
            password: admin_password.to_string(),
            url: format!("ldap://{address}:389"),
            tls,
            _address: lock,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = dc.child.try_wait() {
                return Err(format!(
                    "samba exited with {status} before serving LDAP on {address} (see {})",
                    dc.dir.join("log.samba").display()
                ));
            }
            if std::net::TcpStream::connect((address.as_str(), 389)).is_ok()
                && dc
                    .client("ldapsearch", &["-s", "base", "-b", "", "1.1"], None)
                    .is_ok()
            {
                return Ok(dc);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "samba did not accept a bind on {address} within 60 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The folder the domain controller runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// samba's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs an ldap-utils program as the administrator against this server.
    fn client(&self, name: &str, args: &[&str], input: Option<&str>) -> Result<String, String> {
        super::client(&self.url, AD_ADMIN_DN, &self.password, name, args, input)
    }

    /// Adds a plain domain user `name` (a member of Domain Users only) with `password`, which
    /// must meet AD's complexity rules: its DN. Made with `samba-tool` on the domain's database
    /// beside the running server, which sets the password without a TLS connection.
    pub fn add_user(&self, name: &str, password: &str) -> Result<String, String> {
        run(
            Command::new("samba-tool")
                .args(["user", "create", name, password, "-H"])
                .arg(self.dir.join("private/sam.ldb"))
                .arg("-s")
                .arg(self.dir.join("etc/smb.conf")),
            "samba-tool user create",
        )?;
        Ok(format!("CN={name},CN=Users,{AD_BASE_DN}"))
    }

    /// Applies LDIF change records with `ldapmodify`; `controls` are `-e` extensions such as
    /// `!1.2.840.113556.1.4.417` (show deleted objects).
    pub fn modify(&self, ldif: &str) -> Result<(), String> {
        self.client("ldapmodify", &[], Some(ldif)).map(|_| ())
    }

    /// Deletes `dn` and everything below it with `ldapdelete -r`.
    pub fn delete_tree(&self, dn: &str) -> Result<(), String> {
        self.client("ldapdelete", &["-r", dn], None).map(|_| ())
    }

    /// `ldapsearch -LLL` of the subtree at `base`: the LDIF text.
    pub fn search(&self, base: &str, filter: &str, attrs: &[&str]) -> Result<String, String> {
        let mut args = vec!["-LLL", "-o", "ldif-wrap=no", "-b", base, filter];
        args.extend_from_slice(attrs);
        self.client("ldapsearch", &args, None)
    }

    /// As [`SambaDc::search`], deleted objects (in `CN=Deleted Objects`) included.
    pub fn search_deleted(
        &self,
        base: &str,
        filter: &str,
        attrs: &[&str],
    ) -> Result<String, String> {
        let mut args = vec![
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-E",
            "!1.2.840.113556.1.4.417",
            "-b",
            base,
            filter,
        ];
        args.extend_from_slice(attrs);
        self.client("ldapsearch", &args, None)
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
