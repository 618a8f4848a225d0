//! Issue 13, item 6: the embedded Postgres that `ops/run.sh` starts keeps real data safe by
//! default. A fresh cluster made by `ops/lib.sh ensure_postgres` (in a scratch
//! RESONANTGEN_LOCAL_DIR, on a free port) runs with fsync on, listens on loopback only,
//! refuses connections without its generated password (which sits in a 0600 file), keeps its
//! socket in a private folder, and trusts nobody in pg_hba.conf. Before the fix the cluster
//! ran with fsync=off and trust auth for every local user as superuser.
//!
//! Needs the Postgres server binaries (ops/lib.sh finds them as ops/test.sh does).

use resonantgen_e2e::free_port;
use sqlx::Connection;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `script` with ops/lib.sh sourced and the scratch folder as .local; returns stdout.
fn lib_sh(local: &Path, port: u16, script: &str) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail; source ops/lib.sh; {script}"))
        .current_dir(root())
        .env("RESONANTGEN_LOCAL_DIR", local)
        .env("RESONANTGEN_PG_PORT", port.to_string())
        .env_remove("DATABASE_URL")
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{script}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Stops the scratch cluster however the test ends.
struct Cluster {
    local: tempfile::TempDir,
    port: u16,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.local.path().join("pg/data");
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source ops/lib.sh; pg_as_owner \"$(pg_bin)/pg_ctl\" -D '{}' -m immediate stop",
                data.display()
            ))
            .current_dir(root())
            .env("RESONANTGEN_LOCAL_DIR", self.local.path())
            .output();
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_cluster_is_durable_and_needs_its_password() {
    let local = tempfile::tempdir().unwrap();
    // The cluster runs as the `postgres` user when the tests run as root: let it in.
    std::fs::set_permissions(local.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cluster = Cluster {
        local,
        port: free_port().unwrap(),
    };
    let dir = cluster.local.path().join("pg");
    let url = lib_sh(
        cluster.local.path(),
        cluster.port,
        "ensure_postgres run >&2; echo \"$DATABASE_URL\"",
    );
    let password = std::fs::read_to_string(dir.join("password")).unwrap();
    assert!(password.trim().len() >= 32, "a generated password");
    assert_eq!(
        url,
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/resonantgen",
            password.trim(),
            cluster.port
        )
    );
    assert_eq!(mode(&dir.join("password")), 0o600);
    assert_eq!(mode(&dir.join("sock")), 0o700);

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    for (setting, want) in [
        ("fsync", "on"),
        ("full_page_writes", "on"),
        ("synchronous_commit", "on"),
        ("listen_addresses", "127.0.0.1"),
        ("password_encryption", "scram-sha-256"),
    ] {
        let (got,): (String,) = sqlx::query_as("SELECT current_setting($1)")
            .bind(setting)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(got, want, "{setting}");
    }
    // Nobody is trusted: every rule of pg_hba.conf asks for the password.
    let rules: Vec<(String,)> =
        sqlx::query_as("SELECT auth_method FROM pg_hba_file_rules WHERE auth_method IS NOT NULL")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert!(!rules.is_empty());
    assert!(
        rules.iter().all(|(m,)| m == "scram-sha-256"),
        "pg_hba.conf rules: {rules:?}"
    );
    conn.close().await.unwrap();

    for wrong in [
        format!("postgres://postgres@127.0.0.1:{}/resonantgen", cluster.port),
        format!(
            "postgres://postgres:not-the-password@127.0.0.1:{}/resonantgen",
            cluster.port
        ),
    ] {
        let e = sqlx::PgConnection::connect(&wrong)
            .await
            .err()
            .unwrap_or_else(|| panic!("{wrong} connected"));
        assert!(
            e.to_string().contains("password"),
            "{wrong}: {e} (expected a password failure)"
        );
    }

    // Run again (an already-running cluster): same URL, still durable.
    let again = lib_sh(
        cluster.local.path(),
        cluster.port,
        "ensure_postgres run >&2; echo \"$DATABASE_URL\"",
    );
    assert_eq!(again, url);
}
