//! [`TestCerts`]: a throwaway CA with a server certificate for `127.0.0.1` and a client
//! certificate, made with the `openssl` command in a temporary directory, for TLS tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Certificates a test made; the files live as long as this value.
#[derive(Debug)]
pub struct TestCerts {
    dir: tempfile::TempDir,
}

impl TestCerts {
    /// Makes a CA (`ca.pem`), a server certificate it signs for `127.0.0.1` and `localhost`
    /// (`server.pem`/`server.key`), a client certificate it signs (`client.pem`/`client.key`)
    /// and an unrelated CA (`other-ca.pem`). `None` after a notice (a failure when services
    /// are required) when `openssl` cannot run here.
    pub fn generate() -> Option<TestCerts> {
        let certs = TestCerts {
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        match certs.make() {
            Ok(()) => Some(certs),
            Err(e) => {
                super::unreachable("openssl", "openssl (binary)", e);
                None
            }
        }
    }

    fn make(&self) -> std::io::Result<()> {
        self.ca("ca")?;
        self.ca("other-ca")?;
        std::fs::write(
            self.path("san.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )?;
        // Extensions make X.509 v3 certificates (rustls refuses v1).
        std::fs::write(self.path("client.ext"), "extendedKeyUsage=clientAuth\n")?;
        self.signed("server", &["-extfile", "san.ext"])?;
        self.signed("client", &["-extfile", "client.ext"])
    }

    /// A self-signed CA `name.pem` with its key `name.key`.
    fn ca(&self, name: &str) -> std::io::Result<()> {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=kxy test {name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ])
    }

    /// A certificate `name.pem` (key `name.key`) signed by `ca.pem`.
    fn signed(&self, name: &str, extra: &[&str]) -> std::io::Result<()> {
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ])?;
        let mut args = vec![
            "x509",
            "-req",
            "-days",
            "2",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
        ];
        let (csr, pem) = (format!("{name}.csr"), format!("{name}.pem"));
        args.extend(["-in", &csr, "-out", &pem]);
        args.extend(extra);
        self.openssl(&args)
    }

    fn openssl(&self, args: &[&str]) -> std::io::Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "openssl {}: {}",
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// The file `name` (`ca.pem`, `server.key`, ...).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
