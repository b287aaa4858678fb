//! The conformance suite on every backend: each backend gets a fresh, empty store per test.
//! The S3 backends are moto (`.ci/s3-server.sh`) and Garage (`.ci/garage.sh`) on loopback;
//! without them those tests fail.

use xbak_storage::conformance::s3::TestServer;
use xbak_storage::RegionStore;

async fn local() -> (tempfile::TempDir, RegionStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/region", dir.path().display());
    let store = RegionStore::open("cn-local", &url).unwrap();
    (dir, store)
}

async fn memory() -> ((), RegionStore) {
    ((), RegionStore::open("cn-memory", "memory://").unwrap())
}

/// A fresh prefix in a bucket of moto.
async fn s3() -> ((), RegionStore) {
    let server = TestServer::moto();
    ((), server.region("cn-s3", "xbak-conformance").await)
}

/// The same, publishing without a conditional copy (`copy_if_not_exists=none`: HEAD + copy).
async fn s3_unconditional() -> ((), RegionStore) {
    let url = TestServer::moto().region_url("xbak-conformance").await + "&copy_if_not_exists=none";
    ((), RegionStore::open("cn-s3", &url).unwrap())
}

/// A fresh prefix in a bucket of Garage, with the default options (its lack of conditional
/// writes is found by probing).
async fn garage() -> ((), RegionStore) {
    let server = TestServer::garage();
    ((), server.region("cn-garage", "xbak-conformance").await)
}

/// One `#[tokio::test]` per suite entry and backend, so a failure names both.
macro_rules! suite {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (_guard, store) = super::$backend().await;
                    xbak_storage::conformance::$case(&store).await;
                }
            )*
        }
    };
}

macro_rules! all_backends {
    ($($case:ident),* $(,)?) => {
        suite!(local: $($case),*);
        suite!(memory: $($case),*);
        suite!(s3: $($case),*);
        suite!(s3_unconditional: $($case),*);
        suite!(garage: $($case),*);
    };
}

xbak_storage::conformance_suite!(all_backends);
