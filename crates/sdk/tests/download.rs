//! Downloads against a real xbak server: whole file, resume from a `.part` with only the rest
//! fetched, an expired link renewed, a corrupt prefix caught by the checksum.

mod common;

use common::*;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Duration;
use xbak_sdk::download::with_suffix;
use xbak_sdk::{DownloadEvent, DownloadOptions, DownloadOutcome, DownloadRequest, SdkError};
use xbak_testkit::*;

const BIG: usize = 3 * 1024 * 1024 + 123;

async fn big_server(link_ttl: Duration) -> Server {
    Server::start(Setup {
        sets: 2,
        first_set_bytes: Some(BIG),
        link_ttl,
    })
    .await
}

/// A [`big_server`] whose links live `link_ttl`, the big set's id and the destination `name` in
/// the server's folder.
async fn big_download(link_ttl: Duration, name: &str) -> (Server, i64, PathBuf) {
    let s = big_server(link_ttl).await;
    let id = big_id(&s).await;
    let dest = s.dir.path().join(name);
    (s, id, dest)
}

/// The oldest set (index 0, the big one) is the last item of the newest-first listing.
async fn big_id(s: &Server) -> i64 {
    let (start, end) = s.window();
    let items = s
        .client()
        .describe_cross_region_backups_pages(
            xbak_sdk::DescribeCrossRegionBackupsRequest::new(INSTANCE).window(start, end),
        )
        .collect_items()
        .await
        .unwrap();
    let item = items.last().unwrap();
    assert_eq!(item.cross_backup_set_size as usize, BIG);
    item.cross_backup_id
}

fn req(id: i64) -> DownloadRequest {
    DownloadRequest {
        db_instance_id: INSTANCE.into(),
        region_id: None,
        cross_backup_id: id,
    }
}

/// Downloads set `id` of `s` with `opts`, ignoring the progress events.
async fn download(
    s: &Server,
    id: i64,
    opts: &DownloadOptions,
) -> Result<DownloadOutcome, SdkError> {
    s.client()
        .download_cross_region_backup(&req(id), opts, &mut |_| {})
        .await
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Writes `DEST.part` with `prefix` and `DEST.part.json` as an interrupted run leaves them.
async fn interrupted(s: &Server, id: i64, dest: &std::path::Path, prefix: &[u8]) {
    let item = s.client().cross_region_backup(&req(id)).await.unwrap();
    std::fs::write(with_suffix(dest, ".part"), prefix).unwrap();
    let meta = serde_json::json!({"DBInstanceId": INSTANCE, "RegionId": null, "Item": item});
    std::fs::write(
        with_suffix(dest, ".part.json"),
        serde_json::to_vec(&meta).unwrap(),
    )
    .unwrap();
}

#[tokio::test]
async fn whole_download_verifies_size_and_sha256() {
    let (s, id, dest) = big_download(Duration::from_secs(3600), "out.xb").await;
    let mut events = Vec::new();
    let mut opts = DownloadOptions::new(&dest);
    opts.expected_sha256 = Some(sha(&s.contents[0]));
    let out = s
        .client()
        .download_cross_region_backup(&req(id), &opts, &mut |e| events.push(e))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), s.contents[0]);
    assert_eq!(out.size as usize, BIG);
    assert_eq!(out.sha256, sha(&s.contents[0]));
    assert!(out.sha256_verified && !out.crc64_verified);
    assert_eq!((out.resumed_from, out.links_renewed), (0, 0));
    assert!(!with_suffix(&dest, ".part").exists());
    assert!(!with_suffix(&dest, ".part.json").exists());
    assert_eq!(
        events.first(),
        Some(&DownloadEvent::Started {
            total: BIG as u64,
            offset: 0
        })
    );
    assert!(events.contains(&DownloadEvent::Progress { done: BIG as u64 }));
    assert_eq!(events.last(), Some(&DownloadEvent::Verifying));
    assert_eq!(*s.download_ranges.lock().unwrap(), [""]);

    // The destination exists now: refused unless overwriting.
    let e = download(&s, id, &opts).await.unwrap_err();
    assert!(
        matches!(e, SdkError::Download(ref m) if m.contains("already exists")),
        "{e}"
    );
    opts.overwrite = true;
    download(&s, id, &opts).await.unwrap();
}

#[tokio::test]
async fn resume_fetches_only_the_rest() {
    let (s, id, dest) = big_download(Duration::from_secs(3600), "resumed.xb").await;
    let cut = 1_000_000;
    interrupted(&s, id, &dest, &s.contents[0][..cut]).await;
    let out = download(&s, id, &DownloadOptions::new(&dest))
        .await
        .unwrap();
    assert_eq!(out.resumed_from, cut as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), s.contents[0]);
    assert_eq!(
        out.sha256,
        sha(&s.contents[0]),
        "the resumed prefix is hashed too"
    );
    assert_eq!(
        *s.download_ranges.lock().unwrap(),
        [format!("bytes={cut}-")],
        "one request, for the missing bytes only"
    );
}

#[tokio::test]
async fn a_part_file_of_another_backup_is_discarded() {
    let (s, id, dest) = big_download(Duration::from_secs(3600), "other.xb").await;
    interrupted(&s, id, &dest, b"0123456789").await;
    // Ask for the other backup with the same destination.
    let (start, end) = s.window();
    let page = s
        .client()
        .describe_cross_region_backups(
            &xbak_sdk::DescribeCrossRegionBackupsRequest::new(INSTANCE).window(start, end),
        )
        .await
        .unwrap();
    let other = page.items[0].cross_backup_id;
    assert_ne!(other, id);
    let out = download(&s, other, &DownloadOptions::new(&dest))
        .await
        .unwrap();
    assert_eq!(out.resumed_from, 0);
    assert_eq!(std::fs::read(&dest).unwrap(), s.contents[1]);
}

#[tokio::test]
async fn an_expired_link_is_renewed() {
    let (s, id, dest) = big_download(Duration::from_secs(1), "renewed.xb").await;
    interrupted(&s, id, &dest, &s.contents[0][..4096]).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut events = Vec::new();
    let out = s
        .client()
        .download_cross_region_backup(&req(id), &DownloadOptions::new(&dest), &mut |e| {
            events.push(e)
        })
        .await
        .unwrap();
    assert_eq!(out.links_renewed, 1);
    assert!(events.contains(&DownloadEvent::LinkRenewed));
    assert_eq!(std::fs::read(&dest).unwrap(), s.contents[0]);
    // First the stale link was refused (with its Range), then the fresh one served the rest.
    assert_eq!(
        *s.download_ranges.lock().unwrap(),
        ["bytes=4096-", "bytes=4096-"]
    );
}

#[tokio::test]
async fn a_corrupt_prefix_fails_the_checksum_and_is_removed() {
    let (s, id, dest) = big_download(Duration::from_secs(3600), "corrupt.xb").await;
    let mut prefix = s.contents[0][..2048].to_vec();
    prefix[100] ^= 0xff;
    interrupted(&s, id, &dest, &prefix).await;
    let mut opts = DownloadOptions::new(&dest);
    opts.expected_sha256 = Some(sha(&s.contents[0]));
    let e = download(&s, id, &opts).await.unwrap_err();
    assert!(
        matches!(e, SdkError::Download(ref m) if m.contains("SHA-256")),
        "{e}"
    );
    assert!(!dest.exists());
    assert!(
        !with_suffix(&dest, ".part").exists(),
        "bad bytes are not kept"
    );
    // The next run starts over and succeeds.
    let out = download(&s, id, &opts).await.unwrap();
    assert_eq!((out.resumed_from, out.sha256_verified), (0, true));
}

#[tokio::test]
async fn unknown_backup_is_a_download_error() {
    let s = Server::start(Setup::default()).await;
    let dest = s.dir.path().join("x");
    let e = download(&s, 999_999, &DownloadOptions::new(&dest))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SdkError::Download(ref m) if m.contains("no cross-region backup")),
        "{e}"
    );
}
