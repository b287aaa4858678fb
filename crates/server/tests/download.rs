//! Signed download links: exact bytes, Range, refusal when expired or altered.

use axum::body::Body;
use axum::http::Request;
use xbak_testkit::*;

fn path_of(link: &str) -> String {
    link.strip_prefix(LINK_BASE).unwrap().to_owned()
}

async fn first_link(f: &Fixture) -> (String, i64) {
    let (_, body) = f.list(&[]).await;
    let item = &body["Items"]["Item"][0];
    (
        item["CrossBackupDownloadLink"].as_str().unwrap().to_owned(),
        item["CrossBackupSetSize"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn links_download_the_exact_bytes_with_ranges() {
    let f = Fixture::new(2).await;
    let (link, size) = first_link(&f).await;
    assert!(
        link.contains("OSSAccessKeyId=")
            && link.contains("Expires=")
            && link.contains("Signature="),
        "{link}"
    );
    // Newest first: set index 1.
    let want = &f.contents[1];
    assert_eq!(size as usize, want.len());
    let (status, _, body, headers) = f
        .send(Request::get(path_of(&link)).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, 200);
    assert_eq!(&body, want);
    assert_eq!(headers.get("accept-ranges").unwrap(), "bytes");

    let req = Request::get(path_of(&link))
        .header("range", "bytes=10-19")
        .body(Body::empty())
        .unwrap();
    let (status, _, body, headers) = f.send(req).await;
    assert_eq!(status, 206);
    assert_eq!(&body, &want[10..20]);
    assert_eq!(
        headers.get("content-range").unwrap().to_str().unwrap(),
        format!("bytes 10-19/{}", want.len())
    );

    let req = Request::get(path_of(&link))
        .header("range", format!("bytes={}-", want.len()))
        .body(Body::empty())
        .unwrap();
    assert_eq!(f.send(req).await.0, 416);
}

#[tokio::test]
async fn altered_or_expired_links_are_refused() {
    let f = Fixture::new(1).await;
    let (link, _) = first_link(&f).await;
    let path = path_of(&link);
    let get = |p: String| Request::get(p).body(Body::empty()).unwrap();

    let other_key = path.replacen("/cross/", "/backups/", 1);
    let (status, ct, body, _) = f.send(get(other_key)).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "application/xml");
    assert!(String::from_utf8_lossy(&body).contains("<Code>SignatureDoesNotMatch</Code>"));

    let expires = expires_of(&path);
    let longer = path.replace(
        &format!("Expires={expires}"),
        &format!("Expires={}", expires + 10),
    );
    assert_eq!(f.send(get(longer)).await.0, 403);

    // A correctly signed but expired link.
    let key = path
        .split('?')
        .next()
        .unwrap()
        .trim_start_matches("/download/cn-shanghai/")
        .to_owned();
    let old = f
        .state
        .links
        .sign(DEST, &key, chrono::Utc::now().timestamp() - 1);
    let (status, _, body, _) = f.send(get(path_of(&old))).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("expired"));

    let bare = path.split('?').next().unwrap().to_owned();
    assert_eq!(f.send(get(bare)).await.0, 403);
}
