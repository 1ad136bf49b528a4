//! A repository in an S3 bucket (or an S3-compatible store).
//!
//! Every put carries `If-None-Match: *` (the store refuses to replace an object) and a SHA-256
//! checksum the store verifies; every get asks for the stored checksum and checks it. Archives
//! above a threshold go up as a multipart upload, so memory stays at one part. With Object
//! Lock configured, each object gets its own mode and retain-until date, and a delete is refused
//! with the date the lock ends instead of leaving a delete marker. A lease is replaced and
//! deleted with `If-Match` on the ETag read, so of two runs racing for it one gets a 412.

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, ObjectLockEnabled,
    ObjectLockMode, ServerSideEncryption,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::{Body, ObjectInfo, ReadBackend, RepoError, Retention, WriteBackend, check_path};
use crate::config::{LockMode, RepositoryConfig};

/// Files above this size are sent as a multipart upload.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
/// Size of one multipart part (S3's minimum is 5 MiB).
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;

/// A bucket and key prefix holding a repository.
#[derive(Debug, Clone)]
pub struct S3Backend {
    client: Client,
    bucket: String,
    /// Empty, or ending with `/`.
    prefix: String,
    sse_kms_key_id: Option<String>,
    multipart_threshold: u64,
    part_size: u64,
}

/// How long an S3 request attempt waits for the first byte of an answer by default.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 120;

impl S3Backend {
    /// A backend on `bucket` under `prefix`, with an already configured client.
    pub fn new(client: Client, bucket: impl Into<String>, prefix: &str) -> S3Backend {
        let prefix = prefix.trim_matches('/');
        S3Backend {
            client,
            bucket: bucket.into(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            sse_kms_key_id: None,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// Encrypts every object with this KMS key (SSE-KMS).
    pub fn with_sse_kms(mut self, key_id: Option<String>) -> S3Backend {
        self.sse_kms_key_id = key_id;
        self
    }

    /// Sends files above `threshold` bytes in parts of `part_size` bytes.
    pub fn with_multipart(mut self, threshold: u64, part_size: u64) -> S3Backend {
        self.multipart_threshold = threshold;
        self.part_size = part_size.max(5 * 1024 * 1024);
        self
    }

    /// From the repository configuration: the standard AWS credential chain (environment,
    /// profile, SSO, web identity, instance role), with `profile`, `region`, `endpoint` and
    /// `path_style` applied.
    /// Builds the backend `config` names. Each attempt waits `timeout_seconds` (default
    /// [`DEFAULT_TIMEOUT_SECONDS`]) for the first byte of an answer; the SDK retries one that
    /// stalls.
    pub async fn from_config(config: &RepositoryConfig) -> Result<S3Backend, RepoError> {
        let (bucket, prefix) = parse_url(&config.url)?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(profile) = &config.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&sdk);
        if sdk.region().is_none() {
            builder = builder.region(aws_config::Region::from_static("us-east-1"));
        }
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        builder = builder.force_path_style(config.path_style);
        let first_byte = std::time::Duration::from_secs(
            config.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
        );
        builder = builder.timeout_config(
            aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .read_timeout(first_byte)
                .build(),
        );
        let client = Client::from_conf(builder.build());
        Ok(S3Backend::new(client, bucket, &prefix).with_sse_kms(config.sse_kms_key_id.clone()))
    }

    fn key(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    fn failure<E>(&self, action: &'static str, path: &str, err: SdkError<E>) -> RepoError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let message = match err.as_service_error().map(|s| (s.code(), s.message())) {
            Some((Some(code), message)) => {
                format!("{code}: {}", message.unwrap_or("no message"))
            }
            _ => match status {
                Some(status) => format!("HTTP {status}: {}", DisplayErrorContext(&err)),
                None => DisplayErrorContext(&err).to_string(),
            },
        };
        RepoError::Storage {
            location: self.location(),
            action,
            path: path.to_string(),
            message,
        }
    }

    fn not_found(&self, path: &str) -> RepoError {
        RepoError::NotFound {
            location: self.location(),
            path: path.to_string(),
        }
    }

    fn exists(&self, path: &str) -> RepoError {
        RepoError::AlreadyExists {
            location: self.location(),
            path: path.to_string(),
        }
    }

    /// A put refused by `If-None-Match: *` (412), or by a concurrent conditional write (409).
    fn is_conflict<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.as_service_error().and_then(|e| e.code());
        matches!(status, Some(412 | 409))
            || matches!(
                code,
                Some("PreconditionFailed" | "ConditionalRequestConflict")
            )
    }

    async fn head(
        &self,
        path: &str,
    ) -> Result<Option<aws_sdk_s3::operation::head_object::HeadObjectOutput>, RepoError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.key(path))
            .send()
            .await
        {
            Ok(head) => Ok(Some(head)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(self.failure("inspect", path, e)),
        }
    }

    async fn get(
        &self,
        path: &str,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, RepoError> {
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(path))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                    self.not_found(path)
                } else {
                    self.failure("download", path, e)
                }
            })
    }

    /// Streams a download's body to `sink`, hashing it, and checks the stored checksum.
    async fn receive(
        &self,
        path: &str,
        output: aws_sdk_s3::operation::get_object::GetObjectOutput,
        mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u64, RepoError> {
        let stored = output.checksum_sha256().map(str::to_string);
        let mut body = output.body;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(|e| {
            let text = DisplayErrorContext(&e).to_string();
            if text.to_lowercase().contains("checksum") {
                RepoError::ChecksumMismatch {
                    location: self.location(),
                    path: path.to_string(),
                    detail: text,
                }
            } else {
                RepoError::Storage {
                    location: self.location(),
                    action: "download",
                    path: path.to_string(),
                    message: text,
                }
            }
        })? {
            hasher.update(&chunk);
            size += chunk.len() as u64;
            sink(&chunk).map_err(|source| RepoError::Io {
                location: "local".into(),
                action: "write the download of",
                path: path.to_string(),
                source,
            })?;
        }
        verify_sha256(stored.as_deref(), &hasher.finalize()).map_err(|(expected, actual)| {
            RepoError::ChecksumMismatch {
                location: self.location(),
                path: path.to_string(),
                detail: format!("stored SHA-256 {expected}, received {actual}"),
            }
        })?;
        Ok(size)
    }

    fn retention_of(
        mode: Option<&ObjectLockMode>,
        until: Option<&aws_sdk_s3::primitives::DateTime>,
    ) -> Option<Retention> {
        let until = until?;
        let until = DateTime::<Utc>::from_timestamp(until.secs(), until.subsec_nanos())?;
        let mode = match mode {
            Some(ObjectLockMode::Compliance) => LockMode::Compliance,
            _ => LockMode::Governance,
        };
        Some(Retention { mode, until })
    }

    async fn put_single(
        &self,
        path: &str,
        body: ByteStream,
        checksum: String,
        retention: Option<Retention>,
    ) -> Result<(), RepoError> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(path))
            .if_none_match("*")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(checksum)
            .body(body);
        if let Some(key) = &self.sse_kms_key_id {
            request = request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key);
        }
        if let Some(r) = retention {
            request = request
                .object_lock_mode(lock_mode(r.mode))
                .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(
                    r.until.timestamp(),
                ));
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if Self::is_conflict(&e) => Err(self.exists(path)),
            Err(e) => Err(self.failure("upload", path, e)),
        }
    }

    async fn put_multipart(
        &self,
        path: &str,
        file: &Path,
        size: u64,
        retention: Option<Retention>,
    ) -> Result<(), RepoError> {
        // Fail early on a taken name; the conditional completion below is the real guarantee.
        if self.head(path).await?.is_some() {
            return Err(self.exists(path));
        }
        let key = self.key(path);
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&key)
            .checksum_algorithm(ChecksumAlgorithm::Sha256);
        if let Some(kms) = &self.sse_kms_key_id {
            create = create
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(kms);
        }
        if let Some(r) = retention {
            create = create
                .object_lock_mode(lock_mode(r.mode))
                .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(
                    r.until.timestamp(),
                ));
        }
        let created = create
            .send()
            .await
            .map_err(|e| self.failure("start the upload of", path, e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let result = self.upload_parts(path, &key, &upload_id, file, size).await;
        if result.is_err() {
            // Best effort: an upload left open costs storage until a lifecycle rule ends it.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    async fn upload_parts(
        &self,
        path: &str,
        key: &str,
        upload_id: &str,
        file: &Path,
        size: u64,
    ) -> Result<(), RepoError> {
        let local = |source| RepoError::Io {
            location: "local".into(),
            action: "read",
            path: file.display().to_string(),
            source,
        };
        let mut input = tokio::fs::File::open(file).await.map_err(local)?;
        let mut parts = Vec::new();
        let mut offset = 0u64;
        let mut number = 1;
        while offset < size {
            let length = self.part_size.min(size - offset);
            let mut buffer = vec![0u8; length as usize];
            input.read_exact(&mut buffer).await.map_err(local)?;
            let checksum = BASE64.encode(Sha256::digest(&buffer));
            let uploaded = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .checksum_sha256(&checksum)
                .body(ByteStream::from(buffer))
                .send()
                .await
                .map_err(|e| self.failure("upload a part of", path, e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(uploaded.e_tag().map(str::to_string))
                    .checksum_sha256(checksum)
                    .build(),
            );
            offset += length;
            number += 1;
        }
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .if_none_match("*")
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        match completed {
            Ok(_) => Ok(()),
            Err(e) if Self::is_conflict(&e) => Err(self.exists(path)),
            Err(e) if e.raw_response().is_some_and(|r| r.status().is_success()) => {
                // Some S3-compatible stores acknowledge a completed upload with a body the SDK
                // cannot parse (moto names the XML root differently); the object decides.
                match self.head(path).await? {
                    Some(head) if head.content_length() == Some(size as i64) => Ok(()),
                    _ => Err(self.failure("complete the upload of", path, e)),
                }
            }
            Err(e) => Err(self.failure("complete the upload of", path, e)),
        }
    }
}

/// Compares a stored `x-amz-checksum-sha256` (base64) with the digest of what was received.
/// Composite checksums of multipart uploads (`…-N`) cover parts, not the whole object: those
/// are left to the signature check.
fn verify_sha256(stored: Option<&str>, received: &[u8]) -> Result<(), (String, String)> {
    match stored {
        Some(expected) if !expected.contains('-') => {
            let actual = BASE64.encode(received);
            if actual == expected {
                Ok(())
            } else {
                Err((expected.to_string(), actual))
            }
        }
        _ => Ok(()),
    }
}

fn lock_mode(mode: LockMode) -> ObjectLockMode {
    match mode {
        LockMode::Governance => ObjectLockMode::Governance,
        LockMode::Compliance => ObjectLockMode::Compliance,
    }
}

/// `s3://bucket/prefix` → (bucket, prefix).
pub fn parse_url(url: &str) -> Result<(String, String), RepoError> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| RepoError::BadUrl {
        url: url.to_string(),
        reason: "S3 repositories are written s3://BUCKET/PREFIX".into(),
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(RepoError::BadUrl {
            url: url.to_string(),
            reason: "the bucket name is missing".into(),
        });
    }
    let prefix = prefix.trim_matches('/');
    if !prefix.is_empty() {
        check_path(prefix).map_err(|_| RepoError::BadUrl {
            url: url.to_string(),
            reason: "the prefix has empty, '.' or '..' segments".into(),
        })?;
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

#[async_trait]
impl ReadBackend for S3Backend {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RepoError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.key(prefix))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.failure("list", prefix, e))?;
            for object in page.contents() {
                let Some(path) = object.key().and_then(|k| k.strip_prefix(&self.prefix)) else {
                    continue;
                };
                found.push(ObjectInfo {
                    path: path.to_string(),
                    size: object.size().unwrap_or(0).max(0) as u64,
                });
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }

    async fn get_to_file(&self, path: &str, dest: &Path) -> Result<u64, RepoError> {
        check_path(path)?;
        let output = self.get(path).await?;
        let local = |source| RepoError::Io {
            location: "local".into(),
            action: "write",
            path: dest.display().to_string(),
            source,
        };
        let file = std::fs::File::create(dest).map_err(local)?;
        let mut writer = std::io::BufWriter::new(file);
        let size = self
            .receive(path, output, |chunk| {
                std::io::Write::write_all(&mut writer, chunk)
            })
            .await?;
        let file = writer.into_inner().map_err(|e| local(e.into_error()))?;
        file.sync_all().map_err(local)?;
        Ok(size)
    }

    async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, RepoError> {
        check_path(path)?;
        let output = self.get(path).await?;
        let mut bytes = Vec::new();
        self.receive(path, output, |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        Ok(bytes)
    }

    async fn retention(&self, path: &str) -> Result<Option<Retention>, RepoError> {
        check_path(path)?;
        let head = self.head(path).await?.ok_or_else(|| self.not_found(path))?;
        Ok(Self::retention_of(
            head.object_lock_mode(),
            head.object_lock_retain_until_date(),
        ))
    }

    async fn clock(&self) -> Result<Option<DateTime<Utc>>, RepoError> {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        // Any answer carries the store's `Date` (a refusal too): the repository file's head is
        // the smallest request every repository answers.
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.key(super::REPO_FILE))
            .customize()
            .interceptor(DateHeader(seen.clone()))
            .send()
            .await;
        let date = seen.lock().unwrap_or_else(|e| e.into_inner()).take();
        match date {
            Some(date) => DateTime::parse_from_rfc2822(&date)
                .map(|d| Some(d.with_timezone(&Utc)))
                .map_err(|e| RepoError::Storage {
                    location: self.location(),
                    action: "read the clock of",
                    path: super::REPO_FILE.into(),
                    message: format!("its Date header {date:?} is not a date: {e}"),
                }),
            None => match result {
                Err(e) => Err(self.failure("read the clock of", super::REPO_FILE, e)),
                Ok(_) => Err(RepoError::Storage {
                    location: self.location(),
                    action: "read the clock of",
                    path: super::REPO_FILE.into(),
                    message: "the answer carried no Date header".into(),
                }),
            },
        }
    }
}

#[async_trait]
impl WriteBackend for S3Backend {
    async fn put_new(
        &self,
        path: &str,
        body: Body<'_>,
        retention: Option<Retention>,
    ) -> Result<(), RepoError> {
        check_path(path)?;
        match body {
            Body::Bytes(bytes) => {
                let checksum = BASE64.encode(Sha256::digest(bytes));
                self.put_single(path, ByteStream::from(bytes.to_vec()), checksum, retention)
                    .await
            }
            Body::File(file) => {
                let local = |source| RepoError::Io {
                    location: "local".into(),
                    action: "read",
                    path: file.display().to_string(),
                    source,
                };
                let size = tokio::fs::metadata(file).await.map_err(local)?.len();
                if size > self.multipart_threshold {
                    return self.put_multipart(path, file, size, retention).await;
                }
                let checksum = sha256_of_file(file).await.map_err(local)?;
                let body = ByteStream::from_path(file)
                    .await
                    .map_err(|e| local(std::io::Error::other(e)))?;
                self.put_single(path, body, checksum, retention).await
            }
        }
    }

    async fn delete(&self, path: &str) -> Result<(), RepoError> {
        check_path(path)?;
        let head = self.head(path).await?.ok_or_else(|| self.not_found(path))?;
        if let Some(retention) = Self::retention_of(
            head.object_lock_mode(),
            head.object_lock_retain_until_date(),
        ) && retention.until > Utc::now()
        {
            return Err(RepoError::Locked {
                what: path.to_string(),
                mode: super::lock_mode_name(retention.mode).into(),
                until: retention.until,
            });
        }
        // In a versioned bucket (Object Lock implies versioning) a delete without version id
        // only hides the object behind a delete marker; remove the version itself.
        let mut request = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key(path));
        if let Some(version) = head.version_id().filter(|v| *v != "null") {
            request = request.version_id(version);
        }
        request
            .send()
            .await
            .map_err(|e| self.failure("delete", path, e))?;
        Ok(())
    }

    async fn check_object_lock(&self) -> Result<(), RepoError> {
        let unsupported = |reason: String| RepoError::LockUnsupported {
            location: self.location(),
            reason,
        };
        match self
            .client
            .get_object_lock_configuration()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(out) => match out
                .object_lock_configuration()
                .and_then(|c| c.object_lock_enabled())
            {
                Some(ObjectLockEnabled::Enabled) => Ok(()),
                _ => Err(unsupported(format!(
                    "{} has Object Lock disabled",
                    self.bucket
                ))),
            },
            Err(e)
                if e.as_service_error().and_then(|s| s.code())
                    == Some("ObjectLockConfigurationNotFoundError") =>
            {
                Err(unsupported(format!(
                    "{} was created without Object Lock",
                    self.bucket
                )))
            }
            Err(e) => Err(self.failure("read the Object Lock configuration of", "", e)),
        }
    }

    async fn get_tagged(&self, path: &str) -> Result<(Vec<u8>, String), RepoError> {
        check_path(path)?;
        let output = self.get(path).await?;
        let tag = output.e_tag().unwrap_or_default().to_string();
        let mut bytes = Vec::new();
        self.receive(path, output, |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        Ok((bytes, tag))
    }

    async fn replace_if(&self, path: &str, bytes: &[u8], tag: &str) -> Result<(), RepoError> {
        check_path(path)?;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(path))
            .if_match(tag)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(BASE64.encode(Sha256::digest(bytes)))
            .body(ByteStream::from(bytes.to_vec()));
        if let Some(key) = &self.sse_kms_key_id {
            request = request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.conditional_failure("replace", path, e)),
        }
    }

    async fn delete_if(&self, path: &str, tag: &str) -> Result<(), RepoError> {
        check_path(path)?;
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key(path))
            .if_match(tag)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(self.conditional_failure("delete", path, e)),
        }
    }
}

impl S3Backend {
    /// A conditional write refused: [`RepoError::Changed`] on a 412 or 409 (another writer got
    /// there first), [`RepoError::NotFound`] when the object is gone.
    fn conditional_failure<E>(
        &self,
        action: &'static str,
        path: &str,
        err: SdkError<E>,
    ) -> RepoError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.as_service_error().and_then(|e| e.code());
        if Self::is_conflict(&err) {
            RepoError::Changed {
                location: self.location(),
                path: path.to_string(),
            }
        } else if status == Some(404) || code == Some("NoSuchKey") {
            self.not_found(path)
        } else {
            self.failure(action, path, err)
        }
    }
}

/// Keeps the `Date` header of the answer to one request.
#[derive(Debug)]
struct DateHeader(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl aws_sdk_s3::config::Intercept for DateHeader {
    fn name(&self) -> &'static str {
        "DateHeader"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_s3::config::RuntimeComponents,
        _: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(date) = context.response().headers().get("date") {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(date.to_string());
        }
        Ok(())
    }
}

async fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(BASE64.encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        assert_eq!(
            parse_url("s3://b/p/q/").unwrap(),
            ("b".into(), "p/q".into())
        );
        assert_eq!(parse_url("s3://b").unwrap(), ("b".into(), "".into()));
        assert!(parse_url("s3:///p").is_err());
        assert!(parse_url("s3://b/../p").is_err());
    }

    #[test]
    fn stored_checksums_are_compared() {
        let digest = Sha256::digest(b"data");
        let good = BASE64.encode(digest);
        assert!(verify_sha256(Some(&good), &digest).is_ok());
        assert!(verify_sha256(None, &digest).is_ok());
        assert!(verify_sha256(Some("abc-3"), &digest).is_ok());
        let other = Sha256::digest(b"date");
        let (expected, actual) = verify_sha256(Some(&good), &other).unwrap_err();
        assert_eq!(expected, good);
        assert_ne!(actual, good);
    }
}
