"""Settings of the CRM's pages: ``CRMCORE_<NAME>`` (Django setting, then environment, then here)."""

from __future__ import annotations

from crmcore.conf import AppSettings


class WebSettings(AppSettings):
    prefix = "CRMCORE_"

    #: Seconds the dashboard's counts (contacts by stage, open deals, interactions
    #: in 30 days) are kept in the cache per workspace; 0 reads them on every view.
    DASHBOARD_CACHE_SECONDS: int = 30


web_settings = WebSettings()
