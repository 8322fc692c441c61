//! The gRPC side: one channel (plain or TLS, with an optional bearer token) and the REAPI
//! calls batuta makes, with small blobs batched and large ones streamed.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::sync::Semaphore;

use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use bazel_remote_apis::google::bytestream as bs;
use re::action_cache_client::ActionCacheClient;
use re::capabilities_client::CapabilitiesClient;
use re::content_addressable_storage_client::ContentAddressableStorageClient;
use re::execution_client::ExecutionClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Status};

use crate::digests;

/// A dead server costs one action this long, then the remote is off for the build.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One call, including a large blob's transfer.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The first call: a server that accepts connections but does not answer is given up on
/// this soon, not after a whole call's time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Used when the server does not say (the gRPC default message limit, with headroom).
const DEFAULT_BATCH: usize = 4 * 1024 * 1024 - 64 * 1024;
/// A batched blob costs its bytes plus its digest and framing.
const PER_BLOB_OVERHEAD: usize = 128;
/// ByteStream chunk.
const CHUNK: usize = 1024 * 1024;

/// Adds `authorization: Bearer …` to every call when a token is set.
#[derive(Clone)]
pub struct Auth(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

type Svc = InterceptedService<Channel, Auth>;

/// How to reach the server.
pub struct Target<'a> {
    pub url: &'a str,
    pub token: Option<&'a str>,
    pub ca_pem: Option<Vec<u8>>,
    pub domain: Option<&'a str>,
}

#[derive(Clone)]
pub struct Conn {
    ac: ActionCacheClient<Svc>,
    cas: ContentAddressableStorageClient<Svc>,
    bytestream: bs::byte_stream_client::ByteStreamClient<Svc>,
    caps: CapabilitiesClient<Svc>,
    exec: ExecutionClient<Svc>,
    /// The channel with its credentials, for the Bots service a worker talks to.
    svc: Svc,
    pub instance: String,
    /// Blobs above this go through ByteStream; a batch holds at most this many bytes.
    pub batch_limit: usize,
    /// Calls in flight at once, shared by every clone: a small server refuses more
    /// (BuildGrid answers ResourceExhausted past its thread pool).
    calls: Arc<Semaphore>,
}

/// Calls one batuta makes to the server at once.
const CALLS_IN_FLIGHT: usize = 8;
/// A call the server refused for load is tried again this many times, waiting twice as
/// long each time (20 ms first, about 1.3 s in all): the server is busy, not down.
const RETRIES: u32 = 6;

/// Run `call` with `req`, under the limit of calls in flight, again while the server says
/// it is too busy.
async fn busy_retry<Req: Clone, T, Fut>(
    calls: &Semaphore,
    req: Req,
    call: impl Fn(Req) -> Fut,
) -> Result<T, Status>
where
    Fut: std::future::Future<Output = Result<tonic::Response<T>, Status>>,
{
    let mut delay = Duration::from_millis(20);
    let mut attempt = 0;
    loop {
        let permit = calls.acquire().await.expect("never closed");
        let result = call(req.clone()).await;
        drop(permit);
        match result {
            Err(s) if s.code() == Code::ResourceExhausted && attempt < RETRIES => {
                attempt += 1;
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other.map(tonic::Response::into_inner),
        }
    }
}

/// Build the channel (no connection is made until the first call).
pub fn channel(t: &Target<'_>) -> Result<(Channel, Auth), String> {
    let (scheme, rest) = if let Some(r) = t.url.strip_prefix("grpcs://") {
        ("https", r)
    } else if let Some(r) = t.url.strip_prefix("grpc://") {
        ("http", r)
    } else {
        return Err(format!("'{}' is not a grpc:// or grpcs:// address", t.url));
    };
    let mut ep = Endpoint::from_shared(format!("{scheme}://{}", rest.trim_end_matches('/')))
        .map_err(|e| format!("'{}' is not a valid address: {e}", t.url))?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .tcp_nodelay(true);
    if scheme == "https" {
        let mut tls = ClientTlsConfig::new().with_native_roots();
        if let Some(pem) = &t.ca_pem {
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        if let Some(d) = t.domain {
            tls = tls.domain_name(d);
        }
        ep = ep
            .tls_config(tls)
            .map_err(|e| format!("cannot set up TLS: {e}"))?;
    }
    let auth = match t.token {
        Some(tok) => {
            let mut v = format!("Bearer {tok}")
                .parse::<MetadataValue<Ascii>>()
                // Never echo the token itself.
                .map_err(|_| "the token holds characters a header cannot carry".to_owned())?;
            // Kept out of the HTTP/2 layer's logs and header compression tables.
            v.set_sensitive(true);
            Some(v)
        }
        None => None,
    };
    Ok((ep.connect_lazy(), Auth(auth)))
}

impl Conn {
    pub fn new(channel: Channel, auth: Auth, instance: String) -> Conn {
        let limit = 64 * 1024 * 1024;
        Conn {
            ac: ActionCacheClient::with_interceptor(channel.clone(), auth.clone())
                .max_decoding_message_size(limit),
            cas: ContentAddressableStorageClient::with_interceptor(channel.clone(), auth.clone())
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
            bytestream: bs::byte_stream_client::ByteStreamClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            )
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
            caps: CapabilitiesClient::with_interceptor(channel.clone(), auth.clone()),
            exec: ExecutionClient::with_interceptor(channel.clone(), auth.clone())
                .max_decoding_message_size(limit),
            svc: InterceptedService::new(channel, auth),
            instance,
            batch_limit: DEFAULT_BATCH,
            calls: Arc::new(Semaphore::new(CALLS_IN_FLIGHT)),
        }
    }

    /// Ask the server what it supports: it must take SHA-256; its batch limit is kept.
    pub async fn handshake(&mut self) -> Result<(), Status> {
        let mut req = Request::new(re::GetCapabilitiesRequest {
            instance_name: self.instance.clone(),
        });
        req.set_timeout(HANDSHAKE_TIMEOUT);
        let caps = match self.caps.get_capabilities(req).await {
            Ok(c) => c.into_inner(),
            // A cache that does not implement Capabilities may still serve; assume defaults.
            Err(s) if s.code() == Code::Unimplemented => return Ok(()),
            Err(s) => return Err(s),
        };
        if let Some(cc) = caps.cache_capabilities {
            let sha = re::digest_function::Value::Sha256 as i32;
            if !cc.digest_functions.is_empty() && !cc.digest_functions.contains(&sha) {
                return Err(Status::failed_precondition(
                    "the server does not accept SHA-256 digests",
                ));
            }
            if cc.max_batch_total_size_bytes > 0 {
                self.batch_limit = (cc.max_batch_total_size_bytes as usize).min(DEFAULT_BATCH);
            }
        }
        Ok(())
    }

    /// The Bots service of the same server, as a worker sees it.
    pub fn bots(&self) -> crate::bots::BotsClient<Svc> {
        crate::bots::BotsClient::new(self.svc.clone())
    }

    /// Run an action (its blobs already in the CAS) and wait for its ExecuteResponse. The
    /// server may answer from its action cache. A stream that ends before the operation is
    /// done is picked up again with WaitExecution.
    pub async fn execute(&mut self, action: &re::Digest) -> Result<re::ExecuteResponse, Status> {
        use bazel_remote_apis::google::longrunning::operation::Result as OpResult;
        let req = re::ExecuteRequest {
            instance_name: self.instance.clone(),
            action_digest: Some(action.clone()),
            ..Default::default()
        };
        let exec = &self.exec;
        let mut stream = busy_retry(&self.calls, req, |r| {
            let mut exec = exec.clone();
            async move { exec.execute(r).await }
        })
        .await?;
        let mut name = String::new();
        let mut resumed = 0;
        loop {
            let op = match stream.message().await? {
                Some(op) => op,
                None if !name.is_empty() && resumed < 3 => {
                    resumed += 1;
                    let req = re::WaitExecutionRequest { name: name.clone() };
                    stream = self.exec.clone().wait_execution(req).await?.into_inner();
                    continue;
                }
                None => return Err(Status::unavailable("the operation stream ended early")),
            };
            name = op.name.clone();
            if !op.done {
                continue;
            }
            return match op.result {
                Some(OpResult::Response(any)) => re::ExecuteResponse::decode(any.value.as_slice())
                    .map_err(|e| Status::internal(format!("a malformed ExecuteResponse: {e}"))),
                Some(OpResult::Error(s)) => Err(Status::new(Code::from(s.code), s.message)),
                None => Err(Status::internal("a finished operation without a result")),
            };
        }
    }

    /// The cached result, with small outputs and stdout/stderr inlined when the server
    /// agrees to (saving a round trip per action).
    pub async fn get_action_result(
        &mut self,
        action: &re::Digest,
        outputs: &[String],
    ) -> Result<Option<re::ActionResult>, Status> {
        let req = re::GetActionResultRequest {
            instance_name: self.instance.clone(),
            action_digest: Some(action.clone()),
            inline_stdout: true,
            inline_stderr: true,
            inline_output_files: outputs.to_vec(),
            ..Default::default()
        };
        let ac = &self.ac;
        let got = busy_retry(&self.calls, req, |r| {
            let mut ac = ac.clone();
            async move { ac.get_action_result(r).await }
        })
        .await;
        match got {
            Ok(r) => Ok(Some(r)),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(s),
        }
    }

    pub async fn update_action_result(
        &mut self,
        action: &re::Digest,
        result: re::ActionResult,
    ) -> Result<(), Status> {
        let req = re::UpdateActionResultRequest {
            instance_name: self.instance.clone(),
            action_digest: Some(action.clone()),
            action_result: Some(result),
            ..Default::default()
        };
        let ac = &self.ac;
        busy_retry(&self.calls, req, |r| {
            let mut ac = ac.clone();
            async move { ac.update_action_result(r).await }
        })
        .await
        .map(|_| ())
    }

    /// Each digest's bytes, in order; `None` for a blob the server does not have. Bytes are
    /// returned as the server sent them: the caller verifies them.
    /// `have` holds bytes already at hand (inlined), which are not asked for again.
    pub async fn read_blobs(
        &mut self,
        digests: &[re::Digest],
        have: Vec<Option<Vec<u8>>>,
    ) -> Result<Vec<Option<Vec<u8>>>, Status> {
        let mut out = have;
        out.resize(digests.len(), None);
        let mut batch: Vec<usize> = Vec::new();
        let mut batch_bytes = 0;
        for (i, d) in digests.iter().enumerate() {
            let size = d.size_bytes as usize;
            if out[i].is_some() {
                continue;
            }
            if size == 0 {
                out[i] = Some(Vec::new());
            } else if size + PER_BLOB_OVERHEAD > self.batch_limit {
                out[i] = self.read_stream(d).await?;
            } else {
                if batch_bytes + size + PER_BLOB_OVERHEAD > self.batch_limit {
                    self.read_batch(digests, &std::mem::take(&mut batch), &mut out)
                        .await?;
                    batch_bytes = 0;
                }
                batch.push(i);
                batch_bytes += size + PER_BLOB_OVERHEAD;
            }
        }
        if !batch.is_empty() {
            self.read_batch(digests, &batch, &mut out).await?;
        }
        Ok(out)
    }

    async fn read_batch(
        &mut self,
        digests: &[re::Digest],
        which: &[usize],
        out: &mut [Option<Vec<u8>>],
    ) -> Result<(), Status> {
        let req = re::BatchReadBlobsRequest {
            instance_name: self.instance.clone(),
            digests: which.iter().map(|&i| digests[i].clone()).collect(),
            ..Default::default()
        };
        let cas = &self.cas;
        let resp = busy_retry(&self.calls, req, |r| {
            let mut cas = cas.clone();
            async move { cas.batch_read_blobs(r).await }
        })
        .await?;
        for r in resp.responses {
            let ok = r.status.as_ref().is_none_or(|s| s.code == Code::Ok as i32);
            if !ok {
                continue; // missing: stays None
            }
            // Match by digest, not position: a server may answer in any order.
            if let Some(&i) = which
                .iter()
                .find(|&&i| Some(&digests[i]) == r.digest.as_ref())
            {
                out[i] = Some(r.data);
            }
        }
        Ok(())
    }

    fn resource(&self, tail: String) -> String {
        if self.instance.is_empty() {
            tail
        } else {
            format!("{}/{tail}", self.instance)
        }
    }

    async fn read_stream(&mut self, d: &re::Digest) -> Result<Option<Vec<u8>>, Status> {
        tracing::debug!(blob = %digests::show(d), "ByteStream read");
        let req = bs::ReadRequest {
            resource_name: self.resource(format!("blobs/{}", digests::show(d))),
            read_offset: 0,
            read_limit: 0,
        };
        let mut stream = match self.bytestream.read(req).await {
            Ok(s) => s.into_inner(),
            Err(s) if s.code() == Code::NotFound => return Ok(None),
            Err(s) => return Err(s),
        };
        let mut data = Vec::with_capacity(d.size_bytes as usize);
        while let Some(chunk) = stream.message().await? {
            data.extend_from_slice(&chunk.data);
            // A server sending more than promised is wrong; stop reading it.
            if data.len() > d.size_bytes as usize {
                break;
            }
        }
        Ok(Some(data))
    }

    /// The digests among these the server lacks.
    pub async fn find_missing(
        &mut self,
        digests: &[re::Digest],
    ) -> Result<Vec<re::Digest>, Status> {
        let req = re::FindMissingBlobsRequest {
            instance_name: self.instance.clone(),
            blob_digests: digests.to_vec(),
            ..Default::default()
        };
        let cas = &self.cas;
        let resp = busy_retry(&self.calls, req, |r| {
            let mut cas = cas.clone();
            async move { cas.find_missing_blobs(r).await }
        })
        .await?;
        Ok(resp.missing_blob_digests)
    }

    /// Upload blobs (digest, bytes): batched when small, streamed when large.
    pub async fn write_blobs(&mut self, blobs: Vec<(re::Digest, Vec<u8>)>) -> Result<(), Status> {
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        for (d, data) in blobs {
            let size = data.len();
            if size + PER_BLOB_OVERHEAD > self.batch_limit {
                self.write_stream(&d, data).await?;
                continue;
            }
            if batch_bytes + size + PER_BLOB_OVERHEAD > self.batch_limit {
                self.write_batch(std::mem::take(&mut batch)).await?;
                batch_bytes = 0;
            }
            batch_bytes += size + PER_BLOB_OVERHEAD;
            batch.push(re::batch_update_blobs_request::Request {
                digest: Some(d),
                data,
                ..Default::default()
            });
        }
        if !batch.is_empty() {
            self.write_batch(batch).await?;
        }
        Ok(())
    }

    async fn write_batch(
        &mut self,
        requests: Vec<re::batch_update_blobs_request::Request>,
    ) -> Result<(), Status> {
        let req = re::BatchUpdateBlobsRequest {
            instance_name: self.instance.clone(),
            requests,
            ..Default::default()
        };
        let cas = &self.cas;
        let resp = busy_retry(&self.calls, req, |r| {
            let mut cas = cas.clone();
            async move { cas.batch_update_blobs(r).await }
        })
        .await?;
        for r in resp.responses {
            if let Some(s) = r.status
                && s.code != Code::Ok as i32
            {
                let which = r.digest.as_ref().map(digests::show).unwrap_or_default();
                return Err(Status::new(
                    Code::from_i32(s.code),
                    format!("storing blob {which}: {}", s.message),
                ));
            }
        }
        Ok(())
    }

    async fn write_stream(&mut self, d: &re::Digest, data: Vec<u8>) -> Result<(), Status> {
        tracing::debug!(blob = %digests::show(d), "ByteStream write");
        let name = self.resource(format!(
            "uploads/{}/blobs/{}",
            uuid::Uuid::new_v4(),
            digests::show(d)
        ));
        let total = data.len();
        let mut requests = Vec::with_capacity(total / CHUNK + 1);
        let mut offset = 0;
        loop {
            let end = (offset + CHUNK).min(total);
            requests.push(bs::WriteRequest {
                // Only the first message needs the name.
                resource_name: if offset == 0 {
                    name.clone()
                } else {
                    String::new()
                },
                write_offset: offset as i64,
                finish_write: end == total,
                data: data[offset..end].to_vec(),
            });
            offset = end;
            if offset == total {
                break;
            }
        }
        let resp = self
            .bytestream
            .write(tokio_stream::iter(requests))
            .await?
            .into_inner();
        if resp.committed_size != total as i64 {
            return Err(Status::data_loss(format!(
                "the server committed {} of {total} bytes of blob {}",
                resp.committed_size,
                digests::show(d)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_busy_server_is_asked_again_a_failing_one_is_not() {
        let calls = Semaphore::new(1);
        let tries = AtomicU32::new(0);
        let busy_twice = |n: u32| {
            let t = tries.fetch_add(1, Ordering::SeqCst);
            async move {
                if t < 2 {
                    Err(Status::resource_exhausted("Concurrent RPC limit exceeded!"))
                } else {
                    Ok(tonic::Response::new(n))
                }
            }
        };
        assert_eq!(run(busy_retry(&calls, 7, busy_twice)).unwrap(), 7);
        assert_eq!(tries.load(Ordering::SeqCst), 3);

        tries.store(0, Ordering::SeqCst);
        let down = |_: u32| {
            tries.fetch_add(1, Ordering::SeqCst);
            async { Err::<tonic::Response<u32>, _>(Status::unavailable("connection refused")) }
        };
        assert_eq!(
            run(busy_retry(&calls, 7, down)).unwrap_err().code(),
            Code::Unavailable
        );
        assert_eq!(
            tries.load(Ordering::SeqCst),
            1,
            "a dead server is not asked again"
        );

        tries.store(0, Ordering::SeqCst);
        let always_busy = |_: u32| {
            tries.fetch_add(1, Ordering::SeqCst);
            async { Err::<tonic::Response<u32>, _>(Status::resource_exhausted("busy")) }
        };
        let e = run(busy_retry(&calls, 7, always_busy)).unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted);
        assert_eq!(tries.load(Ordering::SeqCst), RETRIES + 1, "it gives up");
    }
}
