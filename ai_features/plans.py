"""Release plans: a capability widened milestone by milestone, on the evidence.

* ``plan_create`` makes a capability's plan (default milestones: pilot teams,
  10%, 25%, 50%, everyone, a week each) and puts it on its first milestone.
* ``plan_check`` is the daily job (each capability declares it through the
  kit: ``Job("release_plan")`` and ``Schedule("release plan")``, run by
  ``plan_task``). It reads the evidence (``ai_features.evidence``) and asks
  ``ai_features.plan_rules.decide``: advance, hold, pause (and email the
  owners) or roll back one milestone (switching the capability off when the
  plan is on its first). Every step it takes is a ``PlanStep`` and an audit
  entry whose actor is the plan, with the evidence that moved it.
* ``plan_pause``, ``plan_resume`` and ``plan_skip`` are the admins' controls,
  each with a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ai_features import gate, plan_rules
from ai_features.declarations import PLAN_JOB
from ai_features.evidence import CapabilityEvidence, evidence_all, guardrail_sentence
from ai_features.models import Exposure, Milestone, PlanStep, ReleasePlan, RolloutAuditEntry
from ai_features.registry import registry
from ai_features.scheduling import capability_task
from ai_features.services import (
    RolloutError,
    _require_reason,
    _require_staff,
    audit_entry_create,
    rollout_set_phase,
)
from crmcore.models import Team
from crmcore.outbound import email_send
from crmcore.workspaces import production_workspace

DEFAULT_MILESTONES: tuple[tuple[Decimal | None, int], ...] = (
    (None, 7),
    (Decimal("10"), 7),
    (Decimal("25"), 7),
    (Decimal("50"), 7),
    (Decimal("100"), 0),
)


#: The plan's status before a step that the audit records (after: its status now).
STATUS_BEFORE: dict[str, str] = {
    PlanStep.Kind.START: "none",
    PlanStep.Kind.PAUSE: ReleasePlan.Status.ACTIVE,
    PlanStep.Kind.RESUME: ReleasePlan.Status.PAUSED,
    PlanStep.Kind.DONE: ReleasePlan.Status.ACTIVE,
}


def plan_actor(capability: str) -> str:
    return f"release plan: {registry.get(capability).title}"


def milestones_parse(text: str) -> list[tuple[Decimal | None, int]]:
    """``pilot 7``, ``10% 7``, ``everyone``: one milestone a line, then its minimum days.

    Percentages must grow; ``everyone`` (or 100%) can only be last.
    """
    parsed: list[tuple[Decimal | None, int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.replace(",", " ").split()
        if not parts:
            continue
        head, rest = parts[0].lower(), parts[1:]
        try:
            days = int(rest[0].lower().removesuffix("days").removesuffix("d")) if rest else 7
        except ValueError:
            raise RolloutError(f"Line {number}: minimum days must be a number.") from None
        if not 0 <= days <= 365:
            raise RolloutError(f"Line {number}: minimum days must be between 0 and 365.")
        if head in ("pilot", "pilots"):
            percent = None
        elif head in ("everyone", "all", "100%", "100"):
            percent = Decimal("100")
        else:
            try:
                percent = Decimal(head.rstrip("%")).quantize(Decimal("0.1"))
            except ArithmeticError:
                raise RolloutError(f"Line {number}: {raw.strip()!r} is not a milestone.") from None
            if not Decimal("0.1") <= percent <= Decimal("100"):
                raise RolloutError(f"Line {number}: a percentage is between 0.1 and 100.")
        if parsed and percent is None:
            raise RolloutError(f"Line {number}: the pilot teams can only come first.")
        previous = parsed[-1][0] if parsed else None
        if percent is not None and previous is not None and percent <= previous:
            raise RolloutError(f"Line {number}: percentages must grow.")
        if previous is not None and previous >= 100:
            raise RolloutError(f"Line {number}: nothing comes after everyone.")
        parsed.append((percent, days))
    if not parsed:
        raise RolloutError("A plan needs at least one milestone.")
    return parsed


def milestones_text(plan: ReleasePlan) -> str:
    lines = []
    for m in plan.milestones.all():
        head = (
            "pilot"
            if m.percent is None
            else ("everyone" if m.percent >= 100 else f"{m.percent.normalize():f}%")
        )
        lines.append(f"{head} {m.min_days}")
    return "\n".join(lines)


def _apply(plan: ReleasePlan, milestone: Milestone | None, reason: str, actor: Any) -> None:
    """Set the capability's flag to a milestone (None: off), audited as ``actor`` or the plan."""
    common: dict[str, Any] = {
        "capability": plan.capability,
        "reason": reason,
        "actor": actor,
        "source": RolloutAuditEntry.Source.PLAN,
        "plan_actor": "" if actor is not None else plan_actor(plan.capability),
    }
    if milestone is None:
        rollout_set_phase(phase="off", **common)
    elif milestone.percent is None:
        rollout_set_phase(phase="pilot", teams=plan.pilot_teams, **common)
    elif milestone.percent >= 100:
        rollout_set_phase(phase="everyone", **common)
    else:
        rollout_set_phase(phase="percentage", percent=milestone.percent, **common)


def _step(
    plan: ReleasePlan,
    kind: str,
    *,
    now: dt.datetime,
    before: str,
    after: str,
    reasons: list[str],
    evidence: dict[str, Any] | None = None,
    actor: Any = None,
) -> PlanStep:
    name = actor.get_username() if actor is not None else ""
    step = PlanStep.objects.create(
        plan=plan,
        at=now,
        kind=kind,
        from_milestone=before,
        to_milestone=after,
        actor_username=name,
        reasons=reasons,
        evidence=evidence or {},
    )
    if kind not in (PlanStep.Kind.ADVANCE, PlanStep.Kind.ROLLBACK, PlanStep.Kind.SKIP):
        # Phase changes are audited by rollout_set_phase; the rest here.
        audit_entry_create(
            actor=actor,
            actor_name=name or plan_actor(plan.capability),
            source=RolloutAuditEntry.Source.PLAN,
            action=RolloutAuditEntry.Action.PLAN,
            capability=plan.capability,
            target=f"plan:{plan.capability}",
            before={"plan": before, "status": STATUS_BEFORE.get(kind, plan.status)},
            after={"plan": after, "status": plan.status},
            reason=" ".join(reasons),
        )
    return step


def _milestones(plan: ReleasePlan) -> list[Milestone]:
    return list(plan.milestones.all())


def _name(milestones: list[Milestone], index: int) -> str:
    if index < 0:
        return "Off"
    return milestones[index].name if index < len(milestones) else "Done"


@transaction.atomic
def plan_create(
    *,
    capability: str,
    actor: Any,
    reason: str,
    pilot_teams: Iterable[str],
    milestones: list[tuple[Decimal | None, int]] | None = None,
    owners: Iterable[Any] = (),
    min_trained_share: float | None = None,
    now: dt.datetime | None = None,
) -> ReleasePlan:
    """Make the capability's plan and put it on its first milestone (audited)."""
    _require_staff(actor)
    reason = _require_reason(reason)
    registry.get(capability)
    if ReleasePlan.objects.filter(capability=capability).exists():
        raise RolloutError(f"{capability} already has a release plan.")
    milestones = milestones or list(DEFAULT_MILESTONES)
    teams = list(dict.fromkeys(pilot_teams))
    if milestones[0][0] is None and not teams:
        raise RolloutError("A plan that starts with the pilot teams needs at least one team.")
    now = now or timezone.now()
    plan = ReleasePlan.objects.create(
        capability=capability,
        pilot_teams=teams,
        min_trained_share=min_trained_share,
        current=0,
        milestone_started_at=now,
    )
    plan.owners.set(list(owners) or [actor])
    Milestone.objects.bulk_create(
        Milestone(plan=plan, position=i, percent=p, min_days=d)
        for i, (p, d) in enumerate(milestones)
    )
    first = _milestones(plan)[0]
    _apply(plan, first, f"Release plan started: {reason}", actor)
    _step(
        plan,
        PlanStep.Kind.START,
        now=now,
        before="Off",
        after=first.name,
        reasons=[reason],
        actor=actor,
    )
    return plan


def plan_milestones_set(
    *, plan: ReleasePlan, actor: Any, reason: str, milestones: list[tuple[Decimal | None, int]]
) -> None:
    """Replace the milestones (the current one keeps its index, clamped to the new list)."""
    _require_staff(actor)
    reason = _require_reason(reason)
    with transaction.atomic():
        before = milestones_text(plan)
        plan.milestones.all().delete()
        Milestone.objects.bulk_create(
            Milestone(plan=plan, position=i, percent=p, min_days=d)
            for i, (p, d) in enumerate(milestones)
        )
        plan.current = min(plan.current, len(milestones) - 1)
        plan.save(update_fields=["current"])
        audit_entry_create(
            actor=actor,
            source=RolloutAuditEntry.Source.DASHBOARD,
            action=RolloutAuditEntry.Action.PLAN,
            capability=plan.capability,
            target=f"plan:{plan.capability}",
            before={"milestones": before.replace("\n", "; ")},
            after={"milestones": milestones_text(plan).replace("\n", "; ")},
            reason=reason,
        )


def target_user_ids(plan: ReleasePlan) -> set[int]:
    """The pilot teams' members and everyone exposed so far (for the lesson criterion)."""
    ids = set(
        Team.members.through.objects.filter(
            team__workspace=production_workspace(), team__name__in=plan.pilot_teams
        ).values_list("user_id", flat=True)
    )
    ids |= set(
        Exposure.objects.filter(capability=plan.capability).values_list("user_id", flat=True)
    )
    return ids


def _evidence_json(evidence: CapabilityEvidence) -> dict[str, Any]:
    return {
        "outcomes": [o.sentence for o in evidence.outcomes],
        "guardrails": [guardrail_sentence(g) for g in evidence.guardrails],
    }


def _notify(plan: ReleasePlan, subject: str, lines: list[str]) -> None:
    addresses = [u.email for u in plan.owners.all() if u.email]
    if addresses:
        body = "\n".join([*lines, "", "Review it on the rollout dashboard: /ai/rollout/plans/"])
        email_send(
            workspace=production_workspace(),
            to=addresses,
            subject=subject,
            body=body,
            source="release plan",
        )


def plan_check(
    *, capability: str, now: dt.datetime | None = None, evidence: CapabilityEvidence | None = None
) -> dict[str, Any]:
    """One daily look at an active plan: decide and act (see the module docstring)."""
    now = now or timezone.now()
    plan = ReleasePlan.objects.filter(capability=capability).first()
    if plan is None or plan.status != ReleasePlan.Status.ACTIVE:
        return {"skipped": "No active release plan."}
    if gate.kill_switch_active():
        return {"skipped": "The kill switch is on."}
    milestones = _milestones(plan)
    evidence = evidence or evidence_all(now=now)[capability]
    trained = (
        gate.training_share(target_user_ids(plan), capability)
        if plan.min_trained_share is not None
        else None
    )
    started = plan.milestone_started_at or now
    decision = plan_rules.decide(
        days_in=(now - started).total_seconds() / 86400,
        min_days=milestones[plan.current].min_days,
        outcomes=[o.reading for o in evidence.outcomes],
        guardrails=evidence.guardrails,
        trained_share=trained,
        min_trained_share=plan.min_trained_share,
    )
    title = registry.get(capability).title
    facts = _evidence_json(evidence)
    why = " ".join([*decision.reasons, "Evidence:", *facts["outcomes"], *facts["guardrails"]])
    current = _name(milestones, plan.current)
    with transaction.atomic():
        plan.last_checked_at = now
        plan.last_reasons = decision.reasons
        if decision.action == plan_rules.HOLD:
            plan.save(update_fields=["last_checked_at", "last_reasons"])
            return {"action": decision.action, "milestone": current, "reasons": decision.reasons}
        if decision.action == plan_rules.ADVANCE:
            if plan.current + 1 >= len(milestones):
                plan.status = ReleasePlan.Status.DONE
                plan.save()
                _step(
                    plan,
                    PlanStep.Kind.DONE,
                    now=now,
                    before=current,
                    after="Done",
                    reasons=decision.reasons,
                    evidence=facts,
                )
                return {"action": "done", "milestone": current, "reasons": decision.reasons}
            plan.current += 1
            plan.milestone_started_at = now
            plan.save()
            after = _name(milestones, plan.current)
            _apply(
                plan,
                milestones[plan.current],
                f"Criteria held at {current}: advanced to {after}. {why}",
                None,
            )
            _step(
                plan,
                PlanStep.Kind.ADVANCE,
                now=now,
                before=current,
                after=after,
                reasons=decision.reasons,
                evidence=facts,
            )
        elif decision.action == plan_rules.PAUSE:
            plan.status = ReleasePlan.Status.PAUSED
            plan.save()
            _step(
                plan,
                PlanStep.Kind.PAUSE,
                now=now,
                before=current,
                after=current,
                reasons=decision.reasons,
                evidence=facts,
            )
            after = current
        else:
            plan.status = ReleasePlan.Status.PAUSED
            plan.current -= 1
            plan.milestone_started_at = now
            plan.save()
            after = _name(milestones, plan.current)
            back = milestones[plan.current] if plan.current >= 0 else None
            _apply(plan, back, f"Rolled back from {current} to {after}. {why}", None)
            _step(
                plan,
                PlanStep.Kind.ROLLBACK,
                now=now,
                before=current,
                after=after,
                reasons=decision.reasons,
                evidence=facts,
            )
        if decision.action in (plan_rules.PAUSE, plan_rules.ROLLBACK):
            verb = (
                "paused"
                if decision.action == plan_rules.PAUSE
                else f"rolled back to {after} and paused"
            )
            transaction.on_commit(
                lambda: _notify(
                    plan,
                    f"{title} release plan {verb}",
                    [f"The {title} release plan was {verb} at {current}:", *decision.reasons],
                )
            )
    return {"action": decision.action, "milestone": after, "reasons": decision.reasons}


def plan_task(capability: str) -> Any:
    """The capability's scheduled plan job (declare it with ``plan_declarations``)."""

    def release_plan(*, workspace: Any) -> dict:
        if workspace.is_sandbox:
            return {"skipped": "Release plans act on production only."}
        return plan_check(capability=capability)

    release_plan.__name__ = f"{capability}_release_plan"
    return capability_task(capability, PLAN_JOB)(release_plan)


def _admin_step(plan: ReleasePlan, actor: Any, reason: str) -> tuple[ReleasePlan, str]:
    """Staff only, a reason required; the plan as it is now (locked until commit)."""
    _require_staff(actor)
    reason = _require_reason(reason)
    return ReleasePlan.objects.select_for_update().get(pk=plan.pk), reason


@transaction.atomic
def plan_pause(*, plan: ReleasePlan, actor: Any, reason: str) -> None:
    plan, reason = _admin_step(plan, actor, reason)
    if plan.status != ReleasePlan.Status.ACTIVE:
        raise RolloutError("Only an active plan can be paused.")
    plan.status = ReleasePlan.Status.PAUSED
    plan.save(update_fields=["status"])
    name = _name(_milestones(plan), plan.current)
    _step(
        plan,
        PlanStep.Kind.PAUSE,
        now=timezone.now(),
        before=name,
        after=name,
        reasons=[reason],
        actor=actor,
    )


@transaction.atomic
def plan_resume(*, plan: ReleasePlan, actor: Any, reason: str) -> None:
    """Resume a paused plan at its current milestone, whose minimum duration starts again."""
    plan, reason = _admin_step(plan, actor, reason)
    if plan.status != ReleasePlan.Status.PAUSED:
        raise RolloutError("Only a paused plan can be resumed.")
    milestones = _milestones(plan)
    now = timezone.now()
    if plan.current < 0:
        plan.current = 0
        _apply(plan, milestones[0], f"Plan resumed: {reason}", actor)
    plan.status = ReleasePlan.Status.ACTIVE
    plan.milestone_started_at = now
    plan.save()
    name = _name(milestones, plan.current)
    _step(
        plan, PlanStep.Kind.RESUME, now=now, before=name, after=name, reasons=[reason], actor=actor
    )


@transaction.atomic
def plan_skip(*, plan: ReleasePlan, actor: Any, reason: str) -> None:
    """Move on to the next milestone now, whatever the criteria say."""
    plan, reason = _admin_step(plan, actor, reason)
    milestones = _milestones(plan)
    if plan.status == ReleasePlan.Status.DONE or plan.current + 1 >= len(milestones):
        raise RolloutError("There is no milestone left to skip to.")
    now = timezone.now()
    before = _name(milestones, plan.current)
    plan.current += 1
    plan.milestone_started_at = now
    plan.save()
    after = _name(milestones, plan.current)
    _apply(plan, milestones[plan.current], f"Skipped to {after}: {reason}", actor)
    _step(
        plan, PlanStep.Kind.SKIP, now=now, before=before, after=after, reasons=[reason], actor=actor
    )
