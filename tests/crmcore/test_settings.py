"""Production differs from development only by environment values."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    # A production environment: none of the test run's development switches
    # (the browser tests allow Django's async-unsafe calls for Playwright).
    dropped = ("DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _production(static_root: Path) -> dict[str, str]:
    return {
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "crm.example.com",
        "STATIC_ROOT": str(static_root),
    }


def test_check_deploy__production_environment__passes(tmp_path):
    # What collectstatic leaves behind: the manifest of the hashed file names.
    (tmp_path / "staticfiles.json").write_text('{"version": "1.1", "paths": {}}')

    result = _check(_production(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy__static_files_not_collected__error_says_to_collect(tmp_path):
    result = _check(_production(tmp_path))

    assert result.returncode != 0
    assert "crmcore.E001" in result.stderr
    assert "make collectstatic" in result.stderr


def test_check_deploy__debug_off_without_secret_key__refuses_to_start():
    result = _check({"DEBUG": "False", "ALLOWED_HOSTS": "crm.example.com"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _database_setting(env_overrides: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    env.update(env_overrides)
    code = (
        "from crmcore import settings as s; "
        "d = s.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_database_connections__default__persistent_with_health_checks():
    assert _database_setting({}) == "60 True"


def test_database_connections__from_environment__as_given():
    assert _database_setting({"CONN_MAX_AGE": "0", "CONN_HEALTH_CHECKS": "false"}) == "0 False"
