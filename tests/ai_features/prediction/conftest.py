import pytest

from ai_features.capabilities.prediction import services


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    services._artifacts.clear()
    yield
    services._artifacts.clear()


@pytest.fixture
def prediction_on(enable_capability):
    return enable_capability("prediction")
