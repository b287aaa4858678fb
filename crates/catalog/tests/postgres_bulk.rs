//! The PostgreSQL batch path (`PostgresCatalog::bulk_insert_copies`, the seeder's): it keeps the
//! listing counts itself instead of through the per-row trigger, and they must equal a count of
//! the listed rows, added to counts already there. On the server named by
//! `XBAK_TEST_POSTGRES_URL` (default: 127.0.0.1:5432); no server: the test fails.

use std::sync::Arc;

use xbak_catalog::postgres::PostgresCatalog;
use xbak_catalog::sqlite::BulkCopies;
use xbak_catalog::suite::scratch::ScratchDatabase;
use xbak_catalog::suite::{
    instance_with_policy, new_instance, record, settle_all, t0, BEIJING, HANGZHOU, SHANGHAI,
};
use xbak_catalog::Catalog;
use xbak_domain::{CopyQuery, PageSize, Region};

async fn rows_of(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<String>> {
    client
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| match r.try_get::<_, i64>(i) {
                    Ok(v) => v.to_string(),
                    Err(_) => r.get::<_, String>(i),
                })
                .collect()
        })
        .collect()
}

/// The kept counts next to a count of the listed rows, as `(kept, counted)` pairs of tables.
async fn counts(client: &tokio_postgres::Client) -> [(Vec<Vec<String>>, Vec<Vec<String>>); 2] {
    [
        (
            rows_of(
                client,
                "SELECT instance_id, dest_region_id, listed FROM copy_listing_totals
                 WHERE listed <> 0 ORDER BY 1, 2",
            )
            .await,
            rows_of(
                client,
                "SELECT instance_id, dest_region_id, COUNT(*) FROM copies
                 WHERE status IN ('completed', 'failed') GROUP BY 1, 2 ORDER BY 1, 2",
            )
            .await,
        ),
        (
            rows_of(
                client,
                "SELECT instance_id, dest_region_id, day, listed FROM copy_listing_days ORDER BY 1, 2, 3",
            )
            .await,
            rows_of(
                client,
                "SELECT instance_id, dest_region_id, floor(backup_started_at / 86400.0)::BIGINT, COUNT(*)
                 FROM copies WHERE status IN ('completed', 'failed') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            )
            .await,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_copies_keep_the_listing_counts() {
    let db = ScratchDatabase::create().await;
    let pg = Arc::new(PostgresCatalog::open(db.url()).await.expect("open"));
    let cat: &dyn Catalog = &*pg;
    for id in [HANGZHOU, SHANGHAI, BEIJING] {
        cat.put_region(&Region {
            region_id: id.into(),
            store_url: format!("file:///srv/xbak/{id}"),
        })
        .await
        .unwrap();
    }
    let (account, _) = cat.create_account("acme").await.unwrap();
    // Counts the trigger already keeps: a copy through the normal path, on a day the bulk
    // copies below also fall on.
    let a = instance_with_policy(cat, account.id, "rm-a").await;
    record(cat, &a, t0(), 0).await;
    settle_all(cat, |_| false).await;
    let mut ids = vec![a.id];
    for name in ["rm-b", "rm-c", "rm-d"] {
        ids.push(
            cat.create_instance(&new_instance(account.id, name))
                .await
                .unwrap()
                .id,
        );
    }

    let spec = |instance_ids: &[i64], dest: &str| BulkCopies {
        instance_ids: instance_ids.to_vec(),
        per_instance: 40,
        dest_region_id: dest.into(),
        first_started_at: t0() - chrono::Duration::hours(2),
        step_secs: 5 * 3600,
        failed_every: Some(7),
    };
    assert_eq!(
        pg.bulk_insert_copies(&spec(&ids[..3], SHANGHAI))
            .await
            .unwrap(),
        120
    );
    assert_eq!(
        pg.bulk_insert_copies(&spec(&ids[3..], BEIJING))
            .await
            .unwrap(),
        40
    );
    let unknown = pg
        .bulk_insert_copies(&spec(&[ids[3] + 1000], SHANGHAI))
        .await;
    assert!(unknown.is_err(), "{unknown:?}");

    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let [(kept_totals, counted_totals), (kept_days, counted_days)] = counts(&client).await;
    assert_eq!(kept_totals, counted_totals);
    assert_eq!(kept_days, counted_days);
    assert_eq!(kept_totals.len(), 4, "{kept_totals:?}");
    assert!(kept_days.len() > 4 * 8, "{kept_days:?}");
    let failed = rows_of(
        &client,
        "SELECT COUNT(*) FROM copies WHERE status = 'failed'",
    )
    .await;
    assert_eq!(failed, vec![vec![(120 / 7 + 40 / 7).to_string()]]);

    // The trigger keeps counting the normal path's changes after a bulk write.
    client
        .execute(
            "UPDATE copies SET status = 'pending' WHERE instance_id = $1 AND status = 'failed'",
            &[&ids[1]],
        )
        .await
        .unwrap();
    let [(kept_totals, counted_totals), (kept_days, counted_days)] = counts(&client).await;
    assert_eq!(kept_totals, counted_totals);
    assert_eq!(kept_days, counted_days);

    // The listing reads them: the instance with the normal copy lists it and its 40.
    let listing = cat
        .list_copies(&CopyQuery {
            instance_id: a.id,
            cross_backup_id: None,
            window: None,
            dest_region_id: None,
            backup_set_id: None,
            page_size: PageSize::Thirty,
            page_number: 2,
        })
        .await
        .unwrap();
    assert_eq!(listing.total, 41);
    assert_eq!(listing.items.len(), 11);
}
