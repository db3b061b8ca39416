"""Tests for meshops.interfaces.ingress: the ingress v2 (per app) relation interface."""
