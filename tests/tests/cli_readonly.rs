//! Read-only CLI commands never run DDL (issue 14): `status`, `list`, `batch-status`,
//! `export` and `scene list` against a database that was never migrated refuse with a reason
//! naming `resonantgen migrate`, and leave it without a single table; a writing command
//! (`migrate`) then brings the schema, after which the readers work.

use resonantgen_e2e::{bin, fresh_database};
use std::process::Stdio;
use tokio::process::Command;

async fn resonantgen(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(bin("resonantgen"))
        .args(args)
        .env("DATABASE_URL", db)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("running resonantgen (build it first: cargo build --bins)")
}

async fn tables(db: &str) -> i64 {
    let pool = sqlx::PgPool::connect(db).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM information_schema.tables
          WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_do_not_migrate() {
    let db = fresh_database().await.unwrap();
    let id = "01M8F9MYTCA9DADJ0QYYRVF5ZB";
    let out_dir = tempfile::tempdir().unwrap();
    let csv = out_dir.path().join("r.csv");
    let readers: [Vec<&str>; 5] = [
        vec!["status", id],
        vec!["list"],
        vec!["batch-status", id],
        vec!["export", id, "-o", csv.to_str().unwrap()],
        vec!["scene", "list"],
    ];
    for args in &readers {
        let out = resonantgen(&db, args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains("no ResonantGen schema") && stderr.contains("resonantgen migrate"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(tables(&db).await, 0, "a read-only command created tables");

    let out = resonantgen(&db, &["migrate"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tables(&db).await > 0);
    let out = resonantgen(&db, &["list"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
