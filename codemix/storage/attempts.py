"""The experiment folder's record of trial attempts: where it lives and the one way it is written and read.

Each attempt a trial starts writes one file before its first stage (``record_attempt``):

    <experiment>/attempts/<trial key>/<started %Y%m%dT%H%M%S, UTC>-<random id>.json
        {"trial_id": <Tune's trial id>, "point": {...}, "started_at": <ISO time>}

Tune restarts a trial lost with its node, and may restart a failed one. The records count the attempts
(``attempt_counts``: a fault hook's ``stage@n``, ``--retry-failed``), say when a trial's latest attempt began
(``attempt_starts``: a failure that attempt recorded is replayed, an earlier one's is not), and map Tune's trial
ids to the trial keys the trials computed (``attempt_trials``: the driver's check for trials lost with their node).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pyarrow.fs as pafs

from codemix.storage.store import Store

ATTEMPTS = "attempts"
_STAMP = "%Y%m%dT%H%M%S"  # a record's name starts with it (15 characters): names sort by start


def record_attempt(experiment: Store, trial_key: str, trial_id: str | None, point: dict,
                   started: datetime | None = None) -> datetime:
    """Note that an attempt of the trial starts (now, or at ``started``); returns when."""
    started = started or datetime.now(timezone.utc)
    experiment.write_json(f"{ATTEMPTS}/{trial_key}/{started:{_STAMP}}-{uuid.uuid4().hex[:6]}.json",
                          {"trial_id": trial_id, "point": point, "started_at": started.isoformat()})
    return started


def _records(experiment: Store) -> list[tuple[str, str]]:
    """(trial key, record name) of every attempt record in the experiment."""
    selector = pafs.FileSelector(experiment.path(ATTEMPTS), allow_not_found=True, recursive=True)
    return [tuple(i.path.rstrip("/").rsplit("/", 2)[-2:]) for i in experiment.fs.get_file_info(selector)
            if i.type == pafs.FileType.File and i.base_name.endswith(".json") and ".tmp-" not in i.base_name]


def attempt_counts(experiment: Store) -> dict[str, int]:
    """How many attempts each trial (by trial key) has started so far in this experiment."""
    counts: dict[str, int] = {}
    for key, _ in _records(experiment):
        counts[key] = counts.get(key, 0) + 1
    return counts


def attempt_starts(experiment: Store, trial_key: str) -> list[datetime]:
    """When each attempt of a trial started (to the second), oldest first."""
    names = experiment.list(f"{ATTEMPTS}/{trial_key}", suffix=".json")
    return sorted(datetime.strptime(n[:15], _STAMP).replace(tzinfo=timezone.utc) for n in names)


def attempt_trials(experiment: Store) -> dict[str, str]:
    """Tune's trial id -> the trial key its attempts recorded (every record is read)."""
    out = {}
    for key, name in _records(experiment):
        trial_id = experiment.read_json(f"{ATTEMPTS}/{key}/{name}").get("trial_id")
        if trial_id is not None:
            out[trial_id] = key
    return out
