"""The four Casehub services. Each owns its database; they talk only through HTTP and events."""
