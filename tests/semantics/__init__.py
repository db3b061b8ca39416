"""Tests of meshops.semantics: the AuthorizationPolicy and route evaluators."""
