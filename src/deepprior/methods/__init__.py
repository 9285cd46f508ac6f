"""Fitting methods: Deep Image Prior (dip)."""
