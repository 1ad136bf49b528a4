//! A restore from start to end, as the `restore` command runs it: [`prepare`] checks the
//! request, reads the target live and plans (or, with `resume`, finds the interrupted run and
//! checks it is still the same restore); [`Prepared::execute`] journals and applies the plan.

use std::collections::{BTreeMap, BTreeSet};

use iamsnap_provider::WriteProvider;

use crate::archive::Manifest;
use crate::diff::JoinOptions;
use crate::live::read_live;
use crate::open::OpenedSnapshot;
use crate::repo::Repository;
use crate::restore::journal::OpState;
use crate::restore::{
    ApplyOptions, ApplyReport, Journal, JournalKeys, Mode, Plan, PlanOptions, Refusal,
    RestoreError, Selector, apply, plan, resolve_kind, resume,
};

/// What the operator asked for, as written on the command line.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The configured source written to.
    pub target: String,
    /// `--only KIND:KEY` selectors.
    pub only: Vec<String>,
    /// `--kinds`: full (`okta.user`) or short (`user`) kind names; empty means every kind.
    pub kinds: Vec<String>,
    /// Additive or authoritative.
    pub mode: Mode,
    /// Most deletes an authoritative restore may make.
    pub max_deletes: u64,
    /// Continue the latest unfinished restore of this snapshot into the target.
    pub resume: bool,
}

/// A restore ready to run: its plan and, when resuming, the interrupted run's journal.
pub struct Prepared<'r> {
    /// The plan (for a resumed restore, the interrupted run's).
    pub plan: Plan,
    /// The interrupted run, when resuming.
    pub resumed: Option<Resumed<'r>>,
    repo: &'r Repository,
    keys: JournalKeys,
    apply: ApplyOptions,
}

/// An interrupted restore found in the repository's journals.
pub struct Resumed<'r> {
    /// Where it is journalled (`journals/<target>/<id>`).
    pub journal: Journal<'r>,
    /// What each operation reached.
    pub states: BTreeMap<usize, OpState>,
}

impl Resumed<'_> {
    /// How many operations had already taken effect (and are not run again).
    pub fn done(&self) -> usize {
        self.states.values().filter(|s| s.is_done()).count()
    }
}

/// Plans the return of `target` to the state of `snapshot`, or, with [`Request::resume`],
/// takes up the latest unfinished restore of it after checking the journal (its seal, with
/// `keys`) against the verified snapshot and the live state. `keys` also seal the journal
/// [`Prepared::execute`] writes.
pub async fn prepare<'r>(
    repo: &'r Repository,
    mut snapshot: OpenedSnapshot,
    target: &dyn WriteProvider,
    request: &Request,
    keys: JournalKeys,
) -> Result<Prepared<'r>, RestoreError> {
    let snapshot_type = snapshot.reader.manifest().provider.clone();
    if snapshot_type != target.provider_type() {
        return Err(Refusal::TargetType {
            target: request.target.clone(),
            target_type: target.provider_type().to_string(),
            source_type: snapshot_type,
        }
        .into());
    }
    let mut options = plan_options(request, target)?;
    options.left_alone = left_alone(snapshot.reader.manifest(), target, &request.target);
    // In every mode: an additive restore can deactivate or demote as surely as an
    // authoritative one can delete.
    options.self_identity =
        target
            .self_identity()
            .await
            .map_err(|source| RestoreError::SelfIdentity {
                target: request.target.clone(),
                source,
            })?;
    target
        .before_plan()
        .await
        .map_err(|source| RestoreError::BeforePlan {
            target: request.target.clone(),
            source,
        })?;
    let before = target.stats().requests;
    let live = read_live(&request.target, target, &options.join).await?;
    let apply_options = ApplyOptions {
        concurrency: target.concurrency(),
        // Verifying through one more whole read costs what this read did.
        read_all_above: (target.stats().requests - before) as usize,
        ..ApplyOptions::default()
    };
    let name = snapshot.info.name.clone();
    let records = snapshot
        .reader
        .records()
        .map_err(|source| RestoreError::Snapshot {
            name: name.clone(),
            source,
        })?;
    if request.resume {
        let Some((journal, plan)) =
            Journal::latest_unfinished(repo, &request.target, &name, &keys).await?
        else {
            return Err(Refusal::NothingToResume {
                target: request.target.clone(),
                snapshot: name,
            }
            .into());
        };
        tokio::task::block_in_place(|| resume::check(&plan, records, live, target, &options))?;
        let states = journal.states().await?;
        return Ok(Prepared {
            plan,
            resumed: Some(Resumed { journal, states }),
            repo,
            keys,
            apply: apply_options,
        });
    }
    let mut plan = tokio::task::block_in_place(|| plan(records, live, target, &options))?;
    plan.snapshot = name;
    plan.target = request.target.clone();
    Ok(Prepared {
        plan,
        resumed: None,
        repo,
        keys,
        apply: apply_options,
    })
}

impl Prepared<'_> {
    /// Runs the plan on `target`: journalled in the repository before and after each
    /// operation, continuing the interrupted run when resuming, then verified.
    pub async fn execute(&self, target: &dyn WriteProvider) -> Result<ApplyReport, RestoreError> {
        match &self.resumed {
            Some(resumed) => {
                apply(
                    &self.plan,
                    target,
                    &resumed.journal,
                    &resumed.states,
                    &self.apply,
                )
                .await
            }
            None => {
                let journal = Journal::create(self.repo, &self.plan, &self.keys).await?;
                apply(&self.plan, target, &journal, &BTreeMap::new(), &self.apply).await
            }
        }
    }
}

/// The kinds of `target` that the snapshot or the live read did not read, with why: a restore
/// plans nothing for them, since what one side did not read is unknown, not absent.
pub fn left_alone(
    manifest: &Manifest,
    target: &dyn WriteProvider,
    target_name: &str,
) -> BTreeMap<String, String> {
    let live = target.kinds_read();
    target
        .kinds()
        .iter()
        .filter_map(|k| {
            let reason = if !manifest.read_kind(k.name) {
                format!(
                    "snapshot {} did not read this kind (its source excluded it): live objects of it are left as they are; restore it from a snapshot that read it",
                    manifest.snapshot.as_deref().unwrap_or(&manifest.source)
                )
            } else if !live.contains(k.name) {
                format!(
                    "source {target_name} excludes this kind (exclude_kinds), so it was not read live; take it out of exclude_kinds to restore it"
                )
            } else {
                return None;
            };
            Some((k.name.to_string(), reason))
        })
        .collect()
}

fn plan_options(
    request: &Request,
    target: &dyn WriteProvider,
) -> Result<PlanOptions, RestoreError> {
    let kinds = target.kinds();
    let only = request
        .only
        .iter()
        .map(|s| Selector::parse(s, kinds))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = if request.kinds.is_empty() {
        None
    } else {
        Some(
            request
                .kinds
                .iter()
                .map(|k| resolve_kind(k.trim(), kinds))
                .collect::<Result<BTreeSet<_>, _>>()?,
        )
    };
    Ok(PlanOptions {
        mode: request.mode,
        max_deletes: request.max_deletes,
        only,
        kinds: filter,
        left_alone: BTreeMap::new(),
        self_identity: None,
        join: JoinOptions::default(),
    })
}
