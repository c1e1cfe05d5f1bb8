"""The synthetic CRM generator behind `make demo` and the tests."""
