"""Tests for meshops.interfaces.istio_ingress_route."""
