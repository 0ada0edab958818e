def register_core_routes(router) -> None:
    """Register the CRM viewsets (accounts, contacts, ...) on the API router."""
