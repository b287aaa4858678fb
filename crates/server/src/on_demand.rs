//! Backups the API asks for but does not take itself.
//!
//! Enabling a cross-region policy copies the newest backup set of the last 24 hours, or, when
//! the instance has none, takes one (as Alibaba does). The server only decides *that* a backup is
//! needed; taking it is the backup agent's job, which lives in another layer (and possibly
//! another process). [`OnDemandBackups`] is the seam: `xbak serve` installs one backed by the
//! agent when it runs workers, and a server without one (`serve --no-workers`, tests) takes no
//! backups.

use xbak_domain::Instance;

/// Takes a backup of an instance when the API asks for one, outside the request.
///
/// Implementations must return at once (start the work in the background and never wait for
/// it): the caller is an API request whose response does not depend on the backup. Whatever
/// happens to the backup (no database server, a run already going, a failure) is the
/// implementation's to log; it is recorded as a backup run, and, when it succeeds, as a backup
/// set whose cross-region copy is queued under the instance's (now enabled) policy.
pub trait OnDemandBackups: Send + Sync {
    /// Starts a full backup of `instance`, fire and forget.
    fn request(&self, instance: &Instance);
}
