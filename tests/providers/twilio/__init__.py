"""Tests of the Twilio adapter, its sandbox and its purchases."""
