"""Tests of segsync's first promise: it never harms the CRM (issue #10)."""
