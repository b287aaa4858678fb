//! Uploads, read-backs and reads stream: a 50 MB object never sits in memory whole. The heap
//! is measured by a counting allocator, so this binary holds this one test only.

use futures::TryStreamExt;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use xbak_storage::conformance::PatternReader;
use xbak_storage::{RegionStore, PART_SIZE};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap growth above the level at the start of `f`'s measurement.
async fn peak_growth<T>(f: impl std::future::Future<Output = T>) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f.await;
    (out, PEAK.load(Ordering::Relaxed) - base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabytes_stream_through_bounded_memory() {
    const LEN: u64 = 50_000_000;
    // What the pipeline may hold: a part being read, two being written, one being hashed.
    const BOUND: usize = 4 * PART_SIZE + (1 << 20);
    let dir = tempfile::tempdir().unwrap();
    let store = RegionStore::open("cn-local", &format!("file://{}", dir.path().display())).unwrap();

    let mut reader = PatternReader::new(LEN, 7);
    let (staged, upload) = peak_growth(store.upload_staged("big/obj", &mut reader, &|_| {})).await;
    let staged = staged.unwrap();
    assert_eq!((staged.size, &staged.sha256), (LEN, &reader.sha256()));

    let (checksum, verify) = peak_growth(store.checksum(&staged.staging_key)).await;
    assert_eq!(checksum.unwrap(), staged.checksum());

    store.publish(&staged, "big/obj").await.unwrap();
    let (read, stream) = peak_growth(async {
        let (_, s) = store.get("big/obj", None).await.unwrap();
        s.try_fold(0u64, |n, b| async move { Ok(n + b.len() as u64) })
            .await
            .unwrap()
    })
    .await;
    assert_eq!(read, LEN);

    eprintln!("peak heap growth: upload {upload} B, checksum {verify} B, stream {stream} B");
    assert!(upload < BOUND, "upload held {upload} bytes");
    assert!(verify < 2 * PART_SIZE, "checksum held {verify} bytes");
    assert!(stream < 4 << 20, "read held {stream} bytes");
}
