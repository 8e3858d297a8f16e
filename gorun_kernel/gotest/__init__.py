"""Test cells: go test flags, the test binary run through test2json, the result table."""
