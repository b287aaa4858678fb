//! S3 regions on a 3-node Garage cluster (`eval "$(bash .ci/garage.sh start --nodes 3)"`,
//! which `scripts/test.sh` runs; these tests fail without it): every node's S3 API serves the
//! same region, so what one worker wrote through one node another reads, links to and resumes
//! through another.

use std::time::Duration;
use xbak_storage::conformance::resumable::upload_until;
use xbak_storage::conformance::s3::TestServer;
use xbak_storage::conformance::{pattern, read, sha256_hex};
use xbak_storage::{RegionStore, PART_SIZE};

const BUCKET: &str = "xbak-cluster";

/// The same fresh region, opened through each node of the cluster.
async fn region_on_each_node() -> Vec<RegionStore> {
    let nodes = TestServer::garage_nodes(3);
    let url = nodes[0].region_url(BUCKET).await;
    nodes
        .iter()
        .map(|node| {
            let url = url.replace(&nodes[0].endpoint, &node.endpoint);
            RegionStore::open("cn-cluster", &url).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_published_through_one_node_are_read_and_linked_through_the_others() {
    let regions = region_on_each_node().await;
    let data = pattern(2 * PART_SIZE + 99, 31);
    let staged = regions[0]
        .upload_staged("cross/a.xb", &data[..], &|_| {})
        .await
        .unwrap();
    regions[0].publish(&staged, "cross/a.xb").await.unwrap();
    for (n, region) in regions.iter().enumerate() {
        assert_eq!(
            region.list("").await.unwrap(),
            vec!["cross/a.xb"],
            "node {n}"
        );
        assert_eq!(
            region.checksum("cross/a.xb").await.unwrap(),
            staged.checksum(),
            "node {n}"
        );
        let (_, tail) = read(
            region,
            "cross/a.xb",
            Some(PART_SIZE as u64..2 * PART_SIZE as u64),
        )
        .await
        .unwrap();
        assert!(tail == data[PART_SIZE..2 * PART_SIZE], "node {n}");
    }
    let url = regions[2]
        .presigned_get("cross/a.xb", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let body = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&body), sha256_hex(&data));

    // Publishing other bytes onto the key is refused whichever node it goes through.
    let other = regions[1]
        .upload_staged("cross/a.xb", &b"other"[..], &|_| {})
        .await
        .unwrap();
    assert!(regions[1].publish(&other, "cross/a.xb").await.is_err());
    assert_eq!(
        regions[2].checksum("cross/a.xb").await.unwrap(),
        staged.checksum()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_begun_through_one_node_resumes_through_another() {
    let regions = region_on_each_node().await;
    let data = pattern(4 * PART_SIZE + 5, 32);
    let (state, _) = upload_until(&regions[0], "cross/r.xb", None, &data, 2).await;
    assert_eq!(state.parts.len(), 2);

    let mut upload = regions[1]
        .resumable_upload("cross/r.xb", Some(state.clone()))
        .await
        .unwrap();
    assert_eq!(upload.state().upload_id, state.upload_id, "not resumed");
    let start = upload.resumed_from() as usize;
    assert_eq!(start, 2 * PART_SIZE);
    upload
        .write(&data[start..], &|_| {}, |_| async { Ok::<(), ()>(()) })
        .await
        .unwrap();
    let staged = upload.complete(data.len() as u64, None).await.unwrap();
    assert_eq!(
        regions[2]
            .checksum(&staged.staging_key)
            .await
            .unwrap()
            .sha256,
        sha256_hex(&data)
    );
}
