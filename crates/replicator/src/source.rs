//! Reading a copy job's source object.

use std::ops::Range;

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use xbak_domain::CopyJob;
use xbak_storage::{Checksum, RegionStore};

use crate::failure::CopyFailure;

/// The source object's bytes (the whole object, or `range`), refused when the object's size
/// is not the one recorded in `expected`.
pub(crate) async fn read_source(
    source: &RegionStore,
    job: &CopyJob,
    range: Option<Range<u64>>,
    expected: &Checksum,
) -> Result<BoxStream<'static, std::io::Result<bytes::Bytes>>, CopyFailure> {
    let (size, stream) = source
        .get(&job.source_key, range)
        .await
        .map_err(|e| CopyFailure::storage("reading the source", e))?;
    if size != expected.size {
        return Err(CopyFailure::Retryable(format!(
            "source object {}/{} is {size} bytes, {} were recorded",
            job.source_region_id, job.source_key, expected.size
        )));
    }
    Ok(stream.map_err(std::io::Error::other).boxed())
}
