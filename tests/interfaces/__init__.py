"""Tests for meshops.interfaces: the Juju relation interface libraries."""
