"""End-to-end fixtures live in tests/conftest.py (local_api, operator_header): shared with tests/security."""
