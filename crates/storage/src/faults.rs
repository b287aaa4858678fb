//! A fault-injecting [`ObjectStore`] wrapper, for the tests of this crate and the layers above:
//! fail a read, cut a read's stream after N bytes, stall it forever, corrupt a byte of it, fail an
//! upload's writes, refuse deletes while a switch is on.
//!
//! Faults are queued and each one is used by the next operation it applies to, so a test says
//! exactly which attempt fails: `store.push_read(ReadFault::Cut { after: 1 << 20 })` cuts the
//! next read and leaves the ones after it alone. Metadata reads (`head`) are never faulted.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// What happens to one read (`get`) of an object's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFault {
    /// The read fails before any byte.
    Fail,
    /// The stream ends with an error after `after` bytes.
    Cut { after: u64 },
    /// The stream stops forever after `after` bytes (to interrupt a copy mid-way).
    Stall { after: u64 },
    /// The byte at offset `at` of the stream comes out flipped (silent corruption).
    Corrupt { at: u64 },
}

/// What happens to one multipart upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFault {
    /// Every part write of the upload fails.
    FailParts,
}

#[derive(Debug, Default)]
struct Plan {
    reads: VecDeque<ReadFault>,
    writes: VecDeque<WriteFault>,
    reads_served: u64,
    refuse_deletes: bool,
}

/// Wraps a store and injects the queued faults.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    plan: Mutex<Plan>,
}

impl std::fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn ObjectStore>) -> Arc<Self> {
        Arc::new(FaultyStore {
            inner,
            plan: Mutex::default(),
        })
    }

    /// Queues a fault for the next unfaulted read.
    pub fn push_read(&self, fault: ReadFault) {
        self.plan().reads.push_back(fault);
    }

    /// Queues a fault for the next unfaulted multipart upload.
    pub fn push_write(&self, fault: WriteFault) {
        self.plan().writes.push_back(fault);
    }

    /// While `on`, every delete fails (a store that refuses them for a while).
    pub fn refuse_deletes(&self, on: bool) {
        self.plan().refuse_deletes = on;
    }

    /// Reads of object bytes started so far, faulted or not.
    pub fn reads(&self) -> u64 {
        self.plan().reads_served
    }

    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn injected(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultyStore",
        source: format!("injected fault: {what}").into(),
    }
}

/// `stream`, ending with `fault` once `after` bytes went by.
fn limited(
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    after: u64,
    stall: bool,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    futures::stream::unfold(
        (stream, 0u64, false),
        move |(mut s, sent, done)| async move {
            if done {
                return None;
            }
            if sent >= after {
                if stall {
                    futures::future::pending::<()>().await;
                }
                return Some((Err(injected("stream cut")), (s, sent, true)));
            }
            match s.next().await {
                None => None,
                Some(Err(e)) => Some((Err(e), (s, sent, true))),
                Some(Ok(mut bytes)) => {
                    bytes.truncate((after - sent).min(bytes.len() as u64) as usize);
                    let n = bytes.len() as u64;
                    Some((Ok(bytes), (s, sent + n, false)))
                }
            }
        },
    )
    .boxed()
}

/// `stream` with the byte at offset `at` flipped.
fn corrupted(
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    at: u64,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    let mut offset = 0u64;
    stream
        .map(move |chunk| {
            let chunk = chunk?;
            let start = offset;
            offset += chunk.len() as u64;
            if (start..offset).contains(&at) {
                let mut bytes = chunk.to_vec();
                bytes[(at - start) as usize] ^= 0xff;
                return Ok(Bytes::from(bytes));
            }
            Ok(chunk)
        })
        .boxed()
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        match self.plan().writes.pop_front() {
            None => Ok(upload),
            Some(WriteFault::FailParts) => Ok(Box::new(FailingUpload(upload))),
        }
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if options.head {
            return self.inner.get_opts(location, options).await;
        }
        let fault = {
            let mut plan = self.plan();
            plan.reads_served += 1;
            plan.reads.pop_front()
        };
        let Some(fault) = fault else {
            return self.inner.get_opts(location, options).await;
        };
        if fault == ReadFault::Fail {
            return Err(injected("read refused"));
        }
        let result = self.inner.get_opts(location, options).await?;
        let GetResult {
            payload,
            meta,
            range,
            attributes,
        } = result;
        let stream = match payload {
            GetResultPayload::Stream(s) => s,
            file @ GetResultPayload::File(..) => GetResult {
                payload: file,
                meta: meta.clone(),
                range: range.clone(),
                attributes: Default::default(),
            }
            .into_stream(),
        };
        let stream = match fault {
            ReadFault::Fail => unreachable!("handled above"),
            ReadFault::Cut { after } => limited(stream, after, false),
            ReadFault::Stall { after } => limited(stream, after, true),
            ReadFault::Corrupt { at } => corrupted(stream, at),
        };
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream),
            meta,
            range,
            attributes,
        })
    }

    async fn delete(&self, location: &Path) -> object_store::Result<()> {
        if self.plan().refuse_deletes {
            return Err(injected("delete refused"));
        }
        self.inner.delete(location).await
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.copy(from, to).await
    }

    async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.copy_if_not_exists(from, to).await
    }

    async fn rename_if_not_exists(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.rename_if_not_exists(from, to).await
    }
}

/// An upload whose part writes all fail; completing or aborting it is passed through.
#[derive(Debug)]
struct FailingUpload(Box<dyn MultipartUpload>);

#[async_trait]
impl MultipartUpload for FailingUpload {
    fn put_part(&mut self, _data: PutPayload) -> UploadPart {
        Box::pin(async { Err(injected("part write refused")) })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.0.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.0.abort().await
    }
}
