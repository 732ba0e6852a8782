"""The app's cached model service is closed when Streamlit drops it ("Clear caches" in the app menu)."""
from __future__ import annotations

import streamlit as st


def test_clearing_the_caches_closes_the_dropped_service(monkeypatch):
    import core.serving.model_service as model_service_module
    from components.common import cache

    closed = []

    class FakeService:                     # stands in for ModelService: no model is loaded here
        def __init__(self, settings):
            self.settings = settings

        def close(self):
            closed.append(self)
            return True

    cache.model_service.clear()            # a real cached service (if any) is closed too; the next test gets a new one
    monkeypatch.setattr(model_service_module, "ModelService", FakeService)
    first = cache.model_service()
    assert isinstance(first, FakeService) and cache.model_service() is first
    st.cache_data.clear()
    st.cache_resource.clear()              # what the menu's "Clear caches" does, for every viewer
    assert closed == [first]
    second = cache.model_service()
    assert second is not first and closed == [first]
    cache.model_service.clear()
    assert closed == [first, second]
