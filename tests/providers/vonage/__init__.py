"""Tests of the Vonage adapter and its sandbox."""
