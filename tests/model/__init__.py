"""Tests of meshops.model: the validated domain types and the rules they share."""
