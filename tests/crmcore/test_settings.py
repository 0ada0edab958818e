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
