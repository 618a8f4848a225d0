//! The S3 backend over aws-sdk-s3. Configured from the environment the way AWS tools are:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, plus
//! `RESONANTGEN_S3_BUCKET`, `RESONANTGEN_S3_ENDPOINT` (or `AWS_ENDPOINT_URL`) and
//! `RESONANTGEN_S3_ALLOWED_BUCKETS` (comma-separated buckets lock URIs may read).

use super::StoreError;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub allowed_buckets: Vec<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl S3Settings {
    /// `None` when no bucket is configured (use the local store).
    pub fn from_env() -> Result<Option<Self>, StoreError> {
        let Some(bucket) = env("RESONANTGEN_S3_BUCKET") else {
            return Ok(None);
        };
        let missing =
            |v: &str| StoreError::Config(format!("RESONANTGEN_S3_BUCKET is set but {v} is not"));
        Ok(Some(S3Settings {
            bucket,
            endpoint: env("RESONANTGEN_S3_ENDPOINT")
                .or_else(|| env("AWS_ENDPOINT_URL_S3"))
                .or_else(|| env("AWS_ENDPOINT_URL")),
            region: env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            access_key_id: env("AWS_ACCESS_KEY_ID").ok_or_else(|| missing("AWS_ACCESS_KEY_ID"))?,
            secret_access_key: env("AWS_SECRET_ACCESS_KEY")
                .ok_or_else(|| missing("AWS_SECRET_ACCESS_KEY"))?,
            session_token: env("AWS_SESSION_TOKEN"),
            allowed_buckets: resonantgen_core::lock_uri::allowed_buckets_from_env(),
        }))
    }
}

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    settings: S3Settings,
}

fn sdk_message<E: std::error::Error + 'static, R: std::fmt::Debug>(e: &SdkError<E, R>) -> String {
    DisplayErrorContext(e).to_string()
}

impl S3Store {
    pub fn new(settings: S3Settings) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let creds = Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            settings.session_token.clone(),
            None,
            "environment",
        );
        let mut conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(creds)
            .http_client(http)
            .force_path_style(true);
        if let Some(ep) = &settings.endpoint {
            conf = conf.endpoint_url(ep);
        }
        S3Store {
            client: Client::from_conf(conf.build()),
            settings,
        }
    }

    pub fn bucket(&self) -> &str {
        &self.settings.bucket
    }

    pub fn endpoint(&self) -> &str {
        self.settings.endpoint.as_deref().unwrap_or("AWS")
    }

    pub fn bucket_allowed(&self, bucket: &str) -> bool {
        bucket == self.settings.bucket || self.settings.allowed_buckets.iter().any(|b| b == bucket)
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| StoreError::S3 {
                op: "put",
                key: key.to_string(),
                message: sdk_message(&e),
            })?;
        Ok(())
    }

    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                let not_found = e.as_service_error().is_some_and(|se| se.is_no_such_key())
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 404);
                if not_found {
                    StoreError::NotFound(format!("s3://{bucket}/{key}"))
                } else {
                    StoreError::S3 {
                        op: "get",
                        key: format!("s3://{bucket}/{key}"),
                        message: sdk_message(&e),
                    }
                }
            })?;
        let size = out.content_length().unwrap_or(0).max(0) as u64;
        if size > max_bytes {
            return Err(StoreError::TooLarge {
                key: format!("s3://{bucket}/{key}"),
                size,
                limit: max_bytes,
            });
        }
        let data = out.body.collect().await.map_err(|e| StoreError::S3 {
            op: "read body of",
            key: format!("s3://{bucket}/{key}"),
            message: e.to_string(),
        })?;
        let bytes = data.into_bytes().to_vec();
        if bytes.len() as u64 > max_bytes {
            return Err(StoreError::TooLarge {
                key: format!("s3://{bucket}/{key}"),
                size: bytes.len() as u64,
                limit: max_bytes,
            });
        }
        Ok(bytes)
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let resp = self
                .client
                .list_objects_v2()
                .bucket(&self.settings.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| StoreError::S3 {
                    op: "list",
                    key: prefix.to_string(),
                    message: sdk_message(&e),
                })?;
            out.extend(
                resp.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match resp.next_continuation_token() {
                Some(t) if resp.is_truncated().unwrap_or(false) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }
}
