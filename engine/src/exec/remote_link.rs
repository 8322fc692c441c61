//! The remote as one build sees it: asked for cached results by the recorder, handed
//! commands by the remote runner, and, once it stops answering, asked nothing more. Its
//! failures never fail the build: the action runs here instead.

use std::sync::atomic::{AtomicBool, Ordering};

use super::{Event, Progress};
use crate::graph::Action;
use crate::remote::{RemoteCache, RemoteError};

pub(crate) struct RemoteLink<'a> {
    pub remote: &'a dyn RemoteCache,
    /// Set when it failed to answer: it is not asked again in this build.
    down: AtomicBool,
    progress: &'a dyn Progress,
}

/// What was asked of the remote when it failed, for the warning.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Doing {
    Fetch,
    Upload,
    Execute,
}

impl<'a> RemoteLink<'a> {
    pub fn new(remote: &'a dyn RemoteCache, progress: &'a dyn Progress) -> RemoteLink<'a> {
        RemoteLink {
            remote,
            down: AtomicBool::new(false),
            progress,
        }
    }

    fn warn(&self, w: String) {
        self.progress.event(Event::Warning(&w));
    }

    /// The remote, unless it stopped answering.
    pub fn live(&self) -> Option<&'a dyn RemoteCache> {
        (!self.down.load(Ordering::Relaxed)).then_some(self.remote)
    }

    /// One warning for the whole build when the remote stops answering, one per action
    /// for an entry or a run that cannot be used.
    pub fn failed(&self, a: &Action, e: RemoteError, doing: Doing) {
        match (e, doing) {
            (RemoteError::Unavailable(why), _) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    let what = if doing == Doing::Execute {
                        "remote"
                    } else {
                        "remote cache"
                    };
                    self.warn(format!(
                        "{what} {} is unavailable ({why}); building locally without it for the rest of this build",
                        self.remote.describe()
                    ));
                }
            }
            (RemoteError::Unusable(why), Doing::Upload) => self.warn(format!(
                "{}: the result was not uploaded to the remote cache ({why})",
                a.id
            )),
            (RemoteError::Unusable(why), Doing::Fetch) => self.warn(format!(
                "{}: the remote cache's entry cannot be used ({why}); running the action instead",
                a.id
            )),
            (RemoteError::Unusable(why), Doing::Execute) => self.warn(format!(
                "{}: the remote run cannot be used ({why}); running the action here instead",
                a.id
            )),
        }
    }

    /// End of the build: uploads still in flight finish (always, even when the remote
    /// stopped answering, so none is cut off half-way); a failure among them is reported
    /// like any other.
    pub fn finish(&self) {
        match self.remote.finish() {
            Ok(()) => {}
            Err(RemoteError::Unavailable(why)) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    self.warn(format!(
                        "remote cache {} is unavailable ({why}); results of this build were not all uploaded",
                        self.remote.describe()
                    ));
                }
            }
            Err(RemoteError::Unusable(why)) => self.warn(format!(
                "a result was not uploaded to the remote cache ({why})"
            )),
        }
    }
}
