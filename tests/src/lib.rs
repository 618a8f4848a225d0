//! End-to-end test harness: a fresh Postgres database per test, a real S3-compatible server
//! (s3s-fs, in process, over HTTP with SigV4), and the real `resonantgen` and
//! `resonantgen-worker` binaries as child processes.

use anyhow::Context;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use resonantgen_infra::store::{ObjectStore, S3Settings, S3Store};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

pub const ACCESS_KEY: &str = "resonantgen-test";
pub const SECRET_KEY: &str = "resonantgen-test-secret";
pub const BUCKET: &str = "resonantgen-test";

/// A built binary of the workspace: beside this executable, or one level up from a test
/// executable in `target/<profile>/deps/`.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir.join(name)
}

/// An in-process s3s-fs server over a temporary folder. It can be stopped (listener and every
/// open connection closed) and started again on the same address, to test outages.
pub struct S3Server {
    pub endpoint: String,
    pub root: tempfile::TempDir,
    addr: std::net::SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn serve(
    listener: TcpListener,
    root: &std::path::Path,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| anyhow::anyhow!("s3s-fs: {e:?}"))?;
    let service = {
        let mut b = s3s::service::S3ServiceBuilder::new(fs);
        b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        b.build()
    };
    Ok(tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        // Connections live in this set: aborting the server task closes them all.
        let mut conns = tokio::task::JoinSet::new();
        loop {
            while conns.try_join_next().is_some() {}
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let conn = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            conns.spawn(async move {
                let _ = conn.await;
            });
        }
    }))
}

impl S3Server {
    pub async fn start(buckets: &[&str]) -> anyhow::Result<Self> {
        let root = tempfile::tempdir()?;
        for b in buckets {
            std::fs::create_dir_all(root.path().join(b))?;
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = serve(listener, root.path())?;
        Ok(S3Server {
            endpoint: format!("http://{addr}"),
            root,
            addr,
            task: Some(task),
        })
    }

    /// Closes the listener and all connections: clients get "connection refused".
    pub async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Serves the same folder on the same address again.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await;
        let mut last = None;
        for _ in 0..50 {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    self.task = Some(serve(listener, self.root.path())?);
                    return Ok(());
                }
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        Err(anyhow::anyhow!("rebinding {}: {last:?}", self.addr))
    }

    /// An S3 client of our own store abstraction, speaking HTTP to this server.
    pub fn store(&self, bucket: &str) -> ObjectStore {
        ObjectStore::S3(S3Store::new(S3Settings {
            bucket: bucket.to_string(),
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".into(),
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            session_token: None,
            allowed_buckets: vec![],
        }))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// A fresh database in the test cluster (`DATABASE_URL` names the cluster's admin database).
pub async fn fresh_database() -> anyhow::Result<String> {
    let admin = std::env::var("DATABASE_URL").context(
        "DATABASE_URL must name a Postgres the tests may create databases in (ops/test.sh sets it)",
    )?;
    fresh_database_in(&admin).await
}

/// A fresh database in the cluster whose admin database `admin` names.
pub async fn fresh_database_in(admin: &str) -> anyhow::Result<String> {
    let name = format!(
        "rg_test_{}",
        ulid::Ulid::generate().to_string().to_lowercase()
    );
    let pool = sqlx::PgPool::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await?;
    pool.close().await;
    let (base, _) = admin
        .rsplit_once('/')
        .context("DATABASE_URL has no database part")?;
    Ok(format!("{base}/{name}"))
}

/// Everything a test's processes share.
pub struct Stack {
    pub db_url: String,
    pub s3: S3Server,
    pub pool: sqlx::PgPool,
}

impl Stack {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_db(fresh_database().await?).await
    }

    /// A stack on a fresh database of another cluster (a [`TempCluster`]).
    pub async fn start_in(cluster: &TempCluster) -> anyhow::Result<Self> {
        Self::start_with_db(fresh_database_in(&cluster.admin_url()).await?).await
    }

    async fn start_with_db(db_url: String) -> anyhow::Result<Self> {
        let s3 = S3Server::start(&[BUCKET, "other-bucket"]).await?;
        let pool = resonantgen_infra::db::connect(&db_url, 4, Duration::from_secs(10)).await?;
        resonantgen_infra::db::migrate(&pool).await?;
        Ok(Stack { db_url, s3, pool })
    }

    pub fn store(&self) -> ObjectStore {
        self.s3.store(BUCKET)
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("DATABASE_URL", &self.db_url)
            .env("RESONANTGEN_S3_BUCKET", BUCKET)
            .env("RESONANTGEN_S3_ENDPOINT", &self.s3.endpoint)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("RESONANTGEN_STORE_DIR")
            .env_remove("RESONANTGEN_S3_ALLOWED_BUCKETS");
    }

    /// Runs the CLI to completion.
    pub async fn cli(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        let mut cmd = Command::new(bin("resonantgen"));
        self.env(&mut cmd);
        cmd.args(args).stdin(Stdio::null());
        cmd.output()
            .await
            .context("running resonantgen (build it first: cargo build --bins)")
    }

    /// Starts a worker process.
    pub fn worker(&self, args: &[&str]) -> anyhow::Result<Worker> {
        self.worker_env(args, &[])
    }

    /// Starts a worker process with extra environment variables (the fault-injection hooks
    /// of worker/src/faults.rs, say).
    pub fn worker_env(&self, args: &[&str], vars: &[(&str, &str)]) -> anyhow::Result<Worker> {
        let mut cmd = Command::new(bin("resonantgen-worker"));
        self.env(&mut cmd);
        cmd.envs(vars.iter().copied());
        if !args.contains(&"--metrics-addr") {
            cmd.args(["--metrics-addr", "off"]);
        }
        cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
        let child = cmd
            .spawn()
            .context("starting resonantgen-worker (build it first: cargo build --bins)")?;
        Ok(Worker { child })
    }

    /// Starts `resonantgen serve` (the HTTP API) with `args`; kill it by dropping it.
    pub fn serve(&self, args: &[&str]) -> anyhow::Result<Worker> {
        let mut cmd = Command::new(bin("resonantgen"));
        self.env(&mut cmd);
        cmd.arg("serve")
            .args(args)
            .env_remove("RESONANTGEN_API_TOKENS")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .context("starting resonantgen serve (build it first: cargo build --bins)")?;
        Ok(Worker { child })
    }

    /// Waits until a generation reaches a terminal status.
    pub async fn wait_terminal(
        &self,
        id: &str,
        timeout: Duration,
    ) -> anyhow::Result<resonantgen_infra::generations::GenerationRow> {
        let id = ulid::Ulid::from_string(id)?;
        let deadline = Instant::now() + timeout;
        loop {
            let row = resonantgen_infra::generations::get_generation(&self.pool, id).await?;
            if row.status.is_terminal() {
                return Ok(row);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{id} still {} after {timeout:?}",
                row.status
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub struct Worker {
    pub child: Child,
}

impl Worker {
    /// SIGTERM, then wait for a graceful exit.
    pub async fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        if let Some(pid) = self.child.id() {
            // SAFETY: sending a signal to our own child process.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
        Ok(tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await??)
    }

    pub async fn wait(mut self, timeout: Duration) -> anyhow::Result<std::process::ExitStatus> {
        Ok(tokio::time::timeout(timeout, self.child.wait()).await??)
    }

    /// SIGKILL (`kill -9`): no shutdown, no acks, no last heartbeat.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> anyhow::Result<Option<std::process::ExitStatus>> {
        Ok(self.child.try_wait()?)
    }
}

/// A throwaway Postgres cluster of its own — `initdb` into a temporary folder, served on a
/// free loopback port — for tests that stop or restart the database server: the shared test
/// cluster of `DATABASE_URL` must stay up for every other test. The server binaries come
/// from `RESONANTGEN_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else `PATH`; as
/// root they run as the `postgres` user (initdb and postgres refuse root). Stopped (fast,
/// no checkpoint: fsync is off anyway) when dropped.
pub struct TempCluster {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    running: bool,
}

impl TempCluster {
    pub async fn start() -> anyhow::Result<Self> {
        let bin = std::env::var_os("RESONANTGEN_PG_BIN")
            .map(PathBuf::from)
            .or_else(|| {
                let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(|e| Some(e.ok()?.path().join("bin")))
                    .filter(|p| p.join("initdb").is_file())
                    .collect();
                // "9.6" < "15": compare the major version as a number
                dirs.sort_by_key(|p| {
                    p.parent()
                        .and_then(|v| v.file_name())
                        .and_then(|v| v.to_str())
                        .and_then(|v| v.split('.').next()?.parse::<u32>().ok())
                        .unwrap_or(0)
                });
                dirs.pop()
            })
            .unwrap_or_default();
        let dir = tempfile::Builder::new().prefix("rg-pg-").tempdir()?;
        std::fs::create_dir(dir.path().join("sock"))?;
        let owner = as_root().then(postgres_user).transpose()?;
        if let Some((uid, gid)) = owner {
            for p in [dir.path().to_path_buf(), dir.path().join("sock")] {
                std::os::unix::fs::chown(&p, Some(uid), Some(gid))
                    .with_context(|| format!("chown {}", p.display()))?;
            }
        }
        let mut cluster = TempCluster {
            port: free_port()?,
            dir,
            bin,
            running: false,
        };
        let data = cluster.data();
        cluster
            .pg(
                "initdb",
                &[
                    "-D",
                    &data,
                    "--auth=trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
            )
            .await?;
        cluster.start_server().await?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// The URL of the cluster's `postgres` database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    async fn pg(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = if self.bin.as_os_str().is_empty() {
            PathBuf::from(tool)
        } else {
            self.bin.join(tool)
        };
        let mut cmd = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).stdin(Stdio::null());
        let out = cmd
            .output()
            .await
            .with_context(|| format!("running {}", exe.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "{tool} {args:?}: {}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// Starts the server (after [`TempCluster::stop`]) on the same port.
    pub async fn start_server(&mut self) -> anyhow::Result<()> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().join("sock").display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let data = self.data();
        self.pg(
            "pg_ctl",
            &[
                "-D", &data, "-w", "-t", "60", "-l", &log, "-o", &opts, "start",
            ],
        )
        .await?;
        self.running = true;
        Ok(())
    }

    /// Stops the server (`-m fast`: open sessions are disconnected at once, as in a
    /// failover or a restart for maintenance).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let data = self.data();
        self.pg("pg_ctl", &["-D", &data, "-w", "-m", "fast", "stop"])
            .await?;
        self.running = false;
        Ok(())
    }

    /// Stops the server, waits `down`, and starts it again.
    pub async fn restart(&mut self, down: Duration) -> anyhow::Result<()> {
        self.stop().await?;
        tokio::time::sleep(down).await;
        self.start_server().await
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        let data = self.data();
        let exe = if self.bin.as_os_str().is_empty() {
            PathBuf::from("pg_ctl")
        } else {
            self.bin.join("pg_ctl")
        };
        let mut cmd = if as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            std::process::Command::new(exe)
        };
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// uid and gid of the `postgres` user.
fn postgres_user() -> anyhow::Result<(u32, u32)> {
    let name = std::ffi::CString::new("postgres")?;
    // SAFETY: getpwnam returns null or a pointer to a static record, read at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    anyhow::ensure!(
        !pw.is_null(),
        "running as root needs a `postgres` user to own the temporary cluster"
    );
    // SAFETY: checked non-null above.
    Ok(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// GET over plain HTTP/1.0 on loopback; returns the body.
pub async fn http_get(addr: &str, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).await?;
    let (head, body) = buf.split_once("\r\n\r\n").context("no HTTP header end")?;
    anyhow::ensure!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    Ok(body.to_string())
}

/// Submits through the CLI and returns the id.
pub async fn submit(stack: &Stack, args: &[&str]) -> anyhow::Result<String> {
    let mut all = vec!["submit"];
    all.extend_from_slice(args);
    let out = stack.cli(&all).await?;
    anyhow::ensure!(
        out.status.success(),
        "submit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout)?;
    stdout
        .split_whitespace()
        .next()
        .map(str::to_string)
        .context("submit printed no id")
}

/// `resonantgen serve` on a free loopback port of this stack, up (its /healthz answered 200)
/// when `start` returns; stopped when dropped.
pub struct ApiServer {
    pub addr: String,
    _server: Worker,
}

impl ApiServer {
    /// Serves with `args` (tokens and limits) added after `--listen`.
    pub async fn start(stack: &Stack, args: &[&str]) -> anyhow::Result<ApiServer> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let mut all = vec!["--listen", addr.as_str()];
        all.extend_from_slice(args);
        let server = stack.serve(&all)?;
        wait_api_up(&addr).await?;
        Ok(ApiServer {
            addr,
            _server: server,
        })
    }

    /// One call as `token`, with a body of `content_type` when one is given: (status, header
    /// block, body).
    pub async fn request(
        &self,
        token: &str,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> anyhow::Result<(u16, String, String)> {
        api_request(&self.addr, token, method, path, content_type, body).await
    }
}

/// Waits (30 s at most) until the API on `addr` answers /healthz with 200.
pub async fn wait_api_up(addr: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _, _)) = http(addr, "GET", "/healthz", &[], b"").await {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "API did not come up on {addr}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One API call with a bearer token, and a body of `content_type` when one is given.
pub async fn api_request(
    addr: &str,
    token: &str,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> anyhow::Result<(u16, String, String)> {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if let Some(ct) = content_type {
        headers.push(("Content-Type", ct));
    }
    http(addr, method, path, &headers, body).await
}

/// One HTTP/1.0 exchange on loopback (the server closes the connection after the response,
/// so streamed bodies such as server-sent events are read to their end). Returns the status
/// code, the header block and the body.
pub async fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<(u16, String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await?;
    // A server refusing an oversized body may answer and close before reading it all: keep
    // what was answered even when the write or the read then hits a reset.
    let _ = s.write_all(body).await;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) if !buf.is_empty() => break,
            Err(e) => return Err(e.into()),
        }
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no status code")?;
    Ok((status, head.to_string(), body.to_string()))
}

/// Processes of a stack on a local-folder store (the embedded default of ops/run.sh) instead
/// of the S3 server, and the CLI with extra environment variables.
impl Stack {
    /// A command for the workspace binary `exe` with this stack's database and the local
    /// store at `store_dir` (no S3 variables).
    pub fn local_command(&self, exe: &str, store_dir: &std::path::Path) -> Command {
        let mut cmd = Command::new(bin(exe));
        self.env(&mut cmd);
        cmd.env_remove("RESONANTGEN_S3_BUCKET")
            .env_remove("RESONANTGEN_S3_ENDPOINT")
            .env("RESONANTGEN_STORE_DIR", store_dir)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs the CLI to completion with `vars` added to (or overriding) the stack's
    /// environment.
    pub async fn cli_env(
        &self,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> anyhow::Result<std::process::Output> {
        let mut cmd = Command::new(bin("resonantgen"));
        self.env(&mut cmd);
        cmd.envs(vars.iter().copied())
            .args(args)
            .stdin(Stdio::null());
        cmd.output()
            .await
            .context("running resonantgen (build it first: cargo build --bins)")
    }
}
