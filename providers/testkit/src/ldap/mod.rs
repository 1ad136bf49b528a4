//! Starts a real OpenLDAP `slapd` in a temporary folder for the LDAP connector's tests, the
//! quickstart and benchmarks: a generated `slapd.conf` (mdb backend, memberof and refint
//! overlays, a root DN with a password), the directory loaded with `slapadd` from a seed
//! ([`seed`]), served on a free loopback port; stopped by its pid when dropped. [`samba`] does
//! the same for a Samba Active Directory domain controller, seeded from [`ad_seed`].
//!
//! Needs Debian's `slapd` and `ldap-utils` (`scripts/test.sh` installs them); a test that
//! needs the server fails, never skips, when they are missing.

pub mod ad_seed;
pub mod samba;
pub mod seed;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use samba::{AD_ADMIN_DN, AD_BASE_DN, SambaDc};
pub use seed::Seed;

/// The suffix of every directory the test kit starts.
pub const BASE_DN: &str = "dc=example,dc=org";
/// The root DN, which binds with the password given to [`Slapd::start`].
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";

/// A running slapd, stopped and its folder removed when dropped.
pub struct Slapd {
    child: Child,
    dir: PathBuf,
    /// slapd's `-h` argument: the URLs it listens on.
    listen: String,
    password: String,
    /// `ldap://127.0.0.1:PORT`.
    pub url: String,
    pub port: u16,
    /// Where it serves LDAPS, when started with [`Slapd::start_tls`].
    pub tls: Option<Tls>,
}

/// The TLS side of a slapd: its `ldaps://` URL and the certificate authority that signed its
/// certificate (for `127.0.0.1` and `localhost`), made with `openssl` for this server alone.
pub struct Tls {
    pub ldaps_url: String,
    pub ca_file: PathBuf,
}

/// A program of the slapd package: `$IAMSNAP_<NAME>` when set, else `/usr/sbin/<name>` where
/// Debian installs it, else whatever `PATH` finds.
fn program(name: &str) -> String {
    if let Ok(p) = std::env::var(format!("IAMSNAP_{}", name.to_uppercase())) {
        return p;
    }
    let sbin = Path::new("/usr/sbin").join(name);
    if sbin.exists() {
        sbin.display().to_string()
    } else {
        name.to_string()
    }
}

const INSTALL: &str = "install it with `apt-get install slapd ldap-utils` (scripts/test.sh does)";

impl Slapd {
    /// Starts a directory holding `seed` (the base entry alone when `seed` has nothing to
    /// make), the root DN binding with `root_password`.
    pub fn start(root_password: &str, seed: &Seed) -> Result<Slapd, String> {
        Slapd::launch(root_password, seed, false)
    }

    /// As [`Slapd::start`], also serving StartTLS on its `ldap://` port and LDAPS on a second
    /// port, with a certificate signed by a certificate authority made for it.
    pub fn start_tls(root_password: &str, seed: &Seed) -> Result<Slapd, String> {
        Slapd::launch(root_password, seed, true)
    }

    fn launch(root_password: &str, seed: &Seed, tls: bool) -> Result<Slapd, String> {
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "iamsnap-slapd-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("db")).map_err(|e| format!("{}: {e}", dir.display()))?;
        let conf = dir.join("slapd.conf");
        let mut text = slapd_conf(&dir, root_password);
        if tls {
            make_certificates(&dir, "127.0.0.1")?;
            let d = dir.display();
            text = format!(
                "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n{text}"
            );
        }
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        let ldif = dir.join("seed.ldif");
        let file = std::fs::File::create(&ldif).map_err(|e| e.to_string())?;
        let mut out = std::io::BufWriter::new(file);
        seed.write(&mut out).map_err(|e| e.to_string())?;
        drop(out);
        let loaded = Command::new(program("slapadd"))
            .args(["-q", "-f"])
            .arg(&conf)
            .arg("-l")
            .arg(&ldif)
            .output()
            .map_err(|e| format!("cannot run slapadd: {e}; {INSTALL}"))?;
        if !loaded.status.success() {
            return Err(format!(
                "slapadd failed: {}",
                String::from_utf8_lossy(&loaded.stderr)
            ));
        }
        let port = crate::moto::free_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let mut listen = format!("{url}/");
        let tls = tls.then(|| {
            let ldaps_port = crate::moto::free_port();
            let ldaps_url = format!("ldaps://127.0.0.1:{ldaps_port}");
            listen.push_str(&format!(" {ldaps_url}/"));
            Tls {
                ldaps_url,
                ca_file: dir.join("ca.pem"),
            }
        });
        let child = serve(&conf, &listen, port).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })?;
        Ok(Slapd {
            child,
            dir,
            listen,
            password: root_password.to_string(),
            url,
            port,
            tls,
        })
    }

    /// Kills slapd as a crash would (`SIGKILL`), keeping its folder, database and ports for
    /// [`Slapd::restart`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts slapd again after [`Slapd::stop`], on the same ports and database.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.child = serve(&self.dir.join("slapd.conf"), &self.listen, self.port)?;
        Ok(())
    }

    /// The folder slapd runs in (its configuration, database and seed).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// slapd's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs an ldap-utils program as the root DN against this server.
    fn client(&self, name: &str, args: &[&str], input: Option<&str>) -> Result<String, String> {
        client(&self.url, ROOT_DN, &self.password, name, args, input)
    }

    /// Applies LDIF change records (`changetype: modify`, `modrdn`, `delete`) with
    /// `ldapmodify`.
    pub fn modify(&self, ldif: &str) -> Result<(), String> {
        self.client("ldapmodify", &[], Some(ldif)).map(|_| ())
    }

    /// Deletes `dn` and everything below it with `ldapdelete -r`.
    pub fn delete_tree(&self, dn: &str) -> Result<(), String> {
        self.client("ldapdelete", &["-r", dn], None).map(|_| ())
    }

    /// Waits until the refint overlay has done everything queued before this call, at most
    /// `limit`: it works through deletes and renames in order, in a thread of its own, so
    /// once it took a probe entry deleted now out of a probe group, it is done with earlier
    /// ones. The probes are removed.
    pub fn wait_for_refint(&self, limit: Duration) -> Result<(), String> {
        let group = format!("cn=refint-probe,{BASE_DN}");
        let member = format!("cn=refint-probe-member,{BASE_DN}");
        self.modify(&format!(
            "dn: {member}\nchangetype: add\nobjectClass: applicationProcess\ncn: refint-probe-member\n\n\
             dn: {group}\nchangetype: add\nobjectClass: groupOfNames\ncn: refint-probe\nmember: {group}\nmember: {member}\n\n\
             dn: {member}\nchangetype: delete\n"
        ))?;
        let deadline = Instant::now() + limit;
        while self
            .search(&group, "(objectClass=*)", &["member"])?
            .to_lowercase()
            .contains(&member)
        {
            if Instant::now() > deadline {
                return Err(format!("refint was still busy after {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.modify(&format!("dn: {group}\nchangetype: delete\n"))
    }

    /// `ldapsearch -LLL` of the subtree at `base`: the LDIF text.
    pub fn search(&self, base: &str, filter: &str, attrs: &[&str]) -> Result<String, String> {
        let mut args = vec!["-LLL", "-o", "ldif-wrap=no", "-b", base, filter];
        args.extend_from_slice(attrs);
        self.client("ldapsearch", &args, None)
    }
}

/// Starts slapd with `conf`, listening on `listen`, and waits until `port` takes connections.
fn serve(conf: &Path, listen: &str, port: u16) -> Result<Child, String> {
    // `-d 0` keeps slapd in the foreground, so that its pid is the child's.
    let mut child = Command::new(program("slapd"))
        .arg("-f")
        .arg(conf)
        .args(["-h", listen, "-d", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start slapd: {e}; {INSTALL}"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "slapd exited with {status} before listening on {port}"
            ));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("slapd did not listen on port {port} within 20 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(child)
}

/// Runs the ldap-utils program `name` against `url`, bound as `bind_dn`: its standard output.
fn client(
    url: &str,
    bind_dn: &str,
    password: &str,
    name: &str,
    args: &[&str],
    input: Option<&str>,
) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new(name)
        .args(["-x", "-H", url, "-D", bind_dn, "-w", password])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {name}: {e}; {INSTALL}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{name} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A certificate authority (`ca.pem`) and a server certificate it signs for `address` and
/// `localhost` (`server.pem`, `server.key`, readable by its owner alone), in `dir`.
pub(crate) fn make_certificates(dir: &Path, address: &str) -> Result<(), String> {
    let openssl = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("cannot run openssl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    std::fs::write(
        dir.join("server.ext"),
        format!("subjectAltName=IP:{address},DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"),
    )
    .map_err(|e| e.to_string())?;
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=iamsnap test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ])?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])?;
    // Samba refuses a key file others can read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .map_err(|e| e.to_string())
}

/// The configuration: the schemas users and groups need, the mdb database under `dir`, the
/// memberof overlay (which maintains `memberOf` on members) and refint (which removes a
/// deleted or renamed entry from the groups naming it), as directories in production have.
fn slapd_conf(dir: &Path, root_password: &str) -> String {
    let dir = dir.display();
    format!(
        r#"include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
sizelimit unlimited
database mdb
maxsize 4294967296
suffix "{BASE_DN}"
rootdn "{ROOT_DN}"
rootpw "{root_password}"
directory {dir}/db
index objectClass eq
index entryUUID eq
index member,uniqueMember,memberUid eq
overlay memberof
overlay refint
refint_attributes member uniqueMember
"#
    )
}
