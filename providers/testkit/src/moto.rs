//! Starts moto's server (`moto_server`, from the `moto[server]` Python package) on a free
//! loopback port for tests of the AWS connectors and the S3 repository.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The additions to moto's server for IAM Identity Center, run with `python3 -c`.
const IDENTITY_CENTER: &str = include_str!("moto_identity_center.py");

/// A running moto server, stopped when dropped.
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

impl MotoServer {
    /// Starts `moto_server` and waits until it answers. Panics with an install hint when the
    /// program is missing: tests that need it must fail, not skip.
    pub fn start() -> MotoServer {
        MotoServer::start_with_env(&[])
    }

    /// Starts `moto_server` with AWS-managed IAM policies loaded, which moto leaves out unless
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES` is set in its environment.
    pub fn start_with_managed_policies() -> MotoServer {
        MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
    }

    /// Starts moto's server with the IAM Identity Center operations moto lacks added from the
    /// sso-admin and identitystore API references (`moto_identity_center.py`): permission set
    /// tags and boundaries, `UpdateUser`, `UpdateGroup`, and provisioning that follows
    /// account assignments. Runs the Python that has moto (`IAMSNAP_MOTO_PYTHON`, else
    /// `python3`).
    pub fn start_identity_center() -> MotoServer {
        let python = std::env::var("IAMSNAP_MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
        MotoServer::spawn(&python, &["-c", IDENTITY_CENTER], &[])
    }

    /// Starts moto's server with both of the above: the Identity Center additions and the
    /// AWS-managed IAM policies, so that one account holds an organization, an Identity Center
    /// instance and IAM, as a management account does.
    pub fn start_aws_estate() -> MotoServer {
        let python = std::env::var("IAMSNAP_MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
        MotoServer::spawn(
            &python,
            &["-c", IDENTITY_CENTER],
            &[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")],
        )
    }

    fn start_with_env(env: &[(&str, &str)]) -> MotoServer {
        let program = std::env::var("IAMSNAP_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        MotoServer::spawn(&program, &[], env)
    }

    fn spawn(program: &str, args: &[&str], env: &[(&str, &str)]) -> MotoServer {
        let port = free_port();
        let child = Command::new(program)
            .args(args)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program}: {e}; install it with `pip install 'moto[server]'`")
            });
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        MotoServer { child, endpoint }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
