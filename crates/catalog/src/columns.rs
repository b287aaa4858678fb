//! The column lists both adapters select rows with, in the order their row mappers
//! (`instance_at`, `backup_set_at`, `copy_at` in each backend's `rows`) read them. The SQL is the
//! same in SQLite and PostgreSQL.

/// Columns of `instances i`.
pub(crate) const INSTANCE_COLUMNS: &str =
    "i.id, i.db_instance_id, i.region_id, i.account_id, i.engine, \
     i.engine_version, i.category, i.storage_type, i.instance_number, i.created_at";

/// Columns of `backup_sets b`.
pub(crate) const BACKUP_SET_COLUMNS: &str = "b.id, b.instance_id, b.source_region_id, b.method, b.backup_type, \
     b.scale, b.started_at, b.finished_at, b.consistent_at, b.instance_number, b.object_key, b.size_bytes, b.sha256";
/// How many columns [`BACKUP_SET_COLUMNS`] names.
pub(crate) const BACKUP_SET_WIDTH: usize = 13;

/// Columns of a copy and its backup set; add [`INSTANCE_COLUMNS`] for the copy's instance too.
/// Over `copies c JOIN backup_sets b ON b.id = c.backup_set_id`.
pub(crate) fn copy_columns() -> String {
    format!("c.id, c.dest_region_id, c.object_key, c.status, c.completed_at, {BACKUP_SET_COLUMNS}")
}

/// All the columns of `listed_copies` (both backends: a listed copy with its backup set's
/// columns), in the order of [`copy_columns`]: the SQLite adapter's tests compare the table with
/// the join it copies.
#[cfg(test)]
pub(crate) const LISTED_COPY_COLUMNS: &str =
    "id, dest_region_id, object_key, status, completed_at, \
     backup_set_id, set_instance_id, source_region_id, method, backup_type, scale, set_started_at, \
     finished_at, consistent_at, instance_number, set_object_key, size_bytes, sha256";

/// The columns of `listed_copies` a listing page reads (both backends), in the order each
/// backend's `listed_copy_at` reads them into a `ListedCopy`.
pub(crate) const LISTING_COLUMNS: &str =
    "id, dest_region_id, object_key, status, backup_set_id, source_region_id, method, \
     backup_type, scale, set_started_at, finished_at, consistent_at, instance_number, size_bytes";

/// How many columns of the copy itself [`copy_columns`] names before its backup set's.
pub(crate) const COPY_WIDTH: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lists_match_their_widths() {
        assert_eq!(INSTANCE_COLUMNS.split(',').count(), 10);
        assert_eq!(BACKUP_SET_COLUMNS.split(',').count(), BACKUP_SET_WIDTH);
        assert_eq!(
            copy_columns().split(',').count(),
            COPY_WIDTH + BACKUP_SET_WIDTH
        );
        assert_eq!(
            LISTED_COPY_COLUMNS.split(',').count(),
            COPY_WIDTH + BACKUP_SET_WIDTH
        );
        // As many as `listed_copy_at` reads, in both backends.
        assert_eq!(LISTING_COLUMNS.split(',').count(), 14);
    }
}
