"""Human review: tasks from the routing policy, assignment without double work, answers, consolidation, agreement.

* ``GET /review/next`` (reviewer): the next task this reviewer has not seen whose
  answered plus active assignments are fewer than the policy's
  ``reviewers_per_item``; highest priority, then oldest. Assignment is
  serialised (PostgreSQL: an advisory lock; SQLite: the write lock), so no task
  gets more reviewers than it needs. An assignment not answered within
  ``assignment_minutes`` lapses and the task goes back to the queue; a task
  not complete within ``task_hours`` expires.
* ``POST /review/tasks/{id}/answer`` (the assigned reviewer): one of the
  policy's answers. When the task has all its answers it is consolidated by
  majority (a tie is ``no_consensus``: no ground truth is written), the share
  agreeing is its agreement, and the majority answer becomes the prediction's
  ground truth (source ``review``).
* ``GET /review/tasks`` (reviewer: only their own assignments), ``GET
  /review/tasks/{id}/output`` (A2I's output record: ``humanAnswers``,
  ``inputContent``, the conditions that fired), ``GET
  /models/{name}/{version}/review/agreement`` (Fleiss' kappa and
  Krippendorff's alpha over consolidated tasks, and each reviewer's record and
  current weight).
"""

import datetime as _dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from assay._errors import Conflict, DataError, NotFound
from assay.review import Policy, consolidate, fleiss_kappa, krippendorff_alpha, vote_weight
from assay.service import _ledger
from assay.service._db import aware, find_model, models, predictions, review_assignments, review_tasks, serialise, utcnow
from assay.service._deps import Engine, roles
from assay.service._guard import STRICT

__all__ = ["current_or_next", "reviewer_weights", "submit_answer"]


class AnswerIn(BaseModel):
    model_config = STRICT
    answer: str = Field(min_length=1, max_length=200)


def task_view(conn: sa.Connection, task: Any) -> dict[str, Any]:
    """What a reviewer sees: the question and answers, the input, the model's output, the conditions that fired."""
    m = conn.execute(sa.select(models).where(models.c.id == task.model_id)).one()
    p = conn.execute(sa.select(predictions).where(predictions.c.model_id == task.model_id, predictions.c.prediction_id == task.prediction_id)).one()
    policy = Policy.stored(m.spec["policy"])
    expl = sorted((p.explanation or {}).items(), key=lambda kv: -abs(kv[1]))
    return {"task_id": task.id, "model": f"{m.name}/{m.version}", "prediction_id": task.prediction_id, "question": policy.question,
            "answers": policy.answers, "input": {"inputs": p.inputs, "facets": p.facets}, "model_output": {"score": p.score, "label": p.label},
            "explanation": [{"feature": f, "attribution": v} for f, v in expl[:10]] or None, "reasons": task.reasons, "priority": task.priority,
            "contest_id": task.contest_id}  # fmt: skip


def current_or_next(engine: sa.Engine, reviewer: str, *, resume: bool = False) -> dict[str, Any] | None:
    """Assign ``reviewer`` the next task (None when there is none); with ``resume``, first their own unanswered, unlapsed one."""
    now = utcnow()
    with engine.begin() as conn:
        serialise(conn, "review_queue")
        if resume:
            mine_open = conn.execute(sa.select(review_tasks, review_assignments.c.due_at).join(review_assignments, review_assignments.c.task_id == review_tasks.c.id)
                                     .where(review_assignments.c.reviewer == reviewer, review_assignments.c.answered_at.is_(None),
                                            review_assignments.c.due_at > now, review_tasks.c.status == "open")
                                     .order_by(review_assignments.c.id).limit(1)).first()  # fmt: skip
            if mine_open is not None:
                return {**task_view(conn, mine_open), "due_at": aware(mine_open.due_at).isoformat()}
        conn.execute(review_tasks.update().where(review_tasks.c.status == "open", review_tasks.c.expires_at < now).values(status="expired"))
        answered_or_active = (sa.select(sa.func.count()).select_from(review_assignments)
                              .where(review_assignments.c.task_id == review_tasks.c.id,
                                     sa.or_(review_assignments.c.answered_at.is_not(None), review_assignments.c.due_at > now))
                              .scalar_subquery())  # fmt: skip
        # NOT IN over the reviewer's own tasks: one hashed set, whatever the planner's statistics say (NOT EXISTS became a nested loop over
        # every open task times the reviewer's assignments when PostgreSQL's statistics were stale: 90 ms with 2,800 open tasks)
        mine = review_tasks.c.id.not_in(sa.select(review_assignments.c.task_id).where(review_assignments.c.reviewer == reviewer))
        task = conn.execute(sa.select(review_tasks).where(review_tasks.c.status == "open", answered_or_active < review_tasks.c.required, mine)
                            .order_by(review_tasks.c.priority.desc(), review_tasks.c.id).limit(1)).first()  # fmt: skip
        if task is None:
            return None
        m = conn.execute(sa.select(models.c.spec).where(models.c.id == task.model_id)).one()
        due = now + _dt.timedelta(minutes=Policy.stored(m.spec["policy"]).assignment_minutes)
        conn.execute(review_assignments.insert().values(task_id=task.id, reviewer=reviewer, assigned_at=now, due_at=due))
        _ledger.append(conn, actor=reviewer, action="review.assign", subject=f"task/{task.id}", payload={"due_at": due.isoformat()})
        return {**task_view(conn, task), "due_at": due.isoformat()}


def submit_answer(engine: sa.Engine, reviewer: str, task_id: int, answer: str) -> dict[str, Any]:
    """Record ``reviewer``'s answer; the last one consolidates the task (majority) and writes the ground truth."""
    now = utcnow()
    with engine.begin() as conn:
        serialise(conn, "review_queue")
        task = conn.execute(sa.select(review_tasks).where(review_tasks.c.id == task_id)).first()
        a = conn.execute(sa.select(review_assignments).where(review_assignments.c.task_id == task_id, review_assignments.c.reviewer == reviewer)).first()
        if task is None or a is None:
            raise NotFound(f"task {task_id} is not assigned to you")
        if a.answered_at is not None:
            raise Conflict(f"you already answered task {task_id}")
        if aware(a.due_at) < now or task.status != "open":
            raise Conflict(f"your assignment of task {task_id} has lapsed (the task is {task.status}); ask for the next task")
        m = conn.execute(sa.select(models).where(models.c.id == task.model_id)).one()
        policy = Policy.stored(m.spec["policy"])
        if answer not in policy.answers:
            raise DataError(f"answer must be one of {', '.join(map(repr, policy.answers))}, got {answer!r}")
        conn.execute(review_assignments.update().where(review_assignments.c.id == a.id).values(answer=answer, answered_at=now))
        _ledger.append(conn, actor=reviewer, action="review.answer", subject=f"task/{task_id}", payload={"answer": answer})
        got = [r.answer for r in conn.execute(sa.select(review_assignments.c.answer).where(review_assignments.c.task_id == task_id,
                                                                                           review_assignments.c.answer.is_not(None)))]  # fmt: skip
        result: dict[str, Any] = {"task_id": task_id, "answers_so_far": len(got), "required": task.required}
        if len(got) >= task.required:
            votes = conn.execute(sa.select(review_assignments.c.reviewer, review_assignments.c.answer)
                                 .where(review_assignments.c.task_id == task_id, review_assignments.c.answer.is_not(None))).all()  # fmt: skip
            weights = reviewer_weights(conn, policy, [v.reviewer for v in votes], task.model_id)
            status, consolidated, agreement, tally = consolidate([(v.reviewer, v.answer) for v in votes], weights)
            conn.execute(review_tasks.update().where(review_tasks.c.id == task_id).values(status=status, answer=consolidated, agreement=agreement))
            if consolidated is not None:
                from assay.service._truth import set_truth

                model = conn.execute(sa.select(models).where(models.c.id == task.model_id)).one()
                set_truth(conn, model, [(task.prediction_id, consolidated)], "review", now)
            _ledger.append(conn, actor="assay", action="review.consolidate", subject=f"task/{task_id}",
                           payload={"status": status, "answer": consolidated, "tally": tally, "agreement": agreement, "method": policy.consolidation,
                                    **({"weights": weights} if policy.consolidation == "weighted" else {})})  # fmt: skip
            if task.contest_id is not None:
                from assay.service._contests import decide

                decide(conn, task, status, consolidated)
            result.update(status=status, answer=consolidated, agreement=agreement)
        return result


def reviewer_weights(conn: sa.Connection, policy: Policy, reviewers: list[str], model_id: int) -> dict[str, float]:
    """Each reviewer's vote weight. Majority: 1 each. Weighted: the policy's ``weights`` where given, otherwise the reviewer's
    record on this model: with p = (agreements with consolidated answers + 1) / (answers on consolidated tasks + 2), the weight
    log(p (K - 1) / (1 - p)) of the optimal weighted vote for K answers (at least 0: a reviewer no better than chance has no say)."""
    if policy.consolidation == "majority":
        return {r: 1.0 for r in reviewers}
    out = {r: float(policy.weights[r]) for r in reviewers if r in policy.weights}
    rest = [r for r in reviewers if r not in out]
    if rest:
        rows = conn.execute(sa.select(review_assignments.c.reviewer, sa.func.count(),
                                      sa.func.sum(sa.case((review_assignments.c.answer == review_tasks.c.answer, 1), else_=0)))
                            .join(review_tasks, review_tasks.c.id == review_assignments.c.task_id)
                            .where(review_tasks.c.model_id == model_id, review_tasks.c.status == "complete", review_assignments.c.reviewer.in_(rest))
                            .group_by(review_assignments.c.reviewer)).all()  # fmt: skip
        record = {r: (int(n), int(agree or 0)) for r, n, agree in rows}
        for r in rest:
            out[r] = vote_weight(*record.get(r, (0, 0)), len(policy.answers))
    return out


router = APIRouter()  # the review routes (create_app includes it)


@router.get("/review/next", summary="Assign this reviewer the next task (204 when there is none)", response_model=None)
def next_task(engine: Engine, who: Annotated[dict[str, Any], roles("reviewer")]) -> Any:
    task = current_or_next(engine, who["name"])
    return Response(status_code=204) if task is None else task


@router.post("/review/tasks/{task_id}/answer", summary="Answer an assigned task")
def answer(engine: Engine, task_id: Annotated[int, Path(ge=1, le=2**62)], body: AnswerIn, who: Annotated[dict[str, Any], roles("reviewer")]) -> dict[str, Any]:
    return submit_answer(engine, who["name"], task_id, body.answer)


@router.get("/review/tasks", summary="Your assignments (reviewers see only their own)")
def my_tasks(engine: Engine, who: Annotated[dict[str, Any], roles("reviewer")]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(review_assignments, review_tasks.c.status).join(review_tasks, review_tasks.c.id == review_assignments.c.task_id)
                            .where(review_assignments.c.reviewer == who["name"]).order_by(review_assignments.c.id)).mappings().all()  # fmt: skip
    return [{"task_id": r["task_id"], "assigned_at": str(r["assigned_at"]), "due_at": str(r["due_at"]), "answer": r["answer"],
             "task_status": r["status"]} for r in rows]  # fmt: skip


@router.get("/review/tasks/{task_id}/output", summary="The task's output record in A2I's shape")
def output(
    engine: Engine, task_id: Annotated[int, Path(ge=1, le=2**62)], _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")]
) -> dict[str, Any]:
    with engine.connect() as conn:
        task = conn.execute(sa.select(review_tasks).where(review_tasks.c.id == task_id)).first()
        if task is None:
            raise NotFound(f"no task {task_id}")
        view = task_view(conn, task)
        answers = conn.execute(sa.select(review_assignments).where(review_assignments.c.task_id == task_id, review_assignments.c.answer.is_not(None))
                               .order_by(review_assignments.c.answered_at)).all()  # fmt: skip
    return {"humanLoopName": f"task-{task_id}", "flowDefinition": view["model"], "humanLoopStatus": task.status,
            "inputContent": {**view["input"], "modelOutput": view["model_output"], "question": view["question"]},
            "humanAnswers": [{"answerContent": {"answer": a.answer}, "submissionTime": str(a.answered_at), "workerId": a.reviewer,
                              "timeSpentInSeconds": (aware(a.answered_at) - aware(a.assigned_at)).total_seconds()} for a in answers],
            "conditionsMatched": task.reasons, "consolidatedAnswer": task.answer, "agreement": task.agreement}  # fmt: skip


@router.get("/models/{name}/{version}/status", summary="Captured, with ground truth, review tasks, and model quality overall and by facet with intervals")
def status(engine: Engine, name: str, version: str, _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")]) -> dict[str, Any]:
    from assay.service._dashboard import model_status

    with engine.connect() as conn:
        m = find_model(conn, name, version)
    return model_status(engine, m)


@router.get(
    "/models/{name}/{version}/review/agreement",
    summary="Agreement between reviewers (Fleiss' kappa, Krippendorff's alpha), each reviewer's record and weight",
)
def agreement(engine: Engine, name: str, version: str, _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")]) -> dict[str, Any]:
    with engine.connect() as conn:
        return agreement_of(conn, find_model(conn, name, version))


def agreement_of(conn: sa.Connection, m: Any, *, since: _dt.datetime | None = None, until: _dt.datetime | None = None) -> dict[str, Any]:
    """Tasks by status, Fleiss' kappa and Krippendorff's alpha over the consolidated tasks (created in [since, until) when given),
    and each reviewer's record and current weight."""
    policy = Policy.stored(m.spec["policy"]) if m.spec.get("policy") else None
    when = [review_tasks.c.created_at >= since] if since is not None else []
    when += [review_tasks.c.created_at < until] if until is not None else []
    status: dict[Any, Any] = dict(
        conn.execute(sa.select(review_tasks.c.status, sa.func.count()).where(review_tasks.c.model_id == m.id, *when).group_by(review_tasks.c.status)).all()
    )
    rows = conn.execute(sa.select(review_assignments.c.task_id, review_assignments.c.answer, review_assignments.c.reviewer, review_tasks.c.status,
                                  review_tasks.c.answer.label("consolidated"))
                        .join(review_tasks, review_tasks.c.id == review_assignments.c.task_id)
                        .where(review_tasks.c.model_id == m.id, review_tasks.c.status.in_(["complete", "no_consensus"]),
                               review_assignments.c.answer.is_not(None), *when)).all()  # fmt: skip
    reviewers = sorted({r.reviewer for r in rows})
    weights = reviewer_weights(conn, policy, reviewers, m.id) if policy else {}
    tables: dict[int, dict[str, int]] = {}
    units: dict[int, list[str]] = {}
    record: dict[str, list[int]] = {}
    for r in rows:
        tables.setdefault(r.task_id, {})[r.answer] = tables.setdefault(r.task_id, {}).get(r.answer, 0) + 1
        units.setdefault(r.task_id, []).append(r.answer)
        if r.status == "complete":
            rec = record.setdefault(r.reviewer, [0, 0])
            rec[0] += 1
            rec[1] += int(r.answer == r.consolidated)
    kappa = fleiss_kappa(list(tables.values()), policy.answers) if policy else None
    return {"tasks_by_status": {str(k): int(v) for k, v in status.items()}, "tasks_rated": len(tables), "fleiss_kappa": kappa,
            "krippendorff_alpha": krippendorff_alpha(list(units.values())), "consolidation": policy.consolidation if policy else None,
            "reviewers": {name: {"answers_on_consolidated_tasks": record.get(name, [0, 0])[0], "agreed_with_consolidated": record.get(name, [0, 0])[1],
                                 "agreement_rate": (record[name][1] / record[name][0]) if record.get(name, [0])[0] else None,
                                 "weight": weights.get(name)} for name in reviewers}}  # fmt: skip


def queue_of(conn: sa.Connection, m: Any, now: _dt.datetime) -> dict[str, Any]:
    """The review queue of ``m`` now: open tasks by priority with the oldest's age, those expiring within a day, and each reviewer's
    workload (claims open now, answers in the last 7 days and in all)."""
    t, a = review_tasks, review_assignments
    open_ = conn.execute(sa.select(t.c.priority, sa.func.count(), sa.func.min(t.c.created_at)).where(t.c.model_id == m.id, t.c.status == "open")
                         .group_by(t.c.priority).order_by(t.c.priority.desc())).all()  # fmt: skip
    soon = conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.model_id == m.id, t.c.status == "open", t.c.expires_at.is_not(None),
                                                                       t.c.expires_at < now + _dt.timedelta(days=1))).scalar_one()  # fmt: skip
    week = now - _dt.timedelta(days=7)
    load = conn.execute(sa.select(a.c.reviewer,
                                  sa.func.sum(sa.case((sa.and_(a.c.answered_at.is_(None), a.c.due_at > now), 1), else_=0)),
                                  sa.func.sum(sa.case((a.c.answered_at >= week, 1), else_=0)),
                                  sa.func.count(a.c.answered_at))
                        .join(t, t.c.id == a.c.task_id).where(t.c.model_id == m.id).group_by(a.c.reviewer).order_by(a.c.reviewer)).all()  # fmt: skip
    oldest = min((aware(r[2]) for r in open_), default=None)
    return {"open": sum(int(r[1]) for r in open_), "by_priority": [{"priority": int(r[0]), "open": int(r[1])} for r in open_],
            "oldest_hours": None if oldest is None else round((now - oldest).total_seconds() / 3600, 1), "expiring_within_a_day": int(soon),
            "reviewers": [{"reviewer": r[0], "claimed_now": int(r[1] or 0), "answered_7_days": int(r[2] or 0), "answered": int(r[3] or 0)} for r in load]}  # fmt: skip
