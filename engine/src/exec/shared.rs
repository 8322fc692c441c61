//! The remote cache's place in running one action: asked after a local miss, handed the
//! result of a successful run. Its failures never fail the build.

use std::sync::atomic::Ordering;

use crate::digest::Digest;
use crate::graph::Action;
use crate::remote::RemoteError;

use super::action::Ctx;

impl Ctx<'_> {
    /// The remote cache to ask, unless the build has none or it stopped answering.
    fn live_remote(&self) -> Option<&dyn crate::remote::RemoteCache> {
        self.remote
            .filter(|_| !self.remote_down.load(Ordering::Relaxed))
    }

    /// One warning for the whole build when the remote stops answering, one per action
    /// for an entry that cannot be used.
    fn remote_failed(
        &self,
        a: &Action,
        remote: &dyn crate::remote::RemoteCache,
        e: RemoteError,
        uploading: bool,
    ) {
        match e {
            RemoteError::Unavailable(why) => {
                if !self.remote_down.swap(true, Ordering::Relaxed) {
                    self.warn(format!(
                        "remote cache {} is unavailable ({why}); building locally without it for the rest of this build",
                        remote.describe()
                    ));
                }
            }
            RemoteError::Unusable(why) if uploading => self.warn(format!(
                "{}: the result was not uploaded to the remote cache ({why})",
                a.id
            )),
            RemoteError::Unusable(why) => self.warn(format!(
                "{}: the remote cache's entry cannot be used ({why}); running the action instead",
                a.id
            )),
        }
    }

    /// Fetch the action's result from the remote cache into the local one and restore it.
    /// `false` on a miss or any failure (reported), so the action runs.
    pub(super) fn restore_remote(&self, a: &Action, key: &Digest) -> bool {
        let Some(remote) = self.live_remote() else {
            return false;
        };
        let result = match remote.fetch(key, &a.outputs, &self.cache) {
            Ok(Some(r)) => r,
            Ok(None) => return false,
            Err(e) => {
                self.remote_failed(a, remote, e, false);
                return false;
            }
        };
        // Every output must be one the action declares: a result for other paths is not
        // this action's, whatever the server says.
        let declared = result.outputs.len() == a.outputs.len()
            && result.outputs.iter().all(|(p, _, _)| a.outputs.contains(p));
        if !declared {
            let e =
                RemoteError::Unusable("its outputs are not the action's declared outputs".into());
            self.remote_failed(a, remote, e, false);
            return false;
        }
        if let Err(e) = self.cache.put_action(key, &result) {
            self.warn(format!(
                "{}: could not store the remote result in the local cache: {e}",
                a.id
            ));
            return false;
        }
        match self.restore(a, key) {
            Ok(true) => true,
            Ok(false) => false,
            Err(e) => {
                self.warn(format!("{}: {e}; running the action instead", a.id));
                false
            }
        }
    }

    /// Share a successful run's result (the remote does nothing when read-only).
    pub(super) fn upload_remote(
        &self,
        a: &Action,
        key: &Digest,
        result: &crate::cache::ActionResult,
    ) {
        let Some(remote) = self.live_remote() else {
            return;
        };
        if let Err(e) = remote.upload(key, &a.outputs, result, &self.cache) {
            self.remote_failed(a, remote, e, true);
        }
    }

    /// End of the build: uploads still in flight finish (always, even when the remote
    /// stopped answering, so none is cut off half-way); a failure among them is reported
    /// like any other.
    pub(super) fn finish_remote(&self) {
        let Some(remote) = self.remote else {
            return;
        };
        match remote.finish() {
            Ok(()) => {}
            Err(RemoteError::Unavailable(why)) => {
                if !self.remote_down.swap(true, Ordering::Relaxed) {
                    self.warn(format!(
                        "remote cache {} is unavailable ({why}); results of this build were not all uploaded",
                        remote.describe()
                    ));
                }
            }
            Err(RemoteError::Unusable(why)) => self.warn(format!(
                "a result was not uploaded to the remote cache ({why})"
            )),
        }
    }
}
