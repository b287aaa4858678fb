//! Plain object operations: staged upload and publish, listing, ranged reads, deletes,
//! absent and malformed keys.

use super::{pattern, put, read, sha256_hex, stage};
use crate::{RegionStore, Staged, StorageError, PART_SIZE};
use std::sync::Mutex;

/// Upload to staging, check what the upload and a read-back saw, publish, read it back.
pub async fn upload_checksum_publish(store: &RegionStore) {
    let data = pattern(PART_SIZE + 1234, 1);
    let progress = Mutex::new(Vec::new());
    let staged = store
        .upload_staged("conf/a/obj.xb", &data[..], &|n| {
            progress.lock().unwrap().push(n)
        })
        .await
        .unwrap();
    assert_eq!(staged.size, data.len() as u64);
    assert_eq!(staged.sha256, sha256_hex(&data));
    assert!(
        staged.staging_key.starts_with(".staging/")
            && staged.staging_key.ends_with("/conf/a/obj.xb"),
        "{}",
        staged.staging_key
    );
    assert_eq!(
        *progress.lock().unwrap(),
        vec![PART_SIZE as u64, data.len() as u64]
    );
    assert_eq!(
        store.checksum(&staged.staging_key).await.unwrap(),
        staged.checksum()
    );
    assert_eq!(
        store.head("conf/a/obj.xb").await.unwrap(),
        None,
        "visible before publish"
    );

    store.publish(&staged, "conf/a/obj.xb").await.unwrap();
    assert_eq!(store.list("").await.unwrap(), vec!["conf/a/obj.xb"]);
    assert_eq!(
        store.head("conf/a/obj.xb").await.unwrap(),
        Some(data.len() as u64)
    );
    assert_eq!(
        store.checksum("conf/a/obj.xb").await.unwrap(),
        staged.checksum()
    );
    assert_eq!(
        store.head(&staged.staging_key).await.unwrap(),
        None,
        "staging object left after publish"
    );
    let (size, bytes) = read(store, "conf/a/obj.xb", None).await.unwrap();
    assert_eq!(size, data.len() as u64);
    assert!(bytes == data, "read-back differs");
}

/// A zero-byte object goes through the same path.
pub async fn empty_object(store: &RegionStore) {
    let staged = stage(store, "conf/empty", b"").await;
    assert_eq!(
        (staged.size, staged.sha256.as_str()),
        (
            0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
    );
    store.publish(&staged, "conf/empty").await.unwrap();
    assert_eq!(store.head("conf/empty").await.unwrap(), Some(0));
    assert_eq!(
        read(store, "conf/empty", None).await.unwrap(),
        (0, Vec::new())
    );
    assert_eq!(
        store.checksum("conf/empty").await.unwrap(),
        staged.checksum()
    );
}

/// Staged objects are readable by key but never listed, under any prefix.
pub async fn staging_is_never_listed(store: &RegionStore) {
    let staged = stage(store, "conf/s/obj", b"staged").await;
    put(store, "conf/s/visible", b"visible").await;
    assert_eq!(store.list("").await.unwrap(), vec!["conf/s/visible"]);
    assert_eq!(store.list("conf/s").await.unwrap(), vec!["conf/s/visible"]);
    assert_eq!(store.list(".staging").await.unwrap(), Vec::<String>::new());
    assert_eq!(store.head(&staged.staging_key).await.unwrap(), Some(6));
}

/// Prefixes match whole segments; results are sorted.
pub async fn list_matches_whole_segments(store: &RegionStore) {
    for key in ["cross/rm-10/b", "cross/rm-1/b", "cross/rm-1/a", "other/x"] {
        put(store, key, key.as_bytes()).await;
    }
    assert_eq!(
        store.list("cross/rm-1").await.unwrap(),
        vec!["cross/rm-1/a", "cross/rm-1/b"]
    );
    assert_eq!(
        store.list("cross/rm-1/").await.unwrap(),
        vec!["cross/rm-1/a", "cross/rm-1/b"]
    );
    assert_eq!(store.list("cross").await.unwrap().len(), 3);
    assert_eq!(store.list("nothing").await.unwrap(), Vec::<String>::new());
}

/// Ranges are end-exclusive, clamped at the end, and refused when unsatisfiable.
pub async fn ranged_reads(store: &RegionStore) {
    let data = pattern(2 * 1024 * 1024 + 500, 2);
    put(store, "conf/r", &data).await;
    let len = data.len() as u64;
    let mib = 1024 * 1024;
    for r in [
        0..1,
        10..20,
        mib - 5..mib + 5,
        2 * mib - 1..2 * mib + 1,
        len - 1..len,
        0..len,
    ] {
        let (size, bytes) = read(store, "conf/r", Some(r.clone())).await.unwrap();
        assert_eq!(size, len);
        assert!(
            bytes == data[r.start as usize..r.end as usize],
            "range {r:?}"
        );
    }
    let (_, tail) = read(store, "conf/r", Some(len - 3..len + 100))
        .await
        .unwrap();
    assert_eq!(tail, data[data.len() - 3..], "end not clamped");
    for r in [len..len + 1, len + 10..len + 20, 5..5] {
        match read(store, "conf/r", Some(r.clone())).await {
            Err(StorageError::InvalidRange { .. }) => {}
            other => panic!("range {r:?}: {other:?}"),
        }
    }
}

/// Deleting removes the object; deleting again, or something absent, succeeds.
pub async fn delete_is_idempotent(store: &RegionStore) {
    put(store, "conf/d", b"x").await;
    store.delete("conf/d").await.unwrap();
    assert_eq!(store.head("conf/d").await.unwrap(), None);
    store.delete("conf/d").await.unwrap();
    store.delete("conf/never").await.unwrap();
    assert_eq!(store.list("").await.unwrap(), Vec::<String>::new());
}

/// Absent objects: `head` says `None`, reads say `NotFound`.
pub async fn missing_objects_are_not_found(store: &RegionStore) {
    assert_eq!(store.head("conf/none").await.unwrap(), None);
    assert!(matches!(
        store.get("conf/none", None).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        store.get("conf/none", Some(0..1)).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        store.checksum("conf/none").await,
        Err(StorageError::NotFound(_))
    ));
    let ghost = Staged {
        staging_key: ".staging/0-ghost/conf/none".into(),
        size: 1,
        sha256: sha256_hex(b"x"),
    };
    assert!(matches!(
        store.publish(&ghost, "conf/none").await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(store.list("").await.unwrap(), Vec::<String>::new());
}

/// Writes to malformed or reserved keys are refused; reads of them find nothing.
pub async fn invalid_keys_are_refused(store: &RegionStore) {
    for key in ["", "../x", "a//b", "/abs", ".staging/x", "a/./b", "f#1"] {
        match store.upload_staged(key, &b"x"[..], &|_| {}).await {
            Err(StorageError::InvalidKey(k)) => assert_eq!(k, key),
            other => panic!("upload to {key:?}: {other:?}"),
        }
        assert_eq!(store.head(key).await.unwrap(), None);
    }
    let staged = stage(store, "conf/k", b"x").await;
    assert!(matches!(
        store.publish(&staged, ".staging/y").await,
        Err(StorageError::InvalidKey(_))
    ));
    assert!(matches!(
        store.publish(&staged, "../y").await,
        Err(StorageError::InvalidKey(_))
    ));
    let not_staged = Staged {
        staging_key: "conf/k".into(),
        ..staged
    };
    assert!(matches!(
        store.publish(&not_staged, "conf/k2").await,
        Err(StorageError::InvalidKey(_))
    ));
}
