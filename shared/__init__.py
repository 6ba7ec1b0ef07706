"""Casehub platform library: contracts, messaging, database, web and observability shared by every service."""
