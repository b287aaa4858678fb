//! What only the local backend and the URL parser promise, and the fault injector itself.

use futures::TryStreamExt;
use std::sync::Arc;
use std::time::Duration;
use xbak_storage::conformance::{pattern, read, PatternReader};
use xbak_storage::faults::{FaultyStore, ReadFault, WriteFault};
use xbak_storage::{RegionStore, StorageError};
use xbak_testkit::world::files_under;

#[test]
fn open_creates_the_directory_and_refuses_other_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a/b/region");
    let store = RegionStore::open("cn-a", &format!("file://{}", root.display())).unwrap();
    assert!(root.is_dir());
    assert_eq!(
        (store.region_id(), store.url()),
        ("cn-a", format!("file://{}", root.display()).as_str())
    );
    for url in [
        "s3://bucket/prefix",
        "ftp://x/y",
        "relative/path",
        "file://otherhost/x",
        "",
    ] {
        match RegionStore::open("cn-a", url) {
            Err(StorageError::Unsupported(msg)) => assert!(msg.contains("cn-a"), "{msg}"),
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_upload_leaves_nothing_visible_and_sweeping_clears_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = RegionStore::open("cn-a", &format!("file://{}", dir.path().display())).unwrap();
    let halfway = std::sync::atomic::AtomicBool::new(false);
    let progress = |written: u64| {
        if written >= 16 << 20 {
            halfway.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    };
    let upload = store.upload_staged("k/obj", PatternReader::new(40 << 20, 1), &progress);
    tokio::select! {
        r = upload => panic!("upload finished: {r:?}"),
        _ = async { while !halfway.load(std::sync::atomic::Ordering::SeqCst) { tokio::time::sleep(Duration::from_micros(100)).await } } => {}
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(store.list("").await.unwrap(), Vec::<String>::new());
    let staging = dir.path().join(".staging");
    assert!(
        files_under(&staging).is_empty(),
        "partial upload left: {:?}",
        files_under(&staging)
    );

    // A killed process cannot clean up: leave a partial `#N` file as one would, then sweep.
    let token = staging.join("1-killed/k");
    std::fs::create_dir_all(&token).unwrap();
    std::fs::write(token.join("obj#1"), b"partial").unwrap();
    assert_eq!(
        store
            .sweep_staging(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.sweep_staging(Duration::ZERO).await.unwrap(), 1);
    assert!(
        std::fs::read_dir(&staging).unwrap().next().is_none(),
        "token directories left"
    );
}

fn faulty() -> (tempfile::TempDir, Arc<FaultyStore>, RegionStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let inner = RegionStore::open("cn-a", &url).unwrap();
    let _ = inner; // creates the directory
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    let faults = FaultyStore::new(Arc::new(fs));
    let store = RegionStore::from_object_store("cn-a", &url, faults.clone()).unwrap();
    (dir, faults, store)
}

#[tokio::test]
async fn queued_read_faults_hit_one_read_each() {
    let (_dir, faults, store) = faulty();
    let data = pattern(300_000, 3);
    let staged = store
        .upload_staged("f/obj", &data[..], &|_| {})
        .await
        .unwrap();
    store.publish(&staged, "f/obj").await.unwrap();

    faults.push_read(ReadFault::Fail);
    faults.push_read(ReadFault::Cut { after: 100_000 });
    assert!(matches!(
        store.get("f/obj", None).await,
        Err(StorageError::Io(_))
    ));
    let (_, stream) = store.get("f/obj", None).await.unwrap();
    let mut got = 0;
    let mut stream = stream;
    let err = loop {
        match stream.try_next().await {
            Ok(Some(b)) => got += b.len(),
            Ok(None) => panic!("stream not cut"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, 100_000);
    assert!(err.to_string().contains("injected"), "{err}");
    assert_eq!(
        read(&store, "f/obj", Some(10..20)).await.unwrap().1,
        data[10..20],
        "faults outlived their reads"
    );
    assert_eq!(
        store.head("f/obj").await.unwrap(),
        Some(300_000),
        "head is never faulted"
    );
    assert_eq!(faults.reads(), 3);

    faults.push_read(ReadFault::Corrupt { at: 200_001 });
    let (_, corrupt) = read(&store, "f/obj", None).await.unwrap();
    let differing: Vec<usize> = (0..data.len()).filter(|&i| corrupt[i] != data[i]).collect();
    assert_eq!(differing, vec![200_001]);

    faults.push_read(ReadFault::Stall { after: 5 });
    let (_, mut stream) = store.get("f/obj", None).await.unwrap();
    assert_eq!(stream.try_next().await.unwrap().unwrap().len(), 5);
    assert!(
        tokio::time::timeout(Duration::from_millis(50), stream.try_next())
            .await
            .is_err(),
        "stream did not stall"
    );
}

#[tokio::test]
async fn a_failed_write_leaves_nothing_behind() {
    let (dir, faults, store) = faulty();
    faults.push_write(WriteFault::FailParts);
    let err = store
        .upload_staged("f/obj", &pattern(1000, 1)[..], &|_| {})
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(files_under(&dir.path().join(".staging")).is_empty());
    store
        .upload_staged("f/obj", &pattern(1000, 1)[..], &|_| {})
        .await
        .expect("only one upload faulted");
}

/// Resumable uploads into a local directory: the same promises as on S3, plus what a killed
/// writer leaves in the staging file.
mod resumable {
    use xbak_storage::conformance::{pattern, resumable, sha256_hex};
    use xbak_storage::{RegionStore, LOCAL_UPLOAD_ID, PART_SIZE};

    fn region(dir: &tempfile::TempDir) -> RegionStore {
        RegionStore::open("cn-a", &format!("file://{}/region", dir.path().display())).unwrap()
    }

    /// A test of each named conformance case, on a region in a fresh temp dir.
    macro_rules! on_a_fresh_region {
        ($($case:ident),*) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let dir = tempfile::tempdir().unwrap();
                resumable::$case(&region(&dir)).await;
            }
        )*};
    }

    on_a_fresh_region!(
        uploads_resume_from_the_parts_already_uploaded,
        fresh_uploads_hash_and_unfit_states_start_over,
        empty_objects_upload_resumably,
        local_read_back_catches_a_staging_file_changed_after_a_crash,
        local_read_back_covers_a_long_resumed_prefix
    );

    /// Bytes past the checkpoint (a part in flight at the kill, here garbage) are cut off and
    /// written again; a staging file shorter than its checkpoint (lost) starts the upload over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_staging_file_is_cut_back_to_its_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let region = region(&dir);
        let data = pattern(3 * PART_SIZE + 5, 9);
        let (state, _) = resumable::upload_until(&region, "k/f", None, &data, 1).await;
        assert_eq!(state.upload_id, LOCAL_UPLOAD_ID);
        assert_eq!(state.bytes_done, PART_SIZE as u64);
        let file = dir.path().join("region").join(&state.staging_key);
        settled(&file);
        let mut garbage = std::fs::read(&file).unwrap();
        garbage.truncate(PART_SIZE);
        garbage.extend(std::iter::repeat_n(0xEEu8, PART_SIZE + 17));
        std::fs::write(&file, &garbage).unwrap();

        let mut upload = region
            .resumable_upload("k/f", Some(state.clone()))
            .await
            .unwrap();
        assert_eq!(upload.resumed_from(), PART_SIZE as u64);
        let sent_before = upload.bytes_sent();
        upload
            .write(&data[PART_SIZE..], &|_| {}, |_| async { Ok::<(), ()>(()) })
            .await
            .unwrap();
        assert_eq!(
            upload.bytes_sent() - sent_before,
            (data.len() - PART_SIZE) as u64
        );
        let staged = upload.complete(data.len() as u64, None).await.unwrap();
        assert_eq!(
            region.checksum(&staged.staging_key).await.unwrap().sha256,
            sha256_hex(&data)
        );

        // Cut below its checkpoint: not continued.
        let (state, _) = resumable::upload_until(&region, "k/g", None, &data, 2).await;
        let file = dir.path().join("region").join(&state.staging_key);
        settled(&file);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(PART_SIZE as u64)
            .unwrap();
        let fresh = region
            .resumable_upload("k/g", Some(state.clone()))
            .await
            .unwrap();
        assert_eq!(fresh.resumed_from(), 0);
        assert_ne!(fresh.state().staging_key, state.staging_key);
        assert!(!file.exists(), "the unusable file is discarded");
    }

    /// Waits until no write of the dropped upload is still landing in `file` (its length holds
    /// still for 100 ms), so the test's own cuts are not undone by a part still in flight.
    fn settled(file: &std::path::Path) {
        let len = || std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let mut last = len();
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = len();
            if now == last {
                return;
            }
            last = now;
        }
    }
}
