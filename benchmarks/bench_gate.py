"""The gate against waffle's own flag check, warm and cold.

    .venv/bin/python -m benchmarks.bench_gate [--checks 5000]

Measures, in the same run, a warm ``gate.is_enabled`` for a user in 3 teams
(the flag targets one of them) against waffle's own ``flag_is_active`` for a
group-targeted flag (waffle queries the user's groups on every check) and for
an ``everyone`` flag (waffle's cheapest check), plus the database queries per
check, cold (empty cache) and warm. Goal: 0 queries warm and at least 5x a
warm waffle group-flag check.
"""

from __future__ import annotations

import argparse

from benchmarks.harness import best_of, line, report, section, setup_django

GOAL_RATIO = 5.0


def _queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=5000)
    checks = parser.parse_args().checks

    setup_django()
    from django.contrib.auth.models import Group
    from django.core.cache import cache
    from django.test import RequestFactory
    from waffle import flag_is_active
    from waffle.models import AbstractUserFlag

    from ai_features import gate
    from ai_features.models import Flag
    from crmcore import factories
    from crmcore.workspaces import production_workspace

    workspace = production_workspace()
    user = factories.UserFactory(username="bench-rep")
    teams = [factories.TeamFactory(workspace=workspace, members=[user]) for _ in range(3)]
    flag, _ = Flag.objects.get_or_create(name="ai_sentiment")
    flag.teams.add(teams[2])
    group = Group.objects.create(name="bench-group")
    user.groups.add(group)
    group_flag = Flag.objects.create(name="bench_group_flag")
    group_flag.groups.add(group)
    Flag.objects.create(name="bench_everyone_flag", everyone=True)
    request = RequestFactory().get("/")
    request.user = user

    def ours() -> None:
        for _ in range(checks):
            gate.is_enabled("sentiment", user, workspace)

    def waffle_group() -> None:
        for _ in range(checks):
            flag_is_active(request, "bench_group_flag")

    def waffle_everyone() -> None:
        for _ in range(checks):
            flag_is_active(request, "bench_everyone_flag")

    def one_check() -> bool:
        return gate.is_enabled("sentiment", user, workspace)

    # waffle's own user/group rule (it reads the user's groups on every check).
    ours_rule = Flag.is_active_for_user
    assert one_check() is True
    Flag.is_active_for_user = AbstractUserFlag.is_active_for_user
    try:
        assert flag_is_active(request, "bench_group_flag") is True
        waffle_group_s = best_of(waffle_group, repeat=3)
        waffle_group_warm_q = _queries(lambda: flag_is_active(request, "bench_group_flag"))
    finally:
        Flag.is_active_for_user = ours_rule
    assert flag_is_active(request, "bench_everyone_flag") is True
    waffle_everyone_s = best_of(waffle_everyone, repeat=3)
    ours_s = best_of(ours, repeat=3)

    section(f"gate.is_enabled, user in 3 teams, {checks:,} warm checks (locmem cache)")
    ratio = report(
        "gate (team flag)",
        rate=(checks, ours_s),
        baseline=("waffle flag_is_active, group flag", checks, waffle_group_s),
        unit="checks",
    )
    report(
        "gate (team flag)",
        rate=(checks, ours_s),
        baseline=("waffle flag_is_active, everyone flag", checks, waffle_everyone_s),
        unit="checks",
    )

    cache.clear()
    cold = _queries(one_check)
    warm = _queries(one_check)
    line(
        f"queries per check: gate cold {cold}, gate warm {warm}, waffle group warm "
        f"{waffle_group_warm_q}"
    )
    verdict = "met" if warm == 0 and ratio >= GOAL_RATIO else "NOT met"
    line(f"goal (0 queries warm, >= {GOAL_RATIO:.0f}x waffle's group check): {verdict}")


if __name__ == "__main__":
    main()
