"""Tests of the Telnyx provider: adapter, sandbox, integration, purchases, fuzzing, contract, live."""
