//! Resumable uploads ([`RegionStore::resumable_upload`]), for every backend that has them
//! (S3-compatible and local regions): run by `tests/s3.rs` and `tests/local.rs`.

use super::{pattern, sha256_hex};
use crate::{
    Checksum, RegionStore, ResumableStaged, ResumeState, StorageError, UploadError, PART_SIZE,
};
use futures::TryStreamExt;

/// Writes `data` through a resumable upload, stopping (as a crash would) once `stop_after`
/// parts were checkpointed; returns the last checkpointed state.
pub async fn upload_until(
    region: &RegionStore,
    key: &str,
    from: Option<ResumeState>,
    data: &[u8],
    stop_after: usize,
) -> (ResumeState, u64) {
    let mut upload = region.resumable_upload(key, from).await.unwrap();
    let start = upload.resumed_from() as usize;
    let mut saved = upload.state().clone();
    let mut count = 0;
    let result = upload
        .write(&data[start..], &|_| {}, |state| {
            saved = state.clone();
            count += 1;
            let stop = count >= stop_after;
            async move {
                if stop {
                    Err("crash")
                } else {
                    Ok(())
                }
            }
        })
        .await;
    assert!(matches!(result, Err(UploadError::Checkpoint("crash"))));
    (saved, upload.bytes_sent())
}

/// Parts checkpointed before a crash are not sent again; a crash after completing sends nothing.
pub async fn uploads_resume_from_the_parts_already_uploaded(region: &RegionStore) {
    assert!(region.supports_resume());
    let data = pattern(5 * PART_SIZE + 777, 3);
    let key = "cross/r/obj";

    let (state, _) = upload_until(region, key, None, &data, 2).await;
    assert_eq!(state.parts.len(), 2);
    assert_eq!(state.bytes_done, 2 * PART_SIZE as u64);
    let json = state.to_json();
    assert_eq!(ResumeState::from_json(&json), Some(state.clone()));
    assert_eq!(ResumeState::from_json("{\"v\":2}"), None);
    assert_eq!(region.list("").await.unwrap(), Vec::<String>::new());

    // Resume twice more, then finish: nothing is uploaded twice but parts in flight.
    let (state, _) = upload_until(region, key, Some(state), &data, 1).await;
    assert_eq!(state.bytes_done, 3 * PART_SIZE as u64);
    let mut upload = region
        .resumable_upload(key, Some(state.clone()))
        .await
        .unwrap();
    assert_eq!(upload.resumed_from(), 3 * PART_SIZE as u64);
    assert_eq!(upload.state().upload_id, state.upload_id);
    let sha = upload
        .write(&data[3 * PART_SIZE..], &|_| {}, |_| async {
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
    assert_eq!(sha, None, "a resumed upload cannot know the whole checksum");
    assert_eq!(
        upload.bytes_sent(),
        data.len() as u64 - 3 * PART_SIZE as u64
    );
    let finished = upload.state().clone();
    let staged = upload.complete(data.len() as u64, None).await.unwrap();
    assert_eq!(staged.resumed_from, 3 * PART_SIZE as u64);
    assert_eq!(
        staged.read_back,
        read_back_of(region, &data),
        "a local file is read back whole, the parts from before the crash too"
    );
    assert_eq!(
        region.checksum(&staged.staging_key).await.unwrap().sha256,
        sha256_hex(&data)
    );
    assert_eq!(region.list("").await.unwrap(), Vec::<String>::new());

    // A crash after completing: resuming finds the staging object and uploads nothing.
    let mut again = region
        .resumable_upload(key, Some(finished.clone()))
        .await
        .unwrap();
    assert_eq!(again.resumed_from(), data.len() as u64);
    assert_eq!(
        again
            .write(&b""[..], &|_| {}, |_| async { Ok::<(), ()>(()) })
            .await
            .unwrap(),
        None
    );
    let staged = again.complete(data.len() as u64, None).await.unwrap();
    assert_eq!(staged.staging_key, finished.staging_key);
    assert_eq!(
        staged.read_back,
        read_back_of(region, &data),
        "a local file is read back whole, also with nothing left to write"
    );

    region.discard_upload(&finished).await;
    assert_eq!(region.head(&finished.staging_key).await.unwrap(), None);
}

/// A fresh upload hashes what it writes; a state that does not fit the key or the part size
/// is discarded, and a discarded upload is never continued.
pub async fn fresh_uploads_hash_and_unfit_states_start_over(region: &RegionStore) {
    let data = pattern(PART_SIZE + 10, 4);
    let mut upload = region.resumable_upload("k/a", None).await.unwrap();
    let mut checkpoints = Vec::new();
    let sha = upload
        .write(&data[..], &|_| {}, |s| {
            checkpoints.push(s.bytes_done);
            async { Ok::<(), ()>(()) }
        })
        .await
        .unwrap();
    assert_eq!(sha.as_deref(), Some(sha256_hex(&data).as_str()));
    assert_eq!(checkpoints, vec![PART_SIZE as u64, data.len() as u64]);
    let state = upload.state().clone();
    let staged = upload.complete(data.len() as u64, sha).await.unwrap();
    assert_eq!(staged.read_back, read_back_of(region, &data));

    // A state for another key, or of another part size, is discarded, not continued.
    let other = region
        .resumable_upload("k/b", Some(state.clone()))
        .await
        .unwrap();
    assert_ne!(other.state().staging_key, state.staging_key);
    assert_eq!(other.resumed_from(), 0);
    assert_eq!(
        region.head(&state.staging_key).await.unwrap(),
        None,
        "discarded"
    );
    let odd = ResumeState {
        part_size: 5 << 20,
        ..other.state().clone()
    };
    let fresh = region.resumable_upload("k/b", Some(odd)).await.unwrap();
    assert_eq!(fresh.resumed_from(), 0);

    // A discarded upload is not continued: it starts over, or (S3, where the upload id is only
    // found dead when used) its next part fails and says so.
    let (state, _) = upload_until(region, "k/c", None, &pattern(3 * PART_SIZE, 5), 1).await;
    region.discard_upload(&state).await;
    let mut dead = region.resumable_upload("k/c", Some(state)).await.unwrap();
    if dead.resumed_from() > 0 {
        let e = dead
            .write(&pattern(2 * PART_SIZE, 5)[..], &|_| {}, |_| async {
                Ok::<(), ()>(())
            })
            .await
            .unwrap_err();
        assert!(matches!(e, UploadError::Storage(_)), "{e:?}");
    }
}

/// An empty object completes with the empty SHA-256.
pub async fn empty_objects_upload_resumably(region: &RegionStore) {
    let mut upload = region.resumable_upload("k/empty", None).await.unwrap();
    let sha = upload
        .write(&b""[..], &|_| {}, |_| async { Ok::<(), ()>(()) })
        .await
        .unwrap();
    let staged = upload.complete(0, sha).await.unwrap();
    assert_eq!(
        staged.sha256.as_deref(),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(staged.read_back, read_back_of(region, b""));
    let (size, stream) = region.get(&staged.staging_key, None).await.unwrap();
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    assert_eq!((size, chunks.concat().len()), (0, 0));
}

/// Resumes the upload `state` names (it must continue from `state.bytes_done`), writes the rest
/// of `data` and completes it.
async fn resume_to_the_end(
    region: &RegionStore,
    key: &str,
    state: ResumeState,
    data: &[u8],
) -> ResumableStaged {
    let from = state.bytes_done;
    let mut upload = region.resumable_upload(key, Some(state)).await.unwrap();
    assert_eq!(upload.resumed_from(), from);
    upload
        .write(&data[from as usize..], &|_| {}, |_| async {
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
    upload.complete(data.len() as u64, None).await.unwrap()
}

/// What a finished upload of `data` reports as read back: the bytes' checksum on a local
/// region (read behind the writer), nothing on S3-compatible ones.
fn read_back_of(region: &RegionStore, data: &[u8]) -> Option<Checksum> {
    region.local_file("").map(|_| Checksum {
        size: data.len() as u64,
        sha256: sha256_hex(data),
    })
}

/// Local regions: the read-back behind the writer reads the staging file, not the stream it
/// was written from, so bytes changed in the file between a crash and the resume (a torn
/// write, a disk fault) are caught before anything is published.
pub async fn local_read_back_catches_a_staging_file_changed_after_a_crash(region: &RegionStore) {
    let data = pattern(3 * PART_SIZE + 5, 6);
    let (state, _) = upload_until(region, "k/torn", None, &data, 2).await;
    let file = region
        .local_file(&state.staging_key)
        .expect("a local region");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[PART_SIZE + 17] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();

    let staged = resume_to_the_end(region, "k/torn", state, &data).await;
    let expected = Checksum {
        size: data.len() as u64,
        sha256: sha256_hex(&data),
    };
    let read = staged.read_back.expect("read back behind the writer");
    assert_eq!(read.size, expected.size);
    match read.confirm(&staged.staging_key, &expected) {
        Err(StorageError::ChecksumMismatch { actual, .. }) => {
            // What the file holds: the changed prefix (cut back to the checkpoint), then the rest.
            let mut held = bytes[..2 * PART_SIZE].to_vec();
            held.extend_from_slice(&data[2 * PART_SIZE..]);
            assert_eq!(actual.sha256, sha256_hex(&held));
        }
        other => panic!("a changed byte passed the read-back: {other:?}"),
    }
}

/// Local regions: a resumed upload reads back its whole prefix, in several bounded steps when
/// it is long (here 72 MiB before the resume), and the result is the whole file's checksum.
pub async fn local_read_back_covers_a_long_resumed_prefix(region: &RegionStore) {
    let data = pattern(10 * PART_SIZE + 5, 7);
    let (state, _) = upload_until(region, "k/long", None, &data, 9).await;
    assert_eq!(state.bytes_done, 9 * PART_SIZE as u64);
    let staged = resume_to_the_end(region, "k/long", state, &data).await;
    assert_eq!(staged.read_back, read_back_of(region, &data));
}
