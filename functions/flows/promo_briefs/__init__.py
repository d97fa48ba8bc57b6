"""Contributor promotion: promo briefs per contributor and campaign."""
