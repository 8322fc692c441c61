//! The Remote Workers API (`google.devtools.remoteworkers.v1test2`), the part a bot needs:
//! its BotSession, the Leases it holds, and the Bots service's two calls. BuildGrid's
//! scheduler hands work to bots through it.
//!
//! `bazel-remote-apis` does not carry these protos, so the few messages are written here
//! with prost's derive, field numbers as in upstream `bots.proto` and `worker.proto`.

use bazel_remote_apis::google::protobuf::{Any, Timestamp};
use bazel_remote_apis::google::rpc::Status;
use tonic::codegen::http::uri::PathAndQuery;

#[derive(Clone, PartialEq, prost::Message)]
pub struct BotSession {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub bot_id: String,
    #[prost(enumeration = "BotStatus", tag = "3")]
    pub status: i32,
    #[prost(message, optional, tag = "4")]
    pub worker: Option<Worker>,
    #[prost(message, repeated, tag = "5")]
    pub leases: Vec<Lease>,
    #[prost(message, optional, tag = "6")]
    pub expire_time: Option<Timestamp>,
    #[prost(string, tag = "7")]
    pub version: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Lease {
    #[prost(string, tag = "7")]
    pub id: String,
    /// What to do: BuildGrid packs the REAPI `Action` (or its `Digest`).
    #[prost(message, optional, tag = "8")]
    pub payload: Option<Any>,
    /// What came of it: the bot packs the REAPI `ActionResult`.
    #[prost(message, optional, tag = "9")]
    pub result: Option<Any>,
    #[prost(enumeration = "LeaseState", tag = "2")]
    pub state: i32,
    #[prost(message, optional, tag = "3")]
    pub status: Option<Status>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Worker {
    /// The first is the one that runs commands; its properties (`OSFamily`, `ISA`) are
    /// what the scheduler matches an Action's platform against.
    #[prost(message, repeated, tag = "1")]
    pub devices: Vec<Device>,
    #[prost(message, repeated, tag = "2")]
    pub properties: Vec<KeyValue>,
    #[prost(message, repeated, tag = "3")]
    pub configs: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Device {
    #[prost(string, tag = "1")]
    pub handle: String,
    #[prost(message, repeated, tag = "2")]
    pub properties: Vec<KeyValue>,
}

/// `Worker.Property`, `Worker.Config` and `Device.Property` have the same shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateBotSessionRequest {
    #[prost(string, tag = "1")]
    pub parent: String,
    #[prost(message, optional, tag = "2")]
    pub bot_session: Option<BotSession>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateBotSessionRequest {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub bot_session: Option<BotSession>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum BotStatus {
    Unspecified = 0,
    Ok = 1,
    Unhealthy = 2,
    HostRebooting = 3,
    BotTerminating = 4,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum LeaseState {
    Unspecified = 0,
    Pending = 1,
    Active = 2,
    Completed = 4,
    Cancelled = 5,
}

/// The Bots service's client: two unary calls over any tonic channel.
#[derive(Clone)]
pub struct BotsClient<T> {
    inner: tonic::client::Grpc<T>,
}

impl<T> BotsClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    pub fn new(inner: T) -> Self {
        BotsClient {
            inner: tonic::client::Grpc::new(inner),
        }
    }

    pub async fn create_bot_session(
        &mut self,
        req: tonic::Request<CreateBotSessionRequest>,
    ) -> Result<BotSession, tonic::Status> {
        self.unary(
            req,
            "/google.devtools.remoteworkers.v1test2.Bots/CreateBotSession",
        )
        .await
    }

    pub async fn update_bot_session(
        &mut self,
        req: tonic::Request<UpdateBotSessionRequest>,
    ) -> Result<BotSession, tonic::Status> {
        self.unary(
            req,
            "/google.devtools.remoteworkers.v1test2.Bots/UpdateBotSession",
        )
        .await
    }

    async fn unary<Req: prost::Message + 'static>(
        &mut self,
        req: tonic::Request<Req>,
        path: &'static str,
    ) -> Result<BotSession, tonic::Status> {
        self.inner
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(format!("not ready: {}", e.into())))?;
        let codec = tonic_prost::ProstCodec::<Req, BotSession>::default();
        self.inner
            .unary(req, PathAndQuery::from_static(path), codec)
            .await
            .map(tonic::Response::into_inner)
    }
}

/// The type URL an `Any` holding a message of this full name carries.
pub fn type_url(full_name: &str) -> String {
    format!("type.googleapis.com/{full_name}")
}

/// Pack a message in an `Any`.
pub fn pack(full_name: &str, m: &impl prost::Message) -> Any {
    Any {
        type_url: type_url(full_name),
        value: m.encode_to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_lease_round_trips_with_upstream_field_numbers() {
        let lease = Lease {
            id: "job-1".into(),
            payload: Some(pack(
                "build.bazel.remote.execution.v2.Digest",
                &Timestamp {
                    seconds: 1,
                    nanos: 2,
                },
            )),
            state: LeaseState::Active as i32,
            ..Default::default()
        };
        let bytes = lease.encode_to_vec();
        // `id` is field 7 (tag byte 7 << 3 | 2 = 0x3a), `state` field 2 (0x10): as upstream.
        assert!(bytes.windows(2).any(|w| w == [0x3a, 5]), "{bytes:x?}");
        assert!(bytes.windows(2).any(|w| w == [0x10, 2]), "{bytes:x?}");
        assert_eq!(Lease::decode(bytes.as_slice()).unwrap(), lease);
    }

    #[test]
    fn capacity_travels_as_a_worker_config() {
        let s = BotSession {
            bot_id: "b".into(),
            status: BotStatus::Ok as i32,
            worker: Some(Worker {
                devices: vec![],
                properties: vec![],
                configs: vec![KeyValue {
                    key: "capacity".into(),
                    value: "2".into(),
                }],
            }),
            ..Default::default()
        };
        let back = BotSession::decode(s.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back.worker.unwrap().configs[0].value, "2");
    }
}
