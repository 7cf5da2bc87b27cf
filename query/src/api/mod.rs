//! Wire types of the daemon's HTTP API (`/api/v1`), shared by the daemon, the console, the
//! command line and tests, so that all of them read and write the same JSON.

pub mod analytics;
mod automation;
mod customer;
mod experiment;
mod ingest;
mod mask;
mod model;
mod segment;
mod status;

pub use automation::{ChannelDoc, JourneyDoc, JourneyStepDoc, MessagesDoc, PreviewDoc, WhyRecord};
pub use customer::{
    CustomerDoc, EventDoc, IdentifierDoc, IdentityDoc, LinkDoc, SearchDoc, SearchHitDoc, TraitDoc, json_value,
    recent_events,
};
/// What an erasure removed (`DELETE /api/v1/customers/{id}`, `GET /api/v1/erasures`).
pub use cxp_store::ErasureReceipt;
pub use experiment::{
    AssignmentDoc, Comparison, ExperimentDoc, ExperimentResults, FactorDoc, MetricResult, MetricValue, VariantDoc,
};
pub use ingest::{ErrorReply, RejectedLine, SegmentReply, WriteReply};
pub use mask::{mask_email, mask_identifier, mask_phone, mask_value};
pub use model::{ModelDoc, TrainDoc, VersionSummary};
pub use segment::{
    ChangesDoc, MemberDoc, MembersDoc, QueryDoc, SegmentChange, SegmentDef, SegmentDoc, SizePoint, StepDoc, members,
};
pub use status::{FieldQuality, Latency, QualityDoc, QuarantineDoc, Status, TokenDoc};
